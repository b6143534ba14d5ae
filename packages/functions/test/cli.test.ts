/**
 * The `pki` command as an operator runs it (`node bin/pki.mjs ...` in a child process): exit
 * status, stdout and stderr for usage errors (2), CA errors (1) and the normal life of a CA
 * (init, show, issue, revoke, crl, inspect), checked against OpenSSL, GnuTLS and NSS.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openssl, opensslReq, writeOpensslConfig } from "../../core/test/support/openssl.ts";
import {
  ChainFiles,
  opensslCrlVerify,
  opensslVerify,
  verifyWithAll,
} from "../../core/test/support/verifiers.ts";
import {
  assertNoStackTrace,
  assertOk,
  assertPkiError,
  assertUsageError,
  type CliResult,
  pemBlocks,
  pki,
  pkiAsync,
  repoRoot,
  scratch,
  writeFile,
} from "./support/cli.ts";

// Subscriber requests shared by every test (read only): made once with OpenSSL.
const work = mkdtempSync(join(tmpdir(), "pki-cli-fixtures-"));
after(() => rmSync(work, { recursive: true, force: true }));
const opensslCnf = writeOpensslConfig(work);
const subscriberKey = join(work, "subscriber.key");
openssl([
  "genpkey",
  "-algorithm",
  "EC",
  "-pkeyopt",
  "ec_paramgen_curve:P-256",
  "-out",
  subscriberKey,
]);
const HOST = "app.example.internal";
function subscriberCsr(digest: string): string {
  return opensslReq({
    config: opensslCnf,
    key: subscriberKey,
    subject: `/CN=${HOST}`,
    addext: [`subjectAltName=DNS:${HOST}`],
    digest,
    format: "PEM",
  }).toString();
}
const csrFile = writeFile(work, "server.csr", subscriberCsr("sha256"));
const sha1CsrFile = writeFile(work, "sha1.csr", subscriberCsr("sha1"));

const DAY_MS = 86_400_000;

/** A fresh data folder path inside the test's scratch folder (not created yet). */
function dataDir(dir: string): string {
  return join(dir, "data");
}

function init(data: string, ...extra: string[]): string {
  return assertOk(pki(["ca", "init", "--data-dir", data, ...extra]));
}

