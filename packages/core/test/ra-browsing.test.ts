/**
 * What the pages use from the registration authority, against dynalite: the status-page link
 * handed out at submission, the CSR preview and the profile list, browser sessions from an
 * API key, and the operators' listings and search. The workflow engine only records the
 * executions it is asked to start (nothing here issues a real certificate: issued and revoked
 * requests are built through the repository), and the clock is moved, never waited for.
 */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { isPkiError } from "../src/errors.ts";
import { createEvent, type EventBus } from "../src/events/bus.ts";
import { principalOfKey } from "../src/identity/principal.ts";
import { DynamoCertificateInventory } from "../src/inventory/dynamo-inventory.ts";
import { hashSecret, newLinkSecret } from "../src/links/secrets.ts";
import { requestPagePath } from "../src/notifications/messages.ts";
import { loadConfig } from "../src/policy/config.ts";
import { SEARCH_DEPTH } from "../src/ra/listing.ts";
import { RegistrationAuthority } from "../src/ra/registration-authority.ts";
import { SESSION_SECONDS } from "../src/ra/sessions.ts";
import { requestStatuses } from "../src/requests/request.ts";
import { DynamoRequestRepository } from "../src/store/dynamo-request-repository.ts";
import { DynamoRevocationStore } from "../src/store/dynamo-revocation-store.ts";
import type { WorkflowEngine } from "../src/workflow/engine.ts";
import type { IssuingCa } from "../src/workflow/steps/dependencies.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { MemoryObjects } from "./support/memory-objects.ts";
import {
  ecCsrFor,
  newKeyCsrFor,
  openssl,
  opensslReq,
  writeOpensslConfig,
} from "./support/openssl.ts";
import { scratchDir } from "./support/scratch.ts";
import { shippedConfigPath } from "./support/test-ca.ts";

const config = loadConfig(shippedConfigPath);
const work = scratchDir("ra-browsing-");
const START = "2030-01-01T00:00:00.000Z";
/** Who submits here: an API key acting for dev@example.com. */
const caller = principalOfKey({
  id: "0123456789abcdef",
  role: "requester",
  owner: "dev@example.com",
});
const REQUESTED_BY = "dev@example.com (api-key:0123456789abcdef)";

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => {
  await dynamo.close();
});

/** A CSR (PEM) for `name`, as CN and only DNS SAN, made once per name by OpenSSL. */
const csrs = new Map<string, string>();
function csr(name: string): string {
  let pem = csrs.get(name);
  if (!pem) {
    pem = ecCsrFor(work, name).toString("utf8");
    csrs.set(name, pem);
  }
  return pem;
}

/** A CSR whose SANs are not all in its subject: CN=main.example.com, O=Example. */
function multiSanCsr(): string {
  const keyFile = `${work}/multi.key`;
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyFile]);
  return opensslReq({
    config: writeOpensslConfig(work),
    key: keyFile,
    subject: "/CN=main.example.com/O=Example",
    addext: ["subjectAltName=DNS:main.example.com,DNS:alt-only.example.internal,IP:10.1.2.3"],
    digest: "sha256",
    format: "PEM",
  }).toString("utf8");
}

