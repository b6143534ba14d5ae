/**
 * The pages' sign-in: the session secret in an HttpOnly cookie (SameSite=Lax, so a link from
 * an email still arrives signed in; every POST also needs the CSRF token). The secret is
 * checked against the store on each request, so signing out or revoking the key ends it.
 */
import { SESSION_SECONDS, type SignedIn } from "@spca/core/ra/sessions";
import type { SessionRecord } from "@spca/core/store/request-repository";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { WebServices } from "../services.ts";

export type Session = SessionRecord;

export class Sessions {
  private readonly services: WebServices;
  private readonly https: boolean;
  readonly cookieName: string;

  constructor(services: WebServices, options: { readonly https: boolean }) {
    this.services = services;
    this.https = options.https;
    this.cookieName = options.https ? "__Host-session" : "session";
  }

  async current(c: Context): Promise<Session | undefined> {
    const secret = getCookie(c, this.cookieName);
    return secret ? this.services.session(secret) : undefined;
  }

  /** Signs in with an API key and sets the cookie; undefined when the key is not valid. */
  async start(c: Context, rawKey: string): Promise<SignedIn | undefined> {
    const signedIn = await this.services.signIn(rawKey);
    if (!signedIn) return undefined;
    setCookie(c, this.cookieName, signedIn.secret, {
      path: "/",
      httpOnly: true,
      secure: this.https,
      sameSite: "Lax",
      maxAge: SESSION_SECONDS,
    });
    return signedIn;
  }

  async end(c: Context): Promise<void> {
    const secret = getCookie(c, this.cookieName);
    if (secret) await this.services.signOut(secret);
    deleteCookie(c, this.cookieName, { path: "/", secure: this.https });
  }
}
