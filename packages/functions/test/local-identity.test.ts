/**
 * Who asked and who approved, end to end against `npm start`'s runtime: bearer access tokens
 * from the local OpenID provider (and the ones that must be refused), requesters isolated from
 * each other, API keys acting for their owners, and four eyes across mailbox aliases, each
 * refusal in the request's audit trail.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type CryptoKey,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import {
  approvalToken,
  decide,
  expectProblem,
  mails,
  mailsTo,
  type Running,
  startService,
  stop,
  waitForStatus,
  writeConfig,
} from "./support/local-service.ts";
import { signInWithoutBrowser } from "./support/oidc-browserless.ts";

const work = mkdtempSync(join(tmpdir(), "pki-identity-"));
let service: Running;
let oidc: { issuer: string; clientId: string; clientSecret: string };
let publicBaseUrl: string;

before(async () => {
  const config = writeConfig(join(work, "pki.config.json"), (c) => {
    // Two approvers, one approval: the submitter's own entry is left out, the other decides.
    c.profiles.pair = {
      ...structuredClone(c.profiles.server!),
      description: "Server certificates any one of two approvers may approve (tests).",
      approval: {
        mode: "manual",
        approvers: ["security@example.com", "platform@example.com"],
        quorum: 1,
      },
    };
    c.identity = {
      localUsers: [
        { email: "requester@example.com", groups: ["pki-requesters", "team-payments"] },
        { email: "colleague@example.com", groups: ["pki-requesters", "team-payments"] },
        { email: "security@example.com", groups: ["pki-approvers"] },
        { email: "nobody@example.com", groups: ["some-mailing-list"] },
      ],
    };
  });
  service = await startService(join(work, "data"), { configPath: config });
  const info = JSON.parse(readFileSync(join(service.dataDir, "runtime.json"), "utf8"));
  oidc = info.oidc;
  // The shipped configuration names no publicBaseUrl: links follow the listening address.
  publicBaseUrl = info.publicBaseUrl;
  assert.equal(publicBaseUrl, service.api);
});

after(async () => {
  if (service) await stop(service);
  rmSync(work, { recursive: true, force: true });
});

/** An access token from the provider, for a person who signed in there. */
async function accessTokenOf(email: string): Promise<string> {
  const { accessToken } = await signInWithoutBrowser(oidc.issuer, {
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret,
    redirectUri: `${publicBaseUrl}/auth/callback`,
    email,
  });
  return accessToken;
}

const csr = (name: string) => ecCsrFor(work, name).toString("utf8");

