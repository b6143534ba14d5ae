/**
 * ValidateRequest: the registration authority checks the stored CSR against the profile again
 * (the configuration may have changed since submission). A policy failure is an answer
 * (`valid: false` with the reason), not an error; only a missing request or a broken
 * dependency throws.
 */
import { checkCsr } from "../../csr/intake.ts";
import { isPkiError, PkiError } from "../../errors.ts";
import { evaluatePolicy, findProfile } from "../../policy/evaluate.ts";
import { planRequestApproval } from "../../renewal/approval.ts";
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
    // Four eyes on who submitted; the typed address only where nobody signed in. A renewal is
    // planned as at submission (an inherited approval stays automatic).
    const plan = planRequestApproval(
      request.profile,
      profile,
      request.principal.email ?? request.requester,
      request.renews ? await renewedRequest(deps, request.renews) : null,
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

/** The request the renewed certificate was issued for; CERT_NOT_FOUND (a policy answer) if gone. */
async function renewedRequest(deps: StepDependencies, serial: string) {
  const record = await deps.repository.getCertificate(serial);
  if (!record)
    throw new PkiError("CERT_NOT_FOUND", `The renewed certificate ${serial} is not recorded.`);
  return { requestId: record.requestId };
}
