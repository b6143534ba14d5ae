/**
 * The revocation authorizer's core (src/authorizer): the decision on a client certificate
 * under a verified CRL, loading and refusing CRLs, and keeping the CRL and the CA bundle fresh
 * with conditional requests, against a real local HTTP server and s3rver. Certificates and CRLs
 * come from a real data-folder CA, OpenSSL and an impostor CA with the same name; the clock is
 * injected, so nothing here depends on timing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { parseCaBundle, type TrustedCa } from "../src/authorizer/ca-bundle.ts";
import {
  checkClientCertificate,
  type Decision,
  readClientCertificate,
} from "../src/authorizer/client-certificate-check.ts";
import { parseSourceLocation } from "../src/authorizer/published-source.ts";
import { RevocationAuthorizer, type TrustChange } from "../src/authorizer/revocation-authorizer.ts";
import { loadRevocationList, UntrustedCrlError } from "../src/authorizer/revocation-list.ts";
import { buildCrl } from "../src/crl/build.ts";
import { decodePemBlocks, encodePem } from "../src/encoding/pem.ts";
import {
  type MtlsFixture,
  mtlsFixture,
  type PublicationServer,
  startPublicationServer,
} from "./support/mtls-fixtures.ts";
import { ecCsrFor } from "./support/openssl.ts";
import { type LocalS3, startS3rver } from "./support/s3.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
const bytes = (text: string) => new TextEncoder().encode(text);

let f: MtlsFixture;
let cas: TrustedCa[];
let crl: Uint8Array;
before(async () => {
  f = await mtlsFixture();
  cas = parseCaBundle(bytes(f.bundlePem));
  crl = await f.crl(f.at(0));
});

/** The decision on `pem` under `der` (default: the fixture's CRL) at `now`. */
function decide(pem: unknown, now = f.at(MINUTE), der = crl): Decision {
  const cert = readClientCertificate(pem);
  if ("problem" in cert) return { allow: false, reason: cert.problem };
  return checkClientCertificate(cert, loadRevocationList(der, cas), now);
}

function denied(decision: Decision, reason: RegExp): void {
  assert.equal(decision.allow, false, `allowed: ${JSON.stringify(decision)}`);
  if (!decision.allow) assert.match(decision.reason, reason);
}

describe("the decision on a client certificate under a verified CRL", () => {
  test("a good certificate is allowed, with its subject, SANs and serial", () => {
    assert.deepEqual(decide(f.good.pem), {
      allow: true,
      subject: "CN=good.example.internal",
      sans: "DNS:good.example.internal",
      serial: f.good.serial,
    });
    assert.match(f.good.serial, /^[0-9a-f]{32}$/);
  });

  test("SANs of every kind are passed as text: DNS, IPv4, IPv6 (RFC 5952), email", () => {
    const decision = decide(f.manySans.pem);
    assert.ok(decision.allow, JSON.stringify(decision));
    assert.equal(
      decision.sans,
      "DNS:sans.example.internal, IP:10.0.0.1, IP:2001:db8::1, email:ops@example.com",
    );
    assert.equal(decision.serial, f.manySans.serial);
  });

  test("a revoked certificate is denied", () => {
    denied(decide(f.revoked.pem), /revoked \(CRL \d+\)/);
  });

  test("an expired certificate and one not yet valid are denied", () => {
    denied(decide(f.expired.pem), /expired on/);
    denied(decide(f.notYetValid.pem), /not valid before/);
    // Inside its own validity it is still denied: this CA did not exist yet.
    const expiredCert = readClientCertificate(f.expired.pem);
    assert.ok(!("problem" in expiredCert));
    const inside = new Date(expiredCert.notBefore.getTime() + DAY);
    denied(
      checkClientCertificate(expiredCert, loadRevocationList(crl, cas), inside),
      /its CA certificate \(CN=Example Private Issuing CA, O=Example\) is outside its validity/,
    );
  });

  test("a certificate from a foreign CA is denied", () => {
    denied(decide(f.foreign.pem), /not issued by CN=Example Private Issuing CA/);
  });

  test("a certificate from a CA with this CA's name but another key is denied", () => {
    // Its authority key identifier gives it away.
    denied(decide(f.impostor.pem), /not issued by CN=Example Private Issuing CA/);
    // Without key identifiers the names match: the signature gives it away.
    denied(decide(f.nameTwin.pem), /signature does not verify under CN=Example Private Issuing CA/);
  });

  test("a CA certificate presented as a client certificate is denied", () => {
    const [issuing] = decodePemBlocks(f.bundlePem);
    denied(decide(encodePem("CERTIFICATE", issuing!.der)), /CA certificate/);
  });

  test("anything that is not a certificate is denied, never thrown", () => {
    const body = f.good.pem.split("\n").slice(1, -2).join("\n");
    for (const pem of [
      undefined,
      null,
      42,
      { clientCertPem: f.good.pem },
      "",
      "   ",
      "garbage",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      `-----BEGIN CERTIFICATE-----\n${body.slice(0, body.length / 2)}\n-----END CERTIFICATE-----\n`,
      f.good.pem.replace("CERTIFICATE", "CERTIFICATE REQUEST"),
      `${f.good.pem}${"x".repeat(70_000)}`,
    ]) {
      const decision = decide(pem);
      assert.equal(decision.allow, false, `allowed ${String(pem).slice(0, 60)}`);
      if (!decision.allow)
        assert.match(decision.reason, /no client certificate|does not parse|over \d+ characters/);
    }
  });
});

