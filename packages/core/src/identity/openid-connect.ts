/**
 * The identity port over any standard OpenID provider: openid-client for discovery, the
 * authorization code flow with PKCE and userinfo; jose for bearer access tokens against the
 * issuer's JWKS. Nothing here checks a token by hand: both libraries verify signatures, issuer,
 * audience and expiry; this module only reads the claims they vouched for.
 */
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import * as client from "openid-client";
import { PkiError } from "../errors.ts";
import type { OidcConfig } from "./config.ts";
import type { IdentityProvider, PendingSignIn, SignedInPerson } from "./provider.ts";

export interface OpenIdConnectSettings extends OidcConfig {
  /** The client secret itself (read from where `clientSecret` points); absent: public client. */
  readonly clientSecretValue?: string;
}

/** How long a userinfo answer stands in for the claims a bearer token lacks. */
const USERINFO_CACHE_SECONDS = 300;
const USERINFO_CACHE_ENTRIES = 1000;

export class OpenIdConnectProvider implements IdentityProvider {
  private readonly settings: OpenIdConnectSettings;
  private discovered: Promise<client.Configuration> | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly userinfo = new Map<string, { person: SignedInPerson; until: number }>();

  constructor(settings: OpenIdConnectSettings) {
    this.settings = settings;
  }

  get issuer(): string {
    return this.settings.issuer;
  }

  /** Discovery, once; a failure is not kept, so the next request tries again. */
  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const { issuer, clientId, clientSecretValue } = this.settings;
      const local = issuer.startsWith("http:");
      this.discovered = client
        .discovery(
          new URL(issuer),
          clientId,
          undefined,
          clientSecretValue ? client.ClientSecretBasic(clientSecretValue) : client.None(),
          local ? { execute: [client.allowInsecureRequests] } : undefined,
        )
        .catch((error: unknown) => {
          this.discovered = undefined;
          throw new PkiError(
            "IDENTITY_PROVIDER_UNAVAILABLE",
            `The sign-in provider ${issuer} did not answer discovery: ${(error as Error).message}`,
            { cause: error },
          );
        });
    }
    return this.discovered;
  }

  async beginSignIn(redirectUri: string): Promise<{ url: string; pending: PendingSignIn }> {
    const config = await this.configuration();
    const pending = {
      codeVerifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(" "),
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: "S256",
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  async finishSignIn(callback: URL, pending: PendingSignIn): Promise<SignedInPerson> {
    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw new PkiError("SIGN_IN_FAILED", `The provider's answer was refused: ${reason(error)}`, {
        cause: error,
      });
    }
    const claims = tokens.claims();
    if (!claims) throw new PkiError("SIGN_IN_FAILED", "The provider sent no ID token.");
    const fromToken = this.personFrom(claims);
    if (fromToken) return fromToken;
    // Some providers leave email or groups out of the ID token and put them in userinfo.
    let info: client.UserInfoResponse;
    try {
      info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    } catch (error) {
      throw new PkiError("SIGN_IN_FAILED", `The provider's userinfo failed: ${reason(error)}`, {
        cause: error,
      });
    }
    const person = this.personFrom({ ...claims, ...info, sub: claims.sub });
    if (!person) throw new PkiError("SIGN_IN_FAILED", unverifiedEmail(this.settings));
    return person;
  }

  async verifyAccessToken(token: string): Promise<SignedInPerson | undefined> {
    const config = await this.configuration();
    const metadata = config.serverMetadata();
    if (!metadata.jwks_uri) {
      throw new PkiError(
        "IDENTITY_PROVIDER_UNAVAILABLE",
        `The provider ${this.settings.issuer} publishes no jwks_uri.`,
      );
    }
    this.jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri));
    const audience = this.settings.audience ?? this.settings.clientId;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: metadata.issuer,
        requiredClaims: ["sub", "exp"],
        ...(this.settings.audienceClaim === "aud" ? { audience } : {}),
      }));
    } catch (error) {
      // A token that does not verify is the caller's problem (401); a provider whose keys
      // cannot be fetched is ours (503), not a reason to call good tokens bad.
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout))
        return undefined;
      throw new PkiError(
        "IDENTITY_PROVIDER_UNAVAILABLE",
        `The keys of ${this.settings.issuer} could not be fetched: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // Cognito's access tokens name their client in client_id and have no aud.
    if (this.settings.audienceClaim === "client_id" && payload.client_id !== audience)
      return undefined;
    // An ID token is not an access token, though where the audience is the client id it would
    // verify as one: Cognito marks its tokens (token_use); ID tokens carry the sign-in's nonce.
    if (payload.token_use !== undefined && payload.token_use !== "access") return undefined;
    if (payload.nonce !== undefined) return undefined;
    const person = this.personFrom(payload);
    if (person) return person;
    return this.personFromUserinfo(config, token, payload);
  }

  async signOutUrl(postLogoutRedirectUri: string): Promise<string | undefined> {
    const config = await this.configuration();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    return client.buildEndSessionUrl(config, {
      post_logout_redirect_uri: postLogoutRedirectUri,
      client_id: this.settings.clientId,
    }).href;
  }

  /** Bearer tokens without the email claim (Cognito's, Okta's): the provider's userinfo. */
  private async personFromUserinfo(
    config: client.Configuration,
    token: string,
    payload: JWTPayload,
  ): Promise<SignedInPerson | undefined> {
    const now = Date.now();
    const cached = this.userinfo.get(token);
    if (cached && cached.until > now) return cached.person;
    let info: client.UserInfoResponse;
    try {
      info = await client.fetchUserInfo(config, token, payload.sub!);
    } catch {
      return undefined;
    }
    // Groups come from the verified token; userinfo supplies what it lacks.
    const person = this.personFrom({ ...info, ...payload, sub: payload.sub! });
    if (!person) return undefined;
    if (this.userinfo.size >= USERINFO_CACHE_ENTRIES) this.userinfo.clear();
    const until = Math.min(now + USERINFO_CACHE_SECONDS * 1000, (payload.exp ?? 0) * 1000);
    this.userinfo.set(token, { person, until });
    return person;
  }

  /** The person the claims name, if they carry a verified email; undefined otherwise. */
  private personFrom(claims: Record<string, unknown>): SignedInPerson | undefined {
    const names = this.settings.claims;
    const email = claims[names.email];
    if (typeof claims.sub !== "string" || claims.sub === "") return undefined;
    if (typeof email !== "string" || !email.includes("@")) return undefined;
    if (names.emailVerified !== null) {
      const verified = claims[names.emailVerified];
      if (verified !== true && verified !== "true") return undefined;
    }
    return {
      sub: claims.sub,
      email,
      name: typeof claims.name === "string" ? claims.name : null,
      groups: groupsOf(claims[names.groups]),
    };
  }
}

function groupsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === "string") : [];
}

function unverifiedEmail(settings: OidcConfig): string {
  return settings.claims.emailVerified === null
    ? `The provider sent no email address in the "${settings.claims.email}" claim.`
    : `The provider sent no verified email address ("${settings.claims.email}" with "${settings.claims.emailVerified}": true).`;
}

function reason(error: unknown): string {
  const e = error as { message?: string; error_description?: string; error?: string };
  return e.error_description ?? e.error ?? e.message ?? String(error);
}
