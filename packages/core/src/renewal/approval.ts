/**
 * Who approves a request, renewals included: a renewal under `approval: "inherit"` carries on
 * the original request's approval (automatic, recording where it came from); anything else is
 * planned from the profile as a new request is. Submission and the workflow's re-validation
 * both plan here, so they cannot disagree about a renewal.
 */
import { type ApprovalPlan, planApproval } from "../approvals/approvers.ts";
import type { Profile } from "../policy/config.ts";
import { renewalPolicyOf } from "./policy.ts";

export interface RequestApprovalPlan extends ApprovalPlan {
  /** The original request whose approval a renewal inherits; absent otherwise. */
  readonly inheritedFrom?: string;
}

/**
 * `submitter`: the address four eyes is judged on. `renewed`: for a renewal, the request the
 * renewed certificate was issued for; null for a new request.
 */
export function planRequestApproval(
  profileName: string,
  profile: Profile,
  submitter: string,
  renewed: { readonly requestId: string } | null,
): RequestApprovalPlan {
  if (renewed && renewalPolicyOf(profile).approval === "inherit") {
    return {
      mode: "automatic",
      approvers: [],
      excluded: [],
      quorum: 0,
      timeoutSeconds: 0,
      inheritedFrom: renewed.requestId,
    };
  }
  return planApproval(profileName, profile, submitter);
}
