/**
 * The operators' request page, `/operators/requests/<id>`: the request, its approval (quorum,
 * each approver's decision, the deadline) and its history, for approvers, auditors and admins.
 * Two forms, each a CSRF-protected POST:
 * - **Resend approval mails** (admins, while the request waits for approval): every approver
 *   yet to decide gets a new link; the links sent before stop working.
 * - **Approve / Reject** for an approver of the request signed in in person (not its
 *   submitter), who thus decides without the emailed link; the decision is recorded as one
 *   through the link would be, noting it was made here.
 * Refusals are said plainly on the page, with nothing changed.
 */
import { isPkiError } from "@spca/core/errors";
import { hasRole } from "@spca/core/identity/principal";
import type { ApprovalProgressView } from "@spca/core/ra/signed-in-decisions";
import type { RequestView } from "@spca/core/ra/views";
import { isRequestId } from "@spca/core/requests/request";
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { alert, badge, csrFacts, csrfField, historyTable, time } from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import type { Session } from "../security/session.ts";
import { checkDecision, decisionForm, decisionReason } from "./decision-form.ts";
import { type OperatorPageStatus, operatorGate } from "./operator-gate.ts";

interface Shown {
  readonly notice?: Html;
  readonly status?: OperatorPageStatus;
  readonly reason?: string;
  readonly reasonError?: string;
}

/** Refusals of a decision made here: the page's status and what it says. */
const decisionRefusals: Readonly<Record<string, { status: OperatorPageStatus; title: string }>> = {
  APPROVER_NOT_LISTED: {
    status: 403,
    title: "You are not an approver of this request; nothing was recorded.",
  },
  APPROVAL_SELF: {
    status: 403,
    title: "You submitted this request, so you cannot decide it; nothing was recorded.",
  },
  APPROVAL_PERSON_REQUIRED: {
    status: 403,
    title:
      "Deciding here needs you signed in in person, not with an API key; nothing was recorded.",
  },
  APPROVAL_ALREADY_DECIDED: {
    status: 409,
    title:
      "You have decided this request already: your decision stands and was not recorded again.",
  },
  APPROVAL_NOT_PENDING: {
    status: 409,
    title: "The request no longer waits for approval; nothing was recorded.",
  },
  APPROVAL_EXPIRED: {
    status: 410,
    title: "The time to decide this request has passed; nothing was recorded.",
  },
  APPROVAL_DELIVERY_FAILED: {
    status: 503,
    title:
      "Your decision is recorded but could not be passed on yet. Send it again to finish; it will not be counted twice.",
  },
};

/** Refusals of a resend: the page's status and what it says. */
const resendRefusals: Readonly<Record<string, { status: OperatorPageStatus; title: string }>> = {
  APPROVAL_NOT_PENDING: {
    status: 409,
    title: "Nothing was resent: the request no longer waits for approval.",
  },
  APPROVAL_ALREADY_DECIDED: {
    status: 409,
    title: "Nothing was resent: every approver has decided.",
  },
  REQUEST_STATE_CONFLICT: {
    status: 409,
    title: "Nothing was resent: the first approval mails are still being sent.",
  },
  APPROVAL_EXPIRED: { status: 410, title: "Nothing was resent: the time to decide has passed." },
  EMAIL_SEND_FAILED: { status: 503, title: "Nothing was resent: this service cannot send mail." },
  APPROVAL_RESEND_INCOMPLETE: {
    status: 503,
    title:
      "The approval links were replaced, but not every mail was sent. Resend again: every approver yet to decide then gets a new link.",
  },
};

/** Viewer refusals that need no notice on the page (not theirs to decide, or nothing to decide). */
const quietRefusals: ReadonlySet<string> = new Set(["APPROVER_NOT_LISTED", "APPROVAL_NOT_PENDING"]);

