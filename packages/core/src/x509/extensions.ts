/**
 * Encoders for the extensions the CA writes. Each returns a complete Extension element; the
 * profile (for leaves) or the CA lifecycle (for CA certificates) decides which appear.
 */
import { createHash } from "node:crypto";
import { OID } from "../der/oids.ts";
import { DerReader, Tag } from "../der/reader.ts";
import {
  boolean,
  type Der,
  explicit,
  implicitPrimitive,
  namedBits,
  octetString,
  oid,
  sequence,
  smallInteger,
  tlv,
} from "../der/writer.ts";
import { encodeSubjectAltNames, type San, uriGeneralName } from "./general-names.ts";

export function extension(id: string, critical: boolean, value: Der): Der {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

export function basicConstraints(ca: boolean, pathLength?: number): Der {
  const parts: Der[] = [];
  if (ca) parts.push(boolean(true));
  if (ca && pathLength !== undefined) parts.push(smallInteger(pathLength));
  return extension(OID.basicConstraints, true, sequence(...parts));
}

export const KeyUsageBit = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsageName = keyof typeof KeyUsageBit;

export function keyUsage(usages: readonly KeyUsageName[]): Der {
  return extension(OID.keyUsage, true, namedBits(usages.map((u) => KeyUsageBit[u])));
}

export function extendedKeyUsage(purposeOids: readonly string[]): Der {
  return extension(OID.extKeyUsage, false, sequence(...purposeOids.map(oid)));
}

export function subjectKeyIdentifier(keyId: Uint8Array): Der {
  return extension(OID.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifier(keyId: Uint8Array): Der {
  return extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId)));
}

export function subjectAltName(sans: readonly San[], critical: boolean): Der {
  return extension(OID.subjectAltName, critical, encodeSubjectAltNames(sans));
}

export function crlDistributionPoint(url: string): Der {
  // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
  return extension(
    OID.cRLDistributionPoints,
    false,
    sequence(sequence(explicit(0, tlv(0xa0, uriGeneralName(url))))),
  );
}

export function authorityInfoAccess(caIssuersUrl: string): Der {
  return extension(
    OID.authorityInfoAccess,
    false,
    sequence(sequence(oid(OID.caIssuers), uriGeneralName(caIssuersUrl))),
  );
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  const outer = new DerReader(spki);
  const seq = outer.enter(Tag.SEQUENCE, "SubjectPublicKeyInfo");
  seq.next(Tag.SEQUENCE, "algorithm");
  const key = seq.bitString("subjectPublicKey");
  return new Uint8Array(createHash("sha1").update(key.bytes).digest());
}
