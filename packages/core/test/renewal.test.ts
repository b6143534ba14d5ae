/**
 * Renewal end to end on the world (RA, ASL on the local engine, DynamoDB, S3, the CA, mail):
 * under an inherited approval and under approval again, the refusals with their codes, the
 * link between the two certificates, and revokeSuperseded when the successor is fetched.
 * Renewal profiles open their window at once (startFraction 0), so nothing waits on a clock.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPkiError } from "../src/errors.ts";
import { principalOfKey } from "../src/identity/principal.ts";
import type { Config, Profile } from "../src/policy/config.ts";
import { openssl } from "./support/openssl.ts";
import { approvalToken, setUp } from "./support/world.ts";

const work = mkdtempSync(join(tmpdir(), "renewal-"));
after(() => rmSync(work, { recursive: true, force: true }));

let keys = 0;
/** A new P-256 key in `work`; its path. */
function newKey(): string {
  const path = join(work, `k${++keys}.key`);
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
  return path;
}

/**
 * An OpenSSL CSR for CN=`cn` (more attributes may follow: "a.example.com/O=Example") with
 * these DNS names, signed by `key` (a new one by default).
 */
function csrFor(cn: string, dns: readonly string[], key = newKey()): string {
  return openssl([
    "req",
    "-new",
    "-key",
    key,
    "-subj",
    `/CN=${cn}`,
    "-addext",
    `subjectAltName=${dns.map((d) => `DNS:${d}`).join(",")}`,
  ]).toString("utf8");
}

const alice = principalOfKey({
  id: "0123456789abcdef",
  role: "requester",
  owner: "alice@example.com",
});
/** Alice again, through another key: the same person may renew. */
const aliceLaptop = principalOfKey({
  id: "0123456789abcd00",
  role: "requester",
  owner: "Alice+laptop@example.com",
});
const bob = principalOfKey({ id: "fedcba9876543210", role: "requester", owner: "bob@example.com" });
const auditor = principalOfKey({
  id: "aaaabbbbccccdddd",
  role: "auditor",
  owner: "audit@example.com",
});
const admin = principalOfKey({ id: "1111222233334444", role: "admin", owner: "root@example.com" });

const renewalProfiles = (config: Config): Config => {
  const client = config.profiles.client!;
  const server = config.profiles.server!;
  const at = (startFraction: number) => ({ startFraction, graceDays: 0 });
  const renewal = (r: Partial<NonNullable<Profile["renewal"]>>): Profile["renewal"] => ({
    window: at(0),
    reuseKey: false,
    revokeSuperseded: false,
    ...r,
  });
  return {
    ...config,
    profiles: {
      ...config.profiles,
      // Manual profiles: the renewal inherits the approval, or asks again.
      "server-inherit": { ...server, renewal: renewal({ approval: "inherit" }) },
      "server-again": { ...server, renewal: renewal({}) },
      "client-reuse": { ...client, renewal: renewal({ reuseKey: true }) },
      "client-supersede": { ...client, renewal: renewal({ revokeSuperseded: true }) },
      "client-open": { ...client, renewal: renewal({}) },
    },
  };
};

