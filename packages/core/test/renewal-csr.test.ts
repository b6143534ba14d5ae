/**
 * The CSR `pki renew` sends: built with pkijs from the renewed certificate, it must pass our
 * strict intake, verify with OpenSSL, carry the certificate's subject bytes and SANs, and hold a
 * key of the same kind (RSA of the same size, EC on the same curve).
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { checkCsr } from "../src/csr/intake.ts";
import { decodePemBlocks, encodePem } from "../src/encoding/pem.ts";
import { keyLike, renewalCsr } from "../src/renewal/csr.ts";
import { parseCertificate } from "../src/x509/certificate.ts";
import { openssl } from "./support/openssl.ts";
import { scratchDir } from "./support/scratch.ts";

const dir = scratchDir("renewal-csr-");

function selfSigned(name: string, keyArgs: readonly string[], sans: string | null) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl([
    "req",
    "-x509",
    ...keyArgs,
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "30",
    "-subj",
    "/CN=app.example.internal/O=Example/OU=Payments",
    ...(sans ? ["-addext", `subjectAltName=${sans}`] : []),
  ]);
  return {
    key: createPrivateKey(readFileSync(key)),
    der: decodePemBlocks(readFileSync(cert, "utf8"))[0]!.der,
  };
}

describe("the renewal CSR", () => {
  const cases = [
    ["EC P-256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "EC P-256"],
    ["EC P-384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "EC P-384"],
    ["RSA 3072", ["-newkey", "rsa:3072"], "RSA 3072"],
  ] as const;
  for (const [label, keyArgs, expected] of cases) {
    test(`${label}: a new key of the same kind, the same names, strict DER, verified by OpenSSL`, async () => {
      const old = selfSigned(
        label.replace(" ", "-"),
        keyArgs,
        "DNS:app.example.internal,IP:10.1.2.3,URI:spiffe://example.internal/app",
      );
      const key = keyLike(old.key);
      const der = await renewalCsr(old.der, key);
      const checked = checkCsr(der);
      assert.equal(checked.keyDescription, expected);
      assert.deepEqual(
        checked.sans.map((s) => `${s.type}:${s.value}`),
        ["dns:app.example.internal", "ip:10.1.2.3", "uri:spiffe://example.internal/app"],
      );
      // The subject's bytes as the certificate has them.
      assert.deepEqual(
        Buffer.from(checked.subject.der),
        Buffer.from(parseCertificate(old.der).subject),
      );
      const file = join(dir, `${label}.csr`);
      writeFileSync(file, encodePem("CERTIFICATE REQUEST", der));
      // Throws unless OpenSSL verifies the signature.
      openssl(["req", "-in", file, "-noout", "-verify"]);
      assert.notDeepEqual(
        key.export({ format: "der", type: "pkcs8" }),
        old.key.export({ format: "der", type: "pkcs8" }),
      );
    });
  }

  test("a certificate without SANs: the attributes are there and empty, as RFC 2986 wants", async () => {
    const old = selfSigned(
      "no-sans",
      ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
      null,
    );
    const der = await renewalCsr(old.der, keyLike(old.key));
    const file = join(dir, "no-sans.csr");
    writeFileSync(file, encodePem("CERTIFICATE REQUEST", der));
    const text = openssl(["req", "-in", file, "-noout", "-text"]).toString();
    assert.match(text, /Attributes:\s*\n\s*\(none\)/);
    assert.ok(Buffer.from(der).includes(Buffer.from([0xa0, 0x00])), "an empty [0] attributes");
    openssl(["req", "-in", file, "-noout", "-verify"]);
  });
});
