/**
 * Certificates and CRLs must satisfy verifiers we did not write. For every CA key type and
 * signing algorithm, single root and root + issuing CA, and every shipped profile, a
 * certificate issued from an OpenSSL-made CSR is checked by OpenSSL (-x509_strict), GnuTLS
 * certtool and NSS vfychain, for the purposes the profile grants and against the one it does
 * not. Our own strict DER reader must accept every certificate pkijs built, CAs included.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { OID } from "../src/der/oids.ts";
import { decodePemBlocks, encodePem } from "../src/encoding/pem.ts";
import type { KeySpec, SigningAlgorithm } from "../src/signer/algorithms.ts";
import { findExtension, parseCertificate } from "../src/x509/certificate.ts";
import { keyUsageBits } from "../src/x509/extension-values.ts";
import { KeyUsageBit } from "../src/x509/extensions.ts";
import { openssl } from "./support/openssl.ts";
import { tempCa } from "./support/test-ca.ts";
import {
  ChainFiles,
  certtoolCrlVerify,
  opensslCrlVerify,
  opensslVerify,
  type Purpose,
  verifyWithAll,
  vfychain,
} from "./support/verifiers.ts";

interface CaCase {
  readonly name: string;
  readonly keySpec: KeySpec;
  readonly algorithm?: SigningAlgorithm;
  readonly twoTier: boolean;
}

const caCases: CaCase[] = [
  { name: "ECDSA P-256", keySpec: "ECC_NIST_P256", twoTier: true },
  { name: "ECDSA P-384", keySpec: "ECC_NIST_P384", twoTier: false },
  { name: "ECDSA P-521", keySpec: "ECC_NIST_P521", twoTier: true },
  {
    name: "RSA 2048 PKCS#1",
    keySpec: "RSA_2048",
    algorithm: "RSASSA_PKCS1_V1_5_SHA_256",
    twoTier: false,
  },
  { name: "RSA 2048 PSS", keySpec: "RSA_2048", algorithm: "RSASSA_PSS_SHA_256", twoTier: true },
  {
    name: "RSA 3072 PKCS#1",
    keySpec: "RSA_3072",
    algorithm: "RSASSA_PKCS1_V1_5_SHA_384",
    twoTier: true,
  },
  { name: "RSA 3072 PSS", keySpec: "RSA_3072", algorithm: "RSASSA_PSS_SHA_384", twoTier: false },
  {
    name: "RSA 4096 PKCS#1",
    keySpec: "RSA_4096",
    algorithm: "RSASSA_PKCS1_V1_5_SHA_512",
    twoTier: false,
  },
  { name: "RSA 4096 PSS", keySpec: "RSA_4096", algorithm: "RSASSA_PSS_SHA_512", twoTier: true },
];

const profiles: Record<string, Purpose[]> = {
  server: ["serverAuth"],
  client: ["clientAuth"],
  "server-client": ["serverAuth", "clientAuth"],
};

const work = mkdtempSync(join(tmpdir(), "interop-"));
const keyFiles = new Map<string, string>();

/** One subscriber key per CA key type (the CSR uses the same kind of key as the CA). */
function subscriberKey(spec: KeySpec): string {
  let file = keyFiles.get(spec);
  if (!file) {
    file = join(work, `${spec}.key`);
    const args = spec.startsWith("RSA")
      ? ["-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${spec.slice(4)}`]
      : ["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:P-${spec.slice(-3)}`];
    openssl(["genpkey", ...args, "-out", file]);
    keyFiles.set(spec, file);
  }
  return file;
}

function opensslCsr(c: CaCase, cn: string): string {
  const pss = c.algorithm?.startsWith("RSASSA_PSS")
    ? ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
    : [];
  return openssl([
    "req",
    "-new",
    "-key",
    subscriberKey(c.keySpec),
    "-subj",
    `/CN=${cn}/O=Example`,
    "-addext",
    `subjectAltName=DNS:${cn},DNS:alt.example.internal`,
    ...pss,
  ]).toString();
}

for (const c of caCases) {
  describe(`CA ${c.name}${c.twoTier ? " (root + issuing)" : " (single root)"}`, async () => {
    const ca = tempCa();
    await ca.init({
      issuing: { keySpec: c.keySpec, ...(c.algorithm ? { signingAlgorithm: c.algorithm } : {}) },
      twoTier: c.twoTier,
    });
    const chainPems = decodePemBlocks(await ca.chainPem()).map((b) =>
      encodePem("CERTIFICATE", b.der),
    );
    // Issuing CA first, root last (a single-root CA is both).
    const trustChain = chainPems;

    test("our strict DER reader accepts the CA certificates", () => {
      for (const pem of trustChain) {
        const cert = parseCertificate(decodePemBlocks(pem)[0]!.der);
        assert.equal(cert.version, 2);
      }
    });

    for (const [profile, purposes] of Object.entries(profiles)) {
      test(`profile ${profile}: OpenSSL, GnuTLS and NSS accept it`, async () => {
        const issued = await ca.issue(opensslCsr(c, `${profile}.example.internal`), profile);
        const cert = parseCertificate(issued.der);
        // keyEncipherment only for RSA keys that may serve TLS (RFC 5280 4.2.1.12).
        const usage = [...keyUsageBits(findExtension(cert, OID.keyUsage)!.value)];
        const rsaServer = c.keySpec.startsWith("RSA") && purposes.includes("serverAuth");
        assert.deepEqual(
          usage,
          rsaServer
            ? [KeyUsageBit.digitalSignature, KeyUsageBit.keyEncipherment]
            : [KeyUsageBit.digitalSignature],
        );
        const chain = new ChainFiles(issued.pem, trustChain);
        for (const purpose of purposes) {
          for (const [tool, verdict] of verifyWithAll(chain, purpose)) {
            assert.ok(
              verdict.ok,
              `${tool} rejected the ${profile} certificate for ${purpose}:\n${verdict.output}`,
            );
          }
        }
        const denied: Purpose | undefined =
          purposes.length === 1
            ? purposes[0] === "serverAuth"
              ? "clientAuth"
              : "serverAuth"
            : undefined;
        if (denied) {
          assert.equal(
            opensslVerify(chain, denied).ok,
            false,
            `openssl accepted a ${profile} certificate for ${denied}`,
          );
          assert.equal(
            vfychain(chain, denied).ok,
            false,
            `vfychain accepted a ${profile} certificate for ${denied}`,
          );
        }
      });
    }

    test("CRL verifies and revokes exactly the revoked certificate", async () => {
      const revoked = await ca.issue(opensslCsr(c, "revoked.example.internal"), "server");
      const kept = await ca.issue(opensslCsr(c, "kept.example.internal"), "server");
      await ca.revoke(revoked.serialHex, "keyCompromise");
      const files = new ChainFiles(revoked.pem, trustChain);
      const crl = files.write("crl.pem", encodePem("X509 CRL", await ca.crl()));
      const issuer = files.write("issuer.pem", trustChain[0]!);
      for (const [tool, verdict] of [
        ["openssl crl -verify", opensslCrlVerify(crl, issuer)],
        ["certtool --verify-crl", certtoolCrlVerify(crl, issuer)],
      ] as const) {
        assert.ok(verdict.ok, `${tool} rejected the CRL:\n${verdict.output}`);
      }
      const revokedVerdict = opensslVerify(files, "serverAuth", crl);
      assert.equal(revokedVerdict.ok, false);
      assert.match(revokedVerdict.output, /certificate revoked/);
      const keptVerdict = opensslVerify(new ChainFiles(kept.pem, trustChain), "serverAuth", crl);
      assert.ok(
        keptVerdict.ok,
        `the unrevoked certificate failed the CRL check:\n${keptVerdict.output}`,
      );
      if (c.twoTier) {
        const rootCrl = files.write("root-crl.pem", encodePem("X509 CRL", await ca.crl("root")));
        const root = files.write("root.pem", trustChain[trustChain.length - 1]!);
        assert.ok(opensslCrlVerify(rootCrl, root).ok, "the root's CRL does not verify");
        assert.ok(certtoolCrlVerify(rootCrl, root).ok, "certtool rejects the root's CRL");
      }
    });
  });
}
