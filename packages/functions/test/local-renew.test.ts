/**
 * Renewal against `npm start`'s runtime: the renew route's refusals over HTTP, `pki renew`
 * replacing a certificate and its key atomically (checked with OpenSSL), and `pki renew
 * --daemon` on a profile whose renewal window opens seconds after issuance, renewing until
 * SIGTERM stops it.
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ecCsrFor, openssl } from "../../core/test/support/openssl.ts";
import { nodeBin, pkiAsync, pkiBin, repoRoot } from "./support/cli.ts";
import {
  expectProblem,
  issueThrough,
  type Running,
  spawnWatched,
  startService,
  stop,
  waitFor,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "local-renew-"));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * client-renew: renewable at once. client-daemon: one day's lifetime, whose window opens about
 * 6 s after issuance (notBefore is backdated 300 s: 0.00355 of a day is 306.7 s).
 */
const config = writeConfig(join(work, "config.json"), (c) => {
  c.api = { rateLimit: { burst: 100_000, perSecond: 100_000 } };
  const client = c.profiles.client!;
  c.profiles["client-renew"] = { ...client, renewal: { window: { startFraction: 0 } } };
  c.profiles["client-daemon"] = {
    ...client,
    validity: { defaultDays: 1, maxDays: 1 },
    renewal: { window: { startFraction: 0.00355 } },
  };
});

const pkiOn = (dataDir: string, ...args: string[]) => pkiAsync([...args, "--data-dir", dataDir]);

let names = 0;
/** A certificate of `profile` and its key, written to a folder of their own. */
async function holder(s: Running, profile: string) {
  const name = `r${names++}.example.internal`;
  const dir = join(work, name);
  mkdirSync(dir);
  const csr = ecCsrFor(dir, name, "DER");
  const issued = await issueThrough(s, csr, profile, "holder@example.com");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  writeFileSync(cert, issued.pem);
  writeFileSync(key, readFileSync(join(dir, `${name}.key`)), { mode: 0o600 });
  rmSync(join(dir, `${name}.key`));
  return { name, dir, cert, key, serial: issued.serial, pem: issued.pem };
}

const serialOf = (certFile: string) =>
  openssl(["x509", "-in", certFile, "-noout", "-serial"])
    .toString()
    .trim()
    .replace(/^serial=/, "")
    .toLowerCase()
    .replace(/^(00)+/, "");

/** The certificate's public key and the private key's, as OpenSSL reads them: must be equal. */
function assertPair(cert: string, key: string) {
  assert.equal(
    openssl(["x509", "-in", cert, "-noout", "-pubkey"]).toString(),
    openssl(["pkey", "-in", key, "-pubout"]).toString(),
    `${key} is the key of ${cert}`,
  );
}

