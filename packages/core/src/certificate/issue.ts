/**
 * Leaf issuance: a checked CSR plus a policy decision become a signed, self-checked
 * certificate. Every extension comes from the profile; from the CSR only the subject, the
 * public key and the SANs that passed policy are used.
 */

import type * as pkijs from "pkijs";
import type { Authority } from "../ca/authority.ts";
import type { CheckedCsr } from "../csr/intake.ts";
import { OID } from "../der/oids.ts";
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
  type KeyUsageName,
  keyIdentifier,
  keyUsage,
  subjectAltName,
  subjectKeyIdentifier,
} from "../x509/extensions.ts";
import type { San } from "../x509/general-names.ts";
import { nameFromDer } from "../x509/name.ts";
import { selfCheckCertificate } from "./self-check.ts";
import { randomSerial } from "./serial.ts";
import { signCertificate } from "./signed.ts";
import { certificateObject, withFixedSchema } from "./tbs.ts";

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
  const fixed = authorityParts(authority);
  const certificate = certificateObject({
    serial,
    signatureAlgorithm: authority.algorithm.identifier,
    issuer: fixed.issuer,
    notBefore,
    notAfter,
    subject: nameFromDer(csr.subject.der),
    spki: csr.publicKey.spki,
    extensions: leafExtensions(fixed, csr, decision),
  });
  const { der } = await signCertificate(certificate, authority.signer);
  const serialHex = unsignedHex(serial);
  selfCheckCertificate(der, authority, {
    serialHex,
    subject: csr.subject.der,
    spki: csr.publicKey.spki,
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

function leafExtensions(
  fixed: AuthorityParts,
  csr: CheckedCsr,
  decision: PolicyDecision,
): pkijs.Extension[] {
  const purposes = decision.profile.extendedKeyUsage;
  const usages = leafKeyUsage(csr.publicKey.kind, purposes);
  return [
    LEAF_BASIC_CONSTRAINTS,
    once(`ku:${usages}`, () => keyUsage(usages)),
    once(`eku:${purposes}`, () => extendedKeyUsage(purposes.map((e) => ekuOids[e]))),
    subjectKeyIdentifier(keyIdentifier(csr.publicKey.spki)),
    fixed.authorityKeyIdentifier,
    // RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
    subjectAltName(decision.sans, csr.subject.entries.length === 0),
    fixed.crlDistributionPoint,
    fixed.authorityInfoAccess,
  ];
}

const LEAF_BASIC_CONSTRAINTS = withFixedSchema(basicConstraints(false));

/** Extensions that only a few values make (key usage, EKU sets), each built once. */
const builtOnce = new Map<string, pkijs.Extension>();
function once(key: string, build: () => pkijs.Extension): pkijs.Extension {
  let built = builtOnce.get(key);
  if (!built) {
    built = withFixedSchema(build());
    builtOnce.set(key, built);
  }
  return built;
}

/**
 * Every key signs (digitalSignature). An RSA key may also carry a TLS 1.2 key-transport
 * session key to a server (keyEncipherment), so only where serverAuth is granted: with
 * clientAuth alone, RFC 5280 4.2.1.12 finds keyEncipherment inconsistent (zlint
 * e_key_usage_and_extended_key_usage_inconsistent).
 */
function leafKeyUsage(
  keyKind: "rsa" | "ec",
  purposes: readonly (keyof typeof ekuOids)[],
): KeyUsageName[] {
  return keyKind === "rsa" && purposes.includes("serverAuth")
    ? ["digitalSignature", "keyEncipherment"]
    : ["digitalSignature"];
}

/** What every leaf of one CA repeats, built once per Authority (issuance is hot). */
interface AuthorityParts {
  readonly issuer: pkijs.RelativeDistinguishedNames;
  readonly authorityKeyIdentifier: pkijs.Extension;
  readonly crlDistributionPoint: pkijs.Extension;
  readonly authorityInfoAccess: pkijs.Extension;
}

const partsByAuthority = new WeakMap<Authority, AuthorityParts>();

function authorityParts(authority: Authority): AuthorityParts {
  let parts = partsByAuthority.get(authority);
  if (!parts) {
    parts = {
      // The CA's subject bytes as they are, so the issuer matches them exactly.
      issuer: withFixedSchema(nameFromDer(authority.certificate.subject)),
      authorityKeyIdentifier: withFixedSchema(authorityKeyIdentifier(authority.keyIdentifier)),
      crlDistributionPoint: withFixedSchema(crlDistributionPoint(authority.urls.crl)),
      authorityInfoAccess: withFixedSchema(authorityInfoAccess(authority.urls.caCertificate)),
    };
    partsByAuthority.set(authority, parts);
  }
  return parts;
}
