/**
 * An issuing CA under an offline root made with OpenSSL: `pki ca csr`, the root signs the CSR
 * with `openssl x509 -req`, `pki ca import` installs the certificate and chain, and the leaves
 * it then issues verify under the OpenSSL root with OpenSSL, GnuTLS and NSS. Every import that
 * must fail does so with a specific error and leaves the data folder as it was.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, type TestContext, test } from "node:test";
import { openssl, opensslReq, writeOpensslConfig } from "../../core/test/support/openssl.ts";
import {
  ChainFiles,
  opensslCrlVerify,
  opensslVerify,
  verifyWithAll,
} from "../../core/test/support/verifiers.ts";
import { assertOk, assertPkiError, pemBlocks, pki, scratch, writeFile } from "./support/cli.ts";

const HOST = "app.example.internal";
const ROOT_SUBJECT = "/CN=Offline Root CA/O=Example";

// Extension sections for the offline root and for what it puts in the certificates it signs.
const sections = `
[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[root_pathlen0]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_issuing]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[not_ca]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[no_basic_constraints]
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[bc_not_critical]
basicConstraints = CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ku_signature_only]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ku_no_crl_sign]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ku_not_critical]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

type Section =
  | "v3_issuing"
  | "not_ca"
  | "no_basic_constraints"
  | "bc_not_critical"
  | "ku_signature_only"
  | "ku_no_crl_sign"
  | "ku_not_critical";

// The offline root and the subscriber request, made once (read only).
const work = mkdtempSync(join(tmpdir(), "pki-import-fixtures-"));
after(() => rmSync(work, { recursive: true, force: true }));
const cnf = writeOpensslConfig(work, "ca.cnf", { sections });

function ecKey(name: string): string {
  const path = join(work, name);
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
  return path;
}

function selfSigned(key: string, subject: string, name: string, section = "v3_root"): string {
  const path = join(work, name);
  openssl([
    "req",
    "-x509",
    "-new",
    "-config",
    cnf,
    "-key",
    key,
    "-subj",
    subject,
    "-days",
    "3650",
    "-sha256",
    "-extensions",
    section,
    "-out",
    path,
  ]);
  return path;
}

interface Root {
  readonly key: string;
  readonly cert: string;
  readonly pem: string;
}

function makeRoot(keyName: string, certName: string, subject: string, key?: string): Root {
  const k = key ?? ecKey(keyName);
  const cert = selfSigned(k, subject, certName);
  return { key: k, cert, pem: readFileSync(cert, "utf8") };
}

const root = makeRoot("root.key", "root.pem", ROOT_SUBJECT);
// Same kind of root, different name and key; and an impostor: the real root's name, another key.
const otherRoot = makeRoot("other.key", "other.pem", "/CN=Some Other Root/O=Elsewhere");
const impostor = {
  pem: readFileSync(selfSigned(otherRoot.key, ROOT_SUBJECT, "impostor.pem"), "utf8"),
};
const pathLen0Root = {
  pem: readFileSync(
    selfSigned(root.key, ROOT_SUBJECT, "root-pathlen0.pem", "root_pathlen0"),
    "utf8",
  ),
};

const subscriberKey = ecKey("subscriber.key");
const subscriberCsr = writeFile(
  work,
  "subscriber.csr",
  opensslReq({
    config: cnf,
    key: subscriberKey,
    subject: `/CN=${HOST}`,
    addext: [`subjectAltName=DNS:${HOST}`],
    digest: "sha256",
    format: "PEM",
  }),
);
// A request for some other key, to get a CA certificate that is not for the pki CA key.
const strangerCsr = writeFile(
  work,
  "stranger.csr",
  opensslReq({
    config: cnf,
    key: ecKey("stranger.key"),
    subject: "/CN=Stranger CA",
    digest: "sha256",
    format: "PEM",
  }),
);

/** The offline root signs `csrFile` with the extensions of `section`. */
function sign(
  dir: string,
  csrFile: string,
  section: Section = "v3_issuing",
  options: { digest?: string; by?: Root } = {},
): string {
  const by = options.by ?? root;
  const out = join(dir, `signed-${randomBytes(4).toString("hex")}.pem`);
  openssl([
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    by.cert,
    "-CAkey",
    by.key,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-days",
    "1825",
    `-${options.digest ?? "sha256"}`,
    "-extfile",
    cnf,
    "-extensions",
    section,
    "-out",
    out,
  ]);
  return readFileSync(out, "utf8");
}

interface Pending {
  readonly dir: string;
  readonly data: string;
  readonly csrFile: string;
}

