/**
 * A real OpenID Connect provider for local mode, in the same process: oidc-provider (panva),
 * with its discovery, JWKS, authorization code flow (PKCE S256 required), token endpoint
 * (client_secret_basic or _post), userinfo and RP-initiated logout, and a sign-in page of
 * ours for the configured users. The application signs people in through it exactly as it
 * would through a hosted provider.
 *
 * Access tokens are JWTs for one API: every authorization defaults to one resource indicator
 * whose audience is `accessTokenAudience`. The signing key and the cookie keys live in
 * `<dataDir>/oidc/`, so tokens and cookies issued before a restart still verify after it;
 * everything else (sessions, codes, grants) is in memory, and a restart asks people to sign
 * in again.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { readJson, writeAtomic } from "@spca/core/store/files";
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  jwtVerify,
} from "jose";
import Provider, {
  type Adapter,
  type AdapterPayload,
  type Configuration,
  errors,
  type KoaContextWithOIDC,
} from "oidc-provider";
import { applyServerTimeouts, closeServer } from "./http-timeouts.ts";
import { errorPage, loginPage, logoutPage, sendPage, signedOutPage } from "./oidc-login-page.ts";

export interface LocalOidcUser {
  email: string;
  name?: string;
  groups: string[];
  /** Without one, the user signs in with the email alone. */
  password?: string;
}

export interface OidcStandInOptions {
  /** The signing key and cookie keys persist under `join(dataDir, "oidc")`. */
  dataDir: string;
  /** Default "127.0.0.1". */
  host?: string;
  /** 0 for any free port. */
  port: number;
  users: readonly LocalOidcUser[];
  clients: readonly {
    clientId: string;
    clientSecret: string;
    redirectUris: string[];
    postLogoutRedirectUris?: string[];
  }[];
  /** The `aud` of the JWT access tokens. */
  accessTokenAudience: string;
  /** Default 3600; ID tokens live as long. */
  accessTokenTtlSeconds?: number;
}

export interface OidcStandIn {
  /** `http://<host>:<port>`, no trailing slash. */
  issuer: string;
  close(): Promise<void>;
}

const ALG = "ES256";
const INTERACTION_PATH = "/interaction/";
const USERINFO_PATH = "/me";
/** The claims each scope grants; `groups` comes with `openid`, so every sign-in carries it. */
const SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ["sub", "groups"],
  email: ["email", "email_verified"],
  profile: ["name"],
};
const SCOPES = Object.keys(SCOPE_CLAIMS).join(" ");

interface Account {
  readonly sub: string;
  readonly user: LocalOidcUser;
}

