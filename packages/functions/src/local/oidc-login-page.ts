/**
 * The local OpenID provider's own pages (src/local/oidc-stand-in.ts): the sign-in form, and the
 * sign-out, signed-out and error pages oidc-provider asks for. oidc-provider's defaults load
 * a web font from Google; these are self-contained, and escape everything they show.
 */
import type { ServerResponse } from "node:http";

export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:26rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.2)}h1{font-size:1.5rem;margin:0 0 .5rem}
label{display:block;margin-top:1rem;font-weight:600}input{box-sizing:border-box;width:100%;
padding:.5rem;font:inherit;border:1px solid #8a93a6;border-radius:4px}
button{margin-top:1.25rem;padding:.5rem 1.25rem;font:inherit;border:0;border-radius:4px;
background:#2457c5;color:#fff;cursor:pointer}button.secondary{background:#e2e5eb;color:#1d2330}
.error{padding:.5rem .75rem;border-radius:4px;background:#fde8e8;color:#8c1d1d}
.hint{margin-top:1.5rem;font-size:.875rem;color:#4a5263}code{font-size:.875rem}`;

/** A whole page; `body` must already be escaped. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

/**
 * Answers with a page of ours. The policy allows the inline style and nothing else to load;
 * it leaves form-action open, since signing in ends in a redirect to the application.
 */
export function sendPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy":
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
  });
  res.end(html);
}

export interface LoginPageInput {
  /** Where the form posts: the interaction's own URL. */
  readonly action: string;
  /** The application asking, as the provider knows it. */
  readonly clientId: string;
  readonly users: readonly { readonly email: string; readonly needsPassword: boolean }[];
  readonly email?: string;
  readonly error?: string;
}

export function loginPage({ action, clientId, users, email, error }: LoginPageInput): string {
  const hints = users
    .map(
      (user) =>
        `<li><code>${escapeHtml(user.email)}</code>${user.needsPassword ? " (password)" : ""}</li>`,
    )
    .join("");
  return page(
    "Sign in",
    `<h1>Sign in</h1>
<p>to <strong>${escapeHtml(clientId)}</strong>, through the local OpenID provider stand-in.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="${escapeHtml(action)}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="${escapeHtml(email ?? "")}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
<div class="hint"><p>Configured users (those marked need their password; the others sign in with the email alone):</p>
<ul>${hints}</ul></div>`,
  );
}

/** `form` is oidc-provider's hidden form (with its anti-forgery token); the buttons submit it. */
export function logoutPage(form: string): string {
  return page(
    "Sign out",
    `<h1>Sign out?</h1>
<p>Sign out of the local OpenID provider stand-in.</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  );
}

export function signedOutPage(): string {
  return page("Signed out", "<h1>Signed out</h1><p>You can close this page.</p>");
}

export function errorPage(title: string, details: Record<string, unknown>): string {
  const rows = Object.entries(details)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
    .join("\n");
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${rows}`);
}
