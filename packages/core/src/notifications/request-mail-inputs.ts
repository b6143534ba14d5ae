/** The parts of every request email that come straight from the stored request. */

import { describePrincipal } from "../identity/principal.ts";
import type { Request } from "../requests/request.ts";
import type { ApprovalNeededInput, RequestSummary } from "./messages.ts";

export function mailSummary(request: Request): RequestSummary {
  return {
    requestId: request.id,
    profile: request.profile,
    subject: request.csrSummary.subject,
    sans: request.csrSummary.sans.map((san) => `${sanLabel[san.type]}:${san.value}`),
  };
}

/**
 * Everything the approval mail to `approver` says: the request, and the link with `token`. The
 * workflow's RequestApproval step and an admin's resend (ra/approval-resend.ts) send the same.
 */
export function approvalMailInput(
  request: Request,
  link: {
    readonly approver: string;
    readonly token: string;
    readonly deadline: string;
    readonly publicBaseUrl: string;
  },
): ApprovalNeededInput {
  return {
    ...mailSummary(request),
    to: link.approver,
    publicBaseUrl: link.publicBaseUrl,
    approvalId: request.id,
    token: link.token,
    // Who asked, as authenticated: what the approver must judge, not a typed address.
    requester: describePrincipal(request.principal),
    keyType: request.csrSummary.keyType,
    keyBits: request.csrSummary.keyBits,
    sha256Fingerprint: request.csrSummary.sha256,
    comment: request.comment ?? undefined,
    checks: request.csrSummary.checks,
    deadline: new Date(link.deadline),
    approvalsRequired: request.approval.quorum,
  };
}

const sanLabel = { dns: "DNS", ip: "IP", email: "email", uri: "URI" } as const;