describe("renewal", () => {
  let world: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    world = await setUp({ config: renewalProfiles });
  });
  after(async () => {
    await world.close();
  });

  /** Submits `csr` for `profile` as Alice, approves it if it waits, and returns the serial. */
  async function issued(profile: string, csr: string): Promise<string> {
    const { ra, engine, mailer, bus } = world;
    const { request } = await ra.submit(
      { csr, email: "dev@example.com", profile },
      alice,
      undefined,
    );
    if ((await world.repository.getRequest(request.id))!.approval.mode === "manual") {
      const token = await approvalToken(mailer, "security@example.com", request.id);
      await ra.decide(request.id, token, "approve", undefined);
    }
    assert.equal((await engine.waitForExecution(request.id)).status, "SUCCEEDED");
    await bus.drain();
    const view = (await ra.getRequest(request.id, alice))!;
    assert.equal(view.status, "issued", JSON.stringify(view));
    return view.serial!;
  }

  async function finish(requestId: string) {
    assert.equal((await world.engine.waitForExecution(requestId)).status, "SUCCEEDED");
    await world.bus.drain();
    return (await world.ra.getRequest(requestId, alice))!;
  }

  const refuses = (code: Parameters<typeof isPkiError>[1], pattern?: RegExp) => (e: unknown) =>
    isPkiError(e, code) && (pattern === undefined || pattern.test(e.message));

  test("inherit: issued without approvers, linked both ways, mailed like an issuance", async () => {
    const { ra, mailer, repository } = world;
    const old = await issued(
      "server-inherit",
      csrFor("inherit.example.com", ["inherit.example.com"]),
    );
    const oldView = (await ra.getCertificate(old, alice))!;
    assert.equal(oldView.renewal?.approval, "inherit");
    // startFraction 0, graceDays 0: the whole lifetime.
    assert.equal(oldView.renewal?.opensAt, oldView.notBefore);
    assert.equal(oldView.renewal?.closesAt, oldView.notAfter);
    const approvalMails = mailer.to("security@example.com").length;
    const key = newKey();
    // Alice renews through another of her keys: the same person.
    const { request, created } = await ra.renew(
      old,
      { csr: csrFor("inherit.example.com", ["inherit.example.com"], key) },
      aliceLaptop,
      undefined,
    );
    assert.equal(created, true);
    const done = await finish(request.id);
    assert.equal(done.status, "issued");
    assert.equal(mailer.to("security@example.com").length, approvalMails, "no approval mail");
    const stored = (await repository.getRequest(request.id))!;
    assert.equal(stored.renews, old);
    assert.equal(stored.approval.mode, "automatic");
    const originalRequest = (await repository.getCertificate(old))!.requestId;
    assert.equal(stored.approval.inheritedFrom, originalRequest);
    const submitted = done.history.find((h) => h.action === "submitted")!;
    assert.equal(submitted.details?.approvalInheritedFrom, originalRequest);
    assert.equal(submitted.details?.renews, old);
    // The certificate stays Alice's.
    assert.equal(stored.principal.id, alice.id);

    const renewed = (await repository.getCertificate(done.serial!))!;
    assert.equal(renewed.renews, old);
    assert.equal((await repository.getCertificate(old))!.renewedBy, done.serial);
    const newView = (await ra.getCertificate(done.serial!, alice))!;
    assert.equal(newView.renews, old);
    assert.equal((await ra.getCertificate(old, alice))!.renewedBy, done.serial);
    // The certificate really is for the new key and the same names (parsed by OpenSSL).
    const certFile = join(work, "inherit.pem");
    writeFileSync(certFile, newView.pem);
    const text = openssl(["x509", "-in", certFile, "-noout", "-subject", "-ext", "subjectAltName"]);
    assert.match(text.toString(), /CN ?= ?inherit\.example\.com/);
    assert.match(text.toString(), /DNS:inherit\.example\.com/);
    assert.equal(
      openssl(["x509", "-in", certFile, "-noout", "-pubkey"]).toString(),
      openssl(["pkey", "-in", key, "-pubout"]).toString(),
    );
    // Mailed to the renewed certificate's address, with the new certificate attached.
    const mail = mailer
      .to("dev@example.com")
      .find((m) => m.attachments?.length && m.text.includes(request.id));
    assert.ok(mail, "the requester gets the renewed certificate");
    assert.equal(
      Buffer.from(mail.attachments![0]!.content as string | Uint8Array).toString(),
      newView.pem,
    );
  });

  test("again: the renewal waits for the approvers, then issues", async () => {
    const { ra, mailer, repository } = world;
    const old = await issued("server-again", csrFor("again.example.com", ["again.example.com"]));
    const { request } = await ra.renew(
      old,
      { csr: csrFor("again.example.com", ["again.example.com"]) },
      alice,
      undefined,
    );
    const token = await approvalToken(mailer, "security@example.com", request.id);
    const waiting = (await repository.getRequest(request.id))!;
    assert.equal(waiting.status, "pending_approval");
    assert.equal(waiting.approval.mode, "manual");
    assert.equal(waiting.approval.inheritedFrom, undefined);
    assert.equal((await repository.getCertificate(old))!.renewedBy, null, "not renewed yet");
    await ra.decide(request.id, token, "approve", undefined);
    const done = await finish(request.id);
    assert.equal(done.status, "issued");
    assert.equal((await repository.getCertificate(old))!.renewedBy, done.serial);
  });

  test("a renewal that widens the names is refused, naming them", async () => {
    const { ra } = world;
    const old = await issued("client-open", csrFor("narrow.example.com", ["narrow.example.com"]));
    await assert.rejects(
      ra.renew(
        old,
        { csr: csrFor("narrow.example.com", ["narrow.example.com", "wide.example.com"]) },
        alice,
        undefined,
      ),
      refuses("RENEWAL_NAMES_WIDENED", /dns:wide\.example\.com/),
    );
    await assert.rejects(
      ra.renew(
        old,
        { csr: csrFor("narrow.example.com/O=Example", ["narrow.example.com"]) },
        alice,
        undefined,
      ),
      refuses("RENEWAL_NAMES_WIDENED", /does not have O=Example;/),
    );
    // A renewal for the same names under another profile is refused too.
    await assert.rejects(
      ra.renew(
        old,
        { csr: csrFor("narrow.example.com", ["narrow.example.com"]), profile: "client" },
        alice,
        undefined,
      ),
      refuses("RENEWAL_PROFILE_MISMATCH", /client-open, not client/),
    );
  });

  test("only the requester or an admin renews; others do not even see it", async () => {
    const { ra } = world;
    const old = await issued("client-open", csrFor("mine.example.com", ["mine.example.com"]));
    const csr = () => csrFor("mine.example.com", ["mine.example.com"]);
    await assert.rejects(ra.renew(old, { csr: csr() }, bob, undefined), refuses("CERT_NOT_FOUND"));
    await assert.rejects(
      ra.renew(old, { csr: csr() }, auditor, undefined),
      refuses("RENEWAL_NOT_ALLOWED", /alice@example\.com/),
    );
    await assert.rejects(
      ra.renew("00ff00ff", { csr: csr() }, alice, undefined),
      refuses("CERT_NOT_FOUND"),
    );
    // An admin may, and the new certificate is still Alice's (she can read it, Bob cannot).
    const { request } = await ra.renew(old, { csr: csr() }, admin, undefined);
    const done = await finish(request.id);
    assert.equal(done.status, "issued");
    assert.ok(await ra.getCertificate(done.serial!, alice));
    assert.equal(await ra.getCertificate(done.serial!, bob), undefined);
    assert.equal((await world.repository.getRequest(request.id))!.submittedBy, admin.id);
  });

  test("outside the window, revoked, superseded and a reused key are refused", async () => {
    const { ra } = world;
    // client keeps the default window: from two thirds of the lifetime.
    const fresh = await issued("client", csrFor("early.example.com", ["early.example.com"]));
    const view = (await ra.getCertificate(fresh, alice))!;
    await assert.rejects(
      ra.renew(
        fresh,
        { csr: csrFor("early.example.com", ["early.example.com"]) },
        alice,
        undefined,
      ),
      refuses(
        "RENEWAL_OUTSIDE_WINDOW",
        new RegExp(`from ${view.renewal!.opensAt} until ${view.renewal!.closesAt}`),
      ),
    );

    const revoked = await issued("client-open", csrFor("gone.example.com", ["gone.example.com"]));
    await ra.revokeCertificate(revoked, "keyCompromise", admin);
    await assert.rejects(
      ra.renew(
        revoked,
        { csr: csrFor("gone.example.com", ["gone.example.com"]) },
        alice,
        undefined,
      ),
      refuses("RENEWAL_CERT_REVOKED", /keyCompromise/),
    );

    // The same key again: refused where the profile wants a new one, taken where it allows.
    const key = newKey();
    const same = await issued("client-open", csrFor("same.example.com", ["same.example.com"], key));
    await assert.rejects(
      ra.renew(
        same,
        { csr: csrFor("same.example.com", ["same.example.com"], key) },
        alice,
        undefined,
      ),
      refuses("RENEWAL_KEY_REUSED"),
    );
    const reuseKey = newKey();
    const reusable = await issued(
      "client-reuse",
      csrFor("reuse.example.com", ["reuse.example.com"], reuseKey),
    );
    const csr = csrFor("reuse.example.com", ["reuse.example.com"], reuseKey);
    const first = await ra.renew(reusable, { csr }, alice, "renew-reuse-1");
    const done = await finish(first.request.id);
    assert.equal(done.status, "issued");

    // Renewed now: the same call (same key, same CSR) replays; any other is refused.
    const replay = await ra.renew(reusable, { csr }, alice, "renew-reuse-1");
    assert.equal(replay.created, false);
    assert.equal(replay.request.id, first.request.id);
    await assert.rejects(
      ra.renew(
        reusable,
        { csr: csrFor("reuse.example.com", ["reuse.example.com"]) },
        alice,
        "renew-reuse-2",
      ),
      refuses("RENEWAL_SUPERSEDED", new RegExp(`renewed by ${done.serial}`)),
    );
  });

  test("revokeSuperseded: fetching the successor revokes the renewed one, once", async () => {
    const { ra, repository } = world;
    const old = await issued("client-supersede", csrFor("sup.example.com", ["sup.example.com"]));
    const { request } = await ra.renew(
      old,
      { csr: csrFor("sup.example.com", ["sup.example.com"]) },
      alice,
      undefined,
    );
    const done = await finish(request.id);
    // Issued is not enough: the holder may not have picked it up yet.
    assert.equal((await ra.getCertificate(old, alice))!.status, "valid");
    assert.equal((await repository.getCertificate(old))!.revokedAt, null);
    // A revocation that fails does not fail the download; it is on the record, and the next
    // fetch revokes.
    const { revocations } = world;
    const record = revocations.recordRevocation;
    revocations.recordRevocation = async () => {
      throw new Error("DynamoDB is down");
    };
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (message: string) => warnings.push(message);
    try {
      assert.equal((await ra.getCertificate(done.serial!, alice))!.serial, done.serial);
    } finally {
      revocations.recordRevocation = record;
      console.warn = warn;
    }
    assert.match(
      warnings.join("\n"),
      new RegExp(`Revoking ${old}, superseded by ${done.serial}, failed`),
    );
    assert.equal((await ra.getCertificate(old, alice))!.status, "valid");
    const oldHistory = (await ra.getRequest(
      (await repository.getCertificate(old))!.requestId,
      alice,
    ))!.history;
    assert.ok(
      oldHistory.some((h) => h.action === "superseded revocation failed"),
      oldHistory.map((h) => h.action).join(", "),
    );
    await ra.getCertificate(done.serial!, alice);
    const oldView = (await ra.getCertificate(old, alice))!;
    assert.equal(oldView.status, "revoked");
    assert.equal(oldView.revocation?.reason, "superseded");
    assert.equal(oldView.revocation?.revokedBy, "renewal");
    assert.equal((await repository.getRequest(oldView.requestId))!.status, "revoked");
    // Fetching again changes nothing.
    await ra.getCertificate(done.serial!, alice);
    assert.equal(
      (await ra.getCertificate(old, alice))!.revocation?.revokedAt,
      oldView.revocation?.revokedAt,
    );
    // A profile without revokeSuperseded leaves the renewed certificate alone.
    const kept = await issued("client-open", csrFor("kept.example.com", ["kept.example.com"]));
    const next = await ra.renew(
      kept,
      { csr: csrFor("kept.example.com", ["kept.example.com"]) },
      alice,
      undefined,
    );
    const nextDone = await finish(next.request.id);
    await ra.getCertificate(nextDone.serial!, alice);
    assert.equal((await ra.getCertificate(kept, alice))!.status, "valid");
  });
});
