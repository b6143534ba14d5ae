/**
 * Leaf issuance: a checked CSR plus a policy decision become a signed, self-checked
 * certificate. Every extension comes from the profile; from the CSR only the subject, the
 * public key and the SANs that passed policy are used.
 */
import type { Authority } from "../ca/authority.ts";
import type { CheckedCsr } from "../csr/intake.ts";
import { OID } from "../der/oids.ts";
import type { Der } from "../der/writer.ts";
import { encodePem } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import { type PolicyDecision, validityWindow } from "../policy/evaluate.ts";
import { unsignedHex } from "../x509/certificate.ts";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoint,
  extendedKeyUsage,
  keyIdentifier,
  keyUsage,
  subjectAltName,
  subjectKeyIdentifier,
} from "../x509/extensions.ts";
import type { San } from "../x509/general-names.ts";
import { selfCheckCertificate } from "./self-check.ts";
import { randomSerial } from "./serial.ts";
import { signStructure } from "./signed.ts";
import { encodeTbsCertificate } from "./tbs.ts";

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: string;
  readonly sans: readonly San[];
  readonly profile: string;
}

const ekuOids = { serverAuth: OID.serverAuth, clientAuth: OID.clientAuth } as const;

export async function issueCertificate(
  authority: Authority,
  csr: CheckedCsr,
  decision: PolicyDecision,
  now = new Date(),
): Promise<IssuedCertificate> {
  const { notBefore, notAfter } = validityWindow(decision.validityDays, now);
  if (notAfter > authority.certificate.notAfter) {
    throw new PkiError(
      "POLICY_VALIDITY_BEYOND_CA",
      `It would end ${notAfter.toISOString()}; the CA ends ${authority.certificate.notAfter.toISOString()}.`,
    );
  }
  const serial = randomSerial();
  const tbs = encodeTbsCertificate({
    serial,
    signatureAlgorithm: authority.algorithm.identifier,
    issuer: authority.certificate.subject,
    notBefore,
    notAfter,
    subject: csr.subject.der,
    spki: csr.publicKey.spki,
    extensions: leafExtensions(authority, csr, decision),
  });
  const der = await signStructure(tbs, authority.signer);
  const serialHex = unsignedHex(serial);
  selfCheckCertificate(der, authority, {
    serialHex,
    subject: csr.subject.der,
    sans: decision.sans,
    notBefore,
    notAfter,
  });
  return {
    der,
    pem: encodePem("CERTIFICATE", der),
    serialHex,
    notBefore,
    notAfter,
    subject: csr.subject.text,
    sans: decision.sans,
    profile: decision.profileName,
  };
}

function leafExtensions(authority: Authority, csr: CheckedCsr, decision: PolicyDecision): Der[] {
  const fixed = authorityExtensions(authority);
  return [
    basicConstraints(false),
    csr.publicKey.kind === "rsa" ? RSA_KEY_USAGE : EC_KEY_USAGE,
    extendedKeyUsage(decision.profile.extendedKeyUsage.map((e) => ekuOids[e])),
    subjectKeyIdentifier(keyIdentifier(csr.publicKey.spki)),
    fixed.authorityKeyIdentifier,
    // RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
    subjectAltName(decision.sans, csr.subject.entries.length === 0),
    fixed.crlDistributionPoint,
    fixed.authorityInfoAccess,
  ];
}

// RSA keys may do key transport in TLS 1.2 (keyEncipherment); ECDSA keys only sign.
const RSA_KEY_USAGE = keyUsage(["digitalSignature", "keyEncipherment"]);
const EC_KEY_USAGE = keyUsage(["digitalSignature"]);

/** Extensions every leaf of one CA repeats, encoded once per Authority (issuance is hot). */
const extensionsByAuthority = new WeakMap<
  Authority,
  ReturnType<typeof encodeAuthorityExtensions>
>();

function authorityExtensions(authority: Authority) {
  let fixed = extensionsByAuthority.get(authority);
  if (!fixed) {
    fixed = encodeAuthorityExtensions(authority);
    extensionsByAuthority.set(authority, fixed);
  }
  return fixed;
}

function encodeAuthorityExtensions(authority: Authority) {
  return {
    authorityKeyIdentifier: authorityKeyIdentifier(authority.keyIdentifier),
    crlDistributionPoint: crlDistributionPoint(authority.urls.crl),
    authorityInfoAccess: authorityInfoAccess(authority.urls.caCertificate),
  };
}
