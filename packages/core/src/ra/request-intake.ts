/**
 * The one way a checked request enters the CA, for submissions and renewals alike: stored
 * (once per idempotency key), its workflow started (also on a replay, since the first attempt
 * may have died in between), and request.submitted announced for a new one.
 */
import type { CheckedCsr } from "../csr/intake.ts";
import { encodePem } from "../encoding/pem.ts";
import type { EventBus } from "../events/bus.ts";
import type { RequestPrincipal } from "../identity/principal.ts";
import { hashSecret, newLinkSecret } from "../links/secrets.ts";
import type { RequestApprovalPlan } from "../renewal/approval.ts";
import { newRequestId, type Request, summariseCsr } from "../requests/request.ts";
import type { RequestRepository } from "../store/request-repository.ts";
import type { WorkflowEngine } from "../workflow/engine.ts";

export interface IntakeDependencies {
  readonly repository: RequestRepository;
  readonly engine: WorkflowEngine;
  readonly bus: EventBus;
}

export interface CheckedRequest {
  readonly csr: CheckedCsr;
  readonly profile: string;
  /** Where mails about the request go. */
  readonly notify: string;
  /** Whose request it is (what mayRead and the inventory go by). */
  readonly principal: RequestPrincipal;
  /** The calling principal's id: the idempotency scope. */
  readonly submittedBy: string;
  readonly comment: string | null;
  readonly validityDays: number | null;
  readonly approval: RequestApprovalPlan;
  /** The serial this request renews; null for a new certificate. */
  readonly renews: string | null;
}

export interface Intake {
  readonly request: Request;
  readonly created: boolean;
  /** The status page's link secret, for a new request only: it is stored hashed. */
  readonly statusToken: string | null;
}

export async function createAndStart(
  deps: IntakeDependencies,
  input: CheckedRequest,
  idempotencyKey: string | undefined,
): Promise<Intake> {
  const statusToken = newLinkSecret();
  const { inheritedFrom, ...plan } = input.approval;
  const { request, created } = await deps.repository.createRequest(
    {
      id: newRequestId(),
      requester: input.notify,
      principal: input.principal,
      profile: input.profile,
      comment: input.comment,
      csr: encodePem("CERTIFICATE REQUEST", input.csr.der),
      csrSummary: summariseCsr(input.csr),
      validityDays: input.validityDays,
      approval: {
        ...plan,
        approvers: [...plan.approvers],
        excluded: [...plan.excluded],
        deadline: null,
        ...(inheritedFrom ? { inheritedFrom } : {}),
      },
      submittedBy: input.submittedBy,
      statusSecretHash: hashSecret(statusToken),
      ...(input.renews ? { renews: input.renews } : {}),
    },
    idempotencyKey ? { idempotency: { scope: input.submittedBy, key: idempotencyKey } } : {},
  );
  // Also on a replay: the first attempt may have stored the request and died before this.
  const { executionId } = await deps.engine.startExecution(request.id);
  if (request.executionId !== executionId)
    await deps.repository.attachExecution(request.id, executionId);
  if (created) {
    await deps.bus.publish("request.submitted", {
      requestId: request.id,
      requester: request.requester,
      profile: request.profile,
      submittedAt: request.createdAt,
    });
  }
  // A replay returns the first request, whose link secret is not known any more.
  return { request, created, statusToken: created ? statusToken : null };
}
