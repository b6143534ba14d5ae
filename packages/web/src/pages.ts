/**
 * The browser pages as one Hono app that the API app mounts, so pages and API share one
 * origin (locally and behind the CloudFront Router). Composed of small route modules; every
 * page response gets the security headers; errors a page does not handle itself become an
 * HTML error page rather than JSON.
 */
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { Assets, SOURCE_ASSETS_DIR } from "./assets.ts";
import { alert } from "./html/components.ts";
import { layout } from "./html/layout.ts";
import { makeKit, renderSafely } from "./kit.ts";
import { approvalRoutes } from "./routes/approval.ts";
import { myCertificateRoutes } from "./routes/my-certificates.ts";
import { operatorRequestRoutes } from "./routes/operator-request.ts";
import { operatorRoutes } from "./routes/operators.ts";
import { requestRoutes } from "./routes/request.ts";
import { signInRoutes } from "./routes/sign-in.ts";
import { submitRoutes } from "./routes/submit.ts";
import { Csrf } from "./security/csrf.ts";
import { pageHeaders, setPageHeaders } from "./security/headers.ts";
import { Sessions } from "./security/session.ts";
import type { WebServices } from "./services.ts";

export interface PagesOptions {
  readonly services: WebServices;
  /** The public origin (config publicBaseUrl): https there means Secure, __Host- cookies and HSTS. */
  readonly publicBaseUrl: string;
  readonly openSubmission: boolean;
  /** Where app.css and app.js are; the repository's packages/web/assets by default. */
  readonly assetsDir?: string;
  /** The client's address as the platform reports it; names anonymous submitters. */
  readonly clientAddress?: (c: Context) => string;
  /** Called with every error no page handled (the answer is a plain 500 page). */
  readonly onUnexpectedError?: (error: unknown, c: Context) => void;
}

export interface Pages {
  readonly app: Hono;
  /**
   * An HTML error page with the security headers, for what the mounting app refuses before a
   * page runs (no such page, a body over the limit, the rate limit) when a browser asked.
   */
  errorPage(c: Context, status: 404 | 413 | 429, detail: string): Promise<Response>;
}

const errorTitles = {
  404: "Page not found",
  413: "Too much data",
  429: "Too many requests",
  500: "Something went wrong",
} as const;

/** Paths the pages answer; the mounting app sends everything else to the API. */
export const PAGE_PATHS = [
  "/",
  "/csr/*",
  "/requests/*",
  "/approvals/*",
  "/sign-in",
  "/sign-out",
  "/auth/*",
  "/certificates",
  "/operators",
  "/operators/*",
  "/assets/*",
] as const;

export function createPages(options: PagesOptions): Pages {
  const https = options.publicBaseUrl.startsWith("https:");
  const assets = new Assets(options.assetsDir ?? SOURCE_ASSETS_DIR);
  const kit = makeKit({
    services: options.services,
    assets,
    csrf: new Csrf({ https, publicBaseUrl: options.publicBaseUrl }),
    sessions: new Sessions(options.services, { https }),
    settings: { openSubmission: options.openSubmission, publicBaseUrl: options.publicBaseUrl },
    clientAddress: options.clientAddress ?? (() => "unknown"),
  });

  const plainPage = async (c: Context, status: keyof typeof errorTitles, detail: string) => {
    const title = errorTitles[status];
    const response = await renderSafely(
      c,
      layout(assets, {
        title,
        signedIn: undefined,
        main: html`<h1>${title}</h1>${alert("error", detail)}`,
      }),
      status,
    );
    setPageHeaders(response.headers, { https });
    return response;
  };

  const app = new Hono();
  for (const path of PAGE_PATHS) app.use(path, pageHeaders({ https }));
  app.onError((error, c) => {
    options.onUnexpectedError?.(error, c);
    return plainPage(
      c,
      500,
      "The server failed to show this page. Try again in a moment; if it keeps failing, tell the CA's operators.",
    );
  });
  app.get("/assets/:name", (c) => assets.serve(c, c.req.param("name")) ?? c.notFound());
  app.route("/", submitRoutes(kit));
  app.route("/", requestRoutes(kit));
  app.route("/", approvalRoutes(kit));
  app.route("/", signInRoutes(kit));
  app.route("/", operatorRoutes(kit));
  app.route("/", operatorRequestRoutes(kit));
  app.route("/", myCertificateRoutes(kit));

  return { app, errorPage: plainPage };
}
