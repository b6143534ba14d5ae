/**
 * The identity port: how people sign in (authorization code flow with PKCE) and how a bearer
 * access token on the API is checked. One adapter serves every standard provider
 * (oidc-provider.ts): Cognito on AWS, Entra ID, Okta, and the local stand-in under npm start.
 */
import type { SignedInPerson } from "../store/request-repository.ts";

export type { SignedInPerson } from "../store/request-repository.ts";

/** What the browser carries between sign-in's start and the provider's callback. */
export interface PendingSignIn {
  readonly codeVerifier: string;
  readonly state: string;
  readonly nonce: string;
}

export interface IdentityProvider {
  /** Where to send the browser, and what to keep (in a short cookie) for the callback. */
  beginSignIn(redirectUri: string): Promise<{ url: string; pending: PendingSignIn }>;
  /**
   * The person the provider's callback (the full URL it redirected to) signs in. Throws
   * PkiError SIGN_IN_FAILED for anything not right: wrong state, a refused code, an ID token
   * that does not verify, an email that is absent or unverified.
   */
  finishSignIn(callback: URL, pending: PendingSignIn): Promise<SignedInPerson>;
  /** The person a bearer access token names; undefined when the token is not valid. */
  verifyAccessToken(token: string): Promise<SignedInPerson | undefined>;
  /** The provider's sign-out page, returning to `postLogoutRedirectUri`, if it has one. */
  signOutUrl(postLogoutRedirectUri: string): Promise<string | undefined>;
}
