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