function issue(data: string, ...extra: string[]): { pem: string; serial: string; run: CliResult } {
  const run = pki(["issue", "--csr", csrFile, "--profile", "server", "--data-dir", data, ...extra]);
  const pem = assertOk(run);
  const serial = /^Issued serial ([0-9a-f]+), valid until /.exec(run.stderr)?.[1];
  assert.ok(serial, `no serial on stderr: ${run.stderr}`);
  return { pem, serial, run };
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function opensslText(args: readonly string[]): string {
  return openssl(args).toString();
}

describe("usage", () => {
  for (const args of [["--help"], ["-h"], [], ["help"], ["issue", "--help"]]) {
    test(`pki ${args.join(" ") || "(no arguments)"} prints the usage and exits 0`, () => {
      const r = pki(args);
      const out = assertOk(r);
      assert.equal(r.stderr, "");
      assert.match(out, /^Usage: pki <command> \[options\]/);
      for (const command of [
        "pki ca init",
        "pki ca csr",
        "pki ca import FILE",
        "pki ca show",
        "pki issue --csr FILE --profile NAME",
        "pki revoke SERIAL --reason REASON",
        "pki crl",
        "pki inspect FILE",
        "pki requests resend ID",
        "pki keys create --role ROLE --owner EMAIL [--label TEXT]",
        "pki keys create --aws --role ROLE --owner EMAIL [--label TEXT]",
        "Roles: requester, approver, admin, auditor.",
        "--data-dir DIR",
      ]) {
        assert.ok(out.includes(command), `usage does not mention "${command}"`);
      }
    });
  }

  test("an unknown command is a usage error", () => {
    assertUsageError(pki(["frobnicate"]), /unknown command "frobnicate"/);
  });

  test("an unknown ca subcommand is a usage error", () => {
    assertUsageError(pki(["ca", "rotate"]), /unknown command "ca rotate"/);
    assertUsageError(pki(["ca"]), /unknown command "ca "; try pki ca init\|csr\|import\|show/);
  });

  test("pki requests: an unknown subcommand or a malformed id is a usage error; stopped, it says to start the service", (t) => {
    const data = dataDir(scratch(t));
    assertUsageError(
      pki(["requests", "--data-dir", data]),
      /unknown command "requests "; try pki requests resend ID/,
    );
    assertUsageError(
      pki(["requests", "resend", "a/b", "--data-dir", data]),
      /"a\/b" is not a request id/,
    );
    assertPkiError(
      pki(["requests", "resend", "0123", "--data-dir", data]),
      "RUNTIME_NOT_RUNNING",
      /goes through the local service.*start it on .* \(npm start\)/,
    );
  });

  test("an unknown option is a usage error naming it", (t) => {
    const data = dataDir(scratch(t));
    assertUsageError(pki(["ca", "show", "--bogus", "--data-dir", data]), /'--bogus'/);
    assert.equal(existsSync(data), false, "a usage error touched the data folder");
  });

  test("an option missing its value is a usage error", () => {
    assertUsageError(pki(["issue", "--profile"]), /--profile/);
  });

  test("issue without --csr or --profile is a usage error", (t) => {
    const data = dataDir(scratch(t));
    assertUsageError(
      pki(["issue", "--profile", "server", "--data-dir", data]),
      /pki issue needs --csr FILE and --profile NAME/,
    );
    assertUsageError(
      pki(["issue", "--csr", csrFile, "--data-dir", data]),
      /pki issue needs --csr FILE and --profile NAME/,
    );
    assert.equal(existsSync(data), false);
  });

  test("extra or missing positional arguments are usage errors", () => {
    assertUsageError(pki(["ca", "show", "extra"]), /usage: pki ca show/);
    assertUsageError(pki(["ca", "import"]), /usage: pki ca import FILE/);
    assertUsageError(pki(["revoke", "--reason", "keyCompromise"]), /usage: pki revoke SERIAL/);
    assertUsageError(pki(["inspect"]), /usage: pki inspect FILE/);
    assertUsageError(pki(["crl", "now"]), /usage: pki crl/);
  });

  test("a bad --key-spec is a usage error listing the valid specs; nothing is created", (t) => {
    const data = dataDir(scratch(t));
    for (const flag of ["--key-spec", "--root-key-spec"]) {
      const r = pki(["ca", "init", "--two-tier", flag, "ECC_P256", "--data-dir", data]);
      assertUsageError(r, /--key-spec must be one of ECC_NIST_P256, .*RSA_4096, not "ECC_P256"/);
    }
    assert.equal(existsSync(data), false, "a rejected ca init created the data folder");
  });

  test("a bad --signing-algorithm is a usage error", () => {
    assertUsageError(
      pki(["ca", "init", "--signing-algorithm", "SHA1withRSA"]),
      /--signing-algorithm must be one of .*ECDSA_SHA_256.*, not "SHA1withRSA"/,
    );
  });

  // Decimal digits only: Number() would take 0x1e, 1e1 and " 30" as 30, 10 and 30.
  for (const days of ["0", "-3", "1.5", "abc", "", "30days", "0x1e", "1e1", " 30"]) {
    test(`--days=${JSON.stringify(days)} is a usage error`, (t) => {
      const data = dataDir(scratch(t));
      const r = pki([
        "issue",
        "--csr",
        csrFile,
        "--profile",
        "server",
        `--days=${days}`,
        "--data-dir",
        data,
      ]);
      assertUsageError(r, /--days must be a positive whole number/);
      assert.ok(r.stderr.includes(`not "${days}"`));
    });
  }

  test("a bad or missing --reason is a usage error listing the reasons", (t) => {
    const data = dataDir(scratch(t));
    const reasons =
      /unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn/;
    const bad = pki(["revoke", "0a1b", "--reason", "certificateHold", "--data-dir", data]);
    assertUsageError(bad, reasons);
    assert.match(bad.stderr, /not "certificateHold"/);
    assertUsageError(pki(["revoke", "0a1b", "--data-dir", data]), reasons);
    // Checked before the data folder is looked at.
    assert.equal(existsSync(data), false);
  });
});

describe("CA errors (exit 1, code and message on stderr)", () => {
  test("issue, ca show and crl before ca init: CA_NOT_INITIALISED", (t) => {
    const data = dataDir(scratch(t));
    const hint = /Run "pki ca init"/;
    assertPkiError(
      pki(["issue", "--csr", csrFile, "--profile", "server", "--data-dir", data]),
      "CA_NOT_INITIALISED",
      hint,
    );
    assertPkiError(pki(["ca", "show", "--data-dir", data]), "CA_NOT_INITIALISED", hint);
    assertPkiError(pki(["crl", "--data-dir", data]), "CA_NOT_INITIALISED", hint);
    assert.equal(existsSync(join(data, "ca.json")), false);
  });

  test("ca init twice: CA_ALREADY_EXISTS, and the CA key and certificate are untouched", (t) => {
    const data = dataDir(scratch(t));
    const first = init(data);
    const keyFile = join(data, "keys", "issuing.key.pem");
    const key = readFileSync(keyFile);
    const cert = readFileSync(join(data, "ca", "issuing.pem"));
    const state = readFileSync(join(data, "ca.json"));

    for (const extra of [[], ["--key-spec", "RSA_2048"], ["--two-tier"]]) {
      assertPkiError(
        pki(["ca", "init", "--data-dir", data, ...extra]),
        "CA_ALREADY_EXISTS",
        /See "pki ca show"/,
      );
    }
    assert.deepEqual(readFileSync(keyFile), key, "the CA key file changed");
    assert.equal(mode(keyFile), 0o600);
    assert.deepEqual(readFileSync(join(data, "ca", "issuing.pem")), cert);
    assert.deepEqual(readFileSync(join(data, "ca.json")), state);
    assert.equal(existsSync(join(data, "keys", "root.key.pem")), false);
    assert.equal(existsSync(join(data, ".lock")), false, "the lock file was left behind");
    assert.equal(assertOk(pki(["ca", "show", "--data-dir", data])), first);
  });

  test("issue with an unknown profile: PROFILE_UNKNOWN naming the profiles", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    assertPkiError(
      pki(["issue", "--csr", csrFile, "--profile", "webserver", "--data-dir", data]),
      "PROFILE_UNKNOWN",
      /"webserver" is not one of: server, client, server-client\./,
    );
    assert.equal(existsSync(join(data, "certificates")), false, "something was recorded");
  });

  test("issue with a SHA-1 signed CSR (openssl req -sha1): CSR_SIGNATURE_ALGORITHM_FORBIDDEN", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    assertPkiError(
      pki(["issue", "--csr", sha1CsrFile, "--profile", "server", "--data-dir", data]),
      "CSR_SIGNATURE_ALGORITHM_FORBIDDEN",
      /ecdsa-with-SHA1 \(SHA-1\)/,
    );
    assert.equal(existsSync(join(data, "certificates")), false, "something was recorded");
  });

  test("issue with a file that is not a CSR: a CSR_ error", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    init(data);
    const junk = writeFile(dir, "junk.csr", "this is not a CSR\n");
    const r = pki(["issue", "--csr", junk, "--profile", "server", "--data-dir", data]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^pki: CSR_[A-Z_]+: /);
    assert.equal(r.stdout, "");
    assertNoStackTrace(r);
  });

  test("a --days beyond the profile's maximum: POLICY_VALIDITY_TOO_LONG", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    assertPkiError(
      pki(["issue", "--csr", csrFile, "--profile", "server", "--days", "398", "--data-dir", data]),
      "POLICY_VALIDITY_TOO_LONG",
    );
  });

  test("a missing CSR file: a message naming the file, nothing on stdout", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    init(data);
    const missing = join(dir, "no-such.csr");
    const r = pki(["issue", "--csr", missing, "--profile", "server", "--data-dir", data]);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /Cannot read .*no-such\.csr: ENOENT/);
    assertNoStackTrace(r);
  });

  test("a missing input file is an error (exit 1), not a usage error (exit 2)", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    init(data);
    for (const args of [
      ["issue", "--csr", join(dir, "no-such.csr"), "--profile", "server"],
      ["ca", "import", join(dir, "no-such.pem")],
      ["inspect", join(dir, "no-such.pem")],
    ]) {
      const r = pki([...args, "--data-dir", data]);
      assert.equal(r.status, 1, `${args[0]}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, /no-such\.(csr|pem)/);
      assert.doesNotMatch(r.stderr, /pki --help/);
    }
  });

  test("revoke of a serial never issued here: CERT_NOT_FOUND", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    assertPkiError(
      pki(["revoke", "0A:1B:2C", "--reason", "keyCompromise", "--data-dir", data]),
      "CERT_NOT_FOUND",
      /No certificate with serial 0a1b2c was issued here\./,
    );
    assertPkiError(
      pki(["revoke", "xyz", "--reason", "keyCompromise", "--data-dir", data]),
      "CERT_NOT_FOUND",
      /"xyz" is not a hexadecimal serial number\./,
    );
    assert.equal(existsSync(join(data, "revocations")), false);
  });

  test("crl --root on a single-root CA: CA_ROOT_NOT_HELD pointing at pki crl", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    assertPkiError(
      pki(["crl", "--root", "--data-dir", data]),
      "CA_ROOT_NOT_HELD",
      /single self-signed root; "pki crl" signs its CRL/,
    );
  });

  test("a CA key file readable by others is refused: SIGNER_UNSUPPORTED", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    const keyFile = join(data, "keys", "issuing.key.pem");
    chmodSync(keyFile, 0o644);
    assertPkiError(
      pki(["ca", "show", "--data-dir", data]),
      "SIGNER_UNSUPPORTED",
      /has mode 644; run chmod 600 on it\./,
    );
  });

  test("a broken --config: CONFIG_INVALID naming the file", (t) => {
    const dir = scratch(t);
    const config = writeFile(dir, "pki.config.json", "{ not json");
    assertPkiError(
      pki(["ca", "show", "--config", config, "--data-dir", dataDir(dir)]),
      "CONFIG_INVALID",
      /pki\.config\.json/,
    );
  });
});

describe("the life of a CA", () => {
  test("ca init (ECC_NIST_P256): a self-signed CA that openssl accepts; ca show prints it", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    const r = pki(["ca", "init", "--key-spec", "ECC_NIST_P256", "--data-dir", data]);
    const out = assertOk(r);
    assert.equal(r.stderr, `CA created in ${data}\n`);
    const certs = pemBlocks(out);
    assert.equal(certs.length, 1);
    assert.equal(certs.join(""), out, "stdout holds more than the chain");
    const cert = new X509Certificate(certs[0]!);
    assert.equal(cert.ca, true);
    assert.match(cert.subject, /CN=Example Private Issuing CA/);
    assert.equal(cert.subject, cert.issuer);
    assert.ok(cert.verify(cert.publicKey), "not self-signed");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(
      opensslText(["x509", "-noout", "-text", "-in", writeFile(dir, "ca.pem", out)]),
      /X509v3 Basic Constraints: critical\s+CA:TRUE[\s\S]*X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/,
    );

    const show = pki(["ca", "show", "--data-dir", data]);
    assert.equal(assertOk(show), out);
    assert.equal(show.stderr, "");
    const chain = writeFile(dir, "chain.pem", show.stdout);
    assert.match(opensslText(["verify", "-x509_strict", "-CAfile", chain, chain]), /: OK$/m);
  });

  test("ca init --two-tier: an issuing CA under a root, both keys 0600", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    const out = init(
      data,
      "--two-tier",
      "--key-spec",
      "ECC_NIST_P256",
      "--root-key-spec",
      "ECC_NIST_P384",
      "--subject",
      "CN=Test Issuing CA, O=Tests",
    );
    const certs = pemBlocks(out);
    assert.equal(certs.length, 2, "expected the issuing CA then the root");
    const [issuing, root] = certs.map((c) => new X509Certificate(c));
    assert.match(issuing!.subject, /CN=Test Issuing CA/);
    assert.match(root!.subject, /CN=Example Private Root CA/);
    assert.ok(issuing!.checkIssued(root!));
    assert.ok(issuing!.verify(root!.publicKey));
    assert.equal(issuing!.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(root!.publicKey.asymmetricKeyDetails?.namedCurve, "secp384r1");
    const rootFile = writeFile(dir, "root.pem", certs[1]!);
    const issuingFile = writeFile(dir, "issuing.pem", certs[0]!);
    assert.match(
      opensslText(["verify", "-x509_strict", "-CAfile", rootFile, issuingFile]),
      /: OK$/m,
    );
    assert.match(
      opensslText(["x509", "-noout", "-text", "-in", issuingFile]),
      /CA:TRUE, pathlen:0/,
    );
    for (const key of ["root", "issuing"]) {
      assert.equal(mode(join(data, "keys", `${key}.key.pem`)), 0o600, `${key} key mode`);
    }
    assert.equal(mode(join(data, "keys")), 0o700);
    assert.equal(assertOk(pki(["ca", "show", "--data-dir", data])), out);

    // The root signs its own CRL.
    const rootCrl = pki(["crl", "--root", "--data-dir", data]);
    const rootCrlFile = writeFile(dir, "root.crl", assertOk(rootCrl));
    const verdict = opensslCrlVerify(rootCrlFile, rootFile);
    assert.ok(verdict.ok, verdict.output);
    assert.match(
      opensslText(["crl", "-noout", "-issuer", "-in", rootCrlFile]),
      /Example Private Root CA/,
    );
  });

  test("issue --days 30: a PEM leaf valid for 30 days that openssl -x509_strict accepts", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    const chain = init(data);
    const before = Date.now();
    const { pem, serial, run } = issue(data, "--days", "30");
    assert.equal(pemBlocks(pem).length, 1);
    assert.equal(pemBlocks(pem)[0], pem, "stdout holds more than the certificate");
    const cert = new X509Certificate(pem);
    assert.equal(cert.serialNumber.toLowerCase(), serial);
    assert.equal(
      run.stderr,
      `Issued serial ${serial}, valid until ${cert.validToDate.toISOString()}\n`,
    );
    // RFC 5280 validity is inclusive: notAfter = notBefore + 30 days - 1 second.
    assert.equal(cert.validToDate.getTime() - cert.validFromDate.getTime() + 1000, 30 * DAY_MS);
    assert.ok(cert.validFromDate.getTime() <= before, "notBefore is in the future");
    assert.ok(cert.validFromDate.getTime() >= before - 10 * 60_000, "notBefore backdated > 10 min");
    assert.equal(cert.ca, false);
    assert.equal(cert.subjectAltName, `DNS:${HOST}`);
    assert.ok(existsSync(join(data, "certificates", `${serial}.json`)));

    const files = new ChainFiles(pem, [chain]);
    t.after(() => rmSync(files.dir, { recursive: true, force: true }));
    const verdict = opensslVerify(files, "serverAuth");
    assert.ok(verdict.ok, verdict.output);
    assert.equal(opensslVerify(files, "clientAuth").ok, false, "a server cert passed as client");
  });

  test("issue without --days uses the profile's default (server: 90 days)", (t) => {
    const data = dataDir(scratch(t));
    init(data);
    const cert = new X509Certificate(issue(data).pem);
    assert.equal(cert.validToDate.getTime() - cert.validFromDate.getTime() + 1000, 90 * DAY_MS);
  });

  test("two-tier issue: OpenSSL, GnuTLS and NSS accept the leaf against the root", (t) => {
    const data = dataDir(scratch(t));
    const chain = pemBlocks(init(data, "--two-tier"));
    const { pem } = issue(data, "--days", "30");
    const files = new ChainFiles(pem, chain);
    t.after(() => rmSync(files.dir, { recursive: true, force: true }));
    for (const [tool, verdict] of verifyWithAll(files, "serverAuth")) {
      assert.ok(verdict.ok, `${tool} rejected the leaf:\n${verdict.output}`);
    }
  });

  test("revoke --reason keyCompromise, then crl: the serial is listed as Key Compromise", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    const chain = init(data);
    const { pem, serial } = issue(data, "--days", "30");
    const kept = issue(data, "--days", "30");

    const r = pki(["revoke", serial, "--reason", "keyCompromise", "--data-dir", data]);
    assert.match(
      assertOk(r),
      new RegExp(`^Revoked: ${serial} \\(keyCompromise\\) at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`),
    );
    assert.equal(r.stderr, "");

    const crl = pki(["crl", "--data-dir", data]);
    const crlPem = assertOk(crl);
    assert.equal(crl.stderr, "");
    assert.equal(pemBlocks(crlPem, "X509 CRL")[0], crlPem);
    const crlFile = writeFile(dir, "ca.crl", crlPem);
    const text = opensslText(["crl", "-noout", "-text", "-in", crlFile]);
    assert.match(
      text,
      new RegExp(
        `Serial Number: ${serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`,
      ),
    );
    assert.ok(!text.includes(kept.serial.toUpperCase()), "the unrevoked serial is listed");
    assert.match(text, /X509v3 CRL Number:\s+1\n/);
    const issuerFile = writeFile(dir, "issuer.pem", chain);
    const signed = opensslCrlVerify(crlFile, issuerFile);
    assert.ok(signed.ok, signed.output);

    const files = new ChainFiles(pem, [chain]);
    t.after(() => rmSync(files.dir, { recursive: true, force: true }));
    const revoked = opensslVerify(files, "serverAuth", crlFile);
    assert.equal(revoked.ok, false);
    assert.match(revoked.output, /certificate revoked/);
    const keptFiles = new ChainFiles(kept.pem, [chain]);
    t.after(() => rmSync(keptFiles.dir, { recursive: true, force: true }));
    assert.ok(opensslVerify(keptFiles, "serverAuth", crlFile).ok);

    // --der: the next CRL, as DER bytes.
    const der = pki(["crl", "--der", "--data-dir", data]);
    assert.equal(der.status, 0, der.stderr);
    assert.equal(der.stdoutBytes[0], 0x30, "not a DER SEQUENCE");
    assert.ok(!der.stdout.includes("-----BEGIN"));
    const derFile = writeFile(dir, "ca.der.crl", der.stdoutBytes);
    const derText = opensslText(["crl", "-inform", "DER", "-noout", "-text", "-in", derFile]);
    assert.match(derText, /X509v3 CRL Number:\s+2\n/);
    assert.ok(derText.includes(`Serial Number: ${serial.toUpperCase()}`));
  });

  test("revoking twice is idempotent: exit 0, 'Already revoked', the first reason kept", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    init(data);
    const { serial } = issue(data);
    const first = assertOk(pki(["revoke", serial, "--reason", "superseded", "--data-dir", data]));
    const revokedAt = / at (\S+)\n$/.exec(first)?.[1];
    // The serial as openssl prints it (upper case), and with colons, name the same certificate.
    const colons = serial.toUpperCase().match(/../g)!.join(":");
    for (const typed of [serial.toUpperCase(), colons, `0x${serial}`]) {
      const again = pki(["revoke", typed, "--reason", "keyCompromise", "--data-dir", data]);
      assert.equal(assertOk(again), `Already revoked: ${serial} (superseded) at ${revokedAt}\n`);
      assert.match(
        again.stderr,
        /the first revocation's reason \(superseded\) stands; keyCompromise was not recorded/,
      );
    }
    const text = opensslText([
      "crl",
      "-noout",
      "-text",
      "-in",
      writeFile(dir, "ca.crl", assertOk(pki(["crl", "--data-dir", data]))),
    ]);
    assert.equal(text.split("Serial Number:").length - 1, 1, "one CRL entry");
    assert.match(text, /Superseded/);
  });

  test("inspect summarises a CSR, a certificate and a CRL (PEM and DER)", (t) => {
    const dir = scratch(t);
    const data = dataDir(dir);
    init(data);
    const { pem, serial } = issue(data, "--days", "30");
    assertOk(pki(["revoke", serial, "--reason", "keyCompromise", "--data-dir", data]));
    const crlPem = writeFile(dir, "ca.crl", assertOk(pki(["crl", "--data-dir", data])));
    const crlDer = writeFile(dir, "ca.der", pki(["crl", "--der", "--data-dir", data]).stdoutBytes);
    const certFile = writeFile(dir, "leaf.pem", pem);
    const certDer = writeFile(
      dir,
      "leaf.der",
      openssl(["x509", "-in", certFile, "-outform", "DER"]),
    );

    const field = (out: string, label: string, value: RegExp) =>
      assert.match(out, new RegExp(`^${label}:\\s+${value.source}$`, "m"), `${label} in\n${out}`);

    const csr = pki(["inspect", csrFile]);
    const csrOut = assertOk(csr);
    assert.equal(csr.stderr, "");
    field(csrOut, "Type", /Certificate signing request \(PKCS#10\)/);
    field(csrOut, "Subject", new RegExp(`CN=${HOST}`));
    field(csrOut, "Public key", /EC P-256/);
    field(csrOut, "Signature algorithm", /ECDSA_SHA_256/);
    field(csrOut, "SANs", new RegExp(`dns:${HOST}`));
    field(csrOut, "Verdict", /acceptable to the CA's intake rules/);
    field(csrOut, "SHA-256 fingerprint", /([0-9a-f]{2}:){31}[0-9a-f]{2}/);

    const sha1 = assertOk(pki(["inspect", sha1CsrFile]));
    field(sha1, "Verdict", /rejected: CSR_SIGNATURE_ALGORITHM_FORBIDDEN: .*SHA-1.*/);

    for (const file of [certFile, certDer]) {
      const out = assertOk(pki(["inspect", file]));
      field(out, "Type", /X\.509 certificate \(v3\)/);
      field(out, "Serial", new RegExp(serial));
      field(out, "Subject", new RegExp(`CN=${HOST}`));
      field(out, "Issuer", /CN=Example Private Issuing CA, O=Example/);
      field(out, "Not after", new RegExp(new X509Certificate(pem).validToDate.toISOString()));
      field(out, "SANs", new RegExp(`dns:${HOST}`));
      field(
        out,
        "Extensions",
        /basicConstraints \(critical\), keyUsage \(critical\), extKeyUsage.*/,
      );
    }

    for (const file of [crlPem, crlDer]) {
      const out = assertOk(pki(["inspect", file]));
      field(out, "Type", /Certificate revocation list/);
      field(out, "Issuer", /CN=Example Private Issuing CA, O=Example/);
      field(out, "CRL number", /[12]/);
      field(out, "Revoked entries", /1/);
      assert.match(out, new RegExp(`^  ${serial}  \\S+Z  keyCompromise$`, "m"));
    }
  });

  test("inspect of something that is not a CSR, certificate or CRL: INPUT_INVALID", (t) => {
    const dir = scratch(t);
    assertPkiError(pki(["inspect", writeFile(dir, "notes.txt", "hello\n")]), "INPUT_INVALID");
    assertPkiError(
      pki(["inspect", writeFile(dir, "key.pem", readFileSync(subscriberKey))]),
      "INPUT_INVALID",
      /Unsupported PEM block PRIVATE KEY/,
    );
  });
});

describe("the data folder", () => {
  test("without --data-dir, PKI_DATA_DIR is used (and the bundled config when ./ has none)", (t) => {
    const dir = scratch(t);
    const cwd = join(dir, "cwd");
    mkdirSync(cwd);
    const state = join(dir, "state");
    const env = { PKI_DATA_DIR: state };
    const r = pki(["ca", "init"], { cwd, env });
    const chain = assertOk(r);
    assert.equal(r.stderr, `CA created in ${state}\n`);
    assert.ok(existsSync(join(state, "ca.json")));
    assert.equal(mode(join(state, "keys", "issuing.key.pem")), 0o600);
    assert.equal(existsSync(join(cwd, ".pki-data")), false);
    assert.match(new X509Certificate(chain).subject, /CN=Example Private Issuing CA/);
    assert.equal(assertOk(pki(["ca", "show"], { cwd, env })), chain);

    // --data-dir wins over PKI_DATA_DIR.
    const other = join(dir, "other");
    assertPkiError(pki(["ca", "show", "--data-dir", other], { cwd, env }), "CA_NOT_INITIALISED");
  });

  test("with neither, the data folder is ./.pki-data", (t) => {
    const cwd = scratch(t);
    const r = pki(["ca", "init"], { cwd });
    assertOk(r);
    assert.ok(existsSync(join(cwd, ".pki-data", "ca.json")));
    assert.match(r.stderr, /\.pki-data\n$/);
  });

  test("--config and PKI_CONFIG choose the configuration", (t) => {
    const dir = scratch(t);
    const shipped = JSON.parse(readFileSync(join(repoRoot, "pki.config.json"), "utf8"));
    const custom = writeFile(
      dir,
      "custom.json",
      JSON.stringify({ ...shipped, ca: { ...shipped.ca, subject: "CN=Custom CA, O=Tests" } }),
    );
    const viaFlag = init(join(dir, "a"), "--config", custom);
    assert.match(new X509Certificate(viaFlag).subject, /CN=Custom CA/);
    const viaEnv = assertOk(
      pki(["ca", "init", "--data-dir", join(dir, "b")], { env: { PKI_CONFIG: custom } }),
    );
    assert.match(new X509Certificate(viaEnv).subject, /CN=Custom CA/);
  });

  test("CA keys are written 0600 in a 0700 folder even under umask 000", (t) => {
    const data = dataDir(scratch(t));
    const r = pki(["ca", "init", "--two-tier", "--data-dir", data], { umask: "000" });
    assertOk(r);
    for (const key of ["root", "issuing"]) {
      assert.equal(mode(join(data, "keys", `${key}.key.pem`)).toString(8), "600");
    }
    assert.equal(mode(join(data, "keys")).toString(8), "700");
    // Nothing in the folder is writable by others.
    for (const file of ["ca.json", "ca/root.pem", "ca/issuing.pem"]) {
      assert.equal(mode(join(data, file)) & 0o022, 0, `${file} is group/world writable`);
    }
  });
});

describe("pki keys on a stopped data folder", () => {
  test("create prints the key alone on stdout; list shows it and its owner without the secret; revoke", (t) => {
    const data = dataDir(scratch(t));
    const created = pki([
      "keys",
      "create",
      "--role",
      "admin",
      "--owner",
      "ops@example.com",
      "--label",
      "ops",
      "--data-dir",
      data,
    ]);
    const key = assertOk(created).trim();
    assert.match(key, /^spca_[A-Za-z0-9_-]{32}$/);
    const id = /Created admin key ([0-9a-f]{16}) for ops@example\.com in /.exec(
      created.stderr,
    )![1]!;
    const listed = assertOk(pki(["keys", "list", "--data-dir", data]));
    assert.doesNotMatch(listed, new RegExp(key));
    assert.match(listed, /^ID {16}ROLE {3}OWNER {12}CREATED/);
    assert.match(listed, new RegExp(`^${id}  admin  ops@example\\.com  \\S+Z  -        ops$`, "m"));
    assert.match(assertOk(pki(["keys", "revoke", id, "--data-dir", data])), /revoked at \S+Z/);
    // Revoking again reports the same revocation.
    const again = assertOk(pki(["keys", "revoke", id, "--data-dir", data]));
    assert.match(
      assertOk(pki(["keys", "list", "--data-dir", data])),
      new RegExp(`admin  ops@example\\.com  \\S+Z  ${/at (\S+Z)/.exec(again)![1]}  ops`),
    );
  });

  test("every role: an auditor key for its owner, listed with the owner", (t) => {
    const data = dataDir(scratch(t));
    const ids: string[] = [];
    for (const [role, owner] of [
      ["auditor", "a@example.com"],
      ["approver", "Security+CI@Example.com"],
      ["requester", "rita@example.com"],
    ] as const) {
      const created = pki(["keys", "create", "--role", role, "--owner", owner, "--data-dir", data]);
      assertOk(created);
      const id = new RegExp(`^Created ${role} key ([0-9a-f]{16}) for (\\S+) in ${data}\\. `).exec(
        created.stderr,
      );
      assert.ok(id, created.stderr);
      assert.equal(id[2], owner);
      ids.push(id[1]!);
    }
    const rows = assertOk(pki(["keys", "list", "--data-dir", data]))
      .trimEnd()
      .split("\n")
      .map((line) => line.split(/ {2,}/));
    assert.deepEqual(rows[0], ["ID", "ROLE", "OWNER", "CREATED", "REVOKED", "LABEL"]);
    assert.deepEqual(
      rows
        .slice(1)
        .map(([id, role, owner, , revoked, label]) => [id, role, owner, revoked, label])
        .sort(),
      [
        [ids[0], "auditor", "a@example.com", "-", "created with pki keys create"],
        [ids[1], "approver", "Security+CI@Example.com", "-", "created with pki keys create"],
        [ids[2], "requester", "rita@example.com", "-", "created with pki keys create"],
      ].sort(),
    );
  });

  test("bad roles, owners and ids are usage errors; an unknown id is API_KEY_NOT_FOUND", (t) => {
    const data = dataDir(scratch(t));
    const owner = ["--owner", "ops@example.com"];
    assertUsageError(
      pki(["keys", "create", ...owner, "--data-dir", data]),
      /needs --role requester\|approver\|admin\|auditor\n/,
    );
    assertUsageError(
      pki(["keys", "create", "--role", "root", ...owner, "--data-dir", data]),
      /--role requester\|approver\|admin\|auditor, not "root"/,
    );
    // The owner is required, and an email address; nothing is opened or made before.
    assertUsageError(
      pki(["keys", "create", "--role", "admin", "--data-dir", data]),
      /^pki: pki keys create needs --owner EMAIL, the email address of the person the key acts for \(for example --owner alice@example\.com\)\n/,
    );
    for (const bad of ["not-an-email", "", "ops@", "@example.com", "a b@example.com"]) {
      assertUsageError(
        pki(["keys", "create", "--role", "admin", "--owner", bad, "--data-dir", data]),
        new RegExp(
          `^pki: --owner must be an email address \\(for example --owner alice@example\\.com\\), not "${bad}"\n`,
        ),
      );
    }
    assert.equal(existsSync(data), false, "a usage error opened the data folder");
    assertUsageError(
      pki(["keys", "create", "extra", "--role", "admin", ...owner, "--data-dir", data]),
      /usage: pki keys create --role requester\|approver\|admin\|auditor --owner EMAIL \[--label TEXT\]/,
    );
    assertUsageError(
      pki(["keys", "revoke", "../x", "--data-dir", data]),
      /"\.\.\/x" is not a key id/,
    );
    assertUsageError(pki(["keys", "rotate", "--data-dir", data]), /unknown command "keys rotate"/);
    assertPkiError(
      pki(["keys", "revoke", "0123456789abcdef", "--data-dir", data]),
      "API_KEY_NOT_FOUND",
      /0123456789abcdef/,
    );
    const label = pki([
      "keys",
      "create",
      "--role",
      "admin",
      ...owner,
      "--label",
      "x".repeat(201),
      "--data-dir",
      data,
    ]);
    assertPkiError(label, "API_KEY_LABEL_INVALID", /at most 200 characters/);
    assert.equal(
      assertOk(pki(["keys", "list", "--data-dir", data])),
      "ID  ROLE  OWNER  CREATED  REVOKED  LABEL\n",
    );
  });
});

describe("pki keys through a running local service", () => {
  test("create sends the owner in POST /v1/keys; list shows the owners, - for a key without one", async (t) => {
    const dir = scratch(t);
    // A stand-in for the service's API, and a data folder that a live process (this test) holds.
    const seen: { method?: string; url?: string; authorization?: string; body: string }[] = [];
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => {
        body += chunk;
      });
      request.on("end", () => {
        seen.push({
          method: request.method,
          url: request.url,
          authorization: request.headers.authorization,
          body,
        });
        const record = {
          id: "0123456789abcdef",
          role: "auditor",
          label: "audit",
          owner: "a@example.com",
          createdAt: "2030-01-01T00:00:00.000Z",
          revokedAt: null,
        };
        const answer =
          request.method === "POST"
            ? { ...record, key: `spca_${"k".repeat(32)}` }
            : {
                keys: [
                  record,
                  { ...record, id: "fedcba9876543210", role: "admin", owner: null, label: "old" },
                ],
              };
        response.writeHead(request.method === "POST" ? 201 : 200, {
          "content-type": "application/json",
        });
        response.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => server.close());
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const data = dataDir(dir);
    mkdirSync(data, { mode: 0o700 });
    writeFile(data, "runtime.lock", String(process.pid));
    writeFile(
      data,
      "runtime.json",
      JSON.stringify({ api, adminKey: "admin-key", pid: process.pid }),
    );

    const created = await pkiAsync([
      "keys",
      "create",
      "--role",
      "auditor",
      "--owner",
      "a@example.com",
      "--label",
      "audit",
      "--data-dir",
      data,
    ]);
    assert.equal(assertOk(created), `spca_${"k".repeat(32)}\n`);
    assert.equal(
      created.stderr,
      `Created auditor key 0123456789abcdef for a@example.com in ${api}. This is the only time the key is shown.\n`,
    );
    assert.deepEqual(seen.shift(), {
      method: "POST",
      url: "/v1/keys",
      authorization: "Bearer admin-key",
      body: JSON.stringify({ role: "auditor", label: "audit", owner: "a@example.com" }),
    });

    const listed = assertOk(await pkiAsync(["keys", "list", "--data-dir", data]));
    assert.equal(
      listed,
      "ID                ROLE     OWNER          CREATED                   REVOKED  LABEL\n" +
        "0123456789abcdef  auditor  a@example.com  2030-01-01T00:00:00.000Z  -        audit\n" +
        "fedcba9876543210  admin    -              2030-01-01T00:00:00.000Z  -        old\n",
    );

    // Without an owner, or with one that is not an email address, nothing is sent.
    const missing = await pkiAsync(["keys", "create", "--role", "auditor", "--data-dir", data]);
    assertUsageError(missing, /pki keys create needs --owner EMAIL/);
    const bad = await pkiAsync([
      "keys",
      "create",
      "--role",
      "auditor",
      "--owner",
      "not-an-email",
      "--data-dir",
      data,
    ]);
    assertUsageError(bad, /--owner must be an email address .*, not "not-an-email"/);
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      ["GET /v1/keys"],
    );
  });
});
