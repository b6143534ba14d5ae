/**
 * The frame every page shares: head (one stylesheet and one script, both from this origin),
 * the site header with its navigation, and the main landmark. Everything interpolated goes
 * through hono/html, which escapes it.
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Assets } from "../assets.ts";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString> | "";

export interface Frame {
  readonly title: string;
  readonly main: Html;
  /** Who is signed in, for the navigation. */
  readonly signedIn:
    | { readonly who: string; readonly roles: readonly string[]; readonly csrf: string }
    | undefined;
  /** Which navigation entry is the current page. */
  readonly section?: "submit" | "certificates" | "operators" | "sign-in";
  /** Reload every N seconds when scripts are off (a page that follows a live status). */
  readonly refreshWithoutScript?: number;
}

export function layout(assets: Assets, frame: Frame): Html {
  const current = (section: Frame["section"]) =>
    frame.section === section ? html` aria-current="page"` : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${frame.title} · Private CA</title>
<link rel="stylesheet" href="${assets.url("app.css")}">
<script type="module" src="${assets.url("app.js")}"></script>
${frame.refreshWithoutScript ? html`<noscript><meta http-equiv="refresh" content="${frame.refreshWithoutScript}"></noscript>` : ""}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
<a class="brand" href="/">Private CA</a>
<nav aria-label="Main">
<ul>
<li><a href="/"${current("submit")}>Submit a CSR</a></li>
${frame.signedIn ? html`<li><a href="/certificates"${current("certificates")}>My certificates</a></li>` : ""}
<li><a href="/operators"${current("operators")}>Operators</a></li>
<li>${
    frame.signedIn
      ? html`<form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="${frame.signedIn.csrf}"><button type="submit" class="link">Sign out <span class="who">${frame.signedIn.who}</span> (${frame.signedIn.roles.join(", ") || "no role"})</button></form>`
      : html`<a href="/sign-in"${current("sign-in")}>Sign in</a>`
  }</li>
</ul>
</nav>
</header>
<main id="main" tabindex="-1">
${frame.main}
</main>
</body>
</html>`;
}