/** The RA on a fresh table, one clock for it and the repository. */
async function setup() {
  const clock = { now: new Date(START) };
  const now = () => clock.now;
  const tableName = await dynamo.freshTable();
  const repository = new DynamoRequestRepository({ client: dynamo.client, tableName, now });
  const revocations = new DynamoRevocationStore({ client: dynamo.client, tableName });
  const started: string[] = [];
  const engine: WorkflowEngine = {
    async startExecution(requestId) {
      const alreadyStarted = started.includes(requestId);
      if (!alreadyStarted) started.push(requestId);
      return { executionId: `exec-${requestId}`, alreadyStarted };
    },
    sendTaskSuccess: () => Promise.reject(new Error("no approvals in these tests")),
    sendTaskFailure: () => Promise.reject(new Error("no approvals in these tests")),
  };
  const published: string[] = [];
  const bus: EventBus = {
    async publish(type, detail) {
      published.push(type);
      return createEvent(type, detail);
    },
  };
  const ca: IssuingCa = {
    issuingAuthority: () => Promise.reject(new Error("nothing is signed in these tests")),
    chainPem: () => Promise.reject(new Error("nothing is signed in these tests")),
  };
  const ra = new RegistrationAuthority({
    repository,
    inventory: new DynamoCertificateInventory({ client: dynamo.client, tableName }),
    engine,
    bus,
    config,
    ca,
    objects: new MemoryObjects(),
    revocations,
    now,
  });
  const advance = (seconds: number) => {
    clock.now = new Date(clock.now.getTime() + seconds * 1000);
  };
  return { ra, repository, clock, advance, tableName, started, published };
}

type World = Awaited<ReturnType<typeof setup>>;

async function submit(
  world: World,
  name: string,
  email = "dev@example.com",
  profile = "client",
  idempotencyKey?: string,
) {
  return world.ra.submit({ csr: csr(name), email, profile }, caller, idempotencyKey);
}

/** Moves a submitted request to issued with a certificate record, as the workflow would. */
async function issue(world: World, requestId: string, serial: string, notAfter: string) {
  const { repository } = world;
  const request = (await repository.getRequest(requestId))!;
  await repository.transition(requestId, { from: "submitted", to: "approved", actor: "test" });
  await repository.putCertificate({
    serial,
    requestId,
    objectKey: `certificates/${serial}.pem`,
    subject: request.csrSummary.subject,
    sans: request.csrSummary.sans,
    profile: request.profile,
    requester: request.requester,
    principal: request.principal,
    caId: "ca-1",
    renews: null,
    notBefore: world.clock.now.toISOString(),
    notAfter,
  });
  await repository.transition(requestId, {
    from: "approved",
    to: "issued",
    actor: "test",
    patch: { serial },
  });
}

async function scanDump(tableName: string): Promise<string> {
  const result = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  return JSON.stringify(result.Items ?? []);
}

const inDays = (from: Date, days: number) =>
  new Date(from.getTime() + days * 86400_000).toISOString();

