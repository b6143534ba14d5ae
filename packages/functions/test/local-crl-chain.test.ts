/**
 * Both CRLs of the chain (issue 18), end to end: `npm start`'s runtime serves the root's CRL
 * beside the issuing CA's (GET /v1/crl?ca=root, /v1/crl/status?ca=root), and with both
 * `openssl verify -crl_check_all` checks the whole chain: it accepts a client certificate, and
 * refuses it once revoked. `pki crl --ca root` through the service and on a data folder; a root
 * whose CRL is not here (a one-tier CA, an external root) is a 404 saying why; revoking again
 * publishes no new CRL; `pki crl status` on a folder of `pki issue`'s reports its own CRL.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { caIdOf } from "@spca/core/ca/authority";
import { parseCrl } from "@spca/core/crl/parse";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { parseCertificate } from "@spca/core/x509/certificate";
import { ecCsrFor, openssl, opensslEcCa } from "../../core/test/support/openssl.ts";
import { pkiAsync } from "./support/cli.ts";
import {
  crlStatus,
  expectProblem,
  issueThrough,
  type Running,
  revoke,
  startService,
  stop,
  waitFor,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "local-crl-chain-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** The rate limit would stop the polling below; these tests are not about it. */
const config = writeConfig(join(work, "roomy.json"), (c) => {
  c.api = { rateLimit: { burst: 100_000, perSecond: 100_000 } };
});

const pkiOn = (dataDir: string, ...args: string[]) =>
  pkiAsync([...args, "--data-dir", dataDir, "--config", config]);

