/** Fragments several pages share: status badges, CSR summaries, history, alerts, times. */
import type { HistoryEntry } from "@spca/core/ra/views";
import type { San } from "@spca/core/x509/general-names";
import { html } from "hono/html";
import type { Html } from "./layout.ts";

const statusWords: Readonly<Record<string, string>> = {
  submitted: "Submitted",
  pending_approval: "Waiting for approval",
  approved: "Approved, being signed",
  issued: "Issued",
  rejected: "Rejected",
  expired: "Expired without a decision",
  failed: "Failed",
  revoked: "Revoked",
};

export function statusText(status: string): string {
  return statusWords[status] ?? status;
}

/** A request's status. */
export function badge(status: string): Html {
  return html`<span class="badge badge-${status}">${statusText(status)}</span>`;
}

const certificateWords: Readonly<Record<string, string>> = {
  valid: "Valid",
  expired: "Expired",
  revoked: "Revoked",
};

/** A certificate's status: valid, expired (past notAfter) or revoked. */
export function certificateBadge(status: string): Html {
  return html`<span class="badge badge-${status}">${certificateWords[status] ?? status}</span>`;
}

/** An ISO time as "2026-11-23 14:05 UTC", machine-readable in `datetime`. */
export function time(iso: string | null | undefined): Html {
  if (!iso) return html`—`;
  const shown = `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
  return html`<time datetime="${iso}">${shown}</time>`;
}

const sanWords: Readonly<Record<string, string>> = {
  dns: "DNS",
  ip: "IP",
  email: "Email",
  uri: "URI",
};

export function sanList(sans: readonly San[] | readonly { type: string; value: string }[]): Html {
  if (sans.length === 0) return html`<span class="muted">none</span>`;
  return html`<ul class="sans">${sans.map(
    (s) => html`<li><span class="san-type">${sanWords[s.type] ?? s.type}</span> ${s.value}</li>`,
  )}</ul>`;
}

export interface CsrFacts {
  readonly subject: string;
  readonly sans: readonly { type: string; value: string }[];
  readonly key: string;
  readonly sha256?: string;
}

/** Subject, SANs, key and (when known) the CSR's SHA-256, as a description list. */
export function csrFacts(facts: CsrFacts): Html {
  return html`<dl class="facts">
<dt>Subject</dt><dd>${facts.subject || html`<span class="muted">empty</span>`}</dd>
<dt>Subject alternative names</dt><dd>${sanList(facts.sans)}</dd>
<dt>Key</dt><dd>${facts.key}</dd>
${facts.sha256 ? html`<dt>CSR SHA-256</dt><dd><code class="fingerprint">${fingerprint(facts.sha256)}</code></dd>` : ""}
</dl>`;
}

/** Hex in colon-separated pairs, as certificate tools print fingerprints. */
export function fingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(":");
}

/** Audit actions in words; the event bus's entries say which event was published. */
const actionWords: Readonly<Record<string, string>> = {
  submitted: "Submitted",
  "awaiting approval": "Waiting for approval",
  "approved automatically": "Approved automatically (the profile needs no approver)",
  "approval.opened": "Approval links mailed",
  "approval.approve": "Approved by an approver",
  "approval.reject": "Rejected by an approver",
  "approval.refused": "A decision refused",
  "approval.resent": "Approval mails resent (new links; the earlier ones no longer work)",
  "approval.resend-failed": "A resent approval mail was not sent",
  "request.submitted": "Event published: submitted",
  "request.approved": "Event published: approved",
  "request.rejected": "Event published: rejected",
  "request.expired": "Event published: expired",
  "request.failed": "Event published: failed",
  "certificate.issued": "Event published: certificate issued",
  "certificate.revoked": "Event published: certificate revoked",
  "certificate.expiring": "Event published: certificate expiring (reminders mailed)",
  "certificate.expired": "Event published: certificate expired (reminders mailed)",
};

export function historyTable(history: readonly HistoryEntry[]): Html {
  return html`<div class="table-wrap"><table>
<caption>History</caption>
<thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th></tr></thead>
<tbody>${history.map(
    (h) =>
      html`<tr><td>${time(h.at)}</td><td>${actionWords[h.action] ?? statusWords[h.action] ?? h.action}${h.details?.via === "operators-page" ? ", signed in on the operators' page" : ""}</td><td>${h.actor}</td></tr>`,
  )}</tbody>
</table></div>`;
}

export type AlertKind = "error" | "info" | "success";

/** A notice; errors are announced to screen readers at once (role=alert). */
export function alert(kind: AlertKind, title: string, body?: Html | string): Html {
  return html`<div class="alert alert-${kind}"${kind === "error" ? html` role="alert"` : html` role="status"`}>
<p class="alert-title">${title}</p>${body ? html`<p>${body}</p>` : ""}
</div>`;
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}