describe("loading a CRL", () => {
  test("a CRL of this CA loads: its number, times and every revoked serial", () => {
    const list = loadRevocationList(crl, cas);
    assert.equal(list.issuer.name, "CN=Example Private Issuing CA, O=Example");
    assert.equal(list.size, 1);
    assert.ok(list.isRevoked(f.revoked.serial));
    assert.ok(!list.isRevoked(f.good.serial));
    assert.equal(list.thisUpdate.getTime(), Math.floor(f.at(0).getTime() / 1000) * 1000);
    assert.equal(list.nextUpdate.getTime() - list.thisUpdate.getTime(), 168 * 3600_000);
    assert.equal(list.staleAt(f.at(MINUTE)), undefined);
    assert.match(list.staleAt(list.nextUpdate) ?? "", /past its nextUpdate/);
  });

  test("serials are found in any form the CRL encodes them, and only those", async () => {
    const authority = await f.ca.issuingAuthority();
    const listed = [
      "01",
      "7f",
      "80",
      "ff00",
      "0080",
      "00ff",
      "7fffffffffffffffffffffffffffffffffffffff",
    ];
    // 20,000 random 16-byte serials as well: probing wraps round the table many times.
    const random = Array.from({ length: 20_000 }, () => randomBytes(16).toString("hex"));
    const der = await buildCrl(authority, {
      number: 9_000n,
      thisUpdate: f.at(0),
      nextUpdate: f.at(DAY),
      entries: [...listed, ...random].map((serialHex) => ({
        serialHex,
        revokedAt: f.at(0).getTime() / 1000,
        reason: "unspecified" as const,
      })),
    });
    const list = loadRevocationList(der, cas);
    // "0080" is "80": a serial listed twice counts once. ("00ff" is "ff", a serial of its own.)
    assert.equal(list.size, listed.length - 1 + random.length);
    for (const serial of [
      "01",
      "7f",
      "80",
      "ff00",
      "ff",
      "7fffffffffffffffffffffffffffffffffffffff",
    ])
      assert.ok(list.isRevoked(serial), serial);
    for (const serial of random) assert.ok(list.isRevoked(serial.replace(/^(00)+/, "")), serial);
    for (const serial of ["02", "8000", "ff0000", "7e", randomBytes(16).toString("hex")])
      assert.ok(!list.isRevoked(serial), serial);
    assert.throws(() => list.isRevoked("abc"), RangeError);
  });

  test("a CRL whose signed part was altered is refused", () => {
    // Change the revoked serial's last byte: the attack that would un-revoke a certificate.
    const tampered = Uint8Array.from(crl);
    const at = Buffer.from(tampered).indexOf(Buffer.from(f.revoked.serial, "hex"));
    assert.ok(at > 0);
    tampered[at + 15]! ^= 0x01;
    assert.throws(() => loadRevocationList(tampered, cas), /signature does not verify/);
  });

  test("a CRL with a damaged signature is refused", () => {
    const tampered = Uint8Array.from(crl);
    tampered[tampered.length - 1]! ^= 0x01;
    assert.throws(() => loadRevocationList(tampered, cas), UntrustedCrlError);
  });

  test("a CRL signed by a CA with this CA's name but another key is refused", async () => {
    const impostorCrl = await f.impostorCa.crl("issuing", f.at(0));
    assert.throws(
      () => loadRevocationList(impostorCrl, cas),
      /signature does not verify under the key of CN=Example Private Issuing CA/,
    );
  });

  test("a CRL from a CA that is not in the bundle is refused", () => {
    const rootOnly = parseCaBundle(bytes(f.bundlePem)).filter((ca) => /Root/.test(ca.name));
    assert.equal(rootOnly.length, 1);
    assert.throws(() => loadRevocationList(crl, rootOnly), /is not a CA in the bundle/);
  });

  test("the root's CRL does not cover the issuing CA's leaves", async () => {
    const rootCrl = await f.ca.crl("root", f.at(0));
    denied(decide(f.good.pem, f.at(MINUTE), rootCrl), /not issued by CN=Example Private Root CA/);
  });

  test("bytes that are not a CRL are refused", () => {
    for (const der of [new Uint8Array(0), bytes("garbage"), crl.subarray(0, crl.length - 10)]) {
      assert.throws(() => loadRevocationList(der, cas), /the CRL does not parse/);
    }
  });

  test("a bundle that is not PEM, or holds no CA, is refused", () => {
    assert.throws(() => parseCaBundle(crl), /not PEM/);
    assert.throws(() => parseCaBundle(bytes(f.good.pem)), /holds no CA certificate/);
    assert.throws(
      () => parseCaBundle(bytes("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")),
      /certificate 1 of the CA bundle does not parse/,
    );
  });
});

