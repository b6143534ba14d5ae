/**
 * ValidateRequest: the registration authority checks the stored CSR against the profile again
 * (the configuration may have changed since submission). A policy failure is an answer
 * (`valid: false` with the reason), not an error; only a missing request or a broken
 * dependency throws.
 */
import { planApproval } from "../../approvals/approvers.ts";
import { checkCsr } from "../../csr/intake.ts";
import { isPkiError } from "../../errors.ts";
import { evaluatePolicy, findProfile } from "../../policy/evaluate.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads, StepResults } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";

export async function validateRequest(
  { requestId }: StepPayloads["ValidateRequest"],
  deps: StepDependencies,
): Promise<StepResults["ValidateRequest"]> {
  const request = await requireRequest(deps.repository, requestId);
  try {
    const csr = checkCsr(request.csr);
    const profile = findProfile(deps.config, request.profile);
    evaluatePolicy(csr, request.profile, profile, request.validityDays ?? undefined);
    // Four eyes on who submitted; the typed address only where nobody signed in.
    const plan = planApproval(
      request.profile,
      profile,
      request.principal.email ?? request.requester,
    );
    return {
      valid: true,
      automatic: plan.mode === "automatic",
      approvalTimeoutSeconds: plan.mode === "automatic" ? 0 : plan.timeoutSeconds,
      reason: null,
    };
  } catch (error) {
    if (!isPkiError(error)) throw error;
    return {
      valid: false,
      automatic: false,
      approvalTimeoutSeconds: 0,
      reason: `${error.code}: ${error.message}`,
    };
  }
}