describe("status-page links", () => {
  test("submit hands out a token that opens the request, and is stored only hashed", async () => {
    const world = await setup();
    const { ra, tableName } = world;
    const result = await submit(world, "status.example.internal");
    assert.equal(result.created, true);
    const token = result.statusToken;
    assert.ok(token);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, "base64url").length, 32);

    const viewed = await ra.getRequestByStatusToken(result.request.id, token);
    assert.deepEqual(viewed, await ra.getRequest(result.request.id, caller));
    assert.deepEqual(viewed, result.request);
    assert.equal(viewed!.status, "submitted");
    assert.equal(viewed!.requester, "dev@example.com");
    assert.equal(viewed!.requestedBy, REQUESTED_BY);
    assert.ok(!JSON.stringify(viewed).includes(hashSecret(token)), "the view carries no hash");

    // The link carries the token as it is.
    const url = new URL(requestPagePath(result.request.id, token), config.publicBaseUrl);
    assert.equal(url.pathname, `/requests/${result.request.id}`);
    assert.equal(url.searchParams.get("token"), token);
    assert.ok(await ra.getRequestByStatusToken(result.request.id, url.searchParams.get("token")!));

    const dump = await scanDump(tableName);
    assert.ok(dump.includes(hashSecret(token)));
    assert.ok(!dump.includes(token), "the token itself is never stored");
  });

  test("a wrong, malformed or foreign token opens nothing", async () => {
    const world = await setup();
    const { ra } = world;
    const a = await submit(world, "a.example.internal");
    const b = await submit(world, "b.example.internal", "other@example.com");
    const tokenA = a.statusToken!;
    const tokenB = b.statusToken!;
    assert.notEqual(tokenA, tokenB);
    assert.equal((await ra.getRequestByStatusToken(a.request.id, tokenA))!.id, a.request.id);
    assert.equal((await ra.getRequestByStatusToken(b.request.id, tokenB))!.id, b.request.id);

    assert.equal(await ra.getRequestByStatusToken(a.request.id, tokenB), undefined);
    assert.equal(await ra.getRequestByStatusToken(b.request.id, tokenA), undefined);
    assert.equal(await ra.getRequestByStatusToken(a.request.id, newLinkSecret()), undefined);
    for (const malformed of [
      "",
      "abc",
      `${tokenA}x`,
      tokenA.slice(1),
      `${tokenA.slice(0, 42)}=`,
      `${tokenA.slice(0, 42)}+`,
      hashSecret(tokenA),
      ` ${tokenA}`,
    ]) {
      assert.equal(await ra.getRequestByStatusToken(a.request.id, malformed), undefined, malformed);
    }
    assert.equal(await ra.getRequestByStatusToken(randomUUID(), tokenA), undefined);
    assert.equal(await ra.getRequestByStatusToken("../../etc", tokenA), undefined);
  });

  test("the token follows the request through its status changes", async () => {
    const world = await setup();
    const { ra, advance } = world;
    const { request, statusToken } = await submit(world, "moves.example.internal");
    advance(30);
    await issue(world, request.id, "5e1f", inDays(world.clock.now, 30));
    const viewed = await ra.getRequestByStatusToken(request.id, statusToken!);
    assert.equal(viewed!.status, "issued");
    assert.equal(viewed!.serial, "5e1f");
    assert.deepEqual(
      viewed!.history.map((h) => h.action),
      ["submitted", "approved", "issued"],
    );
  });

  test("an idempotent replay returns the same request with no token; the first still works", async () => {
    const world = await setup();
    const { ra, started, published } = world;
    const first = await submit(world, "replay.example.internal", undefined, undefined, "k-1");
    const replay = await submit(world, "replay.example.internal", undefined, undefined, "k-1");
    assert.equal(first.created, true);
    assert.ok(first.statusToken);
    assert.equal(replay.created, false);
    assert.equal(replay.statusToken, null);
    assert.equal(replay.request.id, first.request.id);
    assert.deepEqual(started, [first.request.id]);
    assert.deepEqual(published, ["request.submitted"], "announced once");
    assert.equal(
      (await ra.getRequestByStatusToken(first.request.id, first.statusToken!))!.id,
      first.request.id,
    );
    // Another key is another request with its own token.
    const fresh = await submit(world, "replay.example.internal", undefined, undefined, "k-2");
    assert.equal(fresh.created, true);
    assert.notEqual(fresh.request.id, first.request.id);
    assert.ok(fresh.statusToken);
    assert.notEqual(fresh.statusToken, first.statusToken);
  });
});

