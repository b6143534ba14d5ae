/**
 * The pages' sign-in state: the session secret in an HttpOnly cookie (SameSite=Lax, so a link
 * from an email still arrives signed in; every POST also needs the CSRF token). The secret is
 * checked against the store on each request, so signing out or revoking a key ends it. While a
 * person signs in at the provider, a second short cookie holds the PKCE verifier, state and
 * nonce, and where to return: it is read once, on the callback, and deleted.
 */
import type { PendingSignIn } from "@spca/core/identity/provider";
import { SESSION_SECONDS, type Session, type SignedIn } from "@spca/core/ra/sessions";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { WebServices } from "../services.ts";

export type { Session } from "@spca/core/ra/sessions";

/** Long enough to type a password and answer MFA at the provider. */
const PENDING_SECONDS = 600;

export interface PendingPageSignIn extends PendingSignIn {
  /** The page to return to (a path on this site). */
  readonly next: string | undefined;
}

export class Sessions {
  private readonly services: WebServices;
  private readonly https: boolean;
  readonly cookieName: string;
  private readonly pendingCookie: string;

  constructor(services: WebServices, options: { readonly https: boolean }) {
    this.services = services;
    this.https = options.https;
    this.cookieName = options.https ? "__Host-session" : "session";
    this.pendingCookie = options.https ? "__Host-sign-in" : "sign-in";
  }

  async current(c: Context): Promise<Session | undefined> {
    const secret = getCookie(c, this.cookieName);
    return secret ? this.services.session(secret) : undefined;
  }

  /** Signs in with an API key and sets the cookie; undefined when the key is not valid. */
  async start(c: Context, rawKey: string): Promise<SignedIn | undefined> {
    const signedIn = await this.services.signIn(rawKey);
    if (signedIn) this.keep(c, signedIn);
    return signedIn;
  }

  /** Sets the cookie for a session made elsewhere (a person's sign-in at the provider). */
  keep(c: Context, signedIn: SignedIn): void {
    setCookie(c, this.cookieName, signedIn.secret, {
      path: "/",
      httpOnly: true,
      secure: this.https,
      sameSite: "Lax",
      maxAge: SESSION_SECONDS,
    });
  }

  async end(c: Context): Promise<void> {
    const secret = getCookie(c, this.cookieName);
    if (secret) await this.services.signOut(secret);
    deleteCookie(c, this.cookieName, { path: "/", secure: this.https });
  }

  /** Lax, so the provider's redirect back (a top-level GET) carries it. */
  setPending(c: Context, pending: PendingPageSignIn): void {
    setCookie(c, this.pendingCookie, Buffer.from(JSON.stringify(pending)).toString("base64url"), {
      path: "/",
      httpOnly: true,
      secure: this.https,
      sameSite: "Lax",
      maxAge: PENDING_SECONDS,
    });
  }

  /** The pending sign-in, once: the cookie is deleted as it is read. */
  takePending(c: Context): PendingPageSignIn | undefined {
    const text = getCookie(c, this.pendingCookie);
    deleteCookie(c, this.pendingCookie, { path: "/", secure: this.https });
    if (!text) return undefined;
    try {
      const value = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown;
      if (typeof value !== "object" || value === null) return undefined;
      const { codeVerifier, state, nonce, next } = value as Record<string, unknown>;
      if (typeof codeVerifier !== "string" || typeof state !== "string") return undefined;
      if (typeof nonce !== "string") return undefined;
      return { codeVerifier, state, nonce, next: typeof next === "string" ? next : undefined };
    } catch {
      return undefined;
    }
  }
}
