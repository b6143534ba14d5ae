/**
 * The Approve / Reject form, wherever an approver decides (the emailed link's page, the
 * operators' request page), and the rule its fields follow: Approve or Reject, and a reason,
 * required to reject, of at most DECISION_REASON_MAX_LENGTH characters; the requester sees it.
 */
import type { DecisionKind } from "@spca/core/requests/request";
import { DECISION_REASON_MAX_LENGTH } from "@spca/core/requests/submission-fields";
import { html } from "hono/html";
import { csrfField } from "../html/components.ts";
import type { Html } from "../html/layout.ts";

/** The reason a decision form carries, trimmed; empty when there is none. */
export function decisionReason(form: Record<string, unknown>): string {
  return typeof form.reason === "string" ? form.reason.trim() : "";
}

/**
 * A decision form's decision checked with its reason: the decision to record, or what is wrong,
 * said above the form (`decision`: neither Approve nor Reject) or at the reason (`reason`).
 */
export type CheckedDecision =
  | { readonly ok: true; readonly decision: DecisionKind }
  | { readonly ok: false; readonly field: "decision" | "reason"; readonly message: string };

export function checkDecision(decision: unknown, reason: string): CheckedDecision {
  if (decision !== "approve" && decision !== "reject") {
    return { ok: false, field: "decision", message: "Choose Approve or Reject." };
  }
  if (decision === "reject" && reason === "") {
    return {
      ok: false,
      field: "reason",
      message: "Give a reason for the rejection; the requester sees it.",
    };
  }
  if (reason.length > DECISION_REASON_MAX_LENGTH) {
    return {
      ok: false,
      field: "reason",
      message: `The reason has ${reason.length} characters; the limit is ${DECISION_REASON_MAX_LENGTH}.`,
    };
  }
  return { ok: true, decision };
}

export interface DecisionFormOptions {
  /** Where the form posts. */
  readonly action: string;
  readonly csrfToken: string;
  /** The emailed link's token, for a decision through the link. */
  readonly linkToken?: string;
  /** The reason as last sent, shown again. */
  readonly reason?: string;
  /** What is wrong with the reason, said at the field. */
  readonly reasonError?: string;
}

export function decisionForm(options: DecisionFormOptions): Html {
  return html`<form method="post" action="${options.action}" class="stack decision">
${csrfField(options.csrfToken)}${
  options.linkToken === undefined
    ? ""
    : html`
<input type="hidden" name="token" value="${options.linkToken}">`
}
<div class="field">
<label for="reason">Reason <span class="muted">(required to reject; the requester sees it)</span></label>
<textarea id="reason" name="reason" rows="3" maxlength="${DECISION_REASON_MAX_LENGTH}"${options.reasonError ? html` aria-invalid="true" aria-describedby="reason-error"` : ""}>${options.reason ?? ""}</textarea>
${options.reasonError ? html`<p class="field-error" id="reason-error">${options.reasonError}</p>` : ""}
</div>
<div class="actions">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="danger">Reject</button>
</div>
</form>`;
}