describe("CSR preview and profiles", () => {
  test("without a profile: the summary only, and nothing is stored", async () => {
    const world = await setup();
    const preview = world.ra.previewCsr(csr("web.example.com"), undefined, undefined);
    assert.equal(preview.policy, null);
    assert.equal(preview.summary.subject, "CN=web.example.com");
    assert.deepEqual(preview.summary.sans, [{ type: "dns", value: "web.example.com" }]);
    assert.equal(preview.summary.key, "EC P-256");
    assert.equal(preview.summary.keyType, "EC P-256");
    assert.equal(preview.summary.keyBits, 256);
    assert.match(preview.summary.sha256, /^[0-9a-f]{64}$/);
    assert.ok(preview.summary.checks.length > 0);
    for (const status of requestStatuses) {
      assert.deepEqual((await world.ra.listRequests(status, {})).items, [], status);
    }
    assert.deepEqual(world.started, []);
  });

  test("the summary of an RSA key and of several SANs", async () => {
    const { ra } = await setup();
    const rsa = newKeyCsrFor(work, "rsa.example.com", ["-newkey", "rsa:2048"]).toString("utf8");
    const rsaPreview = ra.previewCsr(rsa, "server", undefined);
    assert.equal(rsaPreview.summary.keyType, "RSA");
    assert.equal(rsaPreview.summary.keyBits, 2048);
    assert.equal(rsaPreview.summary.key, "RSA 2048");
    assert.deepEqual(rsaPreview.policy, { ok: true });

    const multi = ra.previewCsr(multiSanCsr(), "server", "dev@example.com");
    assert.equal(multi.summary.subject, "CN=main.example.com, O=Example");
    assert.deepEqual(multi.summary.sans, [
      { type: "dns", value: "main.example.com" },
      { type: "dns", value: "alt-only.example.internal" },
      { type: "ip", value: "10.1.2.3" },
    ]);
    assert.deepEqual(multi.policy, { ok: true });
    // The client profile takes no IP addresses.
    const client = ra.previewCsr(multiSanCsr(), "client", "dev@example.com");
    assert.equal(client.policy?.ok, false);
  });

  test("a profile's verdict: ok, or the policy failure with its code", async () => {
    const { ra } = await setup();
    const good = csr("web.example.com");
    assert.deepEqual(ra.previewCsr(good, "server", "dev@example.com"), {
      summary: ra.previewCsr(good, undefined, undefined).summary,
      policy: { ok: true },
    });
    assert.deepEqual(ra.previewCsr(good, "server", undefined).policy, { ok: true });

    const outside = ra.previewCsr(csr("evil.example.org"), "server", "dev@example.com");
    assert.equal(outside.summary.sans[0]!.value, "evil.example.org");
    assert.equal(outside.policy?.ok, false);
    assert.ok(outside.policy && !outside.policy.ok);
    assert.equal(outside.policy.code, "POLICY_DNS_NOT_ALLOWED");
    assert.match(outside.policy.message, /evil\.example\.org/);

    for (const name of ["nope", "toString", "__proto__", ""]) {
      const unknown = ra.previewCsr(good, name, "dev@example.com").policy;
      assert.ok(unknown && !unknown.ok, name);
      assert.equal(unknown.code, "PROFILE_UNKNOWN");
    }
  });

  test("the approver's own request: a quorum that others cannot reach is reported", async () => {
    const { ra } = await setup();
    const name = csr("mesh.example.internal");
    // server-client needs both of its two approvers; one of them cannot approve their own.
    const self = ra.previewCsr(name, "server-client", "platform@example.com").policy;
    assert.ok(self && !self.ok);
    assert.equal(self.code, "APPROVAL_QUORUM_UNREACHABLE");
    assert.match(self.message, /platform@example\.com/);
    // Addresses compare case-insensitively.
    const shouting = ra.previewCsr(name, "server-client", "PLATFORM@Example.com").policy;
    assert.equal(shouting?.ok === false && shouting.code, "APPROVAL_QUORUM_UNREACHABLE");
    // server's only approver asking for a certificate.
    const sole = ra.previewCsr(csr("web.example.com"), "server", "security@example.com").policy;
    assert.equal(sole?.ok === false && sole.code, "APPROVAL_QUORUM_UNREACHABLE");
    // Someone else, or no address yet: the quorum is not judged against a requester.
    assert.deepEqual(ra.previewCsr(name, "server-client", "dev@example.com").policy, { ok: true });
    assert.deepEqual(ra.previewCsr(name, "server-client", undefined).policy, { ok: true });
    assert.deepEqual(ra.previewCsr(name, "server-client", "").policy, { ok: true });
    // Automatic approval has no quorum to miss.
    assert.deepEqual(
      ra.previewCsr(csr("web.example.com"), "client", "security@example.com").policy,
      { ok: true },
    );
  });

  test("garbage is thrown with the CSR error code, profile or not", async () => {
    const { ra } = await setup();
    const cases: [string | Uint8Array, string][] = [
      ["not a csr", "CSR_PEM_INVALID"],
      ["", "CSR_EMPTY"],
      [new Uint8Array([1, 2, 3]), "CSR_DER_MALFORMED"],
      [
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        "CSR_DER_MALFORMED",
      ],
    ];
    for (const [input, code] of cases) {
      for (const profile of [undefined, "server", "nope"]) {
        assert.throws(
          () => ra.previewCsr(input, profile, "dev@example.com"),
          (e) => isPkiError(e, code as never),
          `${code} with profile ${profile}`,
        );
      }
    }
    // A DER CSR is taken as well as PEM.
    const der = ecCsrFor(work, "der.example.com", "DER");
    assert.equal(ra.previewCsr(der, "client", undefined).summary.subject, "CN=der.example.com");
  });

  test("profiles() lists the configured profiles with their descriptions", async () => {
    const { ra } = await setup();
    assert.deepEqual(ra.profiles(), [
      { name: "server", description: "TLS server certificates for internal services." },
      { name: "client", description: "TLS client certificates for mutual TLS between services." },
      {
        name: "server-client",
        description: "Certificates for peers that are both TLS server and client (service mesh).",
      },
    ]);
    assert.deepEqual(
      ra.profiles().map((p) => p.name),
      Object.keys(config.profiles),
    );
  });
});

