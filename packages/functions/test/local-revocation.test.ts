/**
 * Revocation end to end against `npm start`'s runtime, over HTTP: the published CRL is read
 * where relying parties read it (the S3 stand-in's bucket and the CRL distribution point), and
 * OpenSSL, given the published CA and CRL, must reject the revoked certificate. Then a burst of
 * 50 parallel revocations, the scheduled refresh, the CLI through the service, and a restart.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseCrl } from "@spca/core/crl/parse";
import { encodePem } from "@spca/core/encoding/pem";
import type { CrlStatusView } from "@spca/core/ra/views";
import { ecCsrFor, opensslVerifyPem } from "../../core/test/support/openssl.ts";
import { pkiAsync } from "./support/cli.ts";
import {
  crlStatus,
  expectProblem,
  issueThrough,
  mails,
  mailsTo,
  node,
  type Running,
  requestView,
  revoke,
  root,
  startService,
  stop,
  waitFor,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "local-revocation-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** The runtime's rate limit would stop the bursts below; these tests are not about it. */
const roomyConfig = (name: string, crl?: Record<string, number>) =>
  writeConfig(join(work, `${name}.json`), (c) => {
    c.api = { rateLimit: { burst: 100_000, perSecond: 100_000 } };
    if (crl) c.crl = crl;
  });

const admin = (s: Running) => ({ authorization: `Bearer ${s.key}` });

/**
 * Runs `read` until no CRL was published while it ran (the status's number is the same before
 * and after), and returns what it read with that status.
 */
function whileNoPublication<T>(s: Running, read: () => Promise<T>) {
  return waitFor(
    "a CRL status unchanged around the read",
    async () => {
      const before = await crlStatus(s);
      const value = await read();
      const status = await crlStatus(s);
      return before.number === status.number ? { status, value } : undefined;
    },
    30_000,
  );
}

