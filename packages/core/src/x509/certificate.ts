/**
 * Strict parsing of an X.509 v3 certificate into the fields the CA checks: for importing CA
 * certificates, self-checking what it issued, and inspection.
 */
import { contextTag, DerReader, Tag } from "../der/reader.ts";
import { decodeTime } from "../der/time.ts";
import { type Extension, readExtensions } from "./extension-list.ts";

export interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly version: number;
  /** Serial as unsigned lowercase hex without leading zeros. */
  readonly serialHex: string;
  readonly innerSignatureAlgorithm: Uint8Array;
  readonly issuer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Uint8Array;
  readonly spki: Uint8Array;
  readonly extensions: readonly Extension[];
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const top = new DerReader(der);
  const cert = top.enter(Tag.SEQUENCE, "Certificate");
  top.finish("Certificate");
  const tbsEl = cert.next(Tag.SEQUENCE, "tbsCertificate");
  const signatureAlgorithm = cert.raw(cert.next(Tag.SEQUENCE, "signatureAlgorithm"));
  const signature = cert.bitString("signatureValue").bytes;
  cert.finish("Certificate");
  return { der, ...parseTbsCertificate(cert.raw(tbsEl)), signatureAlgorithm, signature };
}

export type ParsedTbsCertificate = Omit<
  ParsedCertificate,
  "der" | "signatureAlgorithm" | "signature"
>;

/** Strictly reads a whole TBSCertificate element (the bytes a CA signs). */
export function parseTbsCertificate(raw: Uint8Array): ParsedTbsCertificate {
  const outer = new DerReader(raw);
  const tbs = outer.enter(Tag.SEQUENCE, "tbsCertificate");
  outer.finish("tbsCertificate");
  let version = 0;
  if (tbs.peekTag() === contextTag(0, true)) {
    const v = tbs.enter(contextTag(0, true), "version");
    version = v.smallInteger("version");
    v.finish("version");
  }
  const serial = tbs.integer("serialNumber");
  const innerSignatureAlgorithm = tbs.raw(tbs.next(Tag.SEQUENCE, "signature"));
  const issuer = tbs.raw(tbs.next(Tag.SEQUENCE, "issuer"));
  const validity = tbs.enter(Tag.SEQUENCE, "validity");
  const nb = validity.next(undefined, "notBefore");
  const na = validity.next(undefined, "notAfter");
  validity.finish("validity");
  const subject = tbs.raw(tbs.next(Tag.SEQUENCE, "subject"));
  const spki = tbs.raw(tbs.next(Tag.SEQUENCE, "subjectPublicKeyInfo"));
  tbs.optional(contextTag(1, false), "issuerUniqueID");
  tbs.optional(contextTag(2, false), "subjectUniqueID");
  let extensions: Extension[] = [];
  if (tbs.peekTag() === contextTag(3, true)) {
    const wrapper = tbs.enter(contextTag(3, true), "extensions");
    const list = wrapper.enter(Tag.SEQUENCE, "Extensions");
    wrapper.finish("extensions");
    extensions = readExtensions(list);
  }
  tbs.finish("tbsCertificate");
  return {
    tbs: raw,
    version,
    serialHex: unsignedHex(serial),
    innerSignatureAlgorithm,
    issuer,
    notBefore: decodeTime(nb.tag, validity.value(nb), "notBefore"),
    notAfter: decodeTime(na.tag, validity.value(na), "notAfter"),
    subject,
    spki,
    extensions,
  };
}

export function unsignedHex(integer: Uint8Array): string {
  const hex = Buffer.from(integer)
    .toString("hex")
    .replace(/^(00)+/, "");
  return hex === "" ? "00" : hex;
}

export function findExtension(cert: ParsedCertificate, id: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === id);
}
