/**
 * Reading a CRL back: header fields, extensions, and the revoked entries as a lazy iterator
 * (a million-entry CRL is walked, never materialised).
 */

import { OID } from "../der/oids.ts";
import { contextTag, DerReader, Tag } from "../der/reader.ts";
import { decodeTime } from "../der/time.ts";
import { unsignedHex } from "../x509/certificate.ts";
import { readExtensions } from "../x509/extension-list.ts";
import { type RevocationReason, reasonName } from "./reasons.ts";

export interface ParsedCrl {
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly number: bigint | undefined;
  entries(): Generator<{ serialHex: string; revokedAt: Date; reason: RevocationReason }>;
}

export function parseCrl(der: Uint8Array): ParsedCrl {
  const top = new DerReader(der);
  const crl = top.enter(Tag.SEQUENCE, "CertificateList");
  top.finish("CertificateList");
  const tbsEl = crl.next(Tag.SEQUENCE, "tbsCertList");
  const signatureAlgorithm = crl.raw(crl.next(Tag.SEQUENCE, "signatureAlgorithm"));
  const signature = crl.bitString("signatureValue").bytes;
  crl.finish("CertificateList");
  const tbs = crl.readerOf(tbsEl);
  if (tbs.peekTag() === Tag.INTEGER) tbs.smallInteger("version");
  tbs.next(Tag.SEQUENCE, "signature");
  const issuer = tbs.raw(tbs.next(Tag.SEQUENCE, "issuer"));
  const tu = tbs.next(undefined, "thisUpdate");
  const thisUpdate = decodeTime(tu.tag, tbs.value(tu), "thisUpdate");
  let nextUpdate: Date | undefined;
  if (tbs.peekTag() === Tag.UTC_TIME || tbs.peekTag() === Tag.GENERALIZED_TIME) {
    const nu = tbs.next(undefined, "nextUpdate");
    nextUpdate = decodeTime(nu.tag, tbs.value(nu), "nextUpdate");
  }
  const revoked = tbs.optional(Tag.SEQUENCE, "revokedCertificates");
  let number: bigint | undefined;
  if (tbs.peekTag() === contextTag(0, true)) {
    const wrapper = tbs.enter(contextTag(0, true), "crlExtensions");
    for (const ext of readExtensions(wrapper.enter(Tag.SEQUENCE, "Extensions"))) {
      if (ext.oid === OID.cRLNumber)
        number = BigInt(`0x${unsignedHex(new DerReader(ext.value).integer("cRLNumber"))}`);
    }
  }
  tbs.finish("tbsCertList");
  return {
    tbs: crl.raw(tbsEl),
    signatureAlgorithm,
    signature,
    issuer,
    thisUpdate,
    nextUpdate,
    number,
    *entries() {
      if (!revoked) return;
      const list = tbs.readerOf(revoked);
      while (!list.atEnd()) {
        const entry = list.enter(Tag.SEQUENCE, "revokedCertificate");
        const serialHex = unsignedHex(entry.integer("userCertificate"));
        const t = entry.next(undefined, "revocationDate");
        let reason: RevocationReason = "unspecified";
        if (!entry.atEnd()) {
          for (const ext of readExtensions(entry.enter(Tag.SEQUENCE, "crlEntryExtensions"))) {
            if (ext.oid === OID.reasonCode) {
              const value = new DerReader(ext.value).value(
                new DerReader(ext.value).next(Tag.ENUMERATED),
              );
              reason = reasonName(value[0] ?? 0) ?? "unspecified";
            }
          }
        }
        yield { serialHex, revokedAt: decodeTime(t.tag, entry.value(t)), reason };
      }
    },
  };
}
