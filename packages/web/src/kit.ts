/**
 * What every route module gets: the services, the security helpers and a render function that
 * wraps a page's main content in the shared frame with the signed-in state.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Assets } from "./assets.ts";
import { type Frame, type Html, layout } from "./html/layout.ts";
import type { Csrf } from "./security/csrf.ts";
import type { Session, Sessions } from "./security/session.ts";
import type { WebServices } from "./services.ts";

export interface PageSettings {
  /** Whether anyone may submit without signing in (PKI_OPEN_SUBMISSION). */
  readonly openSubmission: boolean;
}

export interface RenderInput extends Omit<Frame, "signedIn"> {
  readonly session: Session | undefined;
  readonly status?: ContentfulStatusCode;
}

export interface Kit {
  readonly services: WebServices;
  readonly assets: Assets;
  readonly csrf: Csrf;
  readonly sessions: Sessions;
  readonly settings: PageSettings;
  render(c: Context, page: RenderInput): Response | Promise<Response>;
}

export function makeKit(parts: Omit<Kit, "render">): Kit {
  return {
    ...parts,
    render(c, page) {
      const { session, status, ...frame } = page;
      const signedIn = session ? { role: session.role, csrf: parts.csrf.token(c) } : undefined;
      const body: Html = layout(parts.assets, { ...frame, signedIn });
      return c.html(body, status ?? 200);
    },
  };
}
