/**
 * Strict structural parsing of a PKCS#10 CertificationRequest (RFC 2986). It only splits the
 * DER into its parts; csr/intake.ts decides whether the request is acceptable.
 */
import { contextTag, DerError, DerReader, Tag } from "../der/reader.ts";

export interface ParsedCsr {
  /** The whole CSR DER. */
  readonly der: Uint8Array;
  /** certificationRequestInfo, the signed bytes. */
  readonly info: Uint8Array;
  readonly version: number;
  /** The subject Name element. */
  readonly subject: Uint8Array;
  /** The SubjectPublicKeyInfo element. */
  readonly spki: Uint8Array;
  readonly attributes: ReadonlyArray<{ readonly oid: string; readonly values: Uint8Array }>;
  /** The signatureAlgorithm AlgorithmIdentifier element. */
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

export function parseCsrStructure(der: Uint8Array): ParsedCsr {
  const top = new DerReader(der);
  const csr = top.enter(Tag.SEQUENCE, "CertificationRequest");
  top.finish("CertificationRequest");
  const infoEl = csr.next(Tag.SEQUENCE, "certificationRequestInfo");
  const algEl = csr.next(Tag.SEQUENCE, "signatureAlgorithm");
  const sig = csr.bitString("signature");
  // Signatures are whole octets; a stray unused bit would let one CSR have two encodings.
  if (sig.unusedBits !== 0) throw new DerError("signature: BIT STRING must have no unused bits");
  csr.finish("CertificationRequest");

  const info = csr.readerOf(infoEl);
  const version = info.smallInteger("version");
  const subject = info.raw(info.next(Tag.SEQUENCE, "subject"));
  const spki = info.raw(info.next(Tag.SEQUENCE, "subjectPKInfo"));
  const attrs = info.enter(contextTag(0, true), "attributes");
  info.finish("certificationRequestInfo");
  const attributes: Array<{ oid: string; values: Uint8Array }> = [];
  while (!attrs.atEnd()) {
    const attr = attrs.enter(Tag.SEQUENCE, "Attribute");
    const oid = attr.oid("attribute type");
    const valuesEl = attr.next(Tag.SET, "attribute values");
    attr.finish("Attribute");
    attributes.push({ oid, values: attr.value(valuesEl) });
  }
  return {
    der,
    info: csr.raw(infoEl),
    version,
    subject,
    spki,
    attributes,
    signatureAlgorithm: csr.raw(algEl),
    signature: sig.bytes,
  };
}