export function operatorRequestRoutes(kit: Kit): Hono {
  const app = new Hono();
  const { operator, admin, page } = operatorGate(kit);

  const requestPage = async (c: Context, session: Session, shown: Shown = {}) => {
    const id = c.req.param("id") ?? "";
    const request = isRequestId(id)
      ? await kit.services.getRequest(id, session.principal)
      : undefined;
    const progress = request
      ? await kit.services.approvalProgress(id, session.principal)
      : undefined;
    if (!request || !progress) {
      return page(
        c,
        session,
        "Request not found",
        html`<h1>Request not found</h1>${alert("error", `No request has the id ${id}.`)}`,
        404,
      );
    }
    return page(
      c,
      session,
      `Request ${request.id}`,
      requestMain(kit, c, session, request, progress, shown),
      shown.status ?? 200,
    );
  };

  app.get(
    "/operators/requests/:id",
    operator(async (c, session) => {
      const decided = c.req.query("decided");
      const notice =
        c.req.query("resent") === "1"
          ? alert(
              "success",
              "New approval mails are sent to every approver who has not decided.",
              "The links sent before no longer work.",
            )
          : decided === "approve" || decided === "reject"
            ? alert(
                "success",
                decided === "approve"
                  ? "Your approval is recorded."
                  : "Your rejection is recorded.",
              )
            : undefined;
      return requestPage(c, session, notice ? { notice } : {});
    }),
  );

  app.post(
    "/operators/requests/:id/approval-mails",
    admin(async (c, session) => {
      const form = await c.req.parseBody();
      if (!kit.csrf.accepts(c, form.csrf)) {
        return requestPage(c, session, {
          status: 400,
          notice: alert(
            "error",
            "Nothing was resent: the form had expired or did not come from this site.",
            "The page has been reloaded; try again.",
          ),
        });
      }
      const id = c.req.param("id") ?? "";
      if (!isRequestId(id)) return requestPage(c, session);
      try {
        await kit.services.resendApprovalMails(id, session.principal);
      } catch (error) {
        if (isPkiError(error, "REQUEST_NOT_FOUND")) return requestPage(c, session);
        const refused = isPkiError(error) ? resendRefusals[error.code] : undefined;
        if (!refused || !isPkiError(error)) throw error;
        return requestPage(c, session, {
          status: refused.status,
          notice: alert("error", refused.title, error.message),
        });
      }
      return c.redirect(`/operators/requests/${encodeURIComponent(id)}?resent=1`, 303);
    }),
  );

  app.post(
    "/operators/requests/:id/decision",
    operator(async (c, session) => {
      const form = await c.req.parseBody();
      const reason = decisionReason(form);
      if (!kit.csrf.accepts(c, form.csrf)) {
        return requestPage(c, session, {
          status: 400,
          reason,
          notice: alert(
            "error",
            "Nothing was recorded: the form had expired or did not come from this site.",
            "The page has been reloaded; decide again.",
          ),
        });
      }
      const id = c.req.param("id") ?? "";
      if (!isRequestId(id)) return requestPage(c, session);
      const checked = checkDecision(form.decision, reason);
      if (!checked.ok) {
        return requestPage(c, session, {
          status: 400,
          reason,
          ...(checked.field === "reason"
            ? { reasonError: checked.message }
            : { notice: alert("error", checked.message) }),
        });
      }
      const { decision } = checked;
      try {
        await kit.services.decideSignedIn(id, decision, reason || undefined, session.principal);
      } catch (error) {
        if (isPkiError(error, "REQUEST_NOT_FOUND")) return requestPage(c, session);
        const refused = isPkiError(error) ? decisionRefusals[error.code] : undefined;
        if (!refused || !isPkiError(error)) throw error;
        return requestPage(c, session, {
          status: refused.status,
          reason,
          notice: alert("error", refused.title, error.message),
        });
      }
      // Post/redirect/get: a reload shows the recorded decision instead of sending it again.
      return c.redirect(`/operators/requests/${encodeURIComponent(id)}?decided=${decision}`, 303);
    }),
  );

  return app;
}

