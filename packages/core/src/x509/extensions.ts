/**
 * The extensions the CA writes, as pkijs objects. Each returns a complete pkijs Extension; the
 * profile (for leaves) or the CA lifecycle (for CA certificates) decides which appear and in
 * which order. pkijs writes `critical` only when TRUE, as DER requires of a DEFAULT FALSE.
 */
import { createHash } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID } from "../der/oids.ts";
import { DerReader, Tag } from "../der/reader.ts";
import { generalNamesOf, type San, uriName } from "./general-names.ts";

/** Anything pkijs or asn1js can turn into an ASN.1 value. */
type Value = asn1js.BaseBlock | { toSchema(): asn1js.BaseBlock };

export function extension(id: string, critical: boolean, value: Value): pkijs.Extension {
  const schema = value instanceof asn1js.BaseBlock ? value : value.toSchema();
  return new pkijs.Extension({ extnID: id, critical, extnValue: schema.toBER(false) });
}

/** Critical, as RFC 5280 4.2.1.9 asks of CA certificates and the Baseline Requirements of leaves. */
export function basicConstraints(ca: boolean, pathLength?: number): pkijs.Extension {
  return extension(
    OID.basicConstraints,
    true,
    new pkijs.BasicConstraints(
      ca && pathLength !== undefined ? { cA: true, pathLenConstraint: pathLength } : { cA: ca },
    ),
  );
}

export const KeyUsageBit = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;
export type KeyUsageName = keyof typeof KeyUsageBit;

export function keyUsage(usages: readonly KeyUsageName[]): pkijs.Extension {
  return extension(OID.keyUsage, true, namedBits(usages.map((u) => KeyUsageBit[u])));
}

/** A named-bit BIT STRING, trimmed of trailing zero bits as DER requires (X.690 11.2.2). */
function namedBits(bits: readonly number[]): asn1js.BitString {
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return new asn1js.BitString({ valueHex: bytes, unusedBits: 7 - (highest & 7) });
}

export function extendedKeyUsage(purposeOids: readonly string[]): pkijs.Extension {
  return extension(
    OID.extKeyUsage,
    false,
    new pkijs.ExtKeyUsage({ keyPurposes: [...purposeOids] }),
  );
}

export function subjectKeyIdentifier(keyId: Uint8Array): pkijs.Extension {
  return extension(OID.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: keyId }));
}

export function authorityKeyIdentifier(keyId: Uint8Array): pkijs.Extension {
  return extension(
    OID.authorityKeyIdentifier,
    false,
    new pkijs.AuthorityKeyIdentifier({
      keyIdentifier: new asn1js.OctetString({ valueHex: keyId }),
    }),
  );
}

export function subjectAltName(sans: readonly San[], critical: boolean): pkijs.Extension {
  return extension(OID.subjectAltName, critical, generalNamesOf(sans));
}

/** One distribution point with a full name: the URL of the DER CRL. */
export function crlDistributionPoint(url: string): pkijs.Extension {
  return extension(
    OID.cRLDistributionPoints,
    false,
    new pkijs.CRLDistributionPoints({
      distributionPoints: [new pkijs.DistributionPoint({ distributionPoint: [uriName(url)] })],
    }),
  );
}

/** caIssuers: where the issuer's certificate is published, for clients that build the chain. */
export function authorityInfoAccess(caIssuersUrl: string): pkijs.Extension {
  return extension(
    OID.authorityInfoAccess,
    false,
    new pkijs.InfoAccess({
      accessDescriptions: [
        new pkijs.AccessDescription({
          accessMethod: OID.caIssuers,
          accessLocation: uriName(caIssuersUrl),
        }),
      ],
    }),
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
