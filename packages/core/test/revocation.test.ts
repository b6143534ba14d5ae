/**
 * Revocation and CRL publication with every real part but HTTP (support/world.ts): revoking
 * through the registration authority, the requester told, the request moved to `revoked`, and
 * the CRL republished to the bucket with the serial and its reason, checked by OpenSSL. Then
 * what the publisher promises: numbers that only increase under concurrent publishers, no
 * revocation left out, a crashed lease holder taken over, and the grace period after expiry.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { caIdOfChainPem } from "../src/ca/authority.ts";
import { publicationKeys, TRUSTSTORE_KEY } from "../src/ca/publication-urls.ts";
import { CoalescingTrigger } from "../src/crl/coalescing-trigger.ts";
import { parseCrl } from "../src/crl/parse.ts";
import { CA_OBJECT_CACHE_CONTROL, crlCacheControl } from "../src/crl/publication-cache.ts";
import { CrlPublisher } from "../src/crl/publisher.ts";
import { decodePemBlocks, encodePem } from "../src/encoding/pem.ts";
import { isPkiError } from "../src/errors.ts";
import { createEvent, type EventBus } from "../src/events/bus.ts";
import type { DomainEvent } from "../src/events/catalogue.ts";
import { principalOfKey } from "../src/identity/principal.ts";
import type { ObjectStore } from "../src/store/object-store.ts";
import type { RevocationRecord, RevocationStore } from "../src/store/revocation-store.ts";
import { ecCsrFor, openssl, opensslVerifyPem } from "./support/openssl.ts";
import { setUp } from "./support/world.ts";

const work = mkdtempSync(join(tmpdir(), "revocation-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Who revokes: an admin's API key. */
const caller = principalOfKey({
  id: "a0b1c2d3e4f5a6b7",
  role: "admin",
  owner: "admin@example.com",
});
/** How the revocation records them. */
const REVOKED_BY = "admin@example.com (api-key:a0b1c2d3e4f5a6b7)";
/** Who asks for the certificates: a build machine's key, acting for Alice. */
const requester = principalOfKey({
  id: "0123456789abcdef",
  role: "requester",
  owner: "alice@example.com",
});
const csr = (name: string) => ecCsrFor(work, name).toString("utf8");
type World = Awaited<ReturnType<typeof setUp>>;

/** Issues a client certificate (automatic approval) and returns its serial and PEM. */
async function issue(world: World, name: string, email = "dev@example.com") {
  const { request } = await world.ra.submit(
    { csr: csr(name), email, profile: "client" },
    requester,
    undefined,
  );
  const done = await world.engine.waitForExecution(request.id);
  assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
  const serial = (await world.ra.getRequest(request.id, requester))!.serial!;
  const cert = (await world.ra.getCertificate(serial, requester))!;
  return { serial, pem: cert.pem, requestId: request.id, notAfter: cert.notAfter };
}

async function publishedCrl(world: World) {
  const caId = caIdOfChainPem(await world.ca.chainPem());
  const object = await world.deps.objects.get(publicationKeys(caId).crl);
  assert.ok(object, "a CRL is published");
  assert.equal(object.contentType, "application/pkix-crl");
  return { der: object.body, crl: parseCrl(object.body), caId };
}

