/**
 * The local OpenID provider (src/local/oidc-stand-in.ts), driven by a real relying party
 * (openid-client) and browserless sign-ins (support/oidc-browserless.ts): discovery, the code
 * flow with PKCE, the sign-in form's refusals, the tokens' claims (verified with jose as the
 * API will), userinfo, RP-initiated logout, keys that survive a restart, and no console output.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, mock, test } from "node:test";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import * as client from "openid-client";
import {
  type LocalOidcUser,
  type OidcStandIn,
  type OidcStandInOptions,
  startOidcStandIn,
} from "../src/local/oidc-stand-in.ts";
import {
  CookieBrowser,
  discoverProvider,
  type SignInOptions,
  SignInRefused,
  signInWithoutBrowser,
} from "./support/oidc-browserless.ts";

const work = mkdtempSync(join(tmpdir(), "oidc-stand-in-"));
const printed: unknown[][] = [];
for (const method of ["log", "info", "warn", "error", "debug"] as const) {
  mock.method(console, method, (...args: unknown[]) => printed.push(args));
}

const alice: LocalOidcUser = {
  email: "alice@example.com",
  name: "Alice Admin",
  groups: ["pki-admins"],
};
const bob: LocalOidcUser = {
  email: "bob@example.com",
  groups: ["pki-requesters", "ops"],
  password: "correct horse",
};
const web = {
  clientId: "spca-web",
  clientSecret: "web-secret",
  redirectUris: ["http://127.0.0.1:9/auth/callback"],
  postLogoutRedirectUris: ["http://127.0.0.1:9/signed-out"],
};
const options: OidcStandInOptions = {
  dataDir: work,
  port: 0,
  users: [alice, bob],
  clients: [web],
  accessTokenAudience: web.clientId,
  accessTokenTtlSeconds: 600,
};
const signIn = {
  clientId: web.clientId,
  clientSecret: web.clientSecret,
  redirectUri: web.redirectUris[0]!,
};

let provider: OidcStandIn;
before(async () => {
  provider = await startOidcStandIn(options);
});
after(async () => {
  await provider.close();
  mock.restoreAll();
  rmSync(work, { recursive: true, force: true });
});

/** The SignInRefused a sign-in must end with. */
async function refusal(options: SignInOptions): Promise<SignInRefused> {
  const outcome = await signInWithoutBrowser(provider.issuer, options).catch((e: unknown) => e);
  assert.ok(outcome instanceof SignInRefused, `not refused: ${String(outcome)}`);
  return outcome;
}

test("discovery describes the code flow with PKCE S256, both secret methods, userinfo and logout", async () => {
  assert.match(provider.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  const metadata = (
    await discoverProvider(provider.issuer, web.clientId, web.clientSecret)
  ).serverMetadata();
  assert.equal(metadata.issuer, provider.issuer);
  assert.deepEqual(metadata.code_challenge_methods_supported, ["S256"]);
  assert.deepEqual(metadata.response_types_supported, ["code"]);
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, [
    "client_secret_basic",
    "client_secret_post",
  ]);
  assert.deepEqual(metadata.id_token_signing_alg_values_supported, ["ES256"]);
  assert.equal(metadata.userinfo_endpoint, `${provider.issuer}/me`);
  assert.equal(metadata.end_session_endpoint, `${provider.issuer}/session/end`);
  assert.equal(metadata.jwks_uri, `${provider.issuer}/jwks`);
});

test("a configured user signs in: the ID token, a JWT access token for the API, userinfo", async () => {
  const signedIn = await signInWithoutBrowser(provider.issuer, { ...signIn, email: alice.email });
  const { claims } = signedIn;
  assert.equal(claims.iss, provider.issuer);
  assert.equal(claims.aud, web.clientId);
  assert.equal(claims.email, alice.email);
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, alice.name);
  assert.deepEqual(claims.groups, alice.groups);
  assert.match(claims.sub, /^[\w-]{43}$/);

  const jwks = createRemoteJWKSet(new URL(`${provider.issuer}/jwks`));
  const { payload, protectedHeader } = await jwtVerify(signedIn.accessToken, jwks, {
    issuer: provider.issuer,
    audience: web.clientId,
    typ: "at+jwt",
    algorithms: ["ES256"],
  });
  assert.equal(protectedHeader.typ, "at+jwt");
  assert.equal(payload.sub, claims.sub);
  assert.equal(payload.email, alice.email);
  assert.equal(payload.email_verified, true);
  assert.deepEqual(payload.groups, alice.groups);
  assert.equal(payload.client_id, web.clientId);
  assert.deepEqual(
    new Set(String(payload.scope).split(" ")),
    new Set(["openid", "email", "profile"]),
  );
  assert.equal(payload.exp! - payload.iat!, 600);

  const userinfo = await client.fetchUserInfo(signedIn.config, signedIn.accessToken, claims.sub);
  assert.deepEqual(userinfo, {
    sub: claims.sub,
    groups: alice.groups,
    email: alice.email,
    email_verified: true,
    name: alice.name,
  });
});

test("userinfo refuses a token it did not issue, and gives only what the scopes grant", async () => {
  const signedIn = await signInWithoutBrowser(provider.issuer, {
    ...signIn,
    email: alice.email,
    scope: "openid",
  });
  const sub = signedIn.claims.sub;
  assert.deepEqual(await client.fetchUserInfo(signedIn.config, signedIn.accessToken, sub), {
    sub,
    groups: alice.groups,
  });
  const [header, payload] = signedIn.accessToken.split(".");
  const forged = `${header}.${payload}.${"A".repeat(86)}`;
  const refused = await fetch(`${provider.issuer}/me`, {
    headers: { authorization: `Bearer ${forged}` },
  });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
});