export async function startOidcStandIn(options: OidcStandInOptions): Promise<OidcStandIn> {
  const { host = "127.0.0.1", accessTokenAudience, accessTokenTtlSeconds = 3600 } = options;
  const keys = await loadOrCreateKeys(join(options.dataDir, "oidc"));
  const accounts = indexUsers(options.users);
  // A resource indicator must be an absolute URI; the audience may be a bare client id.
  const resource = URL.canParse(accessTokenAudience)
    ? accessTokenAudience
    : `urn:spca:audience:${encodeURIComponent(accessTokenAudience)}`;

  // The issuer names the port, so the provider is made once the server listens.
  let handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => {
    handler(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendPage(res, 500, errorPage("Sign-in failed", { error: String(e) }));
      else res.destroy();
    });
  });
  applyServerTimeouts(server);
  server.listen(options.port, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    jwks: { keys: [keys.signing] },
    cookies: {
      keys: keys.cookies,
      // Cookies are per host, not per port: keep clear of the application's own on 127.0.0.1.
      names: {
        session: "spca_oidc_session",
        interaction: "spca_oidc_interaction",
        resume: "spca_oidc_resume",
      },
    },
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      // Either secret method authenticates a client registered with one of them.
      token_endpoint_auth_method: "client_secret_basic",
    })),
    responseTypes: ["code"],
    clientDefaults: { id_token_signed_response_alg: ALG },
    clientAuthMethods: ["client_secret_basic", "client_secret_post"],
    enabledJWA: { idTokenSigningAlgValues: [ALG] },
    pkce: { required: () => true },
    claims: SCOPE_CLAIMS,
    // Applications read email and groups from the ID token, not only from userinfo.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const account = accounts.bySub.get(sub);
      return account && { accountId: sub, claims: () => accountClaims(account) };
    },
    extraTokenClaims: (_ctx, token) => {
      const account = "accountId" in token ? accounts.bySub.get(token.accountId) : undefined;
      if (!account) return undefined;
      const { email, email_verified, groups } = accountClaims(account);
      return { email, email_verified, groups };
    },
    features: {
      devInteractions: { enabled: false },
      // Our userinfo (below) and the API take bearer tokens only; no sender-constrained ones.
      dPoP: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf?.[0] ?? resource,
        // Without this, a code granted with `openid` would give an opaque token for userinfo.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: SCOPES,
            audience: accessTokenAudience,
            accessTokenTTL: accessTokenTtlSeconds,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: ALG } },
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = signedOutPage();
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}${interaction.uid}` },
    routes: { userinfo: USERINFO_PATH },
    // Every default below would otherwise print a notice that it should be configured.
    ttl: {
      AccessToken: accessTokenTtlSeconds,
      IdToken: accessTokenTtlSeconds,
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    clientBasedCORS: () => false,
    renderError: (ctx: KoaContextWithOIDC, out) => {
      ctx.type = "html";
      ctx.body = errorPage("Sign-in failed", { ...out });
    },
  } satisfies Configuration);

  const verificationKeys = createLocalJWKSet({ keys: [publicJwk(keys.signing)] });
  const callback = provider.callback();

  handler = async (req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    if (url.pathname.startsWith(INTERACTION_PATH)) return interaction(req, res, url.pathname);
    const jwt = bearerJwt(req);
    if (url.pathname === USERINFO_PATH && jwt) return userinfo(res, jwt);
    await callback(req, res);
  };

  /** Signs the user in (login prompt) and grants all that was asked (consent prompt). */
  async function interaction(req: IncomingMessage, res: ServerResponse, path: string) {
    const details = await provider.interactionDetails(req, res).catch((e: unknown) => {
      if (e instanceof errors.SessionNotFound) return undefined;
      throw e;
    });
    // The uid in the URL must be the one the interaction cookie names.
    if (!details || path !== `${INTERACTION_PATH}${details.uid}`) {
      const hint = "Go back to the application and sign in again.";
      return sendPage(res, 400, errorPage("This sign-in has expired", { hint }));
    }
    if (details.prompt.name === "consent") {
      const grantId = await grantRequested(details);
      return provider.interactionFinished(req, res, { consent: { grantId } });
    }
    const clientId = String(details.params.client_id);
    const form = { action: path, clientId, users: accounts.hints };
    if (req.method !== "POST") {
      const hint = details.params.login_hint;
      return sendPage(res, 200, loginPage({ ...form, email: hint ? String(hint) : undefined }));
    }
    const fields = new URLSearchParams(await readBody(req));
    const email = fields.get("email") ?? "";
    const account = accounts.byEmail.get(normalize(email));
    if (!account || !passwordMatches(account.user, fields.get("password") ?? "")) {
      const error = account ? "Wrong password." : "No user with that email is configured here.";
      return sendPage(res, 401, loginPage({ ...form, email, error }));
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
  }

  async function grantRequested(
    details: Awaited<ReturnType<typeof provider.interactionDetails>>,
  ): Promise<string> {
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant =
      (details.grantId && (await provider.Grant.find(details.grantId))) ||
      new provider.Grant({
        accountId: details.session?.accountId,
        clientId: String(details.params.client_id),
      });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope);
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes);
    return grant.save();
  }

  /**
   * oidc-provider's userinfo takes only opaque tokens without an audience, and ours are JWTs
   * for the API; OpenID Connect has userinfo accept the access token of a sign-in, so we
   * answer for them: the token verified as the API would, the claims its scopes grant.
   */
  async function userinfo(res: ServerResponse, jwt: string) {
    const refuse = (status: number, error: string) => {
      res.writeHead(status, { "www-authenticate": `Bearer error="${error}"` }).end();
    };
    const payload = await jwtVerify(jwt, verificationKeys, {
      issuer,
      audience: accessTokenAudience,
      typ: "at+jwt",
      algorithms: [ALG],
    }).then(
      (verified) => verified.payload,
      () => undefined,
    );
    const account = payload?.sub ? accounts.bySub.get(payload.sub) : undefined;
    if (!payload || !account) return refuse(401, "invalid_token");
    const scopes = new Set(String(payload.scope ?? "").split(" "));
    if (!scopes.has("openid")) return refuse(403, "insufficient_scope");
    const claims: Record<string, unknown> = accountClaims(account);
    const granted = [...scopes].flatMap((scope) => SCOPE_CLAIMS[scope] ?? []);
    const body = Object.fromEntries(granted.map((name) => [name, claims[name]]));
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  }

  return { issuer, close: () => closeServer(server) };
}

/** The account's claims; oidc-provider keeps those its scopes grant. */
function accountClaims({ sub, user }: Account) {
  return {
    sub,
    email: user.email,
    email_verified: true,
    ...(user.name === undefined ? {} : { name: user.name }),
    groups: [...user.groups],
  };
}

function normalize(email: string): string {
  return email.trim().toLowerCase();
}

function indexUsers(users: readonly LocalOidcUser[]) {
  const bySub = new Map<string, Account>();
  const byEmail = new Map<string, Account>();
  for (const user of users) {
    const email = normalize(user.email);
    if (byEmail.has(email)) throw new Error(`The user ${user.email} is configured twice`);
    // Derived from the email alone, so the same person keeps their `sub` across restarts.
    const sub = createHash("sha256").update(email).digest("base64url");
    const account = { sub, user };
    bySub.set(sub, account);
    byEmail.set(email, account);
  }
  const hints = users.map((user) => ({
    email: user.email,
    needsPassword: user.password !== undefined,
  }));
  return { bySub, byEmail, hints };
}

function passwordMatches(user: LocalOidcUser, given: string): boolean {
  if (user.password === undefined) return true;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(user.password));
}

function bearerJwt(req: IncomingMessage): string | undefined {
  const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(req.headers.authorization ?? "");
  return match?.[1];
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error("The sign-in form is too large");
  }
  return body;
}

/**
 * The signing key (a private JWK, `jwks.json`) and the cookie keys (`cookie-keys.json`),
 * made at the first start and read at every other; both 0600, written whole or not at all.
 */
async function loadOrCreateKeys(folder: string): Promise<{ signing: JWK; cookies: string[] }> {
  const jwksPath = join(folder, "jwks.json");
  let signing = readJson<{ keys: JWK[] }>(jwksPath)?.keys[0];
  if (!signing) {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    const jwk = await exportJWK(privateKey);
    signing = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: ALG, use: "sig" };
    writeAtomic(jwksPath, `${JSON.stringify({ keys: [signing] }, null, 2)}\n`);
  }
  const cookiesPath = join(folder, "cookie-keys.json");
  let cookies = readJson<{ keys: string[] }>(cookiesPath)?.keys;
  if (!cookies?.length) {
    cookies = [randomBytes(32).toString("base64url")];
    writeAtomic(cookiesPath, `${JSON.stringify({ keys: cookies }, null, 2)}\n`);
  }
  return { signing, cookies };
}

function publicJwk({ kty, crv, x, y, kid, alg }: JWK): JWK {
  return { kty, crv, x, y, kid, alg };
}

/**
 * oidc-provider's own in-memory adapter prints a warning at start; this one is as small as a
 * local provider needs: entries expire when read, and are swept on every write.
 */
function memoryAdapter(): (model: string) => Adapter {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) entries.delete(key);
    else return entry?.payload;
  };
  const findBy = (model: string, match: (payload: AdapterPayload) => boolean) => {
    for (const key of entries.keys()) {
      const payload = key.startsWith(`${model}:`) ? live(key) : undefined;
      if (payload && match(payload)) return payload;
    }
  };
  return (model) => ({
    async upsert(id, payload, expiresIn) {
      for (const key of entries.keys()) live(key);
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
      entries.set(`${model}:${id}`, { payload, expiresAt });
    },
    async find(id) {
      return live(`${model}:${id}`);
    },
    async findByUid(uid) {
      return findBy(model, (payload) => payload.uid === uid);
    },
    async findByUserCode(userCode) {
      return findBy(model, (payload) => payload.userCode === userCode);
    },
    async consume(id) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      entries.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId) {
      for (const [key, { payload }] of entries)
        if (payload.grantId === grantId) entries.delete(key);
    },
  });
}
