/** The parts of every request email that come straight from the stored request. */

import type { Request } from "../requests/request.ts";
import type { RequestSummary } from "./messages.ts";

export function mailSummary(request: Request): RequestSummary {
  return {
    requestId: request.id,
    profile: request.profile,
    subject: request.csrSummary.subject,
    sans: request.csrSummary.sans.map((san) => `${sanLabel[san.type]}:${san.value}`),
  };
}

const sanLabel = { dns: "DNS", ip: "IP", email: "email", uri: "URI" } as const;