async function certificateJson(s: Running, serial: string) {
  const res = await fetch(`${s.api}/v1/certificates/${serial}`, {
    headers: { authorization: `Bearer ${s.key}`, accept: "application/json" },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as {
    renews: string | null;
    renewedBy: string | null;
    renewal: { opensAt: string; closesAt: string; approval: string };
  };
}

const renewRoute = (s: Running, serial: string, body: unknown) =>
  fetch(`${s.api}/v1/certificates/${serial}/renew`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("renewal through the local service", () => {
  let s: Running;
  let chain: string;
  before(async () => {
    s = await startService(join(work, "data"), { configPath: config });
    chain = join(work, "chain.pem");
    const ca = await fetch(`${s.api}/v1/ca`, {
      headers: { accept: "application/pem-certificate-chain" },
    });
    writeFileSync(chain, await ca.text());
  });
  after(() => stop(s));

  test("the route refuses wider names and an early renewal with their codes", async () => {
    const h = await holder(s, "client-renew");
    const wider = openssl([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      join(h.dir, "wide.key"),
      "-subj",
      `/CN=${h.name}`,
      "-addext",
      `subjectAltName=DNS:${h.name},DNS:extra.example.internal`,
    ]).toString();
    const widened = await expectProblem(await renewRoute(s, h.serial, { csr: wider }), 422);
    assert.equal(widened.code, "RENEWAL_NAMES_WIDENED");
    assert.match(widened.detail!, /dns:extra\.example\.internal/);

    const early = await holder(s, "client");
    const window = (await certificateJson(s, early.serial)).renewal;
    const refused = await expectProblem(
      await renewRoute(s, early.serial, { csr: ecCsrFor(early.dir, early.name).toString() }),
      409,
    );
    assert.equal(refused.code, "RENEWAL_OUTSIDE_WINDOW");
    assert.ok(refused.detail!.includes(window.opensAt), refused.detail);
    const bad = await expectProblem(await renewRoute(s, h.serial, { csr: "x", profile: 7 }), 400);
    assert.equal(bad.code, "BODY_INVALID");
  });

  test("pki renew replaces the certificate and a new key atomically", async () => {
    const h = await holder(s, "client-renew");
    const oldKey = readFileSync(h.key, "utf8");
    // The profile wants a new key: --reuse-key is refused, and the files stay as they were.
    const reused = await pkiOn(s.dataDir, "renew", "--cert", h.cert, "--key", h.key, "--reuse-key");
    assert.equal(reused.status, 1, reused.stderr);
    assert.match(reused.stderr, /RENEWAL_KEY_REUSED/);
    assert.equal(readFileSync(h.cert, "utf8"), h.pem);

    const r = await pkiOn(s.dataDir, "renew", "--cert", h.cert, "--key", h.key);
    assert.equal(r.status, 0, r.stderr);
    const serial = serialOf(h.cert);
    assert.notEqual(serial, h.serial);
    assert.match(r.stdout, new RegExp(`Renewed ${h.serial} as ${serial}`));
    assert.notEqual(readFileSync(h.key, "utf8"), oldKey, "a new key");
    assert.equal(statSync(h.key).mode & 0o777, 0o600);
    assertPair(h.cert, h.key);
    openssl(["verify", "-CAfile", chain, h.cert]);
    const text = openssl([
      "x509",
      "-in",
      h.cert,
      "-noout",
      "-subject",
      "-ext",
      "subjectAltName",
    ]).toString();
    assert.match(text, new RegExp(`DNS:${h.name.replaceAll(".", "\\.")}`));
    // Nothing half-written or temporary is left beside them.
    assert.deepEqual(readdirSync(h.dir).sort(), ["cert.pem", "key.pem"]);
    assert.equal((await certificateJson(s, serial)).renews, h.serial);
    assert.equal((await certificateJson(s, h.serial)).renewedBy, serial);

    // Renewing the old certificate again: it has a successor.
    writeFileSync(join(h.dir, "old.pem"), h.pem);
    writeFileSync(join(h.dir, "old.key"), oldKey, { mode: 0o600 });
    const again = await pkiOn(
      s.dataDir,
      "renew",
      "--cert",
      join(h.dir, "old.pem"),
      "--key",
      join(h.dir, "old.key"),
    );
    assert.equal(again.status, 1);
    assert.match(again.stderr, /RENEWAL_SUPERSEDED/);
    // A key that is not the certificate's is refused before anything is sent.
    const mismatch = await pkiOn(
      s.dataDir,
      "renew",
      "--cert",
      h.cert,
      "--key",
      join(h.dir, "old.key"),
    );
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /is not the key of/);
  });

  test("pki renew --out-cert/--out-key leaves the given files alone", async () => {
    const h = await holder(s, "client-renew");
    const outCert = join(h.dir, "new.pem");
    const outKey = join(h.dir, "new.key");
    const r = await pkiOn(
      s.dataDir,
      "renew",
      "--cert",
      h.cert,
      "--key",
      h.key,
      "--out-cert",
      outCert,
      "--out-key",
      outKey,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(h.cert, "utf8"), h.pem);
    assertPair(h.cert, h.key);
    assertPair(outCert, outKey);
    assert.notEqual(serialOf(outCert), h.serial);
  });

  test("pki renew --daemon renews when the window opens, again and again, until SIGTERM", async () => {
    const h = await holder(s, "client-daemon");
    const daemon = spawnWatched(
      nodeBin,
      [pkiBin, "renew", "--daemon", "--cert", h.cert, "--key", h.key, "--data-dir", s.dataDir],
      { cwd: repoRoot, env: process.env },
    );
    try {
      const opensAt = (await certificateJson(s, h.serial)).renewal.opensAt;
      await waitFor(
        "the daemon to wait for the window",
        async () => daemon.output().includes(`${h.serial} renews at ${opensAt}`) || undefined,
      );
      await waitFor(
        "two renewals",
        async () =>
          (daemon.output().match(/renewed [0-9a-f]+ as /g) ?? []).length >= 2 ? true : undefined,
        60_000,
      );
      assert.ok(Date.now() >= Date.parse(opensAt), "not before the window opened");
    } finally {
      daemon.child.kill("SIGTERM");
    }
    const signalled = Date.now();
    assert.equal(await daemon.exited, 0, daemon.output());
    // It does not sleep on to the next window (about 6 s away) after the signal.
    assert.ok(Date.now() - signalled < 3_000, `stopped ${Date.now() - signalled} ms after SIGTERM`);
    assert.match(daemon.output(), /SIGTERM: stopping/);
    assert.match(daemon.output(), /stopped/);
    // What it left is a matching pair, newer than the first certificate, and the chain of
    // renewals leads back to it.
    assertPair(h.cert, h.key);
    openssl(["verify", "-CAfile", chain, h.cert]);
    let serial = serialOf(h.cert);
    const seen = [serial];
    while (serial !== h.serial) {
      const renews = (await certificateJson(s, serial)).renews;
      assert.ok(renews, `${serial} renews nothing, before reaching ${h.serial}`);
      serial = renews;
      seen.push(serial);
    }
    assert.ok(seen.length >= 3, seen.join(" <- "));
    assert.deepEqual(
      readdirSync(h.dir).filter((f) => f.endsWith(".tmp")),
      [],
    );
  });
});
