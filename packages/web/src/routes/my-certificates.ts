/**
 * /certificates: the certificate inventory of whoever is signed in, as the API's listing shows
 * it to them: a requester's own certificates and their shared groups', everyone's for
 * approvers, auditors and admins. The same filters, paging and expiry marks as the operators'
 * listing; each row opens the certificate's request page. Nobody signed in is sent to sign in.
 */
import { readsEverything } from "@spca/core/identity/principal";
import type { InventoryRow } from "@spca/core/inventory/rows";
import { Hono } from "hono";
import { html } from "hono/html";
import { alert } from "../html/components.ts";
import type { Kit } from "../kit.ts";
import { certificateInventory, type PageOf } from "./certificate-inventory.ts";

export function myCertificateRoutes(kit: Kit): Hono {
  const app = new Hono();
  const page: PageOf = (c, session, title, main, status = 200) =>
    kit.render(c, { title, section: "certificates", session, status, main });
  const view = { path: "/certificates", link: (row: InventoryRow) => `/requests/${row.requestId}` };
  const header = (everything: boolean) => async () =>
    everything
      ? html`<h1>Certificates</h1><p class="hint">Your role reads every certificate.</p>`
      : html`<h1>Your certificates</h1><p class="hint">Certificates you asked for, and those of the groups you share requests with.</p>`;
  app.get("/certificates", async (c) => {
    const session = await kit.sessions.current(c);
    if (!session) {
      const here = new URL(c.req.url);
      return c.redirect(`/sign-in?next=${encodeURIComponent(here.pathname + here.search)}`, 303);
    }
    if (session.principal.roles.length === 0) {
      return page(
        c,
        session,
        "No certificates to show",
        html`<h1>No certificates to show</h1>${alert("error", "Your identity has no role here.", `You are signed in as ${session.principal.email ?? session.principal.id}; no group of yours is mapped to a role.`)}`,
        403,
      );
    }
    const everything = readsEverything(session.principal);
    return certificateInventory(kit, page, header(everything), view)(c, session);
  });
  return app;
}