async function crlPem(s: Running, ca: string): Promise<string> {
  const res = await fetch(`${s.api}/v1/crl?ca=${ca}`, {
    headers: { accept: "application/x-pem-file" },
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/x-pem-file");
  return res.text();
}

const idOf = (pem: string) => caIdOf(parseCertificate(decodePemBlocks(pem)[0]!.der).spki);
const crlOf = (pem: string) => parseCrl(decodePemBlocks(pem)[0]!.der);
const listed = (pem: string, serial: string) =>
  [...crlOf(pem).entries()].some((e) => e.serialHex === serial);

let files = 0;
/** `openssl verify -crl_check_all -CAfile chain -CRLfile ... cert`, as a relying party runs it. */
function verifyChain(chainPem: string, certPem: string, crlPems: readonly string[]) {
  const dir = mkdtempSync(join(work, `verify-${files++}-`));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const crls = crlPems.flatMap((pem, i) => ["-CRLfile", write(`${i}.crl.pem`, pem)]);
  const r = spawnSync(
    "openssl",
    [
      "verify",
      "-crl_check_all",
      "-purpose",
      "sslclient",
      "-CAfile",
      write("chain.pem", chainPem),
      ...crls,
      write("cert.pem", certPem),
    ],
    { encoding: "utf8" },
  );
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

let names = 0;
const csr = () => ecCsrFor(work, `chain${names++}.example.internal`, "DER");

describe("both CRLs through the local service", () => {
  let s: Running;
  before(async () => {
    s = await startService(join(work, "service"), { configPath: config });
  });
  after(() => stop(s));

  test("with ?ca=root and ?ca=issuing, openssl verify -crl_check_all passes, and says 'certificate revoked' once revoked", async () => {
    const cert = await issueThrough(s, csr(), "client", "holder@example.com");
    const chain = await (await fetch(`${s.api}/v1/ca`)).text();
    const [issuingCa, rootCa] = decodePemBlocks(chain).map((b) => encodePem("CERTIFICATE", b.der));
    const rootCrl = await crlPem(s, "root");
    const issuingCrl = await crlPem(s, "issuing");
    // The default is the issuing CA's; DER by default, the same CRL.
    assert.equal(
      await crlPem(s, "issuing"),
      encodePem("X509 CRL", new Uint8Array(await (await fetch(`${s.api}/v1/crl`)).arrayBuffer())),
    );
    const rootDer = await fetch(`${s.api}/v1/crl?ca=root`);
    assert.equal(rootDer.headers.get("content-type"), "application/pkix-crl");
    assert.equal(encodePem("X509 CRL", new Uint8Array(await rootDer.arrayBuffer())), rootCrl);

    // Each is its CA's: the root's status names the root, at its own distribution point.
    const rootStatus = await crlStatus(s, "root");
    const issuingStatus = await crlStatus(s, "issuing");
    assert.equal(rootStatus.caId, idOf(rootCa!));
    assert.equal(issuingStatus.caId, idOf(issuingCa!));
    assert.deepEqual(await crlStatus(s), issuingStatus);
    assert.match(rootStatus.url, new RegExp(`/crl/${rootStatus.caId}\\.crl$`));
    assert.equal(rootStatus.number, crlOf(rootCrl).number!.toString());
    assert.equal(rootStatus.entries, 0);

    // The issuing CA's CRL alone does not check the chain: its own certificate needs the root's.
    const alone = verifyChain(chain, cert.pem, [issuingCrl]);
    assert.equal(alone.ok, false);
    assert.match(alone.output, /unable to get certificate CRL/);
    const both = verifyChain(chain, cert.pem, [rootCrl, issuingCrl]);
    assert.ok(both.ok, both.output);

    assert.equal((await revoke(s, cert.serial, "keyCompromise")).status, 200);
    const revokedCrl = await waitFor("the issuing CA's CRL to list the serial", async () => {
      const pem = await crlPem(s, "issuing");
      return listed(pem, cert.serial) ? pem : undefined;
    });
    const refused = verifyChain(chain, cert.pem, [rootCrl, revokedCrl]);
    assert.equal(refused.ok, false);
    assert.match(refused.output, /certificate revoked/);
  });

  test("revoking an already revoked certificate again publishes no new CRL", async () => {
    const cert = await issueThrough(s, csr(), "client", "again@example.com");
    const res = await revoke(s, cert.serial, "superseded");
    const first = (await res.json()) as Record<string, unknown>;
    assert.equal(first.created, true);
    const published = await waitFor("a CRL listing the revocation", async () => {
      const pem = await crlPem(s, "issuing");
      return listed(pem, cert.serial) ? crlOf(pem).number!.toString() : undefined;
    });
    // The CRL's publication is recorded a moment before its revocations are marked listed.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await crlStatus(s)).number, published);

    const again = await revoke(s, cert.serial, "keyCompromise");
    assert.deepEqual(await again.json(), { ...first, created: false });
    const cli = await pkiOn(s.dataDir, "revoke", cert.serial, "--reason", "keyCompromise");
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^Already revoked: /);
    // Longer than the local debounce (250 ms) and a publication after it.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal((await crlStatus(s)).number, published, "a new CRL number was published");
    assert.equal(crlOf(await crlPem(s, "issuing")).number!.toString(), published);
  });

  test("pki crl --ca root and pki crl status --ca root go through the running service; --root is the same", async () => {
    const rootCrl = await crlPem(s, "root");
    const rootStatus = await crlStatus(s, "root");
    const printed = await pkiOn(s.dataDir, "crl", "--ca", "root");
    assert.equal(printed.status, 0, printed.stderr);
    assert.equal(printed.stdout, rootCrl);
    const short = await pkiOn(s.dataDir, "crl", "--root");
    assert.equal(short.stdout, rootCrl);
    const der = await pkiOn(s.dataDir, "crl", "--ca", "root", "--der");
    assert.equal(encodePem("X509 CRL", new Uint8Array(der.stdoutBytes)), rootCrl);
    const issuing = await pkiOn(s.dataDir, "crl", "--ca", "issuing");
    assert.equal(issuing.stdout, await crlPem(s, "issuing"));

    const status = await pkiOn(s.dataDir, "crl", "status", "--ca", "root");
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^CRL number +${rootStatus.number}$`, "m"));
    assert.match(status.stdout, /^Entries +0$/m);
    assert.match(status.stdout, new RegExp(`^CA +${rootStatus.caId}$`, "m"));
  });

  test("an unknown ca is refused naming the allowed values: 400 from the API, exit 2 from pki", async () => {
    for (const path of ["/v1/crl", "/v1/crl/status"]) {
      const bad = await expectProblem(await fetch(`${s.api}${path}?ca=intermediate`), 400);
      assert.equal(bad.code, "QUERY_INVALID");
      assert.equal(bad.detail, 'ca: ca must be "issuing" or "root", not "intermediate"');
      const twice = await expectProblem(await fetch(`${s.api}${path}?ca=root&ca=issuing`), 400);
      assert.equal(twice.detail, 'ca is given more than once; give "issuing" or "root".');
    }
    const cli = await pkiOn(s.dataDir, "crl", "--ca", "intermediate");
    assert.equal(cli.status, 2);
    assert.equal(
      cli.stderr,
      'pki: --ca must be issuing or root, not "intermediate"\nRun "pki --help" for usage.\n',
    );
    const clash = await pkiOn(s.dataDir, "crl", "--root", "--ca", "issuing");
    assert.equal(clash.status, 2);
    assert.match(clash.stderr, /--root is short for --ca root; it cannot go with --ca issuing/);
  });

  test("stopped, pki crl --ca root says to start the service", async () => {
    await stop(s);
    const r = await pkiOn(s.dataDir, "crl", "--ca", "root");
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^pki: RUNTIME_NOT_RUNNING: .*pki crl: .* belongs to the local service, .*the service is stopped: start it \(npm start\) and run pki crl again\.\n$/,
    );
  });
});

describe("a root whose CRL is not here: 404 CRL_ROOT_UNAVAILABLE saying why", () => {
  test("a one-tier CA: its only CRL is the issuing CA's", async () => {
    const dataDir = join(work, "one-tier");
    mkdirSync(dataDir);
    assert.equal((await pkiOn(dataDir, "ca", "init")).status, 0);
    const s = await startService(dataDir, { configPath: config });
    try {
      for (const path of ["/v1/crl?ca=root", "/v1/crl/status?ca=root"]) {
        const p = await expectProblem(await fetch(`${s.api}${path}`), 404);
        assert.equal(p.code, "CRL_ROOT_UNAVAILABLE");
        assert.equal(
          p.detail,
          "This CA is a single self-signed root, with one CRL: the issuing CA's (ca=issuing, the default).",
        );
      }
      assert.equal((await fetch(`${s.api}/v1/crl`)).status, 200);
      const cli = await pkiOn(dataDir, "crl", "--ca", "root");
      assert.equal(cli.status, 1);
      assert.match(cli.stderr, /404 CRL_ROOT_UNAVAILABLE: This CA is a single self-signed root/);
    } finally {
      await stop(s);
    }
  });

  test("an external root: it publishes its own CRL, at the distribution point the issuing CA certificate names", async () => {
    const dataDir = join(work, "external");
    const csrRun = await pkiOn(dataDir, "ca", "csr");
    assert.equal(csrRun.status, 0, csrRun.stderr);
    const root = opensslEcCa(work, "outside-root", "/CN=Outside Root/O=Elsewhere", 3650);
    const extensions = join(work, "issuing.ext");
    // Port 9 refuses at once: the local gateways find no root CRL there, quickly.
    const cdp = "http://127.0.0.1:9/outside-root.crl";
    writeFileSync(
      extensions,
      [
        "basicConstraints = critical,CA:TRUE,pathlen:0",
        "keyUsage = critical,keyCertSign,cRLSign",
        "subjectKeyIdentifier = hash",
        "authorityKeyIdentifier = keyid:always",
        `crlDistributionPoints = URI:${cdp}`,
        "",
      ].join("\n"),
    );
    const issuing = openssl(
      [
        "x509",
        "-req",
        "-CA",
        root.cert,
        "-CAkey",
        root.key,
        "-set_serial",
        "0x5ca1ab1e",
        "-days",
        "1825",
        "-sha256",
        "-extfile",
        extensions,
      ],
      csrRun.stdout,
    ).toString();
    const bundle = join(work, "external-chain.pem");
    writeFileSync(bundle, issuing + readFileSync(root.cert, "utf8"));
    const imported = await pkiOn(dataDir, "ca", "import", bundle);
    assert.equal(imported.status, 0, imported.stderr);

    const s = await startService(dataDir, { configPath: config });
    try {
      const rootId = idOf(readFileSync(root.cert, "utf8"));
      for (const path of ["/v1/crl?ca=root", "/v1/crl/status?ca=root"]) {
        const p = await expectProblem(await fetch(`${s.api}${path}`), 404);
        assert.equal(p.code, "CRL_ROOT_UNAVAILABLE");
        assert.equal(
          p.detail,
          `The root CA ${rootId} above this CA is kept elsewhere and publishes its own CRL: ${cdp} (the issuing CA certificate's CRL distribution point).`,
        );
      }
      assert.equal((await fetch(`${s.api}/v1/crl?ca=issuing`)).status, 200);
    } finally {
      await stop(s);
    }
  });
});

