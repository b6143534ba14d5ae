/**
 * A request's status page: live status, history, the reason of a rejection, and once issued
 * the certificate and its full chain to download. It opens with the link the submission gave
 * (`?token=`, checked against the hash stored with the request) or with a signed-in session
 * whose principal may read the request (their own, a shared group's, or an operator's).
 */

import type { RequestView } from "@spca/core/ra/views";
import { isRequestId } from "@spca/core/requests/request";
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { alert, badge, csrFacts, historyTable, time } from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import type { Session } from "../security/session.ts";

/** Statuses the requester waits through; the page follows these and stops at any other. */
const inProgress: ReadonlySet<string> = new Set(["submitted", "pending_approval", "approved"]);

export function requestRoutes(kit: Kit): Hono {
  const app = new Hono();

  /** The request if the link's token (or the session) opens it, and how it was opened. */
  const open = async (c: Context, session: Session | undefined) => {
    const id = c.req.param("id") ?? "";
    if (!isRequestId(id)) return undefined;
    const token = c.req.query("token");
    const byLink = token ? await kit.services.getRequestByStatusToken(id, token) : undefined;
    return byLink ?? (session ? kit.services.getRequest(id, session.principal) : undefined);
  };

  const notOpen = (c: Context, session: Session | undefined) =>
    kit.render(c, {
      title: "Request not found",
      session,
      status: 404,
      main: html`<h1>Request not found</h1>
${alert("error", "This status link is not valid.", "Check that the whole link was copied, or sign in to look the request up.")}`,
    });

  app.get("/requests/:id", async (c) => {
    const session = await kit.sessions.current(c);
    const request = await open(c, session);
    if (!request) return notOpen(c, session);
    const live = inProgress.has(request.status);
    return kit.render(c, {
      title: `Request ${request.id}`,
      session,
      refreshWithoutScript: live ? 5 : undefined,
      main: requestMain(request, c.req.query("token"), live),
    });
  });

  // What the page's script polls while the request is in progress.
  app.get("/requests/:id/status", async (c) => {
    const request = await open(c, await kit.sessions.current(c));
    if (!request)
      return c.json({ code: "NOT_FOUND", message: "This status link is not valid." }, 404);
    return c.json({ status: request.status, updatedAt: request.updatedAt });
  });

  const download = (chain: boolean) => async (c: Context) => {
    const session = await kit.sessions.current(c);
    const request = await open(c, session);
    if (!request) return notOpen(c, session);
    // Whoever opened the request (its link, or a session that may read it) gets its certificate.
    const certificate = request.serial
      ? await kit.services.getCertificate(request.serial, { ofRequest: request.id })
      : undefined;
    if (!certificate) {
      return kit.render(c, {
        title: "No certificate yet",
        session,
        status: 404,
        main: html`<h1>No certificate yet</h1>${alert("info", `Request ${request.id} is ${request.status}; it has no certificate to download.`)}`,
      });
    }
    const name = chain ? `${certificate.serial}-fullchain.pem` : `${certificate.serial}.pem`;
    return c.body(chain ? certificate.pem + certificate.chainPem : certificate.pem, 200, {
      "Content-Type": chain ? "application/pem-certificate-chain" : "application/x-pem-file",
      "Content-Disposition": `attachment; filename="${name}"`,
    });
  };
  app.get("/requests/:id/certificate.pem", download(false));
  app.get("/requests/:id/fullchain.pem", download(true));

  return app;
}

function requestMain(request: RequestView, token: string | undefined, live: boolean): Html {
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  const base = `/requests/${encodeURIComponent(request.id)}`;
  return html`<h1>Certificate request</h1>
<div class="status-line" ${live ? html`data-poll="${base}/status${query}" data-status="${request.status}"` : ""}>
<p>Status: <strong id="status" aria-live="polite">${badge(request.status)}</strong></p>
${live ? html`<p class="hint">This page follows the request and refreshes when its status changes.</p>` : ""}
</div>
${request.status === "rejected" ? alert("error", "The request was rejected.", request.reason ? html`Reason: <span class="reason">${request.reason}</span>` : "No reason was given.") : ""}
${request.status === "failed" ? alert("error", "The request failed.", request.reason ?? "") : ""}
${request.status === "expired" ? alert("error", "Nobody decided on the request in time.", request.reason ?? "Submit it again to start a new approval.") : ""}
${
  request.serial
    ? html`<section aria-labelledby="download-heading" class="card">
<h2 id="download-heading">Certificate ${request.status === "revoked" ? html`(revoked)` : ""}</h2>
<p>Serial <code>${request.serial}</code></p>
<ul class="downloads">
<li><a href="${base}/certificate.pem${query}" download>Download the certificate (PEM)</a></li>
<li><a href="${base}/fullchain.pem${query}" download>Download the full chain (certificate, issuing CA, root; PEM)</a></li>
</ul>
</section>`
    : ""
}
<section aria-labelledby="details-heading">
<h2 id="details-heading">Details</h2>
<dl class="facts">
<dt>Request</dt><dd><code>${request.id}</code></dd>
<dt>Requested by</dt><dd>${request.requestedBy}</dd>
<dt>Mails go to</dt><dd>${request.requester}</dd>
<dt>Profile</dt><dd>${request.profile}</dd>
<dt>Submitted</dt><dd>${time(request.createdAt)}</dd>
<dt>Last change</dt><dd>${time(request.updatedAt)}</dd>
</dl>
${csrFacts({ subject: request.subject, sans: request.sans, key: request.key })}
</section>
${historyTable(request.history)}`;
}
