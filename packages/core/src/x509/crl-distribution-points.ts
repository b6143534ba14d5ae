/** Where a certificate says its issuer's CRL is: the URIs of its CRL distribution points. */
import { OID } from "../der/oids.ts";
import { contextTag, DerReader, Tag } from "../der/reader.ts";
import { findExtension, type ParsedCertificate } from "./certificate.ts";

/** The http(s) URIs of a certificate's CRL distribution points (fullName only). */
export function crlUrls(certificate: ParsedCertificate): string[] {
  const extension = findExtension(certificate, OID.cRLDistributionPoints);
  if (!extension) return [];
  const urls: string[] = [];
  try {
    const points = new DerReader(extension.value).enter(Tag.SEQUENCE, "CRLDistributionPoints");
    while (!points.atEnd()) {
      const point = points.enter(Tag.SEQUENCE, "DistributionPoint");
      const name = point.optional(contextTag(0, true), "distributionPoint");
      if (!name) continue;
      const choice = point.readerOf(name);
      const fullName = choice.optional(contextTag(0, true), "fullName");
      if (!fullName) continue;
      const names = choice.readerOf(fullName);
      while (!names.atEnd()) {
        const general = names.next(undefined, "GeneralName");
        // [6] uniformResourceIdentifier, an IA5String.
        if (general.tag !== 0x86) continue;
        const uri = String.fromCharCode(...names.value(general));
        if (/^https?:\/\//i.test(uri)) urls.push(uri);
      }
    }
  } catch {
    // A malformed extension names no usable point.
  }
  return urls;
}
