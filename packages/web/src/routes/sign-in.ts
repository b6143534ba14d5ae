/**
 * Sign-in with an API key (admin for the operators' pages, requester to submit where
 * submission is not open). The key is exchanged for a session cookie and not kept.
 */
import { type Context, Hono } from "hono";
import { html } from "hono/html";
import { alert, csrfField } from "../html/components.ts";
import type { Kit } from "../kit.ts";

/** Only a path on this site: never "//host" or a scheme, so sign-in cannot redirect away. */
export function safeNext(next: unknown): string | undefined {
  return typeof next === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : undefined;
}

export function signInRoutes(kit: Kit): Hono {
  const app = new Hono();

  const form = (
    c: Context,
    next: string | undefined,
    error?: string,
    status: 200 | 401 | 403 = 200,
  ) =>
    kit.render(c, {
      title: "Sign in",
      section: "sign-in",
      session: undefined,
      status,
      main: html`<h1>Sign in</h1>
${error ? alert("error", error) : ""}
<form method="post" action="/sign-in" class="stack narrow">
${csrfField(kit.csrf.token(c))}
${next ? html`<input type="hidden" name="next" value="${next}">` : ""}
<div class="field">
<label for="key">API key</label>
<p class="hint" id="key-hint">An admin key opens the operators' pages; a requester key lets you submit. The key is not stored in your browser: signing in makes a session of 8 hours.</p>
<input type="password" id="key" name="key" required autocomplete="off" spellcheck="false" aria-describedby="key-hint">
</div>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`,
    });

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
    return c.redirect(next ?? (session.role === "admin" ? "/operators" : "/"), 303);
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
