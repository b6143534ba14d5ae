/**
 * What every route module gets: the services, the security helpers and a render function that
 * wraps a page's main content in the shared frame with the signed-in state.
 */
import { showUnsafe } from "@spca/core/encoding/unsafe-text";
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
  /** The public origin, for the sign-in callback the provider redirects to. */
  readonly publicBaseUrl: string;
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
  /** The client's address as the platform reports it (names an anonymous submitter). */
  clientAddress(c: Context): string;
  render(c: Context, page: RenderInput): Response | Promise<Response>;
}

export function makeKit(parts: Omit<Kit, "render">): Kit {
  return {
    ...parts,
    render(c, page) {
      const { session, status, ...frame } = page;
      const signedIn = session
        ? {
            who: session.principal.email ?? session.name ?? session.principal.id,
            roles: session.principal.roles,
            csrf: parts.csrf.token(c),
          }
        : undefined;
      return renderSafely(c, layout(parts.assets, { ...frame, signedIn }), status ?? 200);
    },
  };
}

/**
 * The page with every control and bidi-override character shown as a visible escape. The
 * templates have none of their own, so whatever is found came from a request, a CSR or a
 * reason: all of it, without a field to forget.
 */
export async function renderSafely(
  c: Context,
  page: Html,
  status: ContentfulStatusCode,
): Promise<Response> {
  return c.html(showUnsafe((await page).toString()), status);
}
