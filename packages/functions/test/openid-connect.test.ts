/**
 * The identity adapter (core/identity/openid-connect.ts) against a real provider, the local
 * stand-in: what it takes from a bearer token and what it refuses, userinfo standing in for a
 * token without the email claim, Cognito's client_id in place of aud, and a provider whose
 * keys cannot be fetched answered as unavailable, not as a bad token.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { isPkiError } from "@spca/core/errors";
import { oidcSettings } from "@spca/core/identity/config";
import { OpenIdConnectProvider } from "@spca/core/identity/openid-connect";
import { decodeJwt, importJWK, type JWK, type JWTPayload, SignJWT } from "jose";
import { type OidcStandIn, startOidcStandIn } from "../src/local/oidc-stand-in.ts";
import { signInWithoutBrowser } from "./support/oidc-browserless.ts";

const work = mkdtempSync(join(tmpdir(), "pki-oidc-adapter-"));
const client = {
  clientId: "pki-test",
  clientSecret: "test-secret",
  redirectUris: ["http://127.0.0.1:9/auth/callback"],
};
let standIn: OidcStandIn;
let sub: string;

before(async () => {
  standIn = await startOidcStandIn({
    dataDir: work,
    port: 0,
    users: [{ email: "rita@example.com", groups: ["pki-requesters", "team-payments"] }],
    clients: [client],
    accessTokenAudience: client.clientId,
  });
  const { accessToken } = await signInWithoutBrowser(standIn.issuer, {
    ...client,
    redirectUri: client.redirectUris[0]!,
    email: "rita@example.com",
  });
  sub = decodeJwt(accessToken).sub!;
});

after(async () => {
  await standIn?.close();
  rmSync(work, { recursive: true, force: true });
});

const adapter = (settings: Partial<Parameters<typeof oidcSettings>[0]> = {}) =>
  new OpenIdConnectProvider({
    ...oidcSettings({ issuer: standIn.issuer, clientId: client.clientId, ...settings }),
    clientSecretValue: client.clientSecret,
  });

/** A token signed with the stand-in's own key: real to any verifier, claims as given. */
async function token(claims: JWTPayload, audience: string | null = client.clientId) {
  const jwk = (JSON.parse(readFileSync(join(work, "oidc", "jwks.json"), "utf8")) as { keys: JWK[] })
    .keys[0]!;
  const jwt = new SignJWT({ scope: "openid email profile", ...claims })
    .setProtectedHeader({ alg: "ES256", kid: jwk.kid!, typ: "at+jwt" })
    .setSubject(sub)
    .setIssuer(standIn.issuer)
    .setIssuedAt()
    .setExpirationTime("5m");
  if (audience) jwt.setAudience(audience);
  return jwt.sign(await importJWK(jwk, "ES256"));
}

test("a token without the email claim: email and groups from the provider's userinfo", async () => {
  assert.deepEqual(await adapter().verifyAccessToken(await token({})), {
    sub,
    email: "rita@example.com",
    name: null,
    groups: ["pki-requesters", "team-payments"],
  });
});

test("Cognito's shape: client_id instead of aud, and token_use names what the token is", async () => {
  const cognitoLike = adapter({ audienceClaim: "client_id" });
  const claims = { email: "rita@example.com", email_verified: true, groups: [] };
  const access = await token({ ...claims, client_id: client.clientId, token_use: "access" }, null);
  assert.equal((await cognitoLike.verifyAccessToken(access))?.email, "rita@example.com");
  for (const refused of [
    await token({ ...claims, client_id: "another-client", token_use: "access" }, null),
    await token({ ...claims, client_id: client.clientId, token_use: "id" }, null),
  ]) {
    assert.equal(await cognitoLike.verifyAccessToken(refused), undefined);
  }
});

test("a provider whose keys cannot be fetched is unavailable (503), not a reason to refuse (401)", async () => {
  const provider = adapter();
  // Discovery done while the provider is up; then it goes away before the keys are fetched.
  assert.ok(await provider.signOutUrl("http://127.0.0.1:9/"));
  const good = await token({ email: "rita@example.com", email_verified: true });
  await standIn.close();
  await assert.rejects(provider.verifyAccessToken(good), (e) =>
    isPkiError(e, "IDENTITY_PROVIDER_UNAVAILABLE"),
  );
});