describe("a CA in a data folder (pki issue): pki crl --ca and pki crl status from its files", () => {
  test("status reports the last CRL pki crl signed, and the revocations it does not list yet", async () => {
    const dataDir = join(work, "folder");
    mkdirSync(dataDir);
    const chain = (await pkiOn(dataDir, "ca", "init", "--two-tier")).stdout;
    const [issuingCa, rootCa] = decodePemBlocks(chain).map((b) => encodePem("CERTIFICATE", b.der));
    const issuingId = idOf(issuingCa!);
    const csrFile = join(work, "folder.csr");
    writeFileSync(csrFile, ecCsrFor(work, "folder.example.internal"));
    const issued = await pkiOn(dataDir, "issue", "--csr", csrFile, "--profile", "client");
    assert.equal(issued.status, 0, issued.stderr);
    const serial = /^Issued serial ([0-9a-f]+),/.exec(issued.stderr)![1]!;

    // Nothing signed yet: say so, and what signs one; never "start npm start".
    const none = await pkiOn(dataDir, "crl", "status");
    assert.equal(none.status, 1);
    assert.equal(
      none.stderr,
      `pki: CRL_NOT_PUBLISHED: No CRL has been published yet. No CRL of CA ${issuingId} has been signed in ${dataDir} yet: "pki crl" signs one (0 revocation(s) to list).\n`,
    );

    const first = await pkiOn(dataDir, "crl");
    const rootCrl = (await pkiOn(dataDir, "crl", "--ca", "root")).stdout;
    assert.equal((await pkiOn(dataDir, "crl", "--root")).status, 0, "--root still works");
    const status = await pkiOn(dataDir, "crl", "status");
    assert.equal(status.status, 0, status.stderr);
    const crl = crlOf(first.stdout);
    assert.equal(
      status.stdout,
      [
        "CRL number      1",
        `This update     ${crl.thisUpdate.toISOString()}`,
        `Next update     ${crl.nextUpdate!.toISOString()}`,
        "Entries         0",
        "Not yet listed  0",
        `Size            ${decodePemBlocks(first.stdout)[0]!.der.length} bytes`,
        `Signed          by pki crl, kept at ${join(dataDir, "crl", `${issuingId}.crl`)}`,
        `CA              ${issuingId}`,
        "",
      ].join("\n"),
    );
    assert.ok(verifyChain(chain, issued.stdout, [rootCrl, first.stdout]).ok);

    const revoked = await pkiOn(dataDir, "revoke", serial, "--reason", "keyCompromise");
    assert.equal(revoked.status, 0, revoked.stderr);
    // Reading the status signs nothing: the number stays, the revocation waits for pki crl.
    for (let i = 0; i < 2; i++) {
      const waiting = (await pkiOn(dataDir, "crl", "status")).stdout;
      assert.match(waiting, /^CRL number +1$/m);
      assert.match(waiting, /^Not yet listed +1 \(pki crl signs a CRL that lists them\)$/m);
    }
    const second = (await pkiOn(dataDir, "crl")).stdout;
    assert.ok(listed(second, serial));
    const now = (await pkiOn(dataDir, "crl", "status")).stdout;
    assert.match(now, /^CRL number +2$/m);
    assert.match(now, /^Entries +1$/m);
    assert.match(now, /^Not yet listed +0$/m);
    const refused = verifyChain(chain, issued.stdout, [rootCrl, second]);
    assert.equal(refused.ok, false);
    assert.match(refused.output, /certificate revoked/);

    // The root's: its own number (pki crl --ca root signed two), no revocations of its own.
    const root = await pkiOn(dataDir, "crl", "status", "--ca", "root");
    assert.equal(root.status, 0, root.stderr);
    assert.match(root.stdout, /^CRL number +2$/m);
    assert.doesNotMatch(root.stdout, /Not yet listed/);
    assert.match(root.stdout, new RegExp(`^CA +${idOf(rootCa!)}$`, "m"));
  });

  test("a one-tier folder has no separate root: CA_ROOT_NOT_HELD", async () => {
    const dataDir = join(work, "folder-one-tier");
    mkdirSync(dataDir);
    assert.equal((await pkiOn(dataDir, "ca", "init")).status, 0);
    const r = await pkiOn(dataDir, "crl", "status", "--ca", "root");
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'pki: CA_ROOT_NOT_HELD: This data folder holds no separate root CA key. This CA is a single self-signed root; "pki crl" signs its CRL.\n',
    );
  });
});
