/**
 * Who may approve a request. Four eyes: the requester never approves their own request, so a
 * requester on the approver list gets no link, and a quorum that can then no longer be met is
 * refused at submission rather than left to expire.
 */
import { PkiError } from "../errors.ts";
import type { Profile } from "../policy/config.ts";

export interface ApprovalPlan {
  readonly mode: "automatic" | "manual";
  /** Approvers who get a link (the requester removed). */
  readonly approvers: readonly string[];
  readonly quorum: number;
  readonly timeoutSeconds: number;
}

export const DEFAULT_APPROVAL_TIMEOUT_HOURS = 168;

export function planApproval(
  profileName: string,
  profile: Profile,
  requester: string,
): ApprovalPlan {
  const approval = profile.approval;
  if (approval.mode === "automatic") {
    return { mode: "automatic", approvers: [], quorum: 0, timeoutSeconds: 0 };
  }
  const approvers = approval.approvers.filter((a) => !isSameMailbox(a, requester));
  if (approvers.length < approval.quorum) {
    throw new PkiError(
      "APPROVAL_QUORUM_UNREACHABLE",
      `Profile ${profileName} needs ${approval.quorum} approval(s) from others, and only ${approvers.length} approver(s) other than ${requester} are configured.`,
    );
  }
  return {
    mode: "manual",
    approvers,
    quorum: approval.quorum,
    timeoutSeconds: Math.round((approval.timeoutHours ?? DEFAULT_APPROVAL_TIMEOUT_HOURS) * 3600),
  };
}

/** Mail addresses compare case-insensitively here, as the configuration's approver list does. */
export function isSameMailbox(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