describe("revoking a certificate", () => {
  let world: World;
  before(async () => {
    world = await setUp();
  });
  after(() => world.close());

  test("a new CRL lists the serial with its reason, OpenSSL rejects the certificate, the requester is told", async () => {
    const cert = await issue(world, "gone.example.internal");
    await world.publisher.publish("startup");
    const before = (await publishedCrl(world)).crl.number!;
    const chainPem = await world.ca.chainPem();
    assert.ok(opensslVerifyPem(work, chainPem, cert.pem, "sslclient").ok);

    const result = await world.ra.revokeCertificate(cert.serial, "keyCompromise", caller);
    assert.equal(result.created, true);
    assert.equal(result.reason, "keyCompromise");
    assert.equal(result.revokedBy, REVOKED_BY);
    assert.equal(result.requestId, cert.requestId);
    await world.bus.drain();

    const { crl, der } = await publishedCrl(world);
    assert.ok(crl.number! > before, `cRLNumber ${crl.number} after ${before}`);
    const entry = [...crl.entries()].find((e) => e.serialHex === cert.serial);
    assert.deepEqual(entry && [entry.reason, entry.revokedAt.toISOString()], [
      "keyCompromise",
      result.revokedAt,
    ]);
    const text = openssl(["crl", "-inform", "DER", "-noout", "-text"], der).toString();
    assert.match(text, new RegExp(`Serial Number: ${cert.serial.toUpperCase()}`));
    assert.match(text, /Key Compromise/);
    const verdict = opensslVerifyPem(
      work,
      chainPem,
      cert.pem,
      "sslclient",
      encodePem("X509 CRL", der),
    );
    assert.equal(verdict.ok, false);
    assert.match(verdict.output, /certificate revoked/);

    const view = (await world.ra.getRequest(cert.requestId, caller))!;
    assert.equal(view.status, "revoked");
    const revokedEntry = view.history.find((h) => h.action === "revoked");
    assert.deepEqual(revokedEntry?.details, {
      serial: cert.serial,
      reason: "keyCompromise",
      revokedAt: result.revokedAt,
    });
    assert.equal(revokedEntry?.actor, REVOKED_BY);
    const certView = (await world.ra.getCertificate(cert.serial, caller))!;
    assert.equal(certView.status, "revoked");
    assert.equal(certView.revocation?.reason, "keyCompromise");
    const mails = world.mailer.to("dev@example.com").filter((m) => /revoked/i.test(m.subject));
    assert.equal(mails.length, 1, mails.map((m) => m.subject).join(" | "));
    assert.match(mails[0]!.text, new RegExp(cert.serial));
    assert.match(mails[0]!.text, /keyCompromise/);
  });

  test("revoking again returns the first revocation, sends no second mail, lists the serial once", async () => {
    const cert = await issue(world, "twice.example.internal", "twice@example.com");
    const first = await world.ra.revokeCertificate(cert.serial, "superseded", caller);
    await world.bus.drain();
    const again = await world.ra.revokeCertificate(
      cert.serial.toUpperCase(),
      "keyCompromise",
      caller,
    );
    await world.bus.drain();
    assert.equal(again.created, false);
    assert.deepEqual({ ...again, created: true }, first);
    const revokedMails = world.mailer
      .to("twice@example.com")
      .filter((m) => /revoked/i.test(m.subject));
    assert.equal(revokedMails.length, 1);
    const entries = [...(await publishedCrl(world)).crl.entries()].filter(
      (e) => e.serialHex === cert.serial,
    );
    assert.deepEqual(
      entries.map((e) => e.reason),
      ["superseded"],
    );
  });

  test("revoking again completes an interrupted first attempt, and then announces nothing: no new CRL, no second mail", async () => {
    const cert = await issue(world, "interrupted.example.internal", "cut@example.com");
    const caId = caIdOfChainPem(await world.ca.chainPem());
    // The first attempt died right after its write: no request change, no event, no CRL.
    await world.revocations.recordRevocation(revocationOf(caId, cert));
    const before = (await publishedCrl(world)).crl.number!;

    const again = await world.ra.revokeCertificate(cert.serial, "superseded", caller);
    await world.bus.drain();
    assert.equal(again.created, false);
    assert.equal(again.reason, "keyCompromise");
    assert.equal((await world.ra.getRequest(cert.requestId, caller))!.status, "revoked");
    const completed = await publishedCrl(world);
    assert.ok(completed.crl.number! > before, "the repeat published the owed CRL");
    assert.ok([...completed.crl.entries()].some((e) => e.serialHex === cert.serial));
    const mails = () =>
      world.mailer.to("cut@example.com").filter((m) => /revoked/i.test(m.subject)).length;
    assert.equal(mails(), 1);
    assert.equal(await world.revocations.isUnpublished(caId, cert.serial, cert.notAfter), false);

    // Nothing is left to complete: a third call publishes no CRL and sends nothing.
    await world.ra.revokeCertificate(cert.serial, "superseded", caller);
    await world.bus.drain();
    assert.equal((await publishedCrl(world)).crl.number, completed.crl.number);
    assert.equal(mails(), 1);
  });

  test("unspecified is listed without a reason code", async () => {
    const cert = await issue(world, "plain.example.internal");
    await world.ra.revokeCertificate(cert.serial, "unspecified", caller);
    await world.bus.drain();
    const text = openssl(
      ["crl", "-inform", "DER", "-noout", "-text"],
      (await publishedCrl(world)).der,
    ).toString();
    const block = text.slice(text.indexOf(`Serial Number: ${cert.serial.toUpperCase()}`));
    const next = block.indexOf("Serial Number:", 10);
    assert.doesNotMatch(next > 0 ? block.slice(0, next) : block, /CRL Reason Code/);
  });

  test("refusals: unknown or malformed serial, a reason a CRL may not carry", async () => {
    const { ra } = world;
    const cert = await issue(world, "kept.example.internal");
    await assert.rejects(ra.revokeCertificate("0abcdef0", "keyCompromise", caller), (e) =>
      isPkiError(e, "CERT_NOT_FOUND"),
    );
    await assert.rejects(ra.revokeCertificate("xyz", "keyCompromise", caller), (e) =>
      isPkiError(e, "CERT_NOT_FOUND"),
    );
    for (const reason of ["certificateHold", "removeFromCRL", "toString", ""]) {
      await assert.rejects(ra.revokeCertificate(cert.serial, reason, caller), (e) =>
        isPkiError(e, "REVOCATION_REASON_INVALID"),
      );
    }
    assert.equal((await ra.getCertificate(cert.serial, caller))!.status, "valid");
  });

  test("the CA certificate (DER, PEM) and the trust-store bundle are published beside the CRL", async () => {
    await world.publisher.publish("schedule");
    const { caId } = await publishedCrl(world);
    const chain = decodePemBlocks(await world.ca.chainPem());
    const keys = publicationKeys(caId);
    const der = await world.deps.objects.get(keys.caCertificate);
    assert.equal(der?.contentType, "application/pkix-cert");
    assert.deepEqual(der?.body, chain[0]!.der);
    const pem = await world.deps.objects.get(keys.caCertificatePem);
    assert.equal(Buffer.from(pem!.body).toString(), encodePem("CERTIFICATE", chain[0]!.der));
    const crlPem = await world.deps.objects.get(keys.crlPem);
    assert.match(Buffer.from(crlPem!.body).toString(), /^-----BEGIN X509 CRL-----/);
    // Caches keep a CRL a minute at most (a revocation must get through), a CA object an hour.
    for (const key of [keys.crl, keys.crlPem]) {
      assert.equal((await world.deps.objects.get(key))?.cacheControl, "public, max-age=60", key);
    }
    for (const key of [keys.caCertificate, keys.caCertificatePem, TRUSTSTORE_KEY]) {
      assert.equal((await world.deps.objects.get(key))?.cacheControl, CA_OBJECT_CACHE_CONTROL, key);
    }
    const bundle = decodePemBlocks(
      Buffer.from((await world.deps.objects.get(TRUSTSTORE_KEY))!.body).toString(),
    );
    assert.equal(bundle.length, 2, "issuing CA and root");
    assert.deepEqual(
      bundle.map((b) => b.der),
      chain.map((b) => b.der),
    );
    // The root's key is held here, so its (empty) CRL and its certificate are published too,
    // where the issuing CA certificate's CRL distribution point and AIA say.
    const rootId = caIdOfChainPem(encodePem("CERTIFICATE", chain[1]!.der));
    const rootCrl = await world.deps.objects.get(publicationKeys(rootId).crl);
    assert.ok(rootCrl, "the root CRL is published");
    assert.deepEqual([...parseCrl(rootCrl.body).entries()], []);
    const issuingText = openssl(["x509", "-inform", "DER", "-noout", "-text"], chain[0]!.der);
    assert.match(issuingText.toString(), new RegExp(`/crl/${rootId}\\.crl`));
    const rootCert = await world.deps.objects.get(publicationKeys(rootId).caCertificate);
    assert.deepEqual(rootCert?.body, chain[1]!.der);
  });
});

