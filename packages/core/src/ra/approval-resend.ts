/**
 * Resending a pending request's approval mails (an admin's; issue 18: a link that was lost, or
 * never arrived, left nothing to decide with). Each approver who has not decided gets a fresh
 * link secret; the store swaps in its hash and drops every earlier hash of that approver's
 * link, so the old links stop working, and writes `approval.resent` in the same write. Then one
 * approval mail per approver carries the new link. The workflow's task token and deadline stay.
 *
 * The store goes first: a mail must never carry a link the store does not know. So a mail that
 * then fails leaves that approver with no working link until the next resend; it is never
 * dropped silently: the failure is in the audit trail (`approval.resend-failed`) and the answer
 * is APPROVAL_RESEND_INCOMPLETE naming who was mailed and who was not. Resending again replaces
 * every undecided link once more, so it mends a partial failure.
 */
import { PkiError } from "../errors.ts";
import { describePrincipal, type Principal } from "../identity/principal.ts";
import { hashSecret, newLinkSecret } from "../links/secrets.ts";
import type { Mailer } from "../notifications/mailer.ts";
import { approvalNeededMail } from "../notifications/messages.ts";
import { approvalMailInput } from "../notifications/request-mail-inputs.ts";
import type { Config } from "../policy/config.ts";
import type { RequestStatus } from "../requests/request.ts";
import { type RequestRepository, requireRequest } from "../store/request-repository.ts";

export interface ApprovalResendDependencies {
  readonly repository: RequestRepository;
  /** Absent where this process sends no mail: resending then says so. */
  readonly mailer?: Mailer | undefined;
  readonly config: Pick<Config, "publicBaseUrl">;
  readonly now: () => Date;
}

export interface ApprovalResendResult {
  readonly id: string;
  readonly status: RequestStatus;
  /** Approvers mailed a new link; their earlier links no longer work. */
  readonly mailed: readonly string[];
  /** Approvers who have decided: left alone. */
  readonly decided: readonly string[];
  /** The approval's deadline, unchanged. */
  readonly deadline: string | null;
}

/**
 * Replaces the undecided approvers' links and mails each the new one. Errors: REQUEST_NOT_FOUND;
 * APPROVAL_NOT_PENDING (details `{ status }`); REQUEST_STATE_CONFLICT (the approval step has
 * not sent the first mails yet); APPROVAL_ALREADY_DECIDED (nobody is left to decide);
 * APPROVAL_EXPIRED (past the deadline); EMAIL_SEND_FAILED (no mailer here, nothing changed);
 * APPROVAL_RESEND_INCOMPLETE (links replaced, some mail not sent: resend again).
 */
export async function resendApprovalMails(
  deps: ApprovalResendDependencies,
  requestId: string,
  caller: Principal,
): Promise<ApprovalResendResult> {
  const { repository, mailer } = deps;
  const request = await requireRequest(repository, requestId);
  if (request.status !== "pending_approval") {
    throw new PkiError(
      "APPROVAL_NOT_PENDING",
      `Request ${requestId} is ${request.status}; only a request waiting for approval has approval mails to resend.`,
      { status: request.status },
    );
  }
  const state = await repository.getApproval(requestId);
  if (!state?.taskToken || state.links.length === 0 || !state.deadline) {
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `Request ${requestId} waits for its approval step to send the first approval mails; try again in a moment.`,
    );
  }
  const deadline = state.deadline;
  const undecided = state.links.filter((l) => l.usedAt === null).map((l) => l.approver);
  if (undecided.length === 0) {
    throw new PkiError(
      "APPROVAL_ALREADY_DECIDED",
      `Every approver of request ${requestId} has decided; there is no link to resend.`,
    );
  }
  if (deps.now().getTime() >= Date.parse(deadline)) {
    throw new PkiError(
      "APPROVAL_EXPIRED",
      `Request ${requestId} stopped waiting for approval at ${deadline}; it expires.`,
      { expiresAt: deadline },
    );
  }
  if (!mailer) {
    throw new PkiError(
      "EMAIL_SEND_FAILED",
      "This service has no mailer to send approval mails with; nothing was changed.",
    );
  }
  const secrets = new Map(undecided.map((approver) => [approver, newLinkSecret()]));
  const actor = describePrincipal(caller);
  const { replaced, decided } = await repository.replaceApprovalLinks(requestId, {
    links: [...secrets].map(([approver, secret]) => ({ approver, secretHash: hashSecret(secret) })),
    actor,
  });
  const mailed: string[] = [];
  const failed: { approver: string; error: string }[] = [];
  for (const approver of replaced) {
    try {
      await mailer.send(
        approvalNeededMail(
          approvalMailInput(request, {
            approver,
            token: secrets.get(approver)!,
            deadline,
            publicBaseUrl: deps.config.publicBaseUrl,
          }),
        ),
      );
      mailed.push(approver);
    } catch (error) {
      failed.push({ approver, error: (error as Error).message });
    }
  }
  if (failed.length > 0) {
    await repository.appendAudit(requestId, {
      actor,
      action: "approval.resend-failed",
      details: { mailed, failed },
    });
    const who = failed.map((f) => `${f.approver} (${f.error})`).join(", ");
    throw new PkiError(
      "APPROVAL_RESEND_INCOMPLETE",
      `The links of ${replaced.join(", ")} on request ${requestId} were replaced and their earlier links no longer work, but the mail to ${who} was not sent${mailed.length > 0 ? `; ${mailed.join(", ")} got theirs` : ""}. Resend again: every approver who has not decided then gets a new link.`,
      { mailed, failed: failed.map((f) => f.approver) },
    );
  }
  return { id: requestId, status: request.status, mailed, decided, deadline };
}
