/**
 * The operators' pages: requests by status and a search, the certificate inventory, one
 * certificate, and the CRL's status (number, next update, entries) on each, so a revocation
 * can be watched reaching the CRL. Approvers, auditors and admins read them; only admins get
 * the revocation form. Each listed request links to its own operators' page
 * (operator-request.ts: its approval, resending the mails, deciding signed in).
 */

import { normaliseSerial } from "@spca/core/certificate/serial";
import type { CrlStatus } from "@spca/core/crl/publisher";
import { isRevocationReason, revocationReasons } from "@spca/core/crl/reasons";
import { isPkiError } from "@spca/core/errors";
import { hasRole } from "@spca/core/identity/principal";
import type { RequestRow } from "@spca/core/ra/listing";
import { type RequestStatus, requestStatuses } from "@spca/core/requests/request";
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import {
  alert,
  badge,
  certificateBadge,
  csrfField,
  sanList,
  statusText,
  time,
} from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import type { Session } from "../security/session.ts";
import { certificateInventory } from "./certificate-inventory.ts";
import { invalidCursorPage, operatorGate } from "./operator-gate.ts";

const PAGE_SIZE = 25;
const CURSOR = /^[A-Za-z0-9_-]{1,2048}$/;

const reasonWords: Readonly<Record<string, string>> = {
  unspecified: "Unspecified",
  keyCompromise: "Key compromise",
  affiliationChanged: "Affiliation changed",
  superseded: "Superseded",
  cessationOfOperation: "Cessation of operation",
  privilegeWithdrawn: "Privilege withdrawn",
};

export function operatorRoutes(kit: Kit): Hono {
  const app = new Hono();
  // Approvers, auditors and admins; `admin(...)` admins alone (operator-gate.ts).
  const { operator, admin, page } = operatorGate(kit);

  /**
   * A listing from the page the URL names. A cursor this site did not give out (edited,
   * crafted, from another listing) is a 400 with a link to the first page, never a failure.
   */
  const listPage = async <T>(
    c: Context,
    session: Session,
    list: (page: { limit: number; cursor?: string }) => Promise<T>,
  ): Promise<T | Response> => {
    const cursor = c.req.query("cursor");
    const invalid = () => invalidCursorPage(page, c, session);
    if (cursor !== undefined && !CURSOR.test(cursor)) return invalid();
    try {
      return await list(cursor ? { limit: PAGE_SIZE, cursor } : { limit: PAGE_SIZE });
    } catch (error) {
      if (isPkiError(error, "PAGE_CURSOR_INVALID")) return invalid();
      throw error;
    }
  };

  app.get(
    "/operators",
    operator(async (c, session) => {
      const q = (c.req.query("q") ?? "").trim().slice(0, 200);
      const crl = await kit.services.crlStatus();
      if (q) {
        const found = await kit.services.searchRequests(q);
        return page(
          c,
          session,
          `Search: ${q}`,
          html`${operatorsHeader(crl, q)}
<h2 id="results-heading">Requests matching “${q}”</h2>
<p class="hint">Exact request ids and serials, or text in the requester, subject, SANs or profile of the newest ${found.searchedPerStatus} requests of each status.</p>
${requestTable(found.rows, "results-heading")}`,
        );
      }
      const status = requestStatuses.find((s) => s === c.req.query("status")) ?? "pending_approval";
      const list = await listPage(c, session, (page) => kit.services.listRequests(status, page));
      if (list instanceof Response) return list;
      return page(
        c,
        session,
        "Operators",
        html`${operatorsHeader(crl, "")}
${statusTabs(status)}
<h2 id="list-heading">${statusText(status)}</h2>
${requestTable(list.items, "list-heading")}
${nextLink(`/operators?status=${status}`, list.next)}`,
      );
    }),
  );

  // The certificate inventory: filters, paging, expiring rows marked (certificate-inventory.ts).
  app.get(
    "/operators/certificates",
    operator(
      certificateInventory(kit, page, async () =>
        operatorsHeader(await kit.services.crlStatus(), ""),
      ),
    ),
  );

  const certificatePage = async (
    c: Context,
    session: Session,
    notice?: Html,
    status: 200 | 400 | 403 | 409 | 422 = 200,
  ) => {
    const serial = normaliseSerial(c.req.param("serial") ?? "");
    const certificate = serial
      ? await kit.services.getCertificate(serial, session.principal)
      : undefined;
    if (!certificate) {
      return page(
        c,
        session,
        "Certificate not found",
        html`<h1>Certificate not found</h1>${alert("error", `No certificate has the serial ${c.req.param("serial")}.`)}`,
        404,
      );
    }
    const crl = await kit.services.crlStatus();
    const requestLink = `/requests/${encodeURIComponent(certificate.requestId)}`;
    return page(
      c,
      session,
      `Certificate ${certificate.serial}`,
      html`<h1>Certificate <code>${certificate.serial}</code></h1>
${notice ?? ""}
<dl class="facts">
<dt>Status</dt><dd>${certificateBadge(certificate.status)}</dd>
<dt>Subject</dt><dd>${certificate.subject}</dd>
<dt>Subject alternative names</dt><dd>${sanList(certificate.sans)}</dd>
<dt>Profile</dt><dd>${certificate.profile}</dd>
<dt>Valid</dt><dd>${time(certificate.notBefore)} to ${time(certificate.notAfter)}</dd>
<dt>Request</dt><dd><a href="${requestLink}">${certificate.requestId}</a></dd>
${
  certificate.revocation
    ? html`<dt>Revoked</dt><dd>${time(certificate.revocation.revokedAt)}, ${reasonWords[certificate.revocation.reason] ?? certificate.revocation.reason}, by ${certificate.revocation.revokedBy}</dd>`
    : ""
}
</dl>
<ul class="downloads">
<li><a href="${requestLink}/certificate.pem" download>Download the certificate (PEM)</a></li>
<li><a href="${requestLink}/fullchain.pem" download>Download the full chain (PEM)</a></li>
</ul>
${certificate.status === "valid" && hasRole(session.principal, "admin") ? revokeForm(kit.csrf.token(c), certificate.serial) : ""}
${crlCard(crl)}`,
      status,
    );
  };

  app.get(
    "/operators/certificates/:serial",
    operator(async (c, session) =>
      certificatePage(
        c,
        session,
        c.req.query("revoked") === "1"
          ? alert(
              "success",
              "The certificate is revoked.",
              "The CRL is republished within seconds; its number below rises when it is.",
            )
          : undefined,
      ),
    ),
  );

  app.post(
    "/operators/certificates/:serial/revoke",
    admin(async (c, session) => {
      const form = await c.req.parseBody();
      if (!kit.csrf.accepts(c, form.csrf)) {
        return certificatePage(
          c,
          session,
          alert(
            "error",
            "Nothing was revoked: the form had expired or did not come from this site.",
            "The page has been reloaded; try again.",
          ),
          400,
        );
      }
      const reason = typeof form.reason === "string" ? form.reason : "";
      if (!isRevocationReason(reason)) {
        return certificatePage(c, session, alert("error", "Choose a revocation reason."), 400);
      }
      const serial = normaliseSerial(c.req.param("serial") ?? "");
      if (!serial) return certificatePage(c, session);
      try {
        await kit.services.revokeCertificate(serial, reason, session.principal);
      } catch (error) {
        if (
          !isPkiError(error) ||
          !["CERT_NOT_FOUND", "CERT_EXPIRED", "REVOCATION_REASON_INVALID"].includes(error.code)
        )
          throw error;
        return certificatePage(
          c,
          session,
          alert("error", "The certificate was not revoked.", error.message),
          409,
        );
      }
      return c.redirect(`/operators/certificates/${encodeURIComponent(serial)}?revoked=1`, 303);
    }),
  );

  return app;
}

