/**
 * Approval decisions, the registration authority's judgement step: showing a link's holder
 * what to decide, recording the decision through the link, and relaying a settled outcome to
 * the workflow waiting on its task token. A link is bound to its approver, and no one decides a
 * request they submitted; every refusal goes into the request's audit trail.
 */

import { isPkiError, PkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import { describePrincipal, isSamePerson, type Principal } from "../identity/principal.ts";
import { hashSecret, isWellFormedSecret } from "../links/secrets.ts";
import { approversOf, type Request } from "../requests/request.ts";
import type { DecisionResult, RequestRepository } from "../store/request-repository.ts";
import type { WorkflowEngine } from "../workflow/engine.ts";
import { deliverOutcome, recordRefusal } from "./outcome-delivery.ts";
import type { ApprovalView } from "./views.ts";

export interface ApprovalDecisionDependencies {
  readonly repository: RequestRepository;
  readonly bus: EventBus;
  readonly engine: WorkflowEngine;
  readonly now: () => Date;
}

export class ApprovalDecisions {
  private readonly deps: ApprovalDecisionDependencies;

  constructor(deps: ApprovalDecisionDependencies) {
    this.deps = deps;
  }

  async show(requestId: string, token: string): Promise<ApprovalView> {
    const found = isWellFormedSecret(token)
      ? await this.deps.repository.findApprovalLink(requestId, hashSecret(token))
      : undefined;
    if (!found) throw new PkiError("APPROVAL_TOKEN_INVALID");
    const { request, link } = found;
    return {
      requestId: request.id,
      approver: link.approver,
      status: request.status,
      requester: request.requester,
      requestedBy: describePrincipal(request.principal),
      profile: request.profile,
      comment: request.comment,
      subject: request.csrSummary.subject,
      sans: request.csrSummary.sans,
      key: request.csrSummary.key,
      csrSha256: request.csrSummary.sha256,
      checks: request.csrSummary.checks,
      expiresAt: link.expiresAt,
      decided: link.usedAt !== null,
      expired: new Date(link.expiresAt) <= this.deps.now(),
      decision: link.decision,
      // Quorum progress: approvals so far out of those required.
      approvals: approversOf(request.decisions).length,
      approvalsRequired: request.approval.quorum,
    };
  }

  /**
   * Records a decision through an approval link. The link is bound to its approver: someone
   * signed in (`signedIn`) must be that approver, and no one decides a request they submitted
   * (aliases included). Refusals of either kind go into the request's audit trail.
   */
  async decide(
    requestId: string,
    token: string,
    decision: "approve" | "reject",
    reason: string | undefined,
    signedIn?: Principal,
  ): Promise<Request> {
    if (!isWellFormedSecret(token)) throw new PkiError("APPROVAL_TOKEN_INVALID");
    const secretHash = hashSecret(token);
    const found = await this.deps.repository.findApprovalLink(requestId, secretHash);
    if (!found) throw new PkiError("APPROVAL_TOKEN_INVALID");
    const approver = found.link.approver;
    const actor = signedIn ? describePrincipal(signedIn) : `approver:${approver}`;
    if (signedIn && !isSamePerson(signedIn.email, approver)) {
      await this.refuse(requestId, actor, "APPROVAL_WRONG_APPROVER", approver);
      throw new PkiError(
        "APPROVAL_WRONG_APPROVER",
        `The link was sent to ${approver}; you are signed in as ${signedIn.email ?? signedIn.id}.`,
      );
    }
    let result: DecisionResult;
    try {
      result = await this.deps.repository.recordDecision(requestId, {
        secretHash,
        decision,
        reason: reason ?? null,
        actor,
      });
    } catch (error) {
      if (isPkiError(error, "APPROVAL_SELF")) {
        await this.refuse(requestId, actor, "APPROVAL_SELF", approver);
      }
      // A link used again: its decision stands (the 409 below), but if that decision settled
      // the request and never reached the workflow, this is the moment to deliver it.
      if (isPkiError(error, "APPROVAL_ALREADY_DECIDED"))
        await this.redeliver(requestId, secretHash);
      throw error;
    }
    const { request, taskToken } = result;
    if (result.outcome !== "pending" && taskToken) {
      await this.deliver(request, taskToken, reason ?? `Rejected by ${result.approver}.`);
    }
    return request;
  }

  /**
   * Hands a settled request's outcome to the workflow waiting on `taskToken`
   * (outcome-delivery.ts): repeatable, and a task that is over is not an error.
   */
  private deliver(request: Request, taskToken: string, rejection: string): Promise<void> {
    return deliverOutcome(this.deps, request, taskToken, rejection);
  }

  /** A refused decision, in the audit trail: who tried, through whose link, and why not. */
  private async refuse(requestId: string, actor: string, code: string, approver: string) {
    await recordRefusal(this.deps.repository, requestId, { actor, code, link: approver });
  }

  private async redeliver(requestId: string, secretHash: string): Promise<void> {
    const found = await this.deps.repository.findApprovalLink(requestId, secretHash);
    const status = found?.request.status;
    if (status !== "approved" && status !== "rejected") return;
    // Only a link whose own decision matches the outcome may re-send it.
    if (found!.link.decision !== (status === "approved" ? "approve" : "reject")) return;
    const approval = await this.deps.repository.getApproval(requestId);
    if (!approval?.taskToken) return;
    const rejection = found!.request.reason ?? `Rejected by ${found!.link.approver}.`;
    await this.deliver(found!.request, approval.taskToken, rejection);
  }
}