test("sub is stable across sign-ins, and client_secret_basic works as client_secret_post does", async () => {
  const first = await signInWithoutBrowser(provider.issuer, { ...signIn, email: alice.email });
  const second = await signInWithoutBrowser(provider.issuer, {
    ...signIn,
    email: "  Alice@Example.com ",
    clientAuth: "client_secret_basic",
  });
  assert.equal(second.claims.sub, first.claims.sub);
  assert.equal(second.claims.email, alice.email);
});

test("a user with a password must give it; a wrong one or an unknown email re-shows the form, 401", async () => {
  for (const [email, password, message] of [
    [bob.email, "wrong", "Wrong password."],
    [bob.email, undefined, "Wrong password."],
    ["mallory@example.com", undefined, "No user with that email is configured here."],
  ] as const) {
    const refused = await refusal({ ...signIn, email, password });
    assert.equal(refused.status, 401);
    assert.ok(refused.body.includes(message), refused.body);
    assert.match(refused.body, /<input id="email" name="email"[^>]* value="[^"]+"/);
  }
  const signedIn = await signInWithoutBrowser(provider.issuer, {
    ...signIn,
    email: bob.email,
    password: bob.password!,
  });
  assert.deepEqual(signedIn.claims.groups, bob.groups);
  assert.equal(signedIn.claims.name, undefined);
});

test("the sign-in page escapes what it shows, and lists the configured users", async () => {
  const refused = await refusal({ ...signIn, email: `"><script>alert(1)</script>` });
  assert.equal(refused.status, 401);
  assert.ok(!refused.body.includes("<script>"));
  assert.ok(refused.body.includes("&quot;&gt;&lt;script&gt;"));
  assert.ok(refused.body.includes(`<code>${alice.email}</code>`));
  assert.ok(refused.body.includes(`<code>${bob.email}</code> (password)`));
  assert.match(refused.body, /<label for="email">Email<\/label>/);
  assert.match(refused.body, /<label for="password">Password<\/label>/);
  assert.match(refused.body, /<button type="submit">Sign in<\/button>/);
});

test("an unknown client, a wrong client secret and a request without PKCE are refused", async () => {
  const unknown = await refusal({ ...signIn, clientId: "nobody", email: alice.email });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /invalid_client/);

  await assert.rejects(
    signInWithoutBrowser(provider.issuer, { ...signIn, clientSecret: "guess", email: alice.email }),
    (e: unknown) => e instanceof client.ResponseBodyError && e.error === "invalid_client",
  );

  const config = await discoverProvider(provider.issuer, web.clientId, web.clientSecret);
  const withoutPkce = client.buildAuthorizationUrl(config, {
    redirect_uri: signIn.redirectUri,
    scope: "openid",
  });
  const answer = await new CookieBrowser().browse(withoutPkce, signIn.redirectUri);
  assert.ok("stoppedAt" in answer);
  assert.equal(answer.stoppedAt.searchParams.get("error"), "invalid_request");
});

test("RP-initiated logout ends the session and returns to the registered URI", async () => {
  const { config, idToken, browser } = await signInWithoutBrowser(provider.issuer, {
    ...signIn,
    email: alice.email,
  });
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: idToken,
    post_logout_redirect_uri: web.postLogoutRedirectUris[0]!,
  });
  const confirm = await browser.fetch(endSession);
  assert.equal(confirm.status, 200);
  const page = await confirm.text();
  const action = /<form[^>]* action="([^"]+)"/.exec(page)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(action && xsrf, page);
  const done = await browser.fetch(new URL(action, provider.issuer), {
    method: "POST",
    body: new URLSearchParams({ xsrf, logout: "yes" }),
  });
  assert.equal(done.status, 303);
  assert.equal(done.headers.get("location"), web.postLogoutRedirectUris[0]);

  // Signed out: the same browser is asked to sign in again.
  const again = client.buildAuthorizationUrl(config, {
    redirect_uri: signIn.redirectUri,
    scope: "openid",
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: "S256",
  });
  const shown = await browser.browse(again, signIn.redirectUri);
  assert.ok("response" in shown);
  assert.match(await shown.response.text(), /<h1>Sign in<\/h1>/);
});

test("the keys persist: after a restart the JWKS has the same key, and old tokens verify", async () => {
  const before = await signInWithoutBrowser(provider.issuer, { ...signIn, email: alice.email });
  const { kid } = decodeProtectedHeader(before.accessToken);
  await provider.close();
  provider = await startOidcStandIn(options);

  const jwks = (await (await fetch(`${provider.issuer}/jwks`)).json()) as {
    keys: { kid: string }[];
  };
  assert.deepEqual(
    jwks.keys.map((key) => key.kid),
    [kid],
  );
  assert.ok(jwks.keys.every((key) => !("d" in key)));
  await jwtVerify(before.accessToken, createRemoteJWKSet(new URL(`${provider.issuer}/jwks`)), {
    audience: web.clientId,
  });
  for (const file of ["jwks.json", "cookie-keys.json"]) {
    assert.equal(statSync(join(work, "oidc", file)).mode & 0o777, 0o600, file);
  }
  const after = await signInWithoutBrowser(provider.issuer, { ...signIn, email: alice.email });
  assert.equal(after.claims.sub, before.claims.sub);
});

test("nothing was printed on the console", () => {
  assert.deepEqual(printed, []);
});