/** An object from the S3 stand-in's bucket, as runtime.json locates it. */
async function bucketObject(s: Running, key: string) {
  const info = JSON.parse(readFileSync(join(s.dataDir, "runtime.json"), "utf8"));
  const res = await fetch(`${info.s3}/${info.bucket}/${key}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, `${key}: ${res.status}`);
  return { body: new Uint8Array(await res.arrayBuffer()), type: res.headers.get("content-type") };
}

async function bucketCrl(s: Running, caId: string) {
  const object = await bucketObject(s, `crl/${caId}.crl`);
  assert.ok(object, "the bucket holds the CRL");
  return { ...object, crl: parseCrl(object.body) };
}

let names = 0;
/** Issues a client certificate (automatic approval); returns its serial, PEM and request. */
function issue(s: Running, email = "dev@example.com") {
  return issueThrough(s, ecCsrFor(work, `c${names++}.example.internal`, "DER"), "client", email);
}

/**
 * `pki ...args` on a data folder (support/cli.ts runs it). Not spawnSync: this process's event
 * loop keeps running, so its kept-alive connections to the service are let go in time.
 */
const pkiOn = (dataDir: string, ...args: string[]) => pkiAsync([...args, "--data-dir", dataDir]);

describe("revocation through the local service", () => {
  let s: Running;
  before(async () => {
    s = await startService(join(work, "data"), { configPath: roomyConfig("roomy") });
  });
  after(() => stop(s));

  test("within 2 s the bucket holds a higher-numbered CRL listing the serial, and OpenSSL rejects the certificate", async () => {
    const cert = await issue(s, "holder@example.com");
    const before = await crlStatus(s);
    const started = Date.now();
    const res = await revoke(s, cert.serial, "keyCompromise");
    assert.equal(res.status, 200);
    const revocation = (await res.json()) as Record<string, unknown>;
    assert.equal(revocation.created, true);
    assert.equal(revocation.reason, "keyCompromise");

    const published = await waitFor(
      "a CRL listing the serial",
      async () => {
        const { crl, body, type } = await bucketCrl(s, before.caId);
        const entry = [...crl.entries()].find((e) => e.serialHex === cert.serial);
        return entry ? { crl, body, type, entry } : undefined;
      },
      5_000,
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2_000, `published ${elapsed} ms after the revocation`);
    assert.ok(published.crl.number! > BigInt(before.number));
    assert.equal(published.type, "application/pkix-crl");
    assert.equal(published.entry.reason, "keyCompromise");
    assert.equal(published.entry.revokedAt.toISOString(), revocation.revokedAt);

    // A relying party with only the published objects: the trust store and the CRL.
    const truststore = await bucketObject(s, "truststore.pem");
    const crlPem = await bucketObject(s, `crl/${before.caId}.crl.pem`);
    assert.equal(
      Buffer.from(crlPem!.body).toString(),
      encodePem("X509 CRL", published.body),
      "the PEM copy is the same CRL",
    );
    const caPem = Buffer.from(truststore!.body).toString();
    assert.ok(opensslVerifyPem(work, caPem, cert.pem, "sslclient").ok, "valid without the CRL");
    const verdict = opensslVerifyPem(
      work,
      caPem,
      cert.pem,
      "sslclient",
      Buffer.from(crlPem!.body).toString(),
    );
    assert.equal(verdict.ok, false);
    assert.match(verdict.output, /certificate revoked/);

    // The API serves the same CRL: DER, PEM, and at the CRL distribution point's path.
    const der = new Uint8Array(await (await fetch(`${s.api}/v1/crl`)).arrayBuffer());
    assert.deepEqual(der, published.body);
    const pem = await fetch(`${s.api}/v1/crl`, { headers: { accept: "application/x-pem-file" } });
    assert.equal(await pem.text(), encodePem("X509 CRL", published.body));
    const cdp = new URL(before.url);
    const atCdp = await fetch(`${s.api}${cdp.pathname}`);
    assert.equal(atCdp.headers.get("content-type"), "application/pkix-crl");
    assert.deepEqual(new Uint8Array(await atCdp.arrayBuffer()), published.body);

    // The request, the certificate view and the requester all know.
    assert.equal((await requestView(s, cert.id)).status, "revoked");
    const view = await fetch(`${s.api}/v1/certificates/${cert.serial}`, {
      headers: { ...admin(s), accept: "application/json" },
    });
    assert.equal(((await view.json()) as { status: string }).status, "revoked");
    const told = await waitFor("the revocation mail", async () =>
      mailsTo(await mails(s), "holder@example.com").find((m) => /revoked/i.test(m.subject)),
    );
    assert.match(told.body.text, new RegExp(cert.serial));
    const status = await crlStatus(s);
    assert.equal(status.number, published.crl.number!.toString());
    assert.equal(status.size, published.body.length);
    assert.equal(status.trigger, "revocation");
  });

  test("revoking again returns the first revocation; unknown serials are 404", async () => {
    const cert = await issue(s);
    const first = (await (await revoke(s, cert.serial, "superseded")).json()) as Record<
      string,
      unknown
    >;
    const again = await revoke(s, cert.serial, "keyCompromise");
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { ...first, created: false });
    const unknown = await expectProblem(await revoke(s, "0123456789abcdef", "superseded"), 404);
    assert.equal(unknown.code, "CERT_NOT_FOUND");
    const hold = await expectProblem(await revoke(s, cert.serial, "certificateHold"), 400);
    assert.match(hold.detail!, /reason must be one of/);
  });

  test("50 parallel revocations: every serial in the final CRL, numbers only rising, fewer CRLs than revocations", async () => {
    const certs: Awaited<ReturnType<typeof issue>>[] = [];
    for (let i = 0; i < 50; i += 10) {
      certs.push(...(await Promise.all(Array.from({ length: 10 }, () => issue(s)))));
    }
    const before = await crlStatus(s);
    // Watch the bucket while the burst lands, as a relying party polling it would.
    const seen: bigint[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push((await bucketCrl(s, before.caId)).crl.number!);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const answers = await Promise.all(certs.map((c) => revoke(s, c.serial, "affiliationChanged")));
    for (const res of answers) assert.equal(res.status, 200, await res.clone().text());
    const final = await waitFor(
      "a CRL with all 50",
      async () => {
        const { crl } = await bucketCrl(s, before.caId);
        const listed = new Set([...crl.entries()].map((e) => e.serialHex));
        return certs.every((c) => listed.has(c.serial)) ? crl : undefined;
      },
      10_000,
    );
    // The service's status and the bucket name the same CRL, with all 50.
    const { status, last } = await waitFor(
      "the CRL status and the bucket on one CRL with all 50",
      async () => {
        const status = await crlStatus(s);
        const last = (await bucketCrl(s, before.caId)).crl;
        return status.entries === before.entries + 50 && BigInt(status.number) === last.number
          ? { status, last }
          : undefined;
      },
      10_000,
    );
    watching = false;
    await watcher;
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]! >= seen[i - 1]!, `the bucket went from ${seen[i - 1]} to ${seen[i]}`);
    }
    assert.equal(BigInt(status.number), last.number);
    assert.ok(last.number! >= final.number!);
    const publications = Number(last.number! - BigInt(before.number));
    assert.ok(
      publications >= 1 && publications < 25,
      `${publications} CRLs for 50 revocations: the burst was batched`,
    );
  });

  test("pki revoke and pki crl status go through the running service", async () => {
    const cert = await issue(s);
    const r = await pkiOn(s.dataDir, "revoke", cert.serial, "--reason", "cessationOfOperation");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Revoked: ${cert.serial} \\(cessationOfOperation\\) at `));
    const again = await pkiOn(s.dataDir, "revoke", cert.serial, "--reason", "superseded");
    assert.match(again.stdout, /^Already revoked: /);
    assert.match(again.stderr, /first revocation's reason \(cessationOfOperation\) stands/);
    await waitFor("the revocation in the published CRL", async () => {
      const { crl } = await bucketCrl(s, (await crlStatus(s)).caId);
      return [...crl.entries()].some((e) => e.serialHex === cert.serial) || undefined;
    });
    // Compare with the service only while no CRL comes out (the schedule may publish one).
    const { status, value: printed } = await whileNoPublication(s, () =>
      pkiOn(s.dataDir, "crl", "status"),
    );
    assert.equal(printed.status, 0, printed.stderr);
    assert.match(printed.stdout, new RegExp(`^CRL number +${status.number}$`, "m"));
    assert.match(printed.stdout, new RegExp(`^Entries +${status.entries}$`, "m"));
    assert.match(printed.stdout, new RegExp(`^Next update +${status.nextUpdate}$`, "m"));
    assert.match(printed.stdout, /^Published +\S+Z \(revocation\)$/m);
    const {
      value: [der, live],
    } = await whileNoPublication(
      s,
      async () =>
        [
          await pkiOn(s.dataDir, "crl", "--der"),
          new Uint8Array(await (await fetch(`${s.api}/v1/crl`)).arrayBuffer()),
        ] as const,
    );
    assert.equal(der.status, 0, der.stderr);
    assert.deepEqual(new Uint8Array(der.stdoutBytes), live);
  });
});

