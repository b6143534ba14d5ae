/**
 * The approval page behind the emailed link. A GET only shows (mail scanners prefetch links);
 * the decision is an HTML form POST with the CSRF token, so it works without scripts. A used,
 * expired or invalid link, and a request that stopped waiting, are said plainly.
 */
import { isPkiError } from "@spca/core/errors";
import type { ApprovalView } from "@spca/core/ra/views";
import { isRequestId } from "@spca/core/requests/request";
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { alert, badge, csrFacts, statusText, time } from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import { checkDecision, decisionForm, decisionReason } from "./decision-form.ts";

interface Outcome {
  readonly kind: "error" | "info" | "success";
  readonly title: string;
  readonly body?: string;
}

export function approvalRoutes(kit: Kit): Hono {
  const app = new Hono();

  /** The approval, or undefined when the link is not valid; any other failure is thrown. */
  const approvalOrInvalid = async (id: string, token: string) => {
    try {
      return await kit.services.getApproval(id, token);
    } catch (error) {
      if (isPkiError(error, "APPROVAL_TOKEN_INVALID")) return undefined;
      throw error;
    }
  };

  const page = async (
    c: Context,
    token: string,
    options: {
      outcome?: Outcome;
      reasonError?: string;
      reason?: string;
      status?: ContentfulStatusCode;
    } = {},
  ) => {
    const session = await kit.sessions.current(c);
    const id = c.req.param("id") ?? "";
    const view = isRequestId(id) ? await approvalOrInvalid(id, token) : undefined;
    if (!view) {
      return kit.render(c, {
        title: "Approval link not valid",
        session,
        status: 404,
        main: html`<h1>This approval link is not valid</h1>
${alert("error", "The link does not match any request.", "Check that the whole link from the email was opened; links are long and some mail programs break them. If the approval mail was sent again, only the newest mail's link works.")}`,
      });
    }
    const state = linkState(view);
    const status = options.status ?? (state.kind === "expired" ? 410 : 200);
    return kit.render(c, {
      title: `Approve request ${view.requestId}`,
      session,
      status,
      main: approvalMain(kit, c, view, token, state, options),
    });
  };

  app.get("/approvals/:id", async (c) => page(c, c.req.query("token") ?? ""));

  app.post("/approvals/:id", async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token : "";
    const reason = decisionReason(form);
    // Not an id at all: the page says the link is not valid, and nothing is looked up.
    if (!isRequestId(c.req.param("id"))) return page(c, token);
    if (!kit.csrf.accepts(c, form.csrf)) {
      return page(c, token, {
        status: 403,
        reason,
        outcome: {
          kind: "error",
          title: "Nothing was recorded: the form had expired or did not come from this page.",
          body: "The page has been reloaded; decide again.",
        },
      });
    }
    const checked = checkDecision(form.decision, reason);
    if (!checked.ok) {
      return page(c, token, {
        status: 400,
        reason,
        ...(checked.field === "reason"
          ? { reasonError: checked.message }
          : { outcome: { kind: "error", title: checked.message } }),
      });
    }
    const { decision } = checked;
    // Signed in, the decider must be the link's approver (the link is bound to them).
    const session = await kit.sessions.current(c);
    try {
      await kit.services.decide(
        c.req.param("id"),
        token,
        decision,
        reason || undefined,
        session?.principal,
      );
    } catch (error) {
      if (!isPkiError(error)) throw error;
      const refused = refusals[error.code];
      if (!refused) throw error;
      return page(c, token, {
        status: refused.status,
        reason,
        outcome: { kind: "error", title: refused.title, body: error.message },
      });
    }
    // Post/redirect/get: a reload shows the recorded decision instead of sending it again.
    return c.redirect(
      `/approvals/${encodeURIComponent(c.req.param("id"))}?token=${encodeURIComponent(token)}`,
      303,
    );
  });

  return app;
}

