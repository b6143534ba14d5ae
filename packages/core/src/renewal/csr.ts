/**
 * The CSR a client renews with: the renewed certificate's subject and SANs, copied as they
 * are (so the names cannot widen), for a key of the same kind and size, signed by that key.
 * Built with pkijs (the design's library for X.509 structures); node:crypto signs.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import * as pkijs from "pkijs";
import { buildCsr } from "../csr/build.ts";
import { OID } from "../der/oids.ts";
import { PkiError } from "../errors.ts";
import { algorithms, type SigningAlgorithm } from "../signer/algorithms.ts";

/** A new key like `key`: RSA of the same modulus size, or EC on the same curve. */
export function keyLike(key: KeyObject): KeyObject {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa" && details.modulusLength) {
    return generateKeyPairSync("rsa", { modulusLength: details.modulusLength }).privateKey;
  }
  if (key.asymmetricKeyType === "ec" && details.namedCurve) {
    return generateKeyPairSync("ec", { namedCurve: details.namedCurve }).privateKey;
  }
  throw new PkiError(
    "KEY_ALGORITHM_UNSUPPORTED",
    `The key is ${key.asymmetricKeyType ?? "of an unknown type"}; renewal makes RSA and EC keys only.`,
  );
}

/** The hash each curve is signed with, as the CA's algorithms pair them. */
const ecAlgorithm: Record<string, SigningAlgorithm> = {
  prime256v1: "ECDSA_SHA_256",
  "P-256": "ECDSA_SHA_256",
  secp384r1: "ECDSA_SHA_384",
  "P-384": "ECDSA_SHA_384",
  secp521r1: "ECDSA_SHA_512",
  "P-521": "ECDSA_SHA_512",
};

function algorithmFor(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === "rsa") return "RSASSA_PKCS1_V1_5_SHA_256";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const name = curve ? ecAlgorithm[curve] : undefined;
  if (!name)
    throw new PkiError("KEY_EC_CURVE_UNSUPPORTED", `The key's curve ${curve} is not supported.`);
  return name;
}

/** A PKCS#10 request (DER) for `certificateDer`'s subject and SANs, signed by `key`. */
export async function renewalCsr(certificateDer: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  const certificate = pkijs.Certificate.fromBER(certificateDer);
  const san = certificate.extensions?.find((e) => e.extnID === OID.subjectAltName);
  const details = algorithms[algorithmFor(key)];
  return buildCsr({
    // As parsed: pkijs writes names back with the bytes they were read from.
    subject: certificate.subject,
    spki: new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" })),
    extensions: san
      ? [
          new pkijs.Extension({
            extnID: OID.subjectAltName,
            critical: san.critical,
            extnValue: san.extnValue.getValue(),
          }),
        ]
      : [],
    signatureAlgorithm: details.identifier,
    sign: (info) => new Uint8Array(sign(details.hash, info, { key, ...details.nodeOptions })),
  });
}