test("a CRL is never cached longer than a minute, nor than the refresh interval", () => {
  const crl = (refreshHours: number) => ({ validityHours: 1, refreshHours, expiredGraceDays: 7 });
  assert.equal(crlCacheControl(crl(24)), "public, max-age=60");
  assert.equal(crlCacheControl(crl(0.005)), "public, max-age=18");
  assert.equal(crlCacheControl(crl(0.0001)), "public, max-age=1");
});

describe("announcing a publication", () => {
  test("each CRL is announced as crl.published, with its CA, number, times and trigger", async () => {
    const world = await setUp();
    try {
      const announced: DomainEvent[] = [];
      const events: EventBus = {
        async publish(type, detail) {
          const event = createEvent(type, detail);
          announced.push(event);
          return event;
        },
      };
      const publisher = new CrlPublisher({
        revocations: world.revocations,
        objects: world.deps.objects,
        ca: world.ca,
        config: world.deps.config,
        events,
      });
      const { serial } = await issue(world, "announced.example.internal");
      await world.ra.revokeCertificate(serial, "keyCompromise", caller);
      const published = await publisher.publish("revocation");
      const caId = caIdOfChainPem(await world.ca.chainPem());
      const mine = announced.filter((e) => e.type === "crl.published");
      assert.equal(mine.length, 1, JSON.stringify(announced));
      assert.deepEqual(mine[0]!.detail, {
        caId,
        number: published.number,
        thisUpdate: published.thisUpdate,
        nextUpdate: published.nextUpdate,
        entries: published.entries,
        trigger: "revocation",
      });
      assert.equal(mine[0]!.id, `crl.published/${caId}/${published.number}`);
      assert.ok(published.entries >= 1);
    } finally {
      await world.close();
    }
  });
});

