/**
 * What every way of deciding shares once the store has recorded a decision: handing a settled
 * outcome to the workflow waiting on its task token, and writing a refused decision into the
 * request's audit trail. A decision through the emailed link (approval-decisions.ts) and one
 * made signed in on the operators' page (signed-in-decisions.ts) both go through here.
 */
import { PkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import { approversOf, type Request } from "../requests/request.ts";
import type { RequestRepository } from "../store/request-repository.ts";
import { isTaskTokenError, type WorkflowEngine } from "../workflow/engine.ts";

export interface OutcomeDeliveryDependencies {
  readonly bus: EventBus;
  readonly engine: WorkflowEngine;
}

/**
 * Hands a settled request's outcome to the workflow waiting on `taskToken`. Every part may be
 * repeated: the event's id names the fact, and a token whose task is over (delivered already,
 * or timed out, when ExpireRequest finds the decision instead) is not an error.
 */
export async function deliverOutcome(
  deps: OutcomeDeliveryDependencies,
  request: Request,
  taskToken: string,
  rejection: string,
): Promise<void> {
  try {
    if (request.status === "approved") {
      const approvers = approversOf(request.decisions);
      await deps.bus.publish("request.approved", {
        requestId: request.id,
        requester: request.requester,
        approvers,
        approvedAt: request.updatedAt,
      });
      await deps.engine.sendTaskSuccess(taskToken, { decision: "approved", approvers });
    } else {
      await deps.engine.sendTaskFailure(taskToken, "Rejected", rejection);
    }
  } catch (error) {
    if (isTaskTokenError(error)) return;
    throw new PkiError(
      "APPROVAL_DELIVERY_FAILED",
      `The decision on request ${request.id} is recorded, but passing it on failed (${(error as Error).message}). Send the same decision again to finish; it will not be counted twice.`,
      { cause: error },
    );
  }
}

/**
 * A refused decision, in the audit trail: who tried (`actor`), through whose link (`link`, the
 * approver; null when the one trying has none) and why not; `via` when not through a link.
 */
export async function recordRefusal(
  repository: Pick<RequestRepository, "appendAudit">,
  requestId: string,
  refusal: {
    readonly actor: string;
    readonly code: string;
    readonly link: string | null;
    readonly via?: string;
  },
): Promise<void> {
  await repository.appendAudit(requestId, {
    actor: refusal.actor,
    action: "approval.refused",
    details: {
      code: refusal.code,
      link: refusal.link,
      ...(refusal.via === undefined ? {} : { via: refusal.via }),
    },
  });
}
