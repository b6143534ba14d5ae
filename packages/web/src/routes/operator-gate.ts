/**
 * Who may open the operators' pages: those who read everything (approvers, auditors, admins),
 * or with `adminOnly` admins alone. Nobody signed in is sent to sign in and back; anyone else
 * is told, on a 403 page, what their identity cannot do. Every operators' route goes through it.
 */
import { hasRole, readsEverything } from "@spca/core/identity/principal";
import type { Context } from "hono";
import { html } from "hono/html";
import { alert } from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import type { Session } from "../security/session.ts";

export type OperatorHandler = (c: Context, session: Session) => Promise<Response>;

export type OperatorPageStatus = 200 | 400 | 403 | 404 | 409 | 410 | 422 | 503;

/** How a listing draws a page in its frame (the operators', or a requester's). */
export type PageOf = (
  c: Context,
  session: Session,
  title: string,
  main: Html,
  status?: OperatorPageStatus,
) => Response | Promise<Response>;

/**
 * A page cursor this site did not give out (edited, crafted, from another listing): a 400 page
 * with a link to the listing's first page, never a failure.
 */
export function invalidCursorPage(page: PageOf, c: Context, session: Session) {
  const first = new URL(c.req.url);
  first.searchParams.delete("cursor");
  return page(
    c,
    session,
    "Page link not valid",
    html`<h1>This page link is not valid</h1>${alert("error", "The page cursor in the address is not one this site gave out.", html`<a href="${first.pathname}${first.search}">Go to the first page</a>.`)}`,
    400,
  );
}

export function operatorGate(kit: Kit) {
  const operator =
    (handler: OperatorHandler, adminOnly = false) =>
    async (c: Context) => {
      const session = await kit.sessions.current(c);
      if (!session) {
        const here = new URL(c.req.url);
        return c.redirect(`/sign-in?next=${encodeURIComponent(here.pathname + here.search)}`, 303);
      }
      const allowed = adminOnly
        ? hasRole(session.principal, "admin")
        : readsEverything(session.principal);
      if (!allowed) {
        const roles = session.principal.roles.join(", ") || "no role";
        return kit.render(c, {
          title: "Operators only",
          section: "operators",
          session,
          status: 403,
          main: html`<h1>Operators only</h1>${alert("error", adminOnly ? "This needs the admin role." : "These pages are for approvers, auditors and admins.", `You are signed in as ${session.principal.email ?? session.principal.id} (${roles}).`)}`,
        });
      }
      return handler(c, session);
    };
  return {
    operator,
    admin: (handler: OperatorHandler) => operator(handler, true),
    /** An operators' page in the shared frame. */
    page: (
      c: Context,
      session: Session,
      title: string,
      main: Html,
      status: OperatorPageStatus = 200,
    ) => kit.render(c, { title, section: "operators", session, status, main }),
  };
}