/** A data folder after `pki ca csr`: a CA key waiting for its certificate. */
function pendingCa(t: TestContext, ...extra: string[]): Pending {
  const dir = scratch(t, "pki-import-");
  const data = join(dir, "data");
  const r = pki(["ca", "csr", "--data-dir", data, ...extra]);
  const csr = assertOk(r);
  assert.equal(r.stderr, "");
  assert.equal(pemBlocks(csr, "CERTIFICATE REQUEST")[0], csr, "stdout is not one CSR");
  return { dir, data, csrFile: writeFile(dir, "ca.csr", csr) };
}

function importFile(p: Pending, content: string | Uint8Array, name = "bundle.pem") {
  return pki(["ca", "import", writeFile(p.dir, name, content), "--data-dir", p.data]);
}

/** The folder still holds a key without a certificate: nothing was installed. */
function assertStillPending(p: Pending): void {
  assert.equal(existsSync(join(p.data, "ca", "issuing.pem")), false, "a certificate was written");
  const state = JSON.parse(readFileSync(join(p.data, "ca.json"), "utf8"));
  assert.equal(state.issuing.certificate, undefined);
  assert.deepEqual(state.issuing.chain, []);
  assertPkiError(
    pki(["issue", "--csr", subscriberCsr, "--profile", "server", "--data-dir", p.data]),
    "CA_NOT_INITIALISED",
    /has a key but no certificate yet/,
  );
}

function keyOf(pem: string): string {
  return new X509Certificate(pem).publicKey.export({ format: "der", type: "spki" }).toString("hex");
}

