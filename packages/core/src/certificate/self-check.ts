/**
 * Nothing leaves the CA unchecked: before an issued certificate is returned it is parsed back
 * with the strict reader, its signature is verified under the CA key, and its subject, key,
 * SANs, validity, issuer and serial are compared with what was approved.
 */
import { verify } from "node:crypto";
import type { Authority } from "../ca/authority.ts";
import { OID } from "../der/oids.ts";
import { PkiError } from "../errors.ts";
import { findExtension, type ParsedCertificate, parseCertificate } from "../x509/certificate.ts";
import { parseSubjectAltNames, type San } from "../x509/general-names.ts";

export interface Approved {
  readonly serialHex: string;
  readonly subject: Uint8Array;
  /** The SubjectPublicKeyInfo the request proved possession of. */
  readonly spki: Uint8Array;
  readonly sans: readonly San[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export function selfCheckCertificate(
  der: Uint8Array,
  authority: Authority,
  approved: Approved,
): ParsedCertificate {
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(der);
  } catch (e) {
    throw new PkiError("SELF_CHECK_FAILED", `It does not parse: ${(e as Error).message}.`);
  }
  const fail = (what: string): never => {
    throw new PkiError("SELF_CHECK_FAILED", what);
  };
  const identifier = authority.algorithm.identifier;
  if (
    !equal(cert.signatureAlgorithm, identifier) ||
    !equal(cert.innerSignatureAlgorithm, identifier)
  ) {
    fail("Its signature algorithm identifiers do not match the CA's.");
  }
  const { hash, nodeOptions } = authority.algorithm;
  // A bare KeyObject skips node:crypto's option parsing, a measurable share of issuance time.
  const key =
    nodeOptions.padding === undefined
      ? authority.verificationKey
      : { key: authority.verificationKey, ...nodeOptions };
  const signatureOk = verify(hash, cert.tbs, key, cert.signature);
  if (!signatureOk) fail("Its signature does not verify under the CA key.");
  if (cert.serialHex !== approved.serialHex)
    fail("Its serial number differs from the one assigned.");
  if (!equal(cert.issuer, authority.certificate.subject))
    fail("Its issuer is not the CA's subject.");
  if (!equal(cert.subject, approved.subject))
    fail("Its subject differs from the approved subject.");
  if (!equal(cert.spki, approved.spki)) fail("Its public key differs from the requested key.");
  if (
    cert.notBefore.getTime() !== approved.notBefore.getTime() ||
    cert.notAfter.getTime() !== approved.notAfter.getTime()
  ) {
    fail("Its validity differs from the approved validity.");
  }
  const san = findExtension(cert, OID.subjectAltName);
  const sans = san ? parseSubjectAltNames(san.value) : [];
  if (
    sans.length !== approved.sans.length ||
    sans.some((s, i) => s.type !== approved.sans[i]!.type || s.value !== approved.sans[i]!.value)
  ) {
    fail("Its SANs differ from the approved SANs.");
  }
  return cert;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
