/**
 * Deciding signed in, on the operators' request page: an approver of the request, signed in in
 * person through the identity provider, approves or rejects without the emailed link. The store
 * finds their link by who they are and records the decision as it records one through the link
 * (single use, quorum, audit entry, and the outcome handed to the workflow's task token), noting
 * `via: "operators-page"`. Four eyes holds: never the submitter, under any alias. An API key's
 * session may not decide this way: a key's owner is whatever its creator typed, while the link
 * and the provider's verified address are proof of the approver. Every refusal goes into the
 * request's audit trail as `approval.refused`.
 */
import { type ErrorCode, isPkiError, PkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import { describePrincipal, isSamePerson, type Principal } from "../identity/principal.ts";
import {
  approversOf,
  type DecisionKind,
  type Request,
  type RequestStatus,
} from "../requests/request.ts";
import { findLinkByApprover } from "../store/approval-links.ts";
import type {
  ApprovalLink,
  ApprovalState,
  DecisionResult,
  RequestRepository,
} from "../store/request-repository.ts";
import type { WorkflowEngine } from "../workflow/engine.ts";
import { deliverOutcome, recordRefusal } from "./outcome-delivery.ts";

/** What the audit trail says a decision made here came through. */
export const OPERATORS_PAGE = "operators-page";

export interface SignedInDecisionDependencies {
  readonly repository: RequestRepository;
  readonly bus: EventBus;
  readonly engine: WorkflowEngine;
  readonly now: () => Date;
}

export interface ApproverProgress {
  readonly approver: string;
  /** Whether the approval step has sent this approver a link yet. */
  readonly linked: boolean;
  /** Null while undecided. */
  readonly decision: DecisionKind | null;
  readonly decidedAt: string | null;
}

/** A request's approval as the operators' request page shows it, and what its viewer may do. */
export interface ApprovalProgressView {
  readonly requestId: string;
  readonly status: RequestStatus;
  readonly comment: string | null;
  readonly checks: readonly string[];
  readonly csrSha256: string;
  readonly quorum: number;
  /** Distinct approvers who approved so far. */
  readonly approvals: number;
  /** When the workflow stops waiting; null until the approval step opens the approval. */
  readonly deadline: string | null;
  /** The approvers asked (four eyes already left the submitter out), in the profile's order. */
  readonly approvers: readonly ApproverProgress[];
  /** Listed approvers left out because they submitted it. */
  readonly excluded: readonly string[];
  /**
   * Whether approval mails may be resent now: pending approval, its links sent, someone yet to
   * decide, before the deadline. (Resending is an admin's; the page asks the role itself.)
   */
  readonly resendable: boolean;
  /** Whether the viewer may decide here, as which approver; or the refusal they would get. */
  readonly viewer:
    | { readonly mayDecide: true; readonly approver: string }
    | { readonly mayDecide: false; readonly code: ErrorCode; readonly reason: string };
}

type Verdict =
  | { readonly ok: true; readonly approver: string }
  | { readonly ok: false; readonly error: PkiError; readonly link: string | null };

/** Refusals the store may still give after the checks here passed (a race): audited too. */
const REFUSED_BY_STORE: ReadonlySet<string> = new Set<ErrorCode>([
  "APPROVAL_SELF",
  "APPROVER_NOT_LISTED",
  "APPROVAL_ALREADY_DECIDED",
  "APPROVAL_NOT_PENDING",
  "APPROVAL_EXPIRED",
]);

export class SignedInDecisions {
  private readonly deps: SignedInDecisionDependencies;

  constructor(deps: SignedInDecisionDependencies) {
    this.deps = deps;
  }

  /** The approval's progress and whether `viewer` may decide it here. */
  async progress(request: Request, viewer: Principal): Promise<ApprovalProgressView> {
    const state = await this.deps.repository.getApproval(request.id);
    const links = state?.links ?? [];
    const now = this.deps.now();
    const verdict = judge(request, state, viewer, now);
    const deadline = state?.deadline ?? null;
    return {
      requestId: request.id,
      status: request.status,
      comment: request.comment,
      checks: request.csrSummary.checks,
      csrSha256: request.csrSummary.sha256,
      quorum: request.approval.quorum,
      approvals: approversOf(request.decisions).length,
      deadline,
      approvers: request.approval.approvers.map((approver) => {
        const link = links.find((l) => l.approver.toLowerCase() === approver.toLowerCase());
        return {
          approver,
          linked: link !== undefined,
          decision: link?.decision ?? null,
          decidedAt: link?.usedAt ?? null,
        };
      }),
      excluded: request.approval.excluded ?? [],
      resendable:
        request.status === "pending_approval" &&
        Boolean(state?.taskToken) &&
        links.some((l) => l.usedAt === null) &&
        (deadline === null || now.getTime() < Date.parse(deadline)),
      viewer: verdict.ok
        ? { mayDecide: true, approver: verdict.approver }
        : { mayDecide: false, code: verdict.error.code, reason: verdict.error.message },
    };
  }

  /**
   * Records `signedIn`'s decision on the request, through their own link found by who they
   * are. Refusals: REQUEST_NOT_FOUND; APPROVAL_NOT_PENDING, APPROVAL_SELF,
   * APPROVER_NOT_LISTED, APPROVAL_PERSON_REQUIRED, APPROVAL_ALREADY_DECIDED, APPROVAL_EXPIRED
   * (each in the audit trail); APPROVAL_DELIVERY_FAILED when recorded but not yet passed on
   * (the same decision again finishes it).
   */
  async decide(
    requestId: string,
    decision: DecisionKind,
    reason: string | undefined,
    signedIn: Principal,
  ): Promise<Request> {
    const { repository } = this.deps;
    const request = await repository.getRequest(requestId);
    if (!request) throw new PkiError("REQUEST_NOT_FOUND", `No request ${requestId}.`);
    const state = await repository.getApproval(requestId);
    const actor = describePrincipal(signedIn);
    const verdict = judge(request, state, signedIn, this.deps.now());
    if (!verdict.ok) {
      await this.refused(requestId, actor, verdict.error, verdict.link);
      throw verdict.error;
    }
    let result: DecisionResult;
    try {
      result = await repository.recordDecision(requestId, {
        approver: verdict.approver,
        decision,
        reason: reason ?? null,
        actor,
        via: OPERATORS_PAGE,
      });
    } catch (error) {
      if (isPkiError(error) && REFUSED_BY_STORE.has(error.code))
        await this.refused(requestId, actor, error, verdict.approver);
      throw error;
    }
    if (result.outcome !== "pending" && result.taskToken) {
      await deliverOutcome(
        this.deps,
        result.request,
        result.taskToken,
        reason ?? `Rejected by ${result.approver}.`,
      );
    }
    return result.request;
  }

  /**
   * Audits a refusal. A second try after the decision was recorded but not passed on (the
   * same decision again, as the delivery failure says) is where it is passed on.
   */
  private async refused(requestId: string, actor: string, error: PkiError, link: string | null) {
    await recordRefusal(this.deps.repository, requestId, {
      actor,
      code: error.code,
      link,
      via: OPERATORS_PAGE,
    });
    if (error.code === "APPROVAL_ALREADY_DECIDED" && link !== null)
      await this.redeliver(requestId, link);
  }

  private async redeliver(requestId: string, approver: string): Promise<void> {
    const request = await this.deps.repository.getRequest(requestId);
    const state = await this.deps.repository.getApproval(requestId);
    if (!request || !state?.taskToken) return;
    if (request.status !== "approved" && request.status !== "rejected") return;
    const link = state.links.find((l) => isSamePerson(l.approver, approver));
    // Only a decision that settled it this way may pass the outcome on.
    if (link?.decision !== (request.status === "approved" ? "approve" : "reject")) return;
    const rejection = request.reason ?? `Rejected by ${link.approver}.`;
    await deliverOutcome(this.deps, request, state.taskToken, rejection);
  }
}

/** Whether `viewer` may decide `request` here, as which approver, or why not. */
function judge(
  request: Request,
  state: ApprovalState | undefined,
  viewer: Principal,
  now: Date,
): Verdict {
  const refuse = (code: ErrorCode, detail: string, link: ApprovalLink | null = null): Verdict => ({
    ok: false,
    error: new PkiError(code, detail),
    link: link?.approver ?? null,
  });
  if (request.status !== "pending_approval") {
    return refuse("APPROVAL_NOT_PENDING", `Request ${request.id} is ${request.status}.`);
  }
  const submitter = request.principal.email ?? request.requester;
  if (isSamePerson(viewer.email, submitter)) {
    return refuse(
      "APPROVAL_SELF",
      `${viewer.email} submitted request ${request.id}; another approver must decide it.`,
    );
  }
  const found = viewer.email
    ? findLinkByApprover(
        Object.fromEntries((state?.links ?? []).map((l) => [l.approver.toLowerCase(), l])),
        viewer.email,
      )
    : undefined;
  if (!found) {
    const approvers = request.approval.approvers.join(", ") || "nobody";
    return refuse(
      "APPROVER_NOT_LISTED",
      `${viewer.email ?? viewer.id} is not an approver of request ${request.id}${state?.links.length ? "" : " with a link yet"}; its approvers are ${approvers}.`,
    );
  }
  const link = found[1];
  if (viewer.kind !== "person") {
    return refuse(
      "APPROVAL_PERSON_REQUIRED",
      `${describePrincipal(viewer)} is an API key's session; sign in as ${link.approver} through the identity provider, or use the emailed link.`,
      link,
    );
  }
  if (link.usedAt !== null) {
    return refuse(
      "APPROVAL_ALREADY_DECIDED",
      `${link.approver} decided "${link.decision}" at ${link.usedAt}; a decision stands and is not made twice.`,
      link,
    );
  }
  if (now.getTime() >= Date.parse(link.expiresAt)) {
    return refuse("APPROVAL_EXPIRED", `The approval ran until ${link.expiresAt}.`, link);
  }
  return { ok: true, approver: link.approver };
}
