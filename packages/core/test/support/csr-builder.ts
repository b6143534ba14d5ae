/**
 * Hand-made PKCS#10 requests for the hostile-CSR corpus: every part is given as DER (so a
 * part can be as broken as a test needs), and the request is framed with src/der/writer.ts
 * and signed over the exact certificationRequestInfo bytes it carries.
 */
import { type KeyObject, sign } from "node:crypto";
import { OID } from "../../src/der/oids.ts";
import {
  bitString,
  boolean,
  type Der,
  explicit,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  tlv,
  utf8String,
} from "../../src/der/writer.ts";
import { algorithms, type SigningAlgorithm } from "../../src/signer/algorithms.ts";

export interface CsrParts {
  /** The version number (default 0), or a whole INTEGER element to place as is. */
  readonly version?: number | Der;
  /** The subject Name element. */
  readonly subject: Der;
  /** The SubjectPublicKeyInfo element. */
  readonly spki: Der;
  /** The whole [0] attributes element; default an empty one. See attributes(). */
  readonly attributes?: Der;
  /** The outer signatureAlgorithm AlgorithmIdentifier element. */
  readonly signatureAlgorithm: Der;
  /** Signs certificationRequestInfo; ignored when `signature` is given. */
  readonly sign?: (info: Uint8Array) => Uint8Array;
  /** The signature bytes to place as they are. */
  readonly signature?: Uint8Array;
  /** The signature BIT STRING's unused-bits count (default 0), for non-octet signatures. */
  readonly unusedBits?: number;
  /** The whole signature BIT STRING element, for broken encodings. */
  readonly signatureElement?: Der;
}

export function certificationRequestInfo(parts: CsrParts): Der {
  const version =
    parts.version === undefined
      ? smallInteger(0)
      : typeof parts.version === "number"
        ? smallInteger(parts.version)
        : parts.version;
  return sequence(version, parts.subject, parts.spki, parts.attributes ?? attributes());
}

/** The CertificationRequest DER. */
export function buildCsr(parts: CsrParts): Uint8Array {
  const info = certificationRequestInfo(parts);
  let signatureElement = parts.signatureElement;
  if (!signatureElement) {
    const signature = parts.signature ?? parts.sign?.(info);
    if (!signature) throw new TypeError("a CSR needs a signature or a signing function");
    signatureElement = bitString(signature, parts.unusedBits ?? 0);
  }
  return sequence(info, parts.signatureAlgorithm, signatureElement);
}

/** A signing function and its AlgorithmIdentifier for one of the CA's algorithms. */
export function signerFor(
  key: KeyObject,
  name: SigningAlgorithm,
): { signatureAlgorithm: Der; sign: (info: Uint8Array) => Uint8Array } {
  const details = algorithms[name];
  return {
    signatureAlgorithm: details.identifier,
    sign: (info) => sign(details.hash, info, { key, ...details.nodeOptions }),
  };
}

// Names -----------------------------------------------------------------------------------

/** One AttributeTypeAndValue; `value` is the whole string element. */
export const atv = (type: string, value: Der): Der => sequence(oid(type), value);
/** One RelativeDistinguishedName holding the given AttributeTypeAndValues. */
export const rdn = (...values: Der[]): Der => set(...values);
/** A Name from RDN elements (none for an empty subject). */
export const name = (...rdns: Der[]): Der => sequence(...rdns);
/** A string element with the given tag and raw bytes (for bytes a text API will not make). */
export const rawString = (tag: number, bytes: Uint8Array | string): Der =>
  tlv(tag, typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
/** The usual subject: one RDN with one UTF8String CN. */
export const cnName = (cn: string): Der => name(rdn(atv(OID.commonName, utf8String(cn))));

// Attributes and extensions ----------------------------------------------------------------

/** The [0] IMPLICIT attributes element from whole Attribute elements. */
export const attributes = (...attrs: Der[]): Der => explicit(0, ...attrs);
/** One Attribute: its type and its SET of values. */
export const attribute = (type: string, ...values: Der[]): Der =>
  sequence(oid(type), set(...values));
/** One Extension; `critical` TRUE is written, FALSE omitted as DER requires (or forced). */
export function extension(
  type: string,
  value: Der,
  critical?: boolean,
  forceCriticalFalse = false,
): Der {
  const flag = critical ? [boolean(true)] : forceCriticalFalse ? [boolean(false)] : [];
  return sequence(oid(type), ...flag, octetString(value));
}
/** The extensionRequest Attribute from whole Extension elements. */
export const extensionRequest = (...extensions: Der[]): Der =>
  attribute(OID.extensionRequest, sequence(...extensions));

// Subject alternative names ----------------------------------------------------------------

export const GN = { otherName: 0xa0, email: 0x81, dns: 0x82, dirName: 0xa4, uri: 0x86, ip: 0x87 };
export const dnsName = (host: string | Uint8Array): Der =>
  tlv(GN.dns, typeof host === "string" ? Buffer.from(host, "latin1") : host);
export const ipName = (bytes: Uint8Array): Der => tlv(GN.ip, bytes);
/** The subjectAltName Extension from whole GeneralName elements. */
export const sanExtension = (names: Der[], critical?: boolean): Der =>
  extension(OID.subjectAltName, sequence(...names), critical);