describe("source locations", () => {
  test("http(s) URLs and s3://bucket/key are read; anything else is refused", () => {
    assert.deepEqual(parseSourceLocation("s3://pki-public/crl/0123456789abcdef.crl"), {
      kind: "s3",
      bucket: "pki-public",
      key: "crl/0123456789abcdef.crl",
    });
    assert.deepEqual(parseSourceLocation("https://pki.example.com/crl/a.crl"), {
      kind: "http",
      url: "https://pki.example.com/crl/a.crl",
    });
    for (const bad of [
      "",
      "crl.der",
      "ftp://host/crl",
      "s3://bucket",
      "s3://bucket/",
      "file:///crl",
    ])
      assert.throws(() => parseSourceLocation(bad), RangeError, bad);
  });
});

describe("the authorizer over HTTP: conditional refresh, single flight, failing closed", () => {
  let server: PublicationServer;
  let now: Date;
  let changes: TrustChange[];
  let authorizer: RevocationAuthorizer;
  const statuses = () => server.requests.map((r) => `${r.path} ${r.status}`);
  const advance = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  const fresh = (maxAgeSeconds = 60) => {
    server.requests.length = 0;
    changes = [];
    return new RevocationAuthorizer({
      crlUrl: server.url("ca.crl"),
      caBundleUrl: server.url("truststore.pem"),
      maxAgeSeconds,
      now: () => now,
      onTrustChange: (change) => changes.push(change),
    });
  };

  before(async () => {
    server = await startPublicationServer();
  });
  after(() => server.close());

  test("a warm authorizer asks nothing within max-age, then gets 304s, then a changed CRL", async () => {
    now = f.at(MINUTE);
    server.set("ca.crl", crl);
    server.set("truststore.pem", f.bundlePem);
    authorizer = fresh();
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    denied(await authorizer.decide(f.revoked.pem), /revoked/);
    assert.deepEqual(statuses().sort(), ["/ca.crl 200", "/truststore.pem 200"]);

    // Within max-age: no request at all.
    advance(59_000);
    for (let i = 0; i < 5; i++) assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    assert.equal(server.requests.length, 2);

    // At max-age: one conditional request each, answered 304; nothing is parsed again.
    advance(1_000);
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    assert.deepEqual(statuses().slice(2).sort(), ["/ca.crl 304", "/truststore.pem 304"]);
    assert.equal(changes.length, 1);
    assert.ok(changes[0]!.loaded && changes[0]!.entries === 1);

    // The CA revokes `spare` and publishes: seen at the next refresh, not before.
    await f.ca.revoke(f.spare.serial, "superseded", now);
    server.set("ca.crl", await f.crl(now));
    assert.equal((await authorizer.decide(f.spare.pem)).allow, true);
    advance(60_000);
    denied(await authorizer.decide(f.spare.pem), /revoked/);
    assert.deepEqual(statuses().slice(4).sort(), ["/ca.crl 200", "/truststore.pem 304"]);
    assert.equal(changes.length, 2);
    assert.ok(changes[1]!.loaded && changes[1]!.entries === 2);
  });

  test("concurrent decisions that need a refresh share one request per object", async () => {
    advance(60_000);
    const before = server.requests.length;
    const decisions = await Promise.all(
      Array.from({ length: 25 }, (_, i) => authorizer.decide(i % 2 ? f.good.pem : f.spare.pem)),
    );
    assert.deepEqual(
      decisions.map((d) => d.allow),
      Array.from({ length: 25 }, (_, i) => i % 2 === 1),
    );
    assert.deepEqual(statuses().slice(before).sort(), ["/ca.crl 304", "/truststore.pem 304"]);
  });

  test("a failed refresh denies every certificate, and a good one recovers", async () => {
    advance(60_000);
    server.failWith = 500;
    const decision = await authorizer.decide(f.good.pem);
    denied(decision, /no CRL to trust: .*answered 500/);
    assert.equal(!decision.allow && decision.failClosed, true);
    // Still failing: every decision asks again (once per object) and is denied.
    denied(await authorizer.decide(f.good.pem), /answered 500/);
    server.failWith = undefined;
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
  });

  test("a CRL past its nextUpdate denies every certificate, even within max-age", async () => {
    const der = await f.crl(now);
    const list = loadRevocationList(der, cas);
    authorizer = fresh(8 * 86_400);
    server.set("ca.crl", der);
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    now = list.nextUpdate;
    const decision = await authorizer.decide(f.good.pem);
    denied(decision, /no CRL to trust: the CRL \d+ is past its nextUpdate/);
    assert.equal(!decision.allow && decision.failClosed, true);
    assert.equal(server.requests.length, 2, "no request within max-age");
  });

  test("a badly signed CRL denies every certificate, and is checked once, not per request", async () => {
    now = f.at(MINUTE);
    const tampered = Uint8Array.from(await f.crl(now));
    tampered[tampered.length - 1]! ^= 0x01;
    server.set("ca.crl", tampered);
    authorizer = fresh(0); // max-age 0: every decision asks (and gets 304)
    for (let i = 0; i < 3; i++) {
      const decision = await authorizer.decide(f.good.pem);
      denied(decision, /no CRL to trust: the CRL's signature does not verify/);
      assert.equal(!decision.allow && decision.failClosed, true);
    }
    assert.deepEqual(
      changes.map((c) => c.loaded),
      [false],
    );
    assert.deepEqual(
      statuses().filter((s) => s.startsWith("/ca.crl")),
      ["/ca.crl 200", "/ca.crl 304", "/ca.crl 304"],
    );
  });

  test("an older CRL served after a newer one is refused (a replay)", async () => {
    const older = await f.crl(now);
    const newer = await f.crl(now);
    server.set("ca.crl", newer);
    authorizer = fresh(0);
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    server.set("ca.crl", older);
    denied(
      await authorizer.decide(f.good.pem),
      /number \d+ is below \d+, which was already loaded/,
    );
  });

  test("a certificate decided before is still checked for validity, and against a new CA bundle", async () => {
    now = f.at(MINUTE);
    server.set("ca.crl", await f.crl(now));
    server.set("truststore.pem", f.bundlePem);
    authorizer = fresh(0);
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    // Past its notAfter (with a CRL current then), the kept certificate is denied.
    const cert = readClientCertificate(f.good.pem);
    assert.ok(!("problem" in cert));
    now = new Date(cert.notAfter.getTime() + 1000);
    server.set("ca.crl", await f.crl(now));
    denied(await authorizer.decide(f.good.pem), /expired on/);
    // The bundle and CRL of another CA with the same name: the kept verdict is not reused.
    now = f.at(MINUTE);
    server.set("truststore.pem", await f.impostorCa.chainPem());
    server.set("ca.crl", await f.impostorCa.crl("issuing", now));
    denied(await authorizer.decide(f.good.pem), /not issued by CN=Example Private Issuing CA/);
    assert.equal((await authorizer.decide(f.impostor.pem)).allow, true);
    server.set("truststore.pem", f.bundlePem);
    server.set("ca.crl", await f.crl(now));
  });

  test("a missing bundle or CRL denies; a missing certificate is denied without a request", async () => {
    authorizer = fresh();
    denied(await authorizer.decide(undefined), /no client certificate/);
    denied(await authorizer.decide("garbage"), /does not parse/);
    assert.equal(server.requests.length, 0);
    const missing = new RevocationAuthorizer({
      crlUrl: server.url("nothing.crl"),
      caBundleUrl: server.url("truststore.pem"),
      maxAgeSeconds: 60,
      now: () => now,
    });
    denied(await missing.decide(f.good.pem), /no CRL to trust: GET .*nothing\.crl answered 404/);
  });

  test("an unreachable server denies with the reason", async () => {
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = new RevocationAuthorizer({
      crlUrl: `http://127.0.0.1:${port}/ca.crl`,
      caBundleUrl: `http://127.0.0.1:${port}/truststore.pem`,
      maxAgeSeconds: 60,
      now: () => now,
    });
    denied(
      await unreachable.decide(f.good.pem),
      /no CRL to trust: GET http:\/\/127\.0\.0\.1:\d+\/.* failed/,
    );
  });
});

describe("the authorizer on s3:// sources (s3rver: the real GetObject and its 304)", () => {
  let s3: LocalS3;
  const statuses: number[] = [];
  before(async () => {
    s3 = await startS3rver(["pki-public"]);
    // Every GetObject's outcome (PutObject is not counted): 200, or the status of the error the SDK threw.
    s3.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "GetObjectCommand") return next(args);
        try {
          const result = await next(args);
          statuses.push(200);
          return result;
        } catch (error) {
          statuses.push(
            (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0,
          );
          throw error;
        }
      },
      { step: "initialize", name: "countGets" },
    );
  });
  after(() => s3.close());

  const put = (Key: string, Body: Uint8Array | string) =>
    s3.client.send(new PutObjectCommand({ Bucket: "pki-public", Key, Body }));

  test("loads both objects, confirms them with 304s, and picks up a new CRL", async () => {
    let now = f.at(MINUTE);
    const first = await f.crl(now);
    await put("crl/ca.crl", first);
    await put("truststore.pem", f.bundlePem);
    const authorizer = new RevocationAuthorizer({
      crlUrl: "s3://pki-public/crl/ca.crl",
      caBundleUrl: "s3://pki-public/truststore.pem",
      maxAgeSeconds: 60,
      s3: () => s3.client,
      now: () => now,
    });
    statuses.length = 0;
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    assert.deepEqual(statuses, [200, 200]);
    now = new Date(now.getTime() + 60_000);
    assert.equal((await authorizer.decide(f.good.pem)).allow, true);
    assert.deepEqual(statuses.slice(2), [304, 304]);

    const revokedNow = await f.ca.issue(ecCsrFor(f.ca.dir, "late.example.internal"), "client");
    await f.ca.revoke(revokedNow.serialHex, "keyCompromise", now);
    await put("crl/ca.crl", await f.crl(now));
    now = new Date(now.getTime() + 60_000);
    denied(await authorizer.decide(revokedNow.pem), /revoked/);
    assert.deepEqual(statuses.slice(4).sort(), [200, 304]);
  });

  test("a missing object denies with S3's error", async () => {
    const authorizer = new RevocationAuthorizer({
      crlUrl: "s3://pki-public/crl/none.crl",
      caBundleUrl: "s3://pki-public/truststore.pem",
      maxAgeSeconds: 60,
      s3: () => s3.client,
      now: () => f.at(MINUTE),
    });
    denied(
      await authorizer.decide(f.good.pem),
      /GetObject s3:\/\/pki-public\/crl\/none\.crl failed: NoSuchKey/,
    );
  });
});
