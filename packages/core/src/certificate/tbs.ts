/** TBSCertificate encoding (RFC 5280 4.1), v3, from already-encoded parts. */
import { encodeTime } from "../der/time.ts";
import { type Der, explicit, sequence, smallInteger, unsignedInteger } from "../der/writer.ts";

export interface TbsFields {
  /** Serial magnitude bytes (positive). */
  readonly serial: Uint8Array;
  /** AlgorithmIdentifier DER; must equal the outer signatureAlgorithm. */
  readonly signatureAlgorithm: Der;
  readonly issuer: Der;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Der;
  readonly spki: Der;
  readonly extensions: readonly Der[];
}

export function encodeTbsCertificate(f: TbsFields): Der {
  return sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(f.serial),
    f.signatureAlgorithm,
    f.issuer,
    sequence(encodeTime(f.notBefore), encodeTime(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, sequence(...f.extensions)),
  );
}
