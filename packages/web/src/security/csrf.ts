/**
 * CSRF protection for the pages' forms, which work without JavaScript: a random token in a
 * SameSite=Strict, HttpOnly cookie (the `__Host-` prefix on https, so no subdomain can set
 * it) that every form repeats in a hidden field, plus the browser's own word on where the
 * POST came from (Sec-Fetch-Site, or Origin when that is missing).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export class Csrf {
  private readonly https: boolean;
  private readonly publicOrigin: string;
  readonly cookieName: string;
  /** The token minted for a request that came without one, so all its forms carry the same. */
  private readonly minted = new WeakMap<Request, string>();

  constructor(options: { readonly https: boolean; readonly publicBaseUrl: string }) {
    this.https = options.https;
    this.publicOrigin = new URL(options.publicBaseUrl).origin;
    this.cookieName = options.https ? "__Host-csrf" : "csrf";
  }

  /** The token for this browser's forms, set as a cookie on first use. */
  token(c: Context): string {
    const existing = getCookie(c, this.cookieName);
    if (existing && TOKEN.test(existing)) return existing;
    // A page with several forms (the header's sign-out, and its own) mints one token, not one
    // per form, of which only the last set would match the cookie.
    const minted = this.minted.get(c.req.raw);
    if (minted) return minted;
    const token = randomBytes(32).toString("base64url");
    this.minted.set(c.req.raw, token);
    setCookie(c, this.cookieName, token, {
      path: "/",
      httpOnly: true,
      secure: this.https,
      sameSite: "Strict",
    });
    return token;
  }

  /** Whether a POST carrying `submitted` in its csrf field came from our own page. */
  accepts(c: Context, submitted: unknown): boolean {
    if (!this.sameOrigin(c)) return false;
    const cookie = getCookie(c, this.cookieName);
    if (typeof submitted !== "string" || !cookie || !TOKEN.test(cookie)) return false;
    const a = Buffer.from(cookie);
    const b = Buffer.from(submitted);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private sameOrigin(c: Context): boolean {
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined) return site === "same-origin" || site === "none";
    const origin = c.req.header("origin");
    if (origin === undefined) return true; // an old browser or a non-browser client: the token decides
    return origin === this.publicOrigin || origin === new URL(c.req.url).origin;
  }
}
