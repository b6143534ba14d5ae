/**
 * CA certificates and CA CSRs: a self-signed root, an issuing CA signed by a root (two-tier),
 * and a CSR for a CA key so that an existing offline root can sign it instead.
 */
import { createHash } from "node:crypto";
import { randomSerial } from "../certificate/serial.ts";
import { signStructure } from "../certificate/signed.ts";
import { encodeTbsCertificate } from "../certificate/tbs.ts";
import { OID } from "../der/oids.ts";
import { type Der, explicit, oid, sequence, set, smallInteger } from "../der/writer.ts";
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
import { encodeName, type NameEntry } from "../x509/name.ts";
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
  const subject = encodeName(options.subject);
  const keyId = keyIdentifier(spki);
  const tbs = encodeTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: algorithms[signer.algorithm].identifier,
    issuer: subject,
    subject,
    spki,
    ...validityWindow(options.validityDays, options.now),
    extensions: [
      basicConstraints(true),
      keyUsage(["keyCertSign", "cRLSign"]),
      subjectKeyIdentifier(keyId),
      authorityKeyIdentifier(keyId),
    ],
  });
  return signStructure(tbs, signer);
}

/** An issuing CA under `root`, limited to end-entity certificates (pathLenConstraint 0). */
export async function createIssuingCertificate(
  root: Authority,
  issuingSpki: Uint8Array,
  options: CaCertificateOptions,
): Promise<Uint8Array> {
  const tbs = encodeTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: root.algorithm.identifier,
    issuer: root.certificate.subject,
    subject: encodeName(options.subject),
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
  return signStructure(tbs, root.signer);
}

/** A PKCS#10 request for the CA key, asking for CA basic constraints and CA key usage. */
export async function createCaCsr(
  signer: Signer,
  subject: readonly NameEntry[],
): Promise<Uint8Array> {
  const spki = await signer.publicKey();
  const requested: Der = sequence(
    basicConstraints(true, 0),
    keyUsage(["digitalSignature", "keyCertSign", "cRLSign"]),
    subjectKeyIdentifier(keyIdentifier(spki)),
  );
  const info = sequence(
    smallInteger(0),
    encodeName(subject),
    spki,
    explicit(0, sequence(oid(OID.extensionRequest), set(requested))),
  );
  return signStructure(info, signer);
}

export function sha256Hex(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}