function nextLink(base: string, next: string | null): Html {
  return next
    ? html`<p><a href="${base}&cursor=${encodeURIComponent(next)}" rel="next">Next page</a></p>`
    : "";
}

function operatorsHeader(crl: CrlStatus | undefined, q: string): Html {
  return html`<h1>Operators</h1>
<nav aria-label="Operators" class="tabs"><ul>
<li><a href="/operators">Requests</a></li>
<li><a href="/operators/certificates">Certificates</a></li>
</ul></nav>
<form method="get" action="/operators" class="search" role="search">
<label for="q">Search requests and certificates</label>
<input type="search" id="q" name="q" value="${q}" placeholder="Request id, serial, email, name…">
<button type="submit">Search</button>
</form>
${crlCard(crl)}`;
}

export function crlCard(crl: CrlStatus | undefined): Html {
  if (!crl)
    return alert(
      "info",
      "No CRL has been published yet.",
      "The first follows the start within seconds.",
    );
  return html`<section class="card crl" aria-labelledby="crl-heading">
<h2 id="crl-heading">CRL</h2>
<dl class="facts compact">
<dt>Number</dt><dd id="crl-number">${crl.number}</dd>
<dt>Entries</dt><dd id="crl-entries">${crl.entries}</dd>
<dt>This update</dt><dd>${time(crl.thisUpdate)}</dd>
<dt>Next update</dt><dd>${time(crl.nextUpdate)}</dd>
<dt>Published</dt><dd>${time(crl.publishedAt)} (${crl.trigger})</dd>
<dt>URL</dt><dd><a href="${crl.url}">${crl.url}</a></dd>
</dl>
</section>`;
}

function statusTabs(current: RequestStatus): Html {
  return html`<nav aria-label="Request status" class="tabs"><ul>${requestStatuses.map(
    (s) =>
      html`<li><a href="/operators?status=${s}"${s === current ? html` aria-current="page"` : ""}>${statusText(s)}</a></li>`,
  )}</ul></nav>`;
}

function requestTable(rows: readonly RequestRow[], labelledBy: string): Html {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<div class="table-wrap"><table aria-labelledby="${labelledBy}">
<thead><tr><th scope="col">Submitted</th><th scope="col">Subject and names</th><th scope="col">Requested by</th><th scope="col">Profile</th><th scope="col">Status</th><th scope="col">Certificate</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr>
<td>${time(r.createdAt)}</td>
<td><a href="/operators/requests/${r.id}">${r.subject || r.id}</a>${sanList(r.sans)}</td>
<td>${r.requestedBy}</td>
<td>${r.profile}</td>
<td>${badge(r.status)}</td>
<td>${r.serial ? html`<a href="/operators/certificates/${r.serial}"><code>${r.serial}</code></a>` : "—"}</td>
</tr>`,
  )}</tbody></table></div>`;
}

function revokeForm(csrf: string, serial: string): Html {
  return html`<form method="post" action="/operators/certificates/${serial}/revoke" class="stack card danger-zone">
<h2>Revoke</h2>
${csrfField(csrf)}
<div class="field">
<label for="reason">Reason</label>
<select id="reason" name="reason" required>
${Object.keys(revocationReasons).map((r) => html`<option value="${r}">${reasonWords[r] ?? r}</option>`)}
</select>
</div>
<div class="actions"><button type="submit" class="danger">Revoke certificate</button></div>
</form>`;
}
