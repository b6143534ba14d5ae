/**
 * SHA-256 over a CRL's revokedCertificates element as encoded: two builders given the same
 * entries must write the same bytes, whatever their times and signatures.
 */
import { createHash } from "node:crypto";
import { DerReader, Tag } from "@spca/core/der/reader";

export function entriesDigest(crl: Uint8Array): string {
  const tbs = new DerReader(crl).enter(Tag.SEQUENCE).enter(Tag.SEQUENCE);
  tbs.next(Tag.INTEGER); // version
  tbs.next(Tag.SEQUENCE); // signature
  tbs.next(Tag.SEQUENCE); // issuer
  tbs.next(); // thisUpdate
  tbs.next(); // nextUpdate
  return createHash("sha256")
    .update(tbs.raw(tbs.next(Tag.SEQUENCE, "revokedCertificates")))
    .digest("hex");
}
