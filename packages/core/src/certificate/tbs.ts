/**
 * The certificate the CA is about to sign, as a pkijs object (RFC 5280 4.1): version 3, a
 * positive serial, the CA's signature algorithm, issuer, validity, subject, key and extensions.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { DerReader, Tag } from "../der/reader.ts";
import { wholeSeconds } from "../der/time.ts";

export interface CertificateFields {
  /** Serial magnitude bytes (positive). */
  readonly serial: Uint8Array;
  /** AlgorithmIdentifier DER, exactly as the signer's algorithm writes it. */
  readonly signatureAlgorithm: Uint8Array;
  readonly issuer: pkijs.RelativeDistinguishedNames;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: pkijs.RelativeDistinguishedNames;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  readonly extensions: readonly pkijs.Extension[];
}

export function certificateObject(f: CertificateFields): pkijs.Certificate {
  const algorithm = algorithmObject(f.signatureAlgorithm);
  return new pkijs.Certificate({
    version: 2,
    serialNumber: new asn1js.Integer({ valueHex: positiveInteger(f.serial) }),
    signature: algorithm,
    issuer: f.issuer,
    notBefore: x509Time(f.notBefore),
    notAfter: x509Time(f.notAfter),
    subject: f.subject,
    subjectPublicKeyInfo: publicKeyObject(f.spki),
    extensions: [...f.extensions],
    signatureAlgorithm: algorithm,
  });
}

/**
 * The key as pkijs objects, from its two parts: the algorithm (a handful of distinct values,
 * read once each) and the key bits. Quicker than pkijs parsing the whole SPKI per certificate.
 */
function publicKeyObject(spki: Uint8Array): pkijs.PublicKeyInfo {
  const info = new DerReader(spki).enter(Tag.SEQUENCE, "SubjectPublicKeyInfo");
  const algorithm = info.raw(info.next(Tag.SEQUENCE, "algorithm"));
  const key = info.bitString("subjectPublicKey");
  return new pkijs.PublicKeyInfo({
    algorithm: algorithmObject(algorithm),
    subjectPublicKey: new asn1js.BitString({ valueHex: key.bytes, unusedBits: key.unusedBits }),
  });
}

/**
 * For a part every certificate of a CA repeats (the issuer, the signature algorithm, the
 * authority's extensions): pkijs builds its ASN.1 once and every TBS that includes it reuses
 * that block, which asn1js only reads when it encodes. Issuance builds a certificate a
 * millisecond; rebuilding the same parts each time was a fifth of it.
 */
export function withFixedSchema<T extends { toSchema(): asn1js.BaseBlock }>(part: T): T {
  const schema = part.toSchema();
  part.toSchema = () => schema;
  return part;
}

const algorithmObjects = new Map<string, pkijs.AlgorithmIdentifier>();

/** Read from the bytes, so PSS parameters and RSA's NULL come out exactly as given. */
function algorithmObject(identifier: Uint8Array): pkijs.AlgorithmIdentifier {
  const key = Buffer.from(identifier).toString("hex");
  let algorithm = algorithmObjects.get(key);
  if (!algorithm) {
    algorithm = withFixedSchema(pkijs.AlgorithmIdentifier.fromBER(identifier));
    algorithmObjects.set(key, algorithm);
  }
  return algorithm;
}

/**
 * RFC 5280 4.1.2.5: UTCTime through 2049 and GeneralizedTime from 2050 on (asn1js refuses a
 * UTCTime from 2050). Whole seconds: asn1js writes a fraction otherwise, which RFC 5280 forbids
 * and no verifier parses.
 */
export function x509Time(date: Date): pkijs.Time {
  const value = wholeSeconds(date);
  const year = value.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`year ${year} cannot be encoded`);
  return new pkijs.Time({
    type: year >= 2050 ? pkijs.TimeType.GeneralizedTime : pkijs.TimeType.UTCTime,
    value,
  });
}

/** INTEGER contents for a positive magnitude: leading zeros trimmed, a 0 byte before a high bit. */
function positiveInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  if (trimmed.length === 0 || (trimmed.length === 1 && trimmed[0] === 0)) {
    throw new RangeError("a serial number must be positive");
  }
  return (trimmed[0]! & 0x80) === 0 ? trimmed : Uint8Array.of(0, ...trimmed);
}
