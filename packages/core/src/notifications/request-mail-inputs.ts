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

/** "RSA 2048" → RSA, 2048; "EC P-384" → EC P-384, 384. */
export function keyTypeAndBits(key: string): { keyType: string; keyBits: number } {
  const rsa = /^RSA (\d+)$/.exec(key);
  if (rsa) return { keyType: "RSA", keyBits: Number(rsa[1]) };
  const ec = /^EC P-(\d+)$/.exec(key);
  return { keyType: key, keyBits: ec ? Number(ec[1]) : 0 };
}
