/**
 * The `local` bench's client side, common to both servers: one P-256 key and its CSR (from
 * OpenSSL, as a client's would be), and the check every returned certificate must pass, so a
 * server answering fast with something else cannot look fast.
 */
import { execFileSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { normaliseSerial } from "@spca/core/certificate/serial";

export const LEAF_CN = "bench.example.internal";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

export interface Leaf {
  readonly csrDer: Uint8Array;
  readonly csrPem: string;
  /** The key's SubjectPublicKeyInfo, which every certificate must carry. */
  readonly spki: Buffer;
}

/** Both servers sign this one CSR: ours takes the same CSR again (no duplicate check). */
export function makeLeaf(dir: string): Leaf {
  const keyFile = join(dir, "leaf.key.pem");
  execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile]);
  const request = (form: "DER" | "PEM") =>
    execFileSync("openssl", [
      "req",
      "-new",
      "-key",
      keyFile,
      "-sha256",
      "-outform",
      form,
      "-subj",
      `/CN=${LEAF_CN}`,
      "-addext",
      `subjectAltName=DNS:${LEAF_CN}`,
    ]);
  const spki = createPublicKey(readFileSync(keyFile)).export({ type: "spki", format: "der" });
  return { csrDer: new Uint8Array(request("DER")), csrPem: request("PEM").toString("utf8"), spki };
}

/**
 * Throws unless `pem` is a certificate for the leaf's key and subject, for client
 * authentication, signed by `issuer`. Returns its serial (lowercase hex, as the API writes it).
 */
export function checkLeaf(pem: string, issuer: X509Certificate, leaf: Leaf): string {
  const cert = new X509Certificate(pem);
  if (!cert.subject.split("\n").includes(`CN=${LEAF_CN}`))
    throw new Error(`wrong subject: ${cert.subject}`);
  if (!cert.publicKey.export({ type: "spki", format: "der" }).equals(leaf.spki))
    throw new Error("the certificate is not for the CSR's key");
  if (!cert.keyUsage?.includes(CLIENT_AUTH)) throw new Error("no clientAuth extended key usage");
  if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
    throw new Error(`not signed by ${issuer.subject}`);
  return normaliseSerial(cert.serialNumber)!;
}