describe("publishing under concurrency", () => {
  test("50 parallel revocations and 4 publishers: every serial listed, every write a higher number", async () => {
    const writes: bigint[] = [];
    const world = await setUp();
    try {
      const certs = [];
      for (let i = 0; i < 50; i++) certs.push(await issue(world, `p${i}.example.internal`));
      const caId = caIdOfChainPem(await world.ca.chainPem());
      // Every write of the CRL, in order: by the world's own publisher (on the bus) and by
      // four more, as four Lambdas would be.
      const objects = world.deps.objects as { put: ObjectStore["put"] };
      const put = objects.put.bind(objects);
      objects.put = async (key, body, type) => {
        if (key === publicationKeys(caId).crl) writes.push(parseCrl(body as Uint8Array).number!);
        await put(key, body, type);
      };
      const publishers = [0, 1, 2, 3].map(
        () =>
          new CrlPublisher({
            revocations: world.revocations,
            objects: world.deps.objects,
            ca: world.ca,
            config: world.deps.config,
          }),
      );
      await Promise.all(
        certs.map(async (cert, i) => {
          await world.ra.revokeCertificate(cert.serial, "cessationOfOperation", caller);
          const published = await publishers[i % 4]!.publish("revocation");
          // What a publisher returns covers the revocation recorded before it asked.
          const der = (await world.deps.objects.get(publicationKeys(caId).crl))!.body;
          assert.ok(BigInt(published.number) <= parseCrl(der).number!);
        }),
      );
      await world.bus.drain();
      const { crl } = await publishedCrl(world);
      const listed = new Set([...crl.entries()].map((e) => e.serialHex));
      for (const cert of certs) assert.ok(listed.has(cert.serial), `${cert.serial} is listed`);
      assert.equal(listed.size, 50);
      assert.ok(writes.length >= 2, `${writes.length} publications`);
      for (let i = 1; i < writes.length; i++) {
        assert.ok(writes[i]! > writes[i - 1]!, `write ${i}: ${writes[i]} after ${writes[i - 1]}`);
      }
      assert.equal(crl.number, writes.at(-1));
    } finally {
      await world.close();
    }
  });

  test("a publisher that died holding the lease is taken over once its lease runs out", async () => {
    const world = await setUp();
    try {
      const caId = caIdOfChainPem(await world.ca.chainPem());
      const lease = await world.revocations.acquireCrlLease(
        caId,
        "crashed",
        new Date(Date.now() + 300),
      );
      assert.ok(lease);
      const publisher = new CrlPublisher(
        {
          revocations: world.revocations,
          objects: world.deps.objects,
          ca: world.ca,
          config: world.deps.config,
        },
        { leaseMs: 1000 },
      );
      const started = Date.now();
      const published = await publisher.publish("schedule");
      assert.ok(Date.now() - started >= 250, "it waited for the lease");
      assert.ok(BigInt(published.number) > lease.number);
      // The crashed holder, come back, can no longer publish or complete.
      assert.equal(await world.revocations.renewCrlLease(caId, "crashed", new Date()), false);
      assert.equal(
        await world.revocations.completeCrl(caId, "crashed", lease.ticket, published),
        false,
      );
    } finally {
      await world.close();
    }
  });

  test("a publisher that cannot get the lease in time fails with a TransientError", async () => {
    const world = await setUp();
    try {
      const caId = caIdOfChainPem(await world.ca.chainPem());
      await world.revocations.acquireCrlLease(caId, "slow", new Date(Date.now() + 60_000));
      const publisher = new CrlPublisher(
        {
          revocations: world.revocations,
          objects: world.deps.objects,
          ca: world.ca,
          config: world.deps.config,
        },
        { waitMs: 200 },
      );
      await assert.rejects(publisher.publish("revocation"), (e) => {
        assert.equal((e as Error).name, "TransientError");
        assert.match((e as Error).message, /another publisher has held the lease/);
        return true;
      });
    } finally {
      await world.close();
    }
  });
});