function submit(authorization: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${service.api}/v1/requests`, {
    method: "POST",
    headers: { authorization, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function newKey(role: string, owner: string): Promise<string> {
  const res = await fetch(`${service.api}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${service.key}`, "content-type": "application/json" },
    body: JSON.stringify({ role, owner, label: `${role} for ${owner}` }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { key: string }).key;
}

interface View {
  status: string;
  requester: string;
  requestedBy: string;
  serial: string | null;
  history: { actor: string; action: string; details: Record<string, unknown> }[];
}

async function viewAs(authorization: string, id: string): Promise<View> {
  const res = await fetch(`${service.api}/v1/requests/${id}`, { headers: { authorization } });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as View;
}

describe("bearer access tokens from the OpenID provider", () => {
  /** A token signed with the provider's own key (its data folder), claims as given. */
  async function forged(claims: JWTPayload, key?: CryptoKey): Promise<string> {
    const jwks = JSON.parse(readFileSync(join(service.dataDir, "oidc", "jwks.json"), "utf8")) as {
      keys: JWK[];
    };
    const jwk = jwks.keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      email: "requester@example.com",
      email_verified: true,
      groups: ["pki-requesters"],
      client_id: oidc.clientId,
      scope: "openid email profile",
      ...claims,
    })
      .setProtectedHeader({ alg: "ES256", kid: jwk.kid!, typ: "at+jwt" })
      .setSubject("forged-subject")
      .setIssuer((claims.iss as string | undefined) ?? oidc.issuer)
      .setAudience((claims.aud as string | undefined) ?? oidc.clientId)
      .setIssuedAt(now - 10)
      .setExpirationTime((claims.exp as number | undefined) ?? now + 600)
      .sign(key ?? ((await importJWK(jwk, "ES256")) as CryptoKey));
  }

  test("a token the provider issued is accepted, and the request is the person's", async () => {
    const token = await accessTokenOf("requester@example.com");
    const res = await submit(`Bearer ${token}`, {
      csr: csr("token.example.com"),
      profile: "client",
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const view = await viewAs(`Bearer ${token}`, id);
    // No email given: the mails go to the person's own, verified address.
    assert.equal(view.requester, "requester@example.com");
    assert.match(view.requestedBy, /^requester@example\.com \(oidc:[^)]+\)$/);
    assert.match(view.history[0]!.actor, /^requester@example\.com \(oidc:/);
  });

  test("expired, wrongly signed, another issuer's, another audience's: 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    // The control: the same forging gives a token the API takes, so each refusal below is for
    // the one claim that differs.
    const control = await forged({});
    const accepted = await submit(`Bearer ${control}`, {
      csr: csr("control.example.com"),
      profile: "client",
    });
    assert.equal(accepted.status, 202, await accepted.clone().text());
    const { privateKey } = await generateKeyPair("ES256");
    const cases: [string, string][] = [
      ["expired", await forged({ exp: now - 60 })],
      ["wrongly signed", await forged({}, privateKey)],
      ["another issuer", await forged({ iss: "http://127.0.0.1:9/another-issuer" })],
      ["another audience", await forged({ aud: "some-other-api" })],
      ["an unverified email", await forged({ email_verified: false })],
      ["an ID token", await forged({ nonce: "n-0S6_WzA2Mj" })],
    ];
    for (const [name, token] of cases) {
      const res = await submit(`Bearer ${token}`, {
        csr: csr("refused.example.com"),
        profile: "client",
      });
      const problem = await expectProblem(res, 401);
      assert.equal(problem.code, "UNAUTHENTICATED", name);
      assert.equal(res.headers.get("www-authenticate"), "Bearer", name);
    }
  });

  test("a person whose groups give no role is told so: 403", async () => {
    const token = await accessTokenOf("nobody@example.com");
    const res = await submit(`Bearer ${token}`, {
      csr: csr("nobody.example.com"),
      profile: "client",
    });
    const problem = await expectProblem(res, 403);
    assert.match(problem.detail ?? "", /nobody@example\.com has no role here/);
  });
});

describe("requesters see their own", () => {
  test("two requester keys with different owners: the second reads neither request nor certificate", async () => {
    const alice = `Bearer ${await newKey("requester", "alice@example.com")}`;
    const bob = `Bearer ${await newKey("requester", "bob@example.com")}`;
    const auditor = `Bearer ${await newKey("auditor", "audit@example.com")}`;
    const res = await submit(alice, { csr: csr("alice.example.com"), profile: "client" });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const { serial } = await waitForStatus(service, id, "issued");
    const get = (authorization: string, path: string) =>
      fetch(`${service.api}${path}`, { headers: { authorization } });
    for (const path of [`/v1/requests/${id}`, `/v1/certificates/${serial}`]) {
      assert.equal((await get(alice, path)).status, 200, path);
      await expectProblem(await get(bob, path), 404);
      // Auditors read everything and change nothing.
      assert.equal((await get(auditor, path)).status, 200, path);
    }
    const revoke = await fetch(`${service.api}/v1/certificates/${serial}/revoke`, {
      method: "POST",
      headers: { authorization: auditor, "content-type": "application/json" },
      body: JSON.stringify({ reason: "superseded" }),
    });
    assert.equal((await expectProblem(revoke, 403)).code, "FORBIDDEN");
    // Another key of alice's is still alice.
    const aliceAgain = `Bearer ${await newKey("requester", "Alice@Example.com")}`;
    assert.equal((await get(aliceAgain, `/v1/requests/${id}`)).status, 200);
  });

  test("people who share a group see each other's requests; the notification address grants nothing", async () => {
    const rita = `Bearer ${await accessTokenOf("requester@example.com")}`;
    const colleague = `Bearer ${await accessTokenOf("colleague@example.com")}`;
    const stranger = `Bearer ${await newKey("requester", "stranger@example.com")}`;
    const res = await submit(rita, {
      csr: csr("shared.example.com"),
      profile: "client",
      email: "stranger@example.com",
    });
    const { id } = (await res.json()) as { id: string };
    assert.equal((await viewAs(colleague, id)).requester, "stranger@example.com");
    await expectProblem(
      await fetch(`${service.api}/v1/requests/${id}`, { headers: { authorization: stranger } }),
      404,
    );
  });
});

describe("four eyes on identities", () => {
  test("a key owned by an alias of the only approver cannot submit to that approver's profile", async () => {
    const alias = `Bearer ${await newKey("requester", "Security+me@Example.com")}`;
    const res = await submit(alias, { csr: csr("self.example.com"), profile: "server" });
    const problem = await expectProblem(res, 422);
    assert.equal(problem.code, "APPROVAL_QUORUM_UNREACHABLE");
    assert.match(problem.detail ?? "", /other than Security\+me@Example\.com/);
  });

  test("the alias gets no link, it is on the record, and the approver's sign-in cannot use another's link", async () => {
    const alias = `Bearer ${await newKey("requester", "Security+me@Example.com")}`;
    const res = await submit(alias, {
      csr: csr("pair.example.com"),
      profile: "pair",
      email: "someone@example.com",
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const token = await approvalToken(service, "platform@example.com", id);
    assert.deepEqual(
      mailsTo(await mails(service), "security@example.com").filter((m) => m.body.text.includes(id)),
      [],
      "no approval mail to the submitter's own mailbox",
    );
    const admin = `Bearer ${service.key}`;
    const submitted = (await viewAs(admin, id)).history[0]!;
    assert.deepEqual(submitted.details.fourEyesExcluded, ["security@example.com"]);
    assert.match(submitted.actor, /^Security\+me@Example\.com \(api-key:[0-9a-f]{16}\)$/);

    // security@ signed in, with platform@'s forwarded link: refused, and on the record.
    const security = await accessTokenOf("security@example.com");
    const refused = await fetch(`${service.api}/v1/approvals/${id}`, {
      method: "POST",
      headers: { authorization: `Bearer ${security}`, "content-type": "application/json" },
      body: JSON.stringify({ decision: "approve", token }),
    });
    assert.equal((await expectProblem(refused, 403)).code, "APPROVAL_WRONG_APPROVER");
    const history = (await viewAs(admin, id)).history;
    const refusal = history.find((h) => h.action === "approval.refused");
    assert.ok(refusal, JSON.stringify(history));
    assert.match(refusal.actor, /^security@example\.com \(oidc:/);
    assert.deepEqual(refusal.details, {
      code: "APPROVAL_WRONG_APPROVER",
      link: "platform@example.com",
    });
    assert.equal((await viewAs(admin, id)).status, "pending_approval");

    // The link's own approver decides, and the audit names them.
    const approved = await decide(service, id, { decision: "approve", token });
    assert.equal(approved.status, 200, await approved.clone().text());
    await waitForStatus(service, id, "issued");
    const decided = (await viewAs(admin, id)).history.find((h) => h.action === "approval.approve");
    assert.equal(decided?.actor, "approver:platform@example.com");
  });
});
