/**
 * RecordOutcome: the end of a request that was not issued: `rejected` (by policy or an
 * approver), `expired` (no quorum before the deadline) or `failed` (a step failed for good),
 * with the reason taken from the caught error. A rejection an approver already recorded
 * through the API is found in place and left as it is.
 *
 * An expiry that finds the request already approved or rejected means a decision was recorded
 * but never reached the workflow (the API's SendTask call failed and nobody retried). It is
 * left standing and its status returned, and the workflow goes on from the decision.
 */

import type { RequestStatus } from "../../requests/request.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { CaughtError, StepPayloads, StepResults } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";

const movableTo: Record<"rejected" | "expired" | "failed", RequestStatus[]> = {
  rejected: ["submitted", "pending_approval"],
  expired: ["pending_approval"],
  failed: ["submitted", "pending_approval", "approved"],
};

export async function recordOutcome(
  payload: StepPayloads["RecordOutcome"],
  deps: StepDependencies,
): Promise<StepResults["RecordOutcome"]> {
  const { requestId, outcome } = payload;
  const request = await requireRequest(deps.repository, requestId);
  if (request.status === outcome) return { status: outcome };
  if (outcome === "expired" && (request.status === "approved" || request.status === "rejected")) {
    return { status: request.status };
  }
  const reason =
    payload.outcome === "expired"
      ? `No decision before ${request.approval.deadline ?? "the deadline"}.`
      : reasonOf(payload.error);
  await deps.repository.transition(requestId, {
    from: movableTo[outcome],
    to: outcome,
    actor: "workflow",
    action: outcome,
    details: payload.outcome === "expired" ? {} : { error: payload.error.Error },
    patch: { reason },
  });
  return { status: outcome };
}

/** A readable reason from what the Catch put at $.error. */
export function reasonOf(error: CaughtError): string {
  const cause = error.Cause ?? "";
  try {
    // A Lambda error's Cause is JSON: {"errorType":"…","errorMessage":"…"}.
    const parsed = JSON.parse(cause) as { errorType?: string; errorMessage?: string };
    if (parsed.errorMessage) return `${parsed.errorType ?? error.Error}: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: a validation reason or a SendTaskFailure cause, as written.
  }
  return cause || error.Error;
}