/** A revocation of `cert` as the RA records it, written to the store alone: no event, no CRL. */
function revocationOf(
  caId: string,
  cert: { serial: string; notAfter: string; requestId: string },
): RevocationRecord {
  return {
    caId,
    serial: cert.serial,
    notAfter: cert.notAfter,
    reason: "keyCompromise",
    revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
    requestId: cert.requestId,
    revokedBy: REVOKED_BY,
  };
}

/**
 * The store, with `hook` run once at `point` of the first publication that holds the lease:
 * "listed" right after the publisher read the unpublished list, "built" once it built the CRL
 * (when it renews its lease before writing). Deterministic: no timing involved.
 */
function interleaving(
  store: RevocationStore,
  point: "listed" | "built",
  hook: () => Promise<void>,
): { store: RevocationStore; listed: () => readonly string[][] } {
  let leased = false;
  let done = false;
  const lists: string[][] = [];
  const once = async () => {
    if (leased && !done) {
      done = true;
      await hook();
    }
  };
  const spy = new Proxy(store, {
    get(target, prop) {
      if (prop === "acquireCrlLease") {
        return async (...args: Parameters<RevocationStore["acquireCrlLease"]>) => {
          const lease = await target.acquireCrlLease(...args);
          if (lease) leased = true;
          return lease;
        };
      }
      if (prop === "unpublishedRevocations") {
        return async (...args: Parameters<RevocationStore["unpublishedRevocations"]>) => {
          const list = await target.unpublishedRevocations(...args);
          if (leased) lists.push(list.map((r) => r.serial));
          if (point === "listed") await once();
          return list;
        };
      }
      if (prop === "renewCrlLease") {
        return async (...args: Parameters<RevocationStore["renewCrlLease"]>) => {
          if (point === "built") await once();
          return target.renewCrlLease(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: spy, listed: () => lists };
}

describe("revocations no CRL lists yet (the unpublished mark)", () => {
  let world: World;
  let caId: string;
  before(async () => {
    world = await setUp();
    caId = caIdOfChainPem(await world.ca.chainPem());
    await world.publisher.publish("startup");
  });
  after(() => world.close());

  const listedSerials = async () =>
    [...(await publishedCrl(world)).crl.entries()].map((e) => e.serialHex);
  const refreshMs = () => world.deps.config.crl.refreshHours * 3_600_000;

  test("a revocation recorded without a publication makes the CRL due now; the schedule publishes it as a revocation and clears the mark", async () => {
    const cert = await issue(world, "owed.example.internal");
    const before = (await world.revocations.crlState(caId)).published!;
    assert.equal(await world.publisher.nextDue(), Date.parse(before.thisUpdate) + refreshMs());
    assert.deepEqual(await world.revocations.unpublishedRevocations(caId, 10), []);

    const { created } = await world.revocations.recordRevocation(revocationOf(caId, cert));
    assert.equal(created, true);
    assert.deepEqual(await world.revocations.unpublishedRevocations(caId, 10), [
      { serial: cert.serial, notAfter: cert.notAfter },
    ]);
    const due = await world.publisher.nextDue();
    assert.ok(due !== undefined && Math.abs(due - Date.now()) < 1000, `due at ${due}`);
    assert.ok(!(await listedSerials()).includes(cert.serial), "nothing published it yet");

    const published = await world.publisher.publishIfDue("schedule");
    assert.ok(published, "it was due");
    assert.equal(published.trigger, "revocation");
    assert.ok(BigInt(published.number) > BigInt(before.number));
    assert.ok((await listedSerials()).includes(cert.serial));
    assert.equal((await world.revocations.crlState(caId)).published?.number, published.number);

    assert.deepEqual(await world.revocations.unpublishedRevocations(caId, 10), []);
    assert.equal(await world.publisher.nextDue(), Date.parse(published.thisUpdate) + refreshMs());
    assert.equal(await world.publisher.publishIfDue("schedule"), undefined, "not due again");
  });

  for (const point of ["listed", "built"] as const) {
    test(`a revocation recorded while a publisher holds the lease (${point === "listed" ? "after it read the unpublished list" : "after it built the CRL"}) stays marked until a CRL after it`, async () => {
      const first = await issue(world, `early-${point}.example.internal`);
      const late = await issue(world, `late-${point}.example.internal`);
      await world.revocations.recordRevocation(revocationOf(caId, first));
      const spy = interleaving(world.revocations, point, async () => {
        assert.equal(
          (await world.revocations.recordRevocation(revocationOf(caId, late))).created,
          true,
        );
      });
      const publisher = new CrlPublisher({
        revocations: spy.store,
        objects: world.deps.objects,
        ca: world.ca,
        config: world.deps.config,
      });
      const published = await publisher.publish("revocation");
      assert.deepEqual(spy.listed(), [[first.serial]], "the holder's list had only the first");
      const listed = await listedSerials();
      assert.ok(listed.includes(first.serial));
      // Built before the late one was recorded: only a later CRL can list it.
      if (point === "built") assert.ok(!listed.includes(late.serial));
      assert.deepEqual(
        await world.revocations.unpublishedRevocations(caId, 10),
        [{ serial: late.serial, notAfter: late.notAfter }],
        "the late revocation is still owed, the first is not",
      );
      const due = await world.publisher.nextDue();
      assert.ok(due !== undefined && due <= Date.now(), "a CRL is due at once");

      const next = await world.publisher.publishIfDue("schedule");
      assert.equal(next?.trigger, "revocation");
      assert.ok(BigInt(next!.number) > BigInt(published.number));
      assert.ok((await listedSerials()).includes(late.serial));
      assert.deepEqual(await world.revocations.unpublishedRevocations(caId, 10), []);
    });
  }

  test("breakCrlLease ends a lease whoever holds it, so a new publisher takes it at once", async () => {
    const stuck = await world.revocations.acquireCrlLease(
      caId,
      "stuck",
      new Date(Date.now() + 3_600_000),
    );
    assert.ok(stuck, "the stuck holder has the lease");
    // Gives up at once rather than wait: only a free lease lets it publish.
    const impatient = new CrlPublisher(
      {
        revocations: world.revocations,
        objects: world.deps.objects,
        ca: world.ca,
        config: world.deps.config,
      },
      { waitMs: 0 },
    );
    await assert.rejects(impatient.publish("schedule"), (e) => {
      assert.equal((e as Error).name, "TransientError");
      return true;
    });

    await world.revocations.breakCrlLease(caId);
    const published = await impatient.publish("schedule");
    assert.ok(BigInt(published.number) > stuck.number);
    assert.equal((await world.revocations.crlState(caId)).published?.number, published.number);
    // The broken holder, come back, can neither renew nor complete.
    assert.equal(
      await world.revocations.renewCrlLease(caId, "stuck", new Date(Date.now() + 60_000)),
      false,
    );
    assert.equal(
      await world.revocations.completeCrl(caId, "stuck", stuck.ticket, published),
      false,
    );
  });
});

describe("expiry", () => {
  test("an expired certificate is not revoked (CERT_EXPIRED); a revoked one leaves the CRL after the grace period", async () => {
    let offsetMs = 0;
    const now = () => new Date(Date.now() + offsetMs);
    const world = await setUp({
      now,
      config: (c) => ({ ...c, crl: { ...c.crl, expiredGraceDays: 2 } }),
    });
    try {
      const revoked = await issue(world, "old.example.internal");
      const expired = await issue(world, "older.example.internal");
      await world.ra.revokeCertificate(revoked.serial, "affiliationChanged", caller);
      await world.bus.drain();
      const listed = async () =>
        [...(await publishedCrl(world)).crl.entries()].map((e) => e.serialHex);
      assert.deepEqual(await listed(), [revoked.serial]);

      const notAfter = Date.parse(revoked.notAfter);
      offsetMs = notAfter + 1000 - Date.now();
      await assert.rejects(
        world.ra.revokeCertificate(expired.serial, "superseded", caller),
        (e) => {
          assert.ok(isPkiError(e, "CERT_EXPIRED"));
          assert.match(e.message, /expired on/);
          return true;
        },
      );
      // Revoking the revoked one again still answers with its revocation after expiry.
      assert.equal(
        (await world.ra.revokeCertificate(revoked.serial, "superseded", caller)).created,
        false,
      );
      assert.equal((await world.ra.getCertificate(expired.serial, caller))!.status, "expired");

      offsetMs = notAfter + 86_400_000 - Date.now(); // within the 2-day grace period
      await world.publisher.publish("schedule");
      assert.deepEqual(await listed(), [revoked.serial]);
      offsetMs = notAfter + 3 * 86_400_000 - Date.now(); // past it
      await world.publisher.publish("schedule");
      assert.deepEqual(await listed(), []);
    } finally {
      await world.close();
    }
  });
});

describe("CoalescingTrigger", () => {
  test("a burst gives one run; a request during the run gets a run of its own; failures reach every waiter", async () => {
    let runs = 0;
    let fail = false;
    let release: () => void = () => {};
    const trigger = new CoalescingTrigger(async () => {
      runs++;
      if (fail) throw new Error("publication failed");
      await new Promise<void>((r) => {
        release = r;
      });
    }, 20);
    const burst = Array.from({ length: 10 }, () => trigger.request());
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(runs, 1, "one run for the burst");
    const late = trigger.request();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(runs, 1, "the late request waits for the running run to end");
    release();
    await Promise.all(burst);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(runs, 2, "then runs again for the late request");
    release();
    await late;
    fail = true;
    const failing = [trigger.request(), trigger.request()];
    for (const p of failing) await assert.rejects(p, /publication failed/);
    assert.equal(runs, 3);
    await trigger.close();
    await assert.rejects(trigger.request(), /closed/);
  });
});