describe("the CRL outside the running service", () => {
  test("after a restart the CRL keeps its revocations and its numbers keep rising; stopped, pki revoke says to start it", async () => {
    const dataDir = join(work, "restart");
    const config = roomyConfig("restart");
    const first = await startService(dataDir, { configPath: config });
    let cert: Awaited<ReturnType<typeof issue>>;
    let before: CrlStatusView;
    try {
      cert = await issue(first);
      assert.equal((await revoke(first, cert.serial, "privilegeWithdrawn")).status, 200);
      before = await waitFor("the revocation published", async () => {
        const st = await crlStatus(first);
        return st.entries === 1 ? st : undefined;
      });
    } finally {
      await stop(first);
    }
    const offline = await pkiOn(dataDir, "revoke", cert.serial, "--reason", "superseded");
    assert.equal(offline.status, 1);
    assert.match(offline.stderr, /RUNTIME_NOT_RUNNING: .*start it \(npm start\)/);
    assert.match((await pkiOn(dataDir, "crl", "status")).stderr, /RUNTIME_NOT_RUNNING/);

    const second = await startService(dataDir, { configPath: config });
    try {
      assert.equal((await crlStatus(second)).number, before.number, "no needless publication");
      const other = await issue(second);
      assert.equal((await revoke(second, other.serial, "superseded")).status, 200);
      const after = await waitFor("the second revocation published", async () => {
        const st = await crlStatus(second);
        return st.entries === 2 ? st : undefined;
      });
      assert.ok(BigInt(after.number) > BigInt(before.number));
      const { crl } = await bucketCrl(second, after.caId);
      assert.deepEqual(
        [...crl.entries()].map((e) => e.serialHex).sort(),
        [cert.serial, other.serial].sort(),
      );
    } finally {
      await stop(second);
    }
  });

  test("the schedule republishes well before nextUpdate", async () => {
    // A CRL valid for 10.8 s, refreshed every 1.8 s.
    const config = roomyConfig("schedule", { validityHours: 0.003, refreshHours: 0.0005 });
    const s = await startService(join(work, "schedule"), { configPath: config });
    try {
      const first = await crlStatus(s);
      assert.equal(first.trigger, "startup");
      // 10.8 s, in whole seconds at both ends.
      const lifetime = Date.parse(first.nextUpdate) - Date.parse(first.thisUpdate);
      assert.ok(lifetime === 10_000 || lifetime === 11_000, `${lifetime} ms`);
      const next = await waitFor(
        "a scheduled publication",
        async () => {
          const st = await crlStatus(s);
          return st.number !== first.number ? st : undefined;
        },
        8_000,
      );
      assert.equal(next.trigger, "schedule");
      assert.equal(BigInt(next.number), BigInt(first.number) + 1n);
      assert.ok(Date.parse(next.publishedAt) < Date.parse(first.nextUpdate), "before it lapsed");
      const { crl } = await bucketCrl(s, next.caId);
      assert.equal(crl.number, BigInt(next.number));
      assert.ok(crl.nextUpdate! > new Date(first.nextUpdate));
    } finally {
      await stop(s);
    }
  });

  test("the service refuses a data folder whose certificates pki issue recorded", async () => {
    const dataDir = join(work, "cli-registry");
    mkdirSync(dataDir);
    assert.equal((await pkiOn(dataDir, "ca", "init")).status, 0);
    const csrFile = join(work, "registry.csr");
    writeFileSync(csrFile, ecCsrFor(work, "registry.example.internal"));
    assert.equal(
      (await pkiOn(dataDir, "issue", "--csr", csrFile, "--profile", "client")).status,
      0,
    );
    const started = spawnSync(
      node,
      [join(root, "packages/functions/src/local/main.ts"), "--data-dir", dataDir, "--port", "0"],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(started.status, 1);
    assert.match(started.stderr, /REGISTRY_CONFLICT: .*holds certificates issued with "pki issue"/);
  });
});
