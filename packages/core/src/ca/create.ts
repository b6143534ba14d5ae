/**
 * CA certificates and CA CSRs: a self-signed root, an issuing CA signed by a root (two-tier),
 * and a CSR for a CA key so that an existing offline root can sign it instead. All are built
 * as pkijs objects and signed through the Signer port.
 */
import { createHash } from "node:crypto";
import { randomSerial } from "../certificate/serial.ts";
import { signCertificate } from "../certificate/signed.ts";
import { certificateObject } from "../certificate/tbs.ts";
import { buildCsr } from "../csr/build.ts";
import { validityWindow } from "../policy/evaluate.ts";
import { algorithms } from "../signer/algorithms.ts";
import type { Signer } from "../signer/signer.ts";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoint,
  keyIdentifier,
  keyUsage,
  subjectKeyIdentifier,
} from "../x509/extensions.ts";
import { type NameEntry, nameFromDer, nameObject } from "../x509/name.ts";
import type { Authority } from "./authority.ts";

export interface CaCertificateOptions {
  readonly subject: readonly NameEntry[];
  readonly validityDays: number;
  readonly now?: Date;
}

export async function createRootCertificate(
  signer: Signer,
  options: CaCertificateOptions,
): Promise<Uint8Array> {
  const spki = await signer.publicKey();
  const keyId = keyIdentifier(spki);
  const certificate = certificateObject({
    serial: randomSerial(),
    signatureAlgorithm: algorithms[signer.algorithm].identifier,
    issuer: nameObject(options.subject),
    subject: nameObject(options.subject),
    spki,
    ...validityWindow(options.validityDays, options.now),
    extensions: [
      basicConstraints(true),
      keyUsage(["keyCertSign", "cRLSign"]),
      subjectKeyIdentifier(keyId),
      authorityKeyIdentifier(keyId),
    ],
  });
  return (await signCertificate(certificate, signer)).der;
}

/** An issuing CA under `root`, limited to end-entity certificates (pathLenConstraint 0). */
export async function createIssuingCertificate(
  root: Authority,
  issuingSpki: Uint8Array,
  options: CaCertificateOptions,
): Promise<Uint8Array> {
  const certificate = certificateObject({
    serial: randomSerial(),
    signatureAlgorithm: root.algorithm.identifier,
    issuer: nameFromDer(root.certificate.subject),
    subject: nameObject(options.subject),
    spki: issuingSpki,
    ...validityWindow(options.validityDays, options.now),
    extensions: [
      basicConstraints(true, 0),
      keyUsage(["digitalSignature", "keyCertSign", "cRLSign"]),
      subjectKeyIdentifier(keyIdentifier(issuingSpki)),
      authorityKeyIdentifier(root.keyIdentifier),
      crlDistributionPoint(root.urls.crl),
      authorityInfoAccess(root.urls.caCertificate),
    ],
  });
  return (await signCertificate(certificate, root.signer)).der;
}

/** A PKCS#10 request for the CA key, asking for CA basic constraints and CA key usage. */
export async function createCaCsr(
  signer: Signer,
  subject: readonly NameEntry[],
): Promise<Uint8Array> {
  const spki = await signer.publicKey();
  return buildCsr({
    subject: nameObject(subject),
    spki,
    extensions: [
      basicConstraints(true, 0),
      keyUsage(["digitalSignature", "keyCertSign", "cRLSign"]),
      subjectKeyIdentifier(keyIdentifier(spki)),
    ],
    signatureAlgorithm: algorithms[signer.algorithm].identifier,
    sign: (info) => signer.sign(info),
  });
}

export function sha256Hex(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