describe("pki ca csr", () => {
  test("makes a CA key (0600) and a CSR for it that openssl verifies", (t) => {
    const p = pendingCa(t);
    const verify = spawnSync("openssl", ["req", "-in", p.csrFile, "-noout", "-verify"], {
      encoding: "utf8",
    });
    assert.equal(verify.status, 0, verify.stderr);
    assert.match(`${verify.stdout}${verify.stderr}`, /self-signature verify OK/);
    const verified = openssl(["req", "-in", p.csrFile, "-noout", "-verify", "-text"]).toString();
    assert.match(verified, /Subject: CN = Example Private Issuing CA, O = Example/);
    assert.match(verified, /ASN1 OID: prime256v1/);
    assert.match(verified, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(
      verified,
      /X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/,
    );
    assert.match(verified, /ecdsa-with-SHA256/);
    const keyFile = join(p.data, "keys", "issuing.key.pem");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    // Until the certificate is imported there is no CA to use.
    assertPkiError(
      pki(["ca", "show", "--data-dir", p.data]),
      "CA_NOT_INITIALISED",
      /pki ca import FILE/,
    );
    assertStillPending(p);

    // Asking again gives a CSR for the same key.
    const again = assertOk(pki(["ca", "csr", "--data-dir", p.data]));
    const spki = (csr: string) => openssl(["req", "-noout", "-pubkey"], csr).toString();
    assert.equal(spki(again), spki(readFileSync(p.csrFile, "utf8")));
  });

  test("--key-spec and --subject are honoured", (t) => {
    const p = pendingCa(
      t,
      "--key-spec",
      "ECC_NIST_P384",
      "--subject",
      "CN=Team Issuing CA, OU=Platform, O=Example",
    );
    const text = openssl(["req", "-in", p.csrFile, "-noout", "-verify", "-text"]).toString();
    assert.match(text, /Subject: CN = Team Issuing CA, OU = Platform, O = Example/);
    assert.match(text, /ASN1 OID: secp384r1/);
    assert.match(text, /ecdsa-with-SHA384/);
  });
});

describe("pki ca import", () => {
  test("an OpenSSL offline root's signature: issue works, and OpenSSL, GnuTLS and NSS accept the leaf", (t) => {
    const p = pendingCa(t);
    const issuing = sign(p.dir, p.csrFile);
    const r = importFile(p, issuing + root.pem);
    assert.equal(assertOk(r), "");
    assert.equal(r.stderr, "CA certificate imported.\n");

    // ca show: the imported certificate, then the root.
    const show = assertOk(pki(["ca", "show", "--data-dir", p.data]));
    assert.deepEqual(pemBlocks(show), [issuing, root.pem]);

    const issued = pki([
      "issue",
      "--csr",
      subscriberCsr,
      "--profile",
      "server",
      "--days",
      "30",
      "--data-dir",
      p.data,
    ]);
    const leaf = assertOk(issued);
    const cert = new X509Certificate(leaf);
    assert.ok(cert.checkIssued(new X509Certificate(issuing)));
    assert.equal(cert.issuer, new X509Certificate(issuing).subject);

    const files = new ChainFiles(leaf, [issuing, root.pem]);
    t.after(() => rmSync(files.dir, { recursive: true, force: true }));
    for (const [tool, verdict] of verifyWithAll(files, "serverAuth")) {
      assert.ok(verdict.ok, `${tool} rejected the leaf:\n${verdict.output}`);
    }

    // The imported CA signs CRLs that verify under its certificate.
    const crl = writeFile(p.dir, "ca.crl", assertOk(pki(["crl", "--data-dir", p.data])));
    const crlVerdict = opensslCrlVerify(crl, writeFile(p.dir, "issuing.pem", issuing));
    assert.ok(crlVerdict.ok, crlVerdict.output);
  });

  test("importing a certificate for a different public key: CA_KEY_MISMATCH", (t) => {
    const p = pendingCa(t);
    assertPkiError(
      importFile(p, sign(p.dir, strangerCsr) + root.pem),
      "CA_KEY_MISMATCH",
      /The first certificate's public key is not the key of local:.*issuing\.key\.pem/,
    );
    assertStillPending(p);
  });

  test("the root first and the issuing certificate second: CA_KEY_MISMATCH", (t) => {
    const p = pendingCa(t);
    assertPkiError(importFile(p, root.pem + sign(p.dir, p.csrFile)), "CA_KEY_MISMATCH");
    assertStillPending(p);
  });

  const refusals: { name: string; section: Section; message: RegExp }[] = [
    {
      name: "basicConstraints CA:FALSE",
      section: "not_ca",
      message: /Certificate 1: It lacks a critical basicConstraints extension with cA=TRUE\./,
    },
    {
      name: "no basicConstraints",
      section: "no_basic_constraints",
      message: /Certificate 1: It lacks a critical basicConstraints extension with cA=TRUE\./,
    },
    {
      name: "basicConstraints CA:TRUE not critical",
      section: "bc_not_critical",
      message: /Certificate 1: It lacks a critical basicConstraints extension with cA=TRUE\./,
    },
    {
      name: "keyUsage without keyCertSign and cRLSign",
      section: "ku_signature_only",
      message: /Certificate 1: Its keyUsage does not include both keyCertSign and cRLSign\./,
    },
    {
      name: "keyUsage with keyCertSign but not cRLSign",
      section: "ku_no_crl_sign",
      message: /Certificate 1: Its keyUsage does not include both keyCertSign and cRLSign\./,
    },
    {
      name: "keyUsage not critical",
      section: "ku_not_critical",
      message: /Certificate 1: Its keyUsage extension is not critical\./,
    },
  ];
  for (const { name, section, message } of refusals) {
    test(`a certificate with ${name}: CA_IMPORT_INVALID`, (t) => {
      const p = pendingCa(t);
      assertPkiError(
        importFile(p, sign(p.dir, p.csrFile, section) + root.pem),
        "CA_IMPORT_INVALID",
        message,
      );
      assertStillPending(p);
    });
  }

  test("a chain that does not link (another root): CA_IMPORT_INVALID", (t) => {
    const p = pendingCa(t);
    const issuing = sign(p.dir, p.csrFile);
    assertPkiError(
      importFile(p, issuing + otherRoot.pem),
      "CA_IMPORT_INVALID",
      /Certificate 1 was not issued by certificate 2\./,
    );
    // The right name but another key: the signature gives it away.
    assertPkiError(
      importFile(p, issuing + impostor.pem),
      "CA_IMPORT_INVALID",
      /Certificate 1's signature does not verify under certificate 2's key\./,
    );
    assertStillPending(p);
  });

  test("a certificate signed by another root, with that root: accepted only with its own root", (t) => {
    const p = pendingCa(t);
    const byOther = sign(p.dir, p.csrFile, "v3_issuing", { by: otherRoot });
    assertPkiError(
      importFile(p, byOther + root.pem),
      "CA_IMPORT_INVALID",
      /Certificate 1 was not issued by certificate 2\./,
    );
    assertStillPending(p);
  });

  test("the issuing certificate without its root: CA_IMPORT_INVALID asking for the root", (t) => {
    const p = pendingCa(t);
    assertPkiError(
      importFile(p, sign(p.dir, p.csrFile)),
      "CA_IMPORT_INVALID",
      /The chain does not end in a self-signed root .*; include the root\./,
    );
    assertStillPending(p);
  });

  test("a certificate the root signed with SHA-1: CA_IMPORT_INVALID", (t) => {
    const p = pendingCa(t);
    const sha1 = sign(p.dir, p.csrFile, "v3_issuing", { digest: "sha1" });
    assert.match(
      openssl(["x509", "-noout", "-text"], sha1).toString(),
      /Signature Algorithm: ecdsa-with-SHA1/,
    );
    assertPkiError(
      importFile(p, sha1 + root.pem),
      "CA_IMPORT_INVALID",
      /Certificate 1 is signed with sha1WithRSAEncryption \(SHA-1\)|Certificate 1 is signed with ecdsa-with-SHA1 \(SHA-1\)/,
    );
    assertStillPending(p);
  });

  test("garbage, an empty file and a CSR: CA_IMPORT_INVALID", (t) => {
    const p = pendingCa(t);
    assertPkiError(
      importFile(p, "this is not a certificate\n", "notes.txt"),
      "CA_IMPORT_INVALID",
      /holds no certificate/,
    );
    assertPkiError(
      importFile(p, randomBytes(512), "random.bin"),
      "CA_IMPORT_INVALID",
      /not PEM text \(DER\?\); convert it with openssl x509 -inform DER/,
    );
    assertPkiError(importFile(p, "", "empty.pem"), "CA_IMPORT_INVALID", /holds no certificate/);
    assertPkiError(
      importFile(p, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "bad.pem"),
      "CA_IMPORT_INVALID",
      /Certificate 1 is malformed/,
    );
    assertPkiError(
      importFile(p, readFileSync(p.csrFile), "csr.pem"),
      "CA_IMPORT_INVALID",
      /Block 1 is a CERTIFICATE REQUEST, not a CERTIFICATE\./,
    );
    assertStillPending(p);
  });

  test("importing before pki ca csr made a key: CA_NOT_INITIALISED, nothing created", (t) => {
    const dir = scratch(t, "pki-import-");
    const data = join(dir, "data");
    const bundle = writeFile(dir, "bundle.pem", root.pem);
    assertPkiError(pki(["ca", "import", bundle, "--data-dir", data]), "CA_NOT_INITIALISED");
    assert.equal(existsSync(join(data, "ca.json")), false);
    assert.equal(existsSync(join(data, "keys")), false);
    if (existsSync(data)) assert.deepEqual(readdirSync(data), [], "files left in the data folder");
  });

  test("importing before pki ca csr points the operator at pki ca csr", (t) => {
    const dir = scratch(t, "pki-import-");
    const r = pki([
      "ca",
      "import",
      writeFile(dir, "bundle.pem", root.pem),
      "--data-dir",
      join(dir, "data"),
    ]);
    assertPkiError(r, "CA_NOT_INITIALISED", /pki ca csr/);
  });

  test("a root whose pathLenConstraint 0 forbids the issuing CA is refused", (t) => {
    const p = pendingCa(t);
    const issuing = sign(p.dir, p.csrFile);
    // Same key and name as the real root, so the signature links; only pathlen differs.
    assert.equal(keyOf(pathLen0Root.pem), keyOf(root.pem));
    const r = importFile(p, issuing + pathLen0Root.pem);
    if (r.status === 0) {
      // Show what the operator would get: leaves no verifier accepts.
      const leaf = assertOk(
        pki(["issue", "--csr", subscriberCsr, "--profile", "server", "--data-dir", p.data]),
      );
      const files = new ChainFiles(leaf, [issuing, pathLen0Root.pem]);
      t.after(() => rmSync(files.dir, { recursive: true, force: true }));
      const verdict = opensslVerify(files, "serverAuth");
      assert.equal(verdict.ok, false);
      assert.match(verdict.output, /path length constraint exceeded/);
    }
    assertPkiError(r, "CA_IMPORT_INVALID", /path ?len/i);
  });

  test("a bundle with explanatory text around the PEM blocks (openssl x509 -text) is accepted", (t) => {
    const p = pendingCa(t);
    const issuing = sign(p.dir, p.csrFile);
    const withText = (pem: string) => openssl(["x509", "-text"], pem).toString();
    const r = importFile(p, withText(issuing) + withText(root.pem));
    assertOk(r);
  });

  test("a DER certificate is refused with a readable message (no raw bytes echoed)", (t) => {
    const p = pendingCa(t);
    const der = openssl(["x509", "-outform", "DER"], sign(p.dir, p.csrFile));
    const r = importFile(p, der, "issuing.der");
    assertPkiError(r, "CA_IMPORT_INVALID");
    // Only printable text and newlines.
    assert.match(
      r.stderr,
      /^[\x20-\x7e\n]*$/,
      `non-printable bytes on stderr: ${JSON.stringify(r.stderr)}`,
    );
  });
});
