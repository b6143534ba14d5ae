/**
 * The signature algorithms the whole pipeline can sign (AWS KMS, the local signer) and every
 * verifier accepts, named as KMS names them, with the exact AlgorithmIdentifier DER each one
 * puts in certificates, CRLs and CSRs (RSA with its NULL parameter, ECDSA without).
 */
import { constants } from "node:crypto";
import { OID, oidName } from "../der/oids.ts";
import { DerReader, Tag } from "../der/reader.ts";
import { type Der, explicit, NULL, oid, sequence, smallInteger } from "../der/writer.ts";

export const signingAlgorithms = [
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
  "ECDSA_SHA_256",
  "ECDSA_SHA_384",
  "ECDSA_SHA_512",
] as const;
export type SigningAlgorithm = (typeof signingAlgorithms)[number];

export const keySpecs = [
  "ECC_NIST_P256",
  "ECC_NIST_P384",
  "ECC_NIST_P521",
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
] as const;
export type KeySpec = (typeof keySpecs)[number];

export type HashName = "sha256" | "sha384" | "sha512";

export interface AlgorithmDetails {
  readonly name: SigningAlgorithm;
  readonly keyKind: "rsa" | "ec";
  readonly hash: HashName;
  readonly digestLength: number;
  /** AlgorithmIdentifier DER, byte-identical in TBS and outer signatureAlgorithm. */
  readonly identifier: Der;
  /** node:crypto sign/verify key options beyond the key itself. */
  readonly nodeOptions: { padding?: number; saltLength?: number };
}

const hashOids: Record<HashName, string> = {
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
};
const digestLengths: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

function pssIdentifier(hash: HashName): Der {
  const hashAlgorithm = sequence(oid(hashOids[hash]), NULL);
  return sequence(
    oid(OID.rsassaPss),
    sequence(
      explicit(0, hashAlgorithm),
      explicit(1, sequence(oid(OID.mgf1), hashAlgorithm)),
      explicit(2, smallInteger(digestLengths[hash])),
    ),
  );
}

function details(name: SigningAlgorithm): AlgorithmDetails {
  const hash = `sha${name.slice(-3)}` as HashName;
  const digestLength = digestLengths[hash];
  if (name.startsWith("ECDSA")) {
    const ecdsaOid = {
      sha256: OID.ecdsaWithSHA256,
      sha384: OID.ecdsaWithSHA384,
      sha512: OID.ecdsaWithSHA512,
    }[hash];
    return {
      name,
      keyKind: "ec",
      hash,
      digestLength,
      identifier: sequence(oid(ecdsaOid)),
      nodeOptions: {},
    };
  }
  if (name.startsWith("RSASSA_PSS")) {
    return {
      name,
      keyKind: "rsa",
      hash,
      digestLength,
      identifier: pssIdentifier(hash),
      nodeOptions: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestLength },
    };
  }
  const rsaOid = {
    sha256: OID.sha256WithRSAEncryption,
    sha384: OID.sha384WithRSAEncryption,
    sha512: OID.sha512WithRSAEncryption,
  }[hash];
  return {
    name,
    keyKind: "rsa",
    hash,
    digestLength,
    identifier: sequence(oid(rsaOid), NULL),
    nodeOptions: { padding: constants.RSA_PKCS1_PADDING },
  };
}

export const algorithms: Readonly<Record<SigningAlgorithm, AlgorithmDetails>> = Object.fromEntries(
  signingAlgorithms.map((name) => [name, details(name)]),
) as Record<SigningAlgorithm, AlgorithmDetails>;

/** Recognises an AlgorithmIdentifier by its exact DER (RSA PKCS#1 also without NULL). */
const byIdentifier = new Map<string, AlgorithmDetails>();
for (const d of Object.values(algorithms)) {
  byIdentifier.set(Buffer.from(d.identifier).toString("hex"), d);
  if (d.name.startsWith("RSASSA_PKCS1")) {
    // Some encoders omit the NULL; for proof of possession that is harmless.
    byIdentifier.set(Buffer.from(sequence(d.identifier.subarray(2, 2 + 11))).toString("hex"), d);
  }
}

export function algorithmFromIdentifier(identifier: Uint8Array): AlgorithmDetails | undefined {
  return byIdentifier.get(Buffer.from(identifier).toString("hex"));
}

export const ALLOWED_ALGORITHMS =
  "use RSA (PKCS#1 v1.5 or PSS) or ECDSA with SHA-256, SHA-384 or SHA-512";

/** A readable name for a signature AlgorithmIdentifier that algorithmFromIdentifier refuses. */
export function unsupportedAlgorithmName(identifier: Uint8Array): string {
  try {
    const oid = new DerReader(identifier).enter(Tag.SEQUENCE).oid();
    return oid === OID.rsassaPss
      ? "RSASSA-PSS with parameters other than SHA-256/384/512, MGF1 with the same hash and a salt of the hash length"
      : (refusedNames.get(oid) ?? oidName(oid));
  } catch {
    return "an unrecognised algorithm";
  }
}

const refusedNames = new Map<string, string>([
  [OID.sha1WithRSAEncryption, "sha1WithRSAEncryption (SHA-1)"],
  [OID.md5WithRSAEncryption, "md5WithRSAEncryption (MD5)"],
  [OID.md2WithRSAEncryption, "md2WithRSAEncryption (MD2)"],
  [OID.ecdsaWithSHA1, "ecdsa-with-SHA1 (SHA-1)"],
  [OID.sha224WithRSAEncryption, "sha224WithRSAEncryption (SHA-224)"],
  [OID.ecdsaWithSHA224, "ecdsa-with-SHA224 (SHA-224)"],
  [OID.dsaWithSHA1, "dsa-with-SHA1 (DSA)"],
  [OID.dsaWithSHA256, "dsa-with-SHA256 (DSA)"],
  [OID.ed25519, "Ed25519"],
  [OID.ed448, "Ed448"],
]);

/** Signing algorithms a KMS key spec supports, default first. */
export function algorithmsForKeySpec(spec: KeySpec): readonly SigningAlgorithm[] {
  switch (spec) {
    case "ECC_NIST_P256":
      return ["ECDSA_SHA_256"];
    case "ECC_NIST_P384":
      return ["ECDSA_SHA_384"];
    case "ECC_NIST_P521":
      return ["ECDSA_SHA_512"];
    default:
      return signingAlgorithms.filter((a) => a.startsWith("RSASSA"));
  }
}

/** The key spec of a public key, as KMS would report it. */
export function keySpecOf(key: { kind: "rsa" | "ec"; bits: number }): KeySpec | undefined {
  if (key.kind === "ec") {
    return ({ 256: "ECC_NIST_P256", 384: "ECC_NIST_P384", 521: "ECC_NIST_P521" } as const)[
      key.bits as 256 | 384 | 521
    ];
  }
  return ({ 2048: "RSA_2048", 3072: "RSA_3072", 4096: "RSA_4096" } as const)[
    key.bits as 2048 | 3072 | 4096
  ];
}