function requestMain(
  kit: Kit,
  c: Context,
  session: Session,
  request: RequestView,
  progress: ApprovalProgressView,
  shown: Shown,
): Html {
  const base = `/operators/requests/${encodeURIComponent(request.id)}`;
  return html`<h1>Request <code>${request.id}</code></h1>
${shown.notice ?? ""}
<dl class="facts">
<dt>Status</dt><dd>${badge(request.status)}</dd>
<dt>Requested by</dt><dd>${request.requestedBy}</dd>
<dt>Mails go to</dt><dd>${request.requester}</dd>
<dt>Profile</dt><dd>${request.profile}</dd>
<dt>Comment</dt><dd>${progress.comment ? html`<q class="comment">${progress.comment}</q>` : html`<span class="muted">none</span>`}</dd>
<dt>Submitted</dt><dd>${time(request.createdAt)}</dd>
<dt>Last change</dt><dd>${time(request.updatedAt)}</dd>
${request.serial ? html`<dt>Certificate</dt><dd><a href="/operators/certificates/${request.serial}"><code>${request.serial}</code></a></dd>` : ""}
${request.reason ? html`<dt>Reason</dt><dd><span class="reason">${request.reason}</span></dd>` : ""}
</dl>
<p><a href="/requests/${encodeURIComponent(request.id)}">The request's status page</a></p>
${approvalSection(kit, c, session, base, progress)}
${decisionSection(kit, c, base, progress, shown)}
<section aria-labelledby="csr-heading">
<h2 id="csr-heading">What the certificate would contain</h2>
${csrFacts({ subject: request.subject, sans: request.sans, key: request.key, sha256: progress.csrSha256 })}
<h3>Policy checks passed</h3>
<ul class="checks">${progress.checks.map((check) => html`<li>${check}</li>`)}</ul>
</section>
${historyTable(request.history)}`;
}

function approvalSection(
  kit: Kit,
  c: Context,
  session: Session,
  base: string,
  progress: ApprovalProgressView,
): Html {
  if (progress.quorum === 0) {
    return html`<section class="card" aria-labelledby="approval-heading">
<h2 id="approval-heading">Approval</h2>
<p>Its profile approves automatically: nobody is asked.</p>
</section>`;
  }
  const count = `${progress.approvals} of ${progress.quorum} approval${progress.quorum === 1 ? "" : "s"}`;
  const decisionWords = (row: ApprovalProgressView["approvers"][number]) =>
    row.decision === "approve"
      ? html`Approved ${time(row.decidedAt)}`
      : row.decision === "reject"
        ? html`Rejected ${time(row.decidedAt)}`
        : row.linked
          ? html`<span class="muted">Not decided yet</span>`
          : html`<span class="muted">Not asked yet</span>`;
  return html`<section class="card" aria-labelledby="approval-heading">
<h2 id="approval-heading">Approval</h2>
<dl class="facts compact">
<dt>Quorum</dt><dd id="quorum">${count}</dd>
<dt>Decide by</dt><dd>${progress.deadline ? time(progress.deadline) : html`<span class="muted">the approval step has not opened it yet</span>`}</dd>
</dl>
<div class="table-wrap"><table aria-labelledby="approval-heading">
<thead><tr><th scope="col">Approver</th><th scope="col">Decision</th></tr></thead>
<tbody>${progress.approvers.map((row) => html`<tr><td>${row.approver}</td><td>${decisionWords(row)}</td></tr>`)}</tbody>
</table></div>
${progress.excluded.length > 0 ? html`<p class="hint">Not asked, having submitted it (four eyes): ${progress.excluded.join(", ")}.</p>` : ""}
${
  progress.resendable && hasRole(session.principal, "admin")
    ? html`<form method="post" action="${base}/approval-mails" class="stack">
${csrfField(kit.csrf.token(c))}
<p class="hint">A lost or missing approval mail: send every approver who has not decided a new link. The links sent before stop working; the deadline stays.</p>
<div class="actions"><button type="submit" class="secondary">Resend approval mails</button></div>
</form>`
    : ""
}
</section>`;
}

function decisionSection(
  kit: Kit,
  c: Context,
  base: string,
  progress: ApprovalProgressView,
  shown: Shown,
): Html {
  const viewer = progress.viewer;
  if (!viewer.mayDecide) {
    return quietRefusals.has(viewer.code)
      ? ""
      : alert("info", "You cannot decide this request here.", viewer.reason);
  }
  return html`<section class="card" aria-labelledby="decide-heading">
<h2 id="decide-heading">Your decision</h2>
<p>You are asked as ${viewer.approver}. Deciding here counts as deciding through the link mailed to you, and uses it up.</p>
${decisionForm({
  action: `${base}/decision`,
  csrfToken: kit.csrf.token(c),
  reason: shown.reason,
  reasonError: shown.reasonError,
})}
</section>`;
}
