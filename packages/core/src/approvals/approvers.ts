/**
 * Who may approve a request. Four eyes: the requester never approves their own request, so a
 * requester on the approver list gets no link, and a quorum that can then no longer be met is
 * refused at submission rather than left to expire. "The requester" is a person: the same
 * mailbox under any case or "+tag" (identity/principal.ts mailboxOf).
 */
import { PkiError } from "../errors.ts";
import { isSamePerson } from "../identity/principal.ts";
import type { Profile } from "../policy/config.ts";

export interface ApprovalPlan {
  readonly mode: "automatic" | "manual";
  /** Approvers who get a link (the requester removed). */
  readonly approvers: readonly string[];
  /** Listed approvers left out because they are the requester (under any alias). */
  readonly excluded: readonly string[];
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
    return { mode: "automatic", approvers: [], excluded: [], quorum: 0, timeoutSeconds: 0 };
  }
  const approvers = approval.approvers.filter((a) => !isSamePerson(a, requester));
  if (approvers.length < approval.quorum) {
    throw new PkiError(
      "APPROVAL_QUORUM_UNREACHABLE",
      `Profile ${profileName} needs ${approval.quorum} approval(s) from others, and only ${approvers.length} approver(s) other than ${requester} are configured.`,
    );
  }
  return {
    mode: "manual",
    approvers,
    excluded: approval.approvers.filter((a) => isSamePerson(a, requester)),
    quorum: approval.quorum,
    timeoutSeconds: Math.round((approval.timeoutHours ?? DEFAULT_APPROVAL_TIMEOUT_HOURS) * 3600),
  };
}
