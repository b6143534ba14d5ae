/**
 * PKCS#10 requests the project makes itself (the CA key's request for an offline root, the
 * local gateways' request, `pki renew`'s request), built with pkijs. The
 * CertificationRequestInfo is encoded once, signed, and published as the very bytes signed.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID } from "../der/oids.ts";

export interface CsrFields {
  readonly subject: pkijs.RelativeDistinguishedNames;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** Requested in an extensionRequest attribute; none leaves the attributes empty. */
  readonly extensions: readonly pkijs.Extension[];
  /** AlgorithmIdentifier DER of the signature `sign` makes. */
  readonly signatureAlgorithm: Uint8Array;
  readonly sign: (info: Uint8Array) => Promise<Uint8Array> | Uint8Array;
}

/** The CertificationRequest DER. */
export async function buildCsr(fields: CsrFields): Promise<Uint8Array> {
  const request = new pkijs.CertificationRequest({
    version: 0,
    subject: fields.subject,
    subjectPublicKeyInfo: pkijs.PublicKeyInfo.fromBER(fields.spki),
    signatureAlgorithm: pkijs.AlgorithmIdentifier.fromBER(fields.signatureAlgorithm),
    // RFC 2986: the attributes field is always there, if empty.
    attributes:
      fields.extensions.length === 0
        ? []
        : [
            new pkijs.Attribute({
              type: OID.extensionRequest,
              values: [new pkijs.Extensions({ extensions: [...fields.extensions] }).toSchema()],
            }),
          ],
  });
  // The info is the first element of the whole (pkijs keeps encodeTBS protected here).
  const info = new Uint8Array(request.toSchema(true).valueBlock.value[0]!.toBER(false));
  request.tbsView = info;
  request.signatureValue = new asn1js.BitString({ valueHex: await fields.sign(info) });
  return new Uint8Array(request.toSchema(false).toBER(false));
}
