/**
 * StoreRequest: the request is accepted into the workflow: `pending_approval`, or `approved`
 * at once for an automatic-approval profile (which then publishes request.approved). Run
 * again, it finds the request already moved and changes nothing.
 */

import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads, StepResults } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";

export async function storeRequest(
  { requestId }: StepPayloads["StoreRequest"],
  deps: StepDependencies,
): Promise<StepResults["StoreRequest"]> {
  const request = await requireRequest(deps.repository, requestId);
  if (request.status !== "submitted") return { status: request.status };
  const automatic = request.approval.mode === "automatic";
  const { request: moved, changed } = await deps.repository.transition(requestId, {
    from: "submitted",
    to: automatic ? "approved" : "pending_approval",
    actor: "workflow",
    action: automatic ? "approved automatically" : "awaiting approval",
  });
  if (automatic && changed) {
    await deps.bus.publish("request.approved", {
      requestId,
      requester: moved.requester,
      approvers: [],
      approvedAt: moved.updatedAt,
    });
  }
  return { status: moved.status };
}