const refusals: Readonly<Record<string, { status: ContentfulStatusCode; title: string }>> = {
  APPROVAL_TOKEN_INVALID: { status: 404, title: "This approval link is not valid." },
  APPROVAL_ALREADY_DECIDED: {
    status: 409,
    title: "This link was already used: its decision stands and was not recorded again.",
  },
  APPROVAL_EXPIRED: { status: 410, title: "This approval link has expired; nothing was recorded." },
  APPROVAL_SELF: {
    status: 403,
    title: "You submitted this request, so you cannot decide it; nothing was recorded.",
  },
  APPROVAL_WRONG_APPROVER: {
    status: 403,
    title:
      "This link was sent to another approver. Sign out, or open the link sent to you; nothing was recorded.",
  },
  APPROVAL_NOT_PENDING: {
    status: 409,
    title: "The request no longer waits for approval; nothing was recorded.",
  },
  APPROVAL_DELIVERY_FAILED: {
    status: 503,
    title:
      "Your decision is recorded but could not be passed on yet. Send it again to finish; it will not be counted twice.",
  },
};

type LinkState =
  | { kind: "open" }
  | { kind: "used"; decision: "approve" | "reject" | null }
  | { kind: "expired" }
  | { kind: "closed"; status: string };

function linkState(view: ApprovalView): LinkState {
  if (view.decided) return { kind: "used", decision: view.decision };
  if (view.status === "expired" || view.expired) return { kind: "expired" };
  if (view.status !== "pending_approval") return { kind: "closed", status: view.status };
  return { kind: "open" };
}

function stateNotice(view: ApprovalView, state: LinkState): Html {
  switch (state.kind) {
    case "used":
      return alert(
        "info",
        `This link has been used: you ${state.decision === "reject" ? "rejected" : "approved"} this request.`,
        `The request is now: ${statusText(view.status)}. A link decides once; opening it again changes nothing.`,
      );
    case "expired":
      return alert(
        "error",
        "This approval link has expired.",
        html`It was valid until ${time(view.expiresAt)}. The request can no longer be approved through it; the requester may submit again.`,
      );
    case "closed":
      return alert(
        "info",
        "This request no longer waits for approval.",
        `It is now: ${statusText(state.status)}. Nothing is left to decide through this link.`,
      );
    case "open":
      return "";
  }
}

function approvalMain(
  kit: Kit,
  c: Context,
  view: ApprovalView,
  token: string,
  state: LinkState,
  options: { outcome?: Outcome; reasonError?: string; reason?: string },
): Html {
  const progress = `${view.approvals} of ${view.approvalsRequired} approval${view.approvalsRequired === 1 ? "" : "s"}`;
  return html`<h1>Approve a certificate request</h1>
${options.outcome ? alert(options.outcome.kind, options.outcome.title, options.outcome.body) : ""}
${stateNotice(view, state)}
<section aria-labelledby="request-heading" class="card">
<h2 id="request-heading">The request</h2>
<dl class="facts">
<dt>Requested by</dt><dd>${view.requestedBy}</dd>
<dt>Mails go to</dt><dd>${view.requester}</dd>
<dt>Profile</dt><dd>${view.profile}</dd>
<dt>Comment</dt><dd>${view.comment ? html`<q class="comment">${view.comment}</q>` : html`<span class="muted">none</span>`}</dd>
<dt>Status</dt><dd>${badge(view.status)}</dd>
<dt>Quorum</dt><dd><span id="quorum">${progress}</span> <progress max="${view.approvalsRequired}" value="${view.approvals}" aria-label="Approvals so far">${progress}</progress></dd>
<dt>You decide as</dt><dd>${view.approver}</dd>
<dt>Link valid until</dt><dd>${time(view.expiresAt)}</dd>
</dl>
</section>
<section aria-labelledby="csr-heading">
<h2 id="csr-heading">What the certificate would contain</h2>
${csrFacts({ subject: view.subject, sans: view.sans, key: view.key, sha256: view.csrSha256 })}
<h3>Policy checks passed</h3>
<ul class="checks">${view.checks.map((check) => html`<li>${check}</li>`)}</ul>
</section>
${
  state.kind === "open"
    ? decisionForm({
        action: `/approvals/${view.requestId}`,
        csrfToken: kit.csrf.token(c),
        linkToken: token,
        reason: options.reason,
        reasonError: options.reasonError,
      })
    : ""
}`;
}
