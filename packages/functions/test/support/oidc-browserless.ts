/**
 * Signs in through an OpenID provider (the local stand-in, src/local/oidc-stand-in.ts) the way
 * a browser would, without one: openid-client as the relying party, and fetch following the
 * provider's redirects by hand, carrying its cookies, filling in its sign-in form. For tests
 * that need real tokens.
 */
import * as client from "openid-client";

/** One browser's cookies for one host. Paths are ignored: every cookie goes with every request. */
export class CookieBrowser {
  readonly #cookies = new Map<string, string>();

  /** One request, redirects not followed, cookies sent and kept. */
  async fetch(url: URL | string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) {
      headers.set(
        "cookie",
        [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; "),
      );
    }
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(";", 1)[0]!;
      const at = pair.indexOf("=");
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      // A cleared cookie comes back empty (and expired in 1970).
      if (value) this.#cookies.set(name, value);
      else this.#cookies.delete(name);
    }
    return response;
  }

  /**
   * Follows redirects until one leads to `stopAt` (an origin and path; any query), which is
   * returned unfetched, or until a response is not a redirect.
   */
  async browse(
    url: URL,
    stopAt: string,
    init: RequestInit = {},
  ): Promise<{ readonly stoppedAt: URL } | { readonly response: Response }> {
    const stop = new URL(stopAt);
    let response = await this.fetch(url, init);
    let at = url;
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get("location");
      if (response.status < 300 || response.status > 399 || !location) return { response };
      at = new URL(location, at);
      if (at.origin === stop.origin && at.pathname === stop.pathname) return { stoppedAt: at };
      response = await this.fetch(at);
    }
    throw new Error(`more than 20 redirects, the last to ${at.href}`);
  }
}

/** The provider answered with a page instead of a redirect: a refused sign-in, or an error. */
export class SignInRefused extends Error {
  readonly status: number;
  readonly body: string;

  constructor(status: number, body: string) {
    super(`the provider answered HTTP ${status} instead of signing in`);
    this.status = status;
    this.body = body;
  }
}

export interface SignInOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly email: string;
  readonly password?: string;
  /** Default "openid email profile". */
  readonly scope?: string;
  /** How the client authenticates at the token endpoint; default client_secret_post. */
  readonly clientAuth?: "client_secret_basic" | "client_secret_post";
}

export interface SignedIn {
  readonly idToken: string;
  readonly accessToken: string;
  /** The ID token's claims. */
  readonly claims: client.IDToken;
  /** openid-client's view of provider and client, e.g. for fetchUserInfo or buildEndSessionUrl. */
  readonly config: client.Configuration;
  /** The browser that signed in, holding the provider's session cookie. */
  readonly browser: CookieBrowser;
}

/** The issuer's configuration for a client; http is allowed, as the local issuer uses it. */
export function discoverProvider(
  issuer: string,
  clientId: string,
  clientSecret: string,
  clientAuth: SignInOptions["clientAuth"] = "client_secret_post",
): Promise<client.Configuration> {
  const auth =
    clientAuth === "client_secret_basic"
      ? client.ClientSecretBasic(clientSecret)
      : client.ClientSecretPost(clientSecret);
  return client.discovery(new URL(issuer), clientId, undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
}

/**
 * The authorization code flow with PKCE, end to end: throws SignInRefused when the provider
 * stops at a page (its error page, or the sign-in form again with an error).
 */
export async function signInWithoutBrowser(
  issuer: string,
  options: SignInOptions,
): Promise<SignedIn> {
  const { clientId, clientSecret, redirectUri, email, password = "" } = options;
  const config = await discoverProvider(issuer, clientId, clientSecret, options.clientAuth);
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: options.scope ?? "openid email profile",
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
    state,
  });

  const browser = new CookieBrowser();
  const shown = await browser.browse(authorizationUrl, redirectUri);
  if (!("response" in shown)) throw new Error("signed in without being asked, on a new browser");
  const form = await shown.response.text();
  const action = /<form method="post" action="([^"]+)"/.exec(form)?.[1];
  if (shown.response.status !== 200 || !action)
    throw new SignInRefused(shown.response.status, form);

  const submitted = await browser.browse(
    new URL(action.replaceAll("&amp;", "&"), issuer),
    redirectUri,
    {
      method: "POST",
      body: new URLSearchParams({ email, password }),
    },
  );
  if ("response" in submitted) {
    throw new SignInRefused(submitted.response.status, await submitted.response.text());
  }

  const tokens = await client.authorizationCodeGrant(config, submitted.stoppedAt, {
    pkceCodeVerifier,
    expectedState: state,
    idTokenExpected: true,
  });
  return {
    idToken: tokens.id_token!,
    accessToken: tokens.access_token,
    claims: tokens.claims()!,
    config,
    browser,
  };
}
