/**
 * Signing a certificate built as a pkijs object. The TBS is encoded once by asn1js, read back
 * by our strict DER reader (a certificate that is not DER is never signed), signed through the
 * Signer port (KMS signs its digest), and the very bytes signed are the bytes published.
 */
import type * as pkijs from "pkijs";
import { bitString, sequence } from "../der/writer.ts";
import { PkiError } from "../errors.ts";
import { algorithms } from "../signer/algorithms.ts";
import type { Signer } from "../signer/signer.ts";
import { type ParsedTbsCertificate, parseTbsCertificate } from "../x509/certificate.ts";

export interface SignedCertificate {
  readonly der: Uint8Array;
  readonly tbs: ParsedTbsCertificate;
}

export async function signCertificate(
  certificate: pkijs.Certificate,
  signer: Signer,
): Promise<SignedCertificate> {
  const tbsDer = new Uint8Array(certificate.encodeTBS().toBER(false));
  let tbs: ParsedTbsCertificate;
  try {
    tbs = parseTbsCertificate(tbsDer);
  } catch (e) {
    throw new PkiError(
      "SELF_CHECK_FAILED",
      `Its TBSCertificate is not strict DER: ${(e as Error).message}.`,
    );
  }
  const identifier = algorithms[signer.algorithm].identifier;
  if (!Buffer.from(identifier).equals(tbs.innerSignatureAlgorithm)) {
    throw new PkiError(
      "SELF_CHECK_FAILED",
      `Its signature algorithm is not the signer's ${signer.algorithm}.`,
    );
  }
  const signature = await signer.sign(tbsDer);
  // The outer SEQUENCE { tbs, algorithm, signature } is framed around the signed bytes as
  // they are. pkijs's toSchema(false) would parse the whole TBS again with asn1js to frame it,
  // which costs more than all the rest of issuance (docs/decisions.md).
  return { der: sequence(tbsDer, identifier, bitString(signature)), tbs };
}