describe("browser sessions", () => {
  test("signing in with a key gives a secret whose session is the key's", async () => {
    const world = await setup();
    const { ra, advance, tableName } = world;
    const { key, record } = await ra.createApiKey("requester", "ci", "dev@example.com");
    const signedIn = await ra.signIn(key);
    assert.ok(signedIn);
    assert.match(signedIn.secret, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(signedIn.secret, key);
    assert.deepEqual(signedIn.principal, {
      id: `api-key:${record.id}`,
      kind: "api-key",
      email: "dev@example.com",
      groups: [],
      roles: ["requester"],
    });
    assert.equal(
      signedIn.expiresAt,
      new Date(Date.parse(START) + SESSION_SECONDS * 1000).toISOString(),
    );
    advance(60);
    assert.deepEqual(await ra.session(signedIn.secret), {
      principal: signedIn.principal,
      name: "ci",
      expiresAt: signedIn.expiresAt,
    });
    const dump = await scanDump(tableName);
    assert.ok(dump.includes(`SESSION#${hashSecret(signedIn.secret)}`));
    assert.ok(!dump.includes(signedIn.secret), "the session secret is never stored");
    assert.ok(!dump.includes(key), "nor the API key");
  });

  test("an admin key's session is an admin's; each sign-in is its own session", async () => {
    const { ra } = await setup();
    const { key, record } = await ra.createApiKey("admin", "operator", "admin@example.com");
    const first = (await ra.signIn(key))!;
    const second = (await ra.signIn(key))!;
    assert.notEqual(first.secret, second.secret);
    assert.deepEqual((await ra.session(first.secret))!.principal.roles, ["admin"]);
    assert.equal((await ra.session(second.secret))!.principal.id, `api-key:${record.id}`);
    await ra.signOut(first.secret);
    assert.equal(await ra.session(first.secret), undefined);
    assert.ok(await ra.session(second.secret), "signing out of one leaves the other");
  });

  test("a session lapses after SESSION_SECONDS", async () => {
    const { ra, advance } = await setup();
    const { key } = await ra.createApiKey("requester", "ci", "dev@example.com");
    const { secret } = (await ra.signIn(key))!;
    advance(SESSION_SECONDS - 1);
    assert.ok(await ra.session(secret));
    advance(1);
    assert.equal(await ra.session(secret), undefined);
  });

  test("revoking the key ends its sessions at once and refuses new ones", async () => {
    const { ra } = await setup();
    const { key, record } = await ra.createApiKey("admin", "to revoke", "admin@example.com");
    const other = await ra.createApiKey("requester", "stays", "dev@example.com");
    const { secret } = (await ra.signIn(key))!;
    const otherSession = (await ra.signIn(other.key))!;
    assert.ok(await ra.session(secret));
    await ra.revokeApiKey(record.id);
    assert.equal(await ra.session(secret), undefined);
    assert.equal(await ra.signIn(key), undefined);
    assert.ok(await ra.session(otherSession.secret));
  });

  test("signOut ends the session, and repeating it or a garbage secret is harmless", async () => {
    const { ra } = await setup();
    const { key } = await ra.createApiKey("requester", "ci", "dev@example.com");
    const { secret } = (await ra.signIn(key))!;
    await ra.signOut(secret);
    assert.equal(await ra.session(secret), undefined);
    await ra.signOut(secret);
    await ra.signOut("");
    await ra.signOut("garbage");
    await ra.signOut(newLinkSecret());
  });

  test("unknown keys sign in to nothing, and non-secrets are no session", async () => {
    const { ra } = await setup();
    const { key } = await ra.createApiKey("requester", "ci", "dev@example.com");
    assert.equal(await ra.signIn(`${key}x`), undefined);
    assert.equal(await ra.signIn("spca_unknown"), undefined);
    assert.equal(await ra.signIn(""), undefined);
    const { secret } = (await ra.signIn(key))!;
    for (const probe of ["", "garbage", `${secret}x`, hashSecret(secret), key, newLinkSecret()]) {
      assert.equal(await ra.session(probe), undefined, probe);
    }
  });
});

describe("listings", () => {
  test("listRequests: newest first, as rows, with cursors", async () => {
    const world = await setup();
    const { ra, advance } = world;
    const ids: string[] = [];
    for (const name of ["one", "two", "three"]) {
      ids.push((await submit(world, `${name}.example.internal`, `${name}@example.com`)).request.id);
      advance(1);
    }
    const all = await ra.listRequests("submitted", {});
    assert.deepEqual(
      all.items.map((r) => r.id),
      [...ids].reverse(),
    );
    assert.equal(all.next, null);
    const newest = all.items[0]!;
    assert.deepEqual(newest, {
      id: ids[2],
      status: "submitted",
      requester: "three@example.com",
      requestedBy: REQUESTED_BY,
      profile: "client",
      subject: "CN=three.example.internal",
      sans: [{ type: "dns", value: "three.example.internal" }],
      serial: null,
      createdAt: "2030-01-01T00:00:02.000Z",
      updatedAt: "2030-01-01T00:00:02.000Z",
    });

    const page1 = await ra.listRequests("submitted", { limit: 2 });
    assert.deepEqual(
      page1.items.map((r) => r.id),
      [ids[2], ids[1]],
    );
    assert.ok(page1.next);
    const page2 = await ra.listRequests("submitted", { limit: 2, cursor: page1.next });
    assert.deepEqual(
      page2.items.map((r) => r.id),
      [ids[0]],
    );
    assert.equal(page2.next, null);
    // newestFirst is not the caller's to turn off.
    assert.deepEqual(
      (await ra.listRequests("submitted", { newestFirst: false })).items.map((r) => r.id),
      [...ids].reverse(),
    );
    assert.deepEqual((await ra.listRequests("issued", {})).items, []);
  });

  test("a certificate is valid up to its notAfter", async () => {
    const world = await setup();
    const { ra, clock, advance } = world;
    const { request } = await submit(world, "edge.example.internal");
    const notAfter = inDays(clock.now, 1);
    await issue(world, request.id, "0b01", notAfter);
    advance(86400);
    assert.equal(clock.now.toISOString(), notAfter);
    // RFC 5280: valid through notAfter itself, expired the second after.
    const auditor = principalOfKey({
      id: "00000000000000a1",
      role: "auditor",
      owner: "audit@example.com",
    });
    const status = async () => (await ra.certificateInventory({}, auditor)).items[0]!.status;
    assert.equal(await status(), "valid");
    advance(1);
    assert.equal(await status(), "expired");
  });
});

describe("search", () => {
  async function populated() {
    const world = await setup();
    const { advance } = world;
    const alice = await world.ra.submit(
      { csr: multiSanCsr(), email: "alice.dev@example.com", profile: "server" },
      caller,
      undefined,
    );
    advance(1);
    const bob = await submit(world, "db.example.internal", "bob@example.com");
    advance(1);
    const carol = await submit(world, "cache.example.internal", "carol@example.net");
    advance(1);
    await issue(world, bob.request.id, "7f01a2b3c4", inDays(world.clock.now, 30));
    return {
      world,
      alice: alice.request.id,
      bob: bob.request.id,
      carol: carol.request.id,
    };
  }

  const ids = (result: { rows: readonly { id: string }[] }) => result.rows.map((r) => r.id);

  test("by exact request id", async () => {
    const { world, alice, bob } = await populated();
    const found = await world.ra.searchRequests(bob);
    assert.deepEqual(ids(found), [bob]);
    assert.equal(found.rows[0]!.status, "issued");
    assert.equal(found.rows[0]!.serial, "7f01a2b3c4");
    assert.deepEqual(ids(await world.ra.searchRequests(`  ${alice}  `)), [alice]);
  });

  test("by serial, as operators type it", async () => {
    const { world, bob } = await populated();
    for (const text of [
      "7f01a2b3c4",
      "7F01A2B3C4",
      "7F:01:A2:B3:C4",
      "7f:01:a2:b3:c4",
      "0x7f01a2b3c4",
      "  7F:01:A2:B3:C4 ",
    ]) {
      assert.deepEqual(ids(await world.ra.searchRequests(text)), [bob], text);
    }
    assert.deepEqual(ids(await world.ra.searchRequests("7F:01:A2:B3:C5")), []);
  });

  test("by a piece of the requester, subject or a SAN, case-insensitively", async () => {
    const { world, alice, bob, carol } = await populated();
    const { ra } = world;
    assert.deepEqual(ids(await ra.searchRequests("alice.dev")), [alice]);
    assert.deepEqual(ids(await ra.searchRequests("ALICE")), [alice]);
    assert.deepEqual(ids(await ra.searchRequests("@example.net")), [carol]);
    // In a SAN and not in the subject.
    assert.ok(!(await ra.getRequest(alice, caller))!.subject.includes("alt-only"));
    assert.deepEqual(ids(await ra.searchRequests("alt-only")), [alice]);
    assert.deepEqual(ids(await ra.searchRequests("10.1.2.3")), [alice]);
    assert.deepEqual(ids(await ra.searchRequests("Cache.Example")), [carol]);
    // Across statuses, newest first.
    assert.deepEqual(ids(await ra.searchRequests("example")), [carol, bob, alice]);
    const result = await ra.searchRequests("example");
    assert.equal(result.searchedPerStatus, SEARCH_DEPTH);
    assert.deepEqual(
      result.rows.map((r) => r.status),
      ["submitted", "issued", "submitted"],
    );
  });

  test("at most 50 rows, the newest", async () => {
    const world = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 55; i++) {
      ids.push((await submit(world, "bulk.example.internal", "bulk@example.com")).request.id);
      world.advance(1);
    }
    const found = await world.ra.searchRequests("bulk@");
    assert.deepEqual(
      found.rows.map((r) => r.id),
      ids.slice(5).reverse(),
    );
  });

  test("empty text finds nothing without looking; no match finds nothing", async () => {
    const { world } = await populated();
    assert.deepEqual(await world.ra.searchRequests(""), { rows: [], searchedPerStatus: 0 });
    assert.deepEqual(await world.ra.searchRequests("   "), { rows: [], searchedPerStatus: 0 });
    assert.deepEqual(await world.ra.searchRequests("no-such-thing"), {
      rows: [],
      searchedPerStatus: SEARCH_DEPTH,
    });
    assert.deepEqual(ids(await world.ra.searchRequests(randomUUID())), []);
  });
});
