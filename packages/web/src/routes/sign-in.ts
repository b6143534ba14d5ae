/**
 * Sign-in. People sign in through the identity provider (authorization code flow with PKCE:
 * /auth/sign-in sends them there, /auth/callback brings them back with a session); an API key
 * can also be exchanged for a session. Neither the key nor any token is kept in the browser:
 * only the session cookie.
 */
import { isPkiError } from "@spca/core/errors";
import { type Principal, readsEverything } from "@spca/core/identity/principal";
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { CALLBACK_PATH } from "../auth-paths.ts";
import { alert, csrfField } from "../html/components.ts";
import type { Kit } from "../kit.ts";

/** Only a path on this site: never "//host" or a scheme, so sign-in cannot redirect away. */
export function safeNext(next: unknown): string | undefined {
  return typeof next === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : undefined;
}

export function signInRoutes(kit: Kit): Hono {
  const app = new Hono();
  const people = kit.services.signsInPeople;

  const form = (
    c: Context,
    next: string | undefined,
    error?: string,
    status: 200 | 401 | 403 | 503 = 200,
  ) => {
    const query = next ? `?next=${encodeURIComponent(next)}` : "";
    return kit.render(c, {
      title: "Sign in",
      section: "sign-in",
      session: undefined,
      status,
      main: html`<h1>Sign in</h1>
${error ? alert("error", error) : ""}
${
  people
    ? html`<p><a class="button" id="sign-in-provider" href="/auth/sign-in${query}">Sign in with your organisation's account</a></p>
<details class="stack narrow"><summary>Sign in with an API key instead</summary>${keyForm(c, next)}</details>`
    : keyForm(c, next)
}`,
    });
  };

  const keyForm = (
    c: Context,
    next: string | undefined,
  ) => html`<form method="post" action="/sign-in" class="stack narrow">
${csrfField(kit.csrf.token(c))}
${next ? html`<input type="hidden" name="next" value="${next}">` : ""}
<div class="field">
<label for="key">API key</label>
<p class="hint" id="key-hint">Keys are for machines and for operators without an account at the provider. The key is not stored in your browser: signing in makes a session of 8 hours.</p>
<input type="password" id="key" name="key" required autocomplete="off" spellcheck="false" aria-describedby="key-hint">
</div>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`;

  app.get("/sign-in", (c) => form(c, safeNext(c.req.query("next"))));

  app.post("/sign-in", async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(body.next);
    if (!kit.csrf.accepts(c, body.csrf)) {
      return form(
        c,
        next,
        "The form had expired or did not come from this site; please sign in again.",
        403,
      );
    }
    const key = typeof body.key === "string" ? body.key.trim() : "";
    const session = /^[A-Za-z0-9_-]{16,128}$/.test(key)
      ? await kit.sessions.start(c, key)
      : undefined;
    if (!session) return form(c, next, "That API key is not valid, or it has been revoked.", 401);
    return c.redirect(next ?? landing(session.principal), 303);
  });

  // To the provider, with PKCE, state and nonce kept in a short HttpOnly cookie.
  app.get("/auth/sign-in", async (c) => {
    const next = safeNext(c.req.query("next"));
    if (!people) return form(c, next, "Sign-in through a provider is not set up here.", 503);
    try {
      const { url, pending } = await kit.services.beginSignIn(
        `${kit.settings.publicBaseUrl}${CALLBACK_PATH}`,
      );
      kit.sessions.setPending(c, { ...pending, next });
      return c.redirect(url, 303);
    } catch (error) {
      if (!isPkiError(error, "IDENTITY_PROVIDER_UNAVAILABLE")) throw error;
      return form(c, next, error.message, 503);
    }
  });

  app.get(CALLBACK_PATH, async (c) => {
    const pending = kit.sessions.takePending(c);
    if (!pending) {
      return form(
        c,
        undefined,
        "The sign-in took too long or was started in another browser; start again.",
        401,
      );
    }
    // The URL the provider redirected to, on the public origin (behind the Router the
    // request's own URL names the function, not the site).
    const here = new URL(c.req.url);
    const callback = new URL(`${kit.settings.publicBaseUrl}${CALLBACK_PATH}${here.search}`);
    try {
      const signedIn = await kit.services.finishSignIn(callback, pending);
      kit.sessions.keep(c, signedIn);
      return c.redirect(pending.next ?? landing(signedIn.principal), 303);
    } catch (error) {
      if (
        !isPkiError(error, "SIGN_IN_FAILED") &&
        !isPkiError(error, "IDENTITY_PROVIDER_UNAVAILABLE")
      )
        throw error;
      return form(c, pending.next, error.message, 401);
    }
  });

  app.post("/sign-out", async (c) => {
    const body = await c.req.parseBody();
    if (!kit.csrf.accepts(c, body.csrf)) {
      return form(c, undefined, "The form had expired or did not come from this site.", 403);
    }
    await kit.sessions.end(c);
    return c.redirect("/", 303);
  });

  return app;
}

/** Where a fresh session lands: the operators' pages for those who read everything. */
function landing(principal: Principal): string {
  return readsEverything(principal) ? "/operators" : "/";
}
