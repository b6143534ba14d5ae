/**
 * SubjectPublicKeyInfo parsing and the structural key rules: RSA or EC on P-256/384/521 only,
 * EC points on their curve, RSA numbers well formed. Weak-key fingerprints live beside this
 * module (rsa-weakness.ts); this one answers "what key is this and is it well formed".
 */

import { OID, oidName } from "../der/oids.ts";
import { DerError, DerReader, Tag } from "../der/reader.ts";
import { PkiError } from "../errors.ts";

export type CurveName = "P-256" | "P-384" | "P-521";

export type PublicKeyInfo =
  | {
      readonly kind: "rsa";
      /** The SubjectPublicKeyInfo DER, as received. */
      readonly spki: Uint8Array;
      readonly bits: number;
      /** Unsigned big-endian modulus, no leading zero. */
      readonly modulus: Uint8Array;
      readonly exponent: bigint;
    }
  | {
      readonly kind: "ec";
      readonly spki: Uint8Array;
      readonly curve: CurveName;
      readonly bits: number;
      /** The uncompressed point 04 || X || Y. */
      readonly point: Uint8Array;
    };

interface Curve {
  readonly name: CurveName;
  readonly bits: number;
  readonly p: bigint;
  readonly b: bigint;
}

// a = -3 for all three NIST prime curves.
const curves = new Map<string, Curve>([
  [
    OID.secp256r1,
    {
      name: "P-256",
      bits: 256,
      p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
      b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    },
  ],
  [
    OID.secp384r1,
    {
      name: "P-384",
      bits: 384,
      p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
      b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    },
  ],
  [
    OID.secp521r1,
    {
      name: "P-521",
      bits: 521,
      p: 2n ** 521n - 1n,
      b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
    },
  ],
]);

export function curveOid(name: CurveName): string {
  for (const [oid, curve] of curves) if (curve.name === name) return oid;
  throw new RangeError(name);
}

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;

/**
 * Parses and structurally validates an SPKI. Throws KEY_* errors for keys that are well-formed
 * DER but not acceptable, and DerError for broken DER (the caller knows which input it was).
 */
export function parsePublicKey(spki: Uint8Array): PublicKeyInfo {
  const outer = new DerReader(spki);
  const seq = outer.enter(Tag.SEQUENCE, "SubjectPublicKeyInfo");
  outer.finish("SubjectPublicKeyInfo");
  const alg = seq.enter(Tag.SEQUENCE, "AlgorithmIdentifier");
  const algorithm = alg.oid("key algorithm");
  const key = seq.bitString("subjectPublicKey");
  seq.finish("SubjectPublicKeyInfo");
  if (key.unusedBits !== 0) throw new DerError("subjectPublicKey: must be whole bytes");

  if (algorithm === OID.rsaEncryption) {
    // RFC 3279: the parameters MUST be NULL.
    if (alg.atEnd()) throw new DerError("rsaEncryption parameters must be NULL");
    alg.null("rsaEncryption parameters");
    alg.finish("AlgorithmIdentifier");
    return parseRsa(spki, key.bytes);
  }
  if (algorithm === OID.ecPublicKey) {
    const tag = alg.peekTag();
    if (tag !== Tag.OID) {
      throw new PkiError(
        "KEY_EC_CURVE_UNSUPPORTED",
        "Only named curves are accepted, not explicit curve parameters.",
      );
    }
    const curveId = alg.oid("namedCurve");
    alg.finish("AlgorithmIdentifier");
    const curve = curves.get(curveId);
    if (!curve) {
      throw new PkiError("KEY_EC_CURVE_UNSUPPORTED", `The key is on ${oidName(curveId)}.`, {
        curve: curveId,
      });
    }
    checkPoint(curve, key.bytes);
    return { kind: "ec", spki, curve: curve.name, bits: curve.bits, point: key.bytes };
  }
  throw new PkiError(
    "KEY_ALGORITHM_UNSUPPORTED",
    `The key algorithm is ${oidName(algorithm)}; only RSA and ECDSA (P-256, P-384, P-521) are accepted.`,
    {
      algorithm,
    },
  );
}

function parseRsa(spki: Uint8Array, keyBytes: Uint8Array): PublicKeyInfo {
  const outer = new DerReader(keyBytes);
  const seq = outer.enter(Tag.SEQUENCE, "RSAPublicKey");
  outer.finish("RSAPublicKey");
  const n = seq.integer("modulus");
  const e = seq.integer("publicExponent");
  seq.finish("RSAPublicKey");
  if ((n[0]! & 0x80) !== 0 || (e[0]! & 0x80) !== 0) {
    throw new PkiError("KEY_RSA_MODULUS_INVALID", "The modulus or exponent is negative.");
  }
  const modulus = n[0] === 0 ? n.subarray(1) : n;
  const bits = bitLength(modulus);
  if (bits < MIN_RSA_BITS) {
    throw new PkiError("KEY_RSA_TOO_SMALL", `The modulus has ${bits} bits.`, { bits });
  }
  if (bits > MAX_RSA_BITS) {
    throw new PkiError("KEY_RSA_TOO_LARGE", `The modulus has ${bits} bits.`, { bits });
  }
  if (bits % 8 !== 0) {
    throw new PkiError(
      "KEY_RSA_MODULUS_INVALID",
      `The modulus size (${bits} bits) is not a multiple of 8.`,
    );
  }
  if ((modulus[modulus.length - 1]! & 1) === 0) {
    throw new PkiError("KEY_RSA_MODULUS_INVALID", "The modulus is even.");
  }
  const exponent = toBigInt(e);
  // Baseline Requirements 6.1.6: odd, at least 3; we cap at 2^256-1 as the BRs recommend.
  if (exponent < 3n || exponent % 2n === 0n || exponent >= 2n ** 256n) {
    throw new PkiError(
      "KEY_RSA_EXPONENT_INVALID",
      `The exponent ${exponent} must be odd, at least 3 and below 2^256.`,
    );
  }
  return { kind: "rsa", spki, bits, modulus, exponent };
}

function checkPoint(curve: Curve, point: Uint8Array): void {
  const size = Math.ceil(curve.bits / 8);
  if (point[0] === 0x02 || point[0] === 0x03) {
    throw new PkiError(
      "KEY_EC_POINT_INVALID",
      "Compressed points are not accepted; send the uncompressed form.",
    );
  }
  if (point[0] !== 0x04 || point.length !== 1 + 2 * size) {
    throw new PkiError(
      "KEY_EC_POINT_INVALID",
      `Expected an uncompressed ${curve.name} point of ${1 + 2 * size} bytes.`,
    );
  }
  const x = toBigInt(point.subarray(1, 1 + size));
  const y = toBigInt(point.subarray(1 + size));
  const { p, b } = curve;
  if (x >= p || y >= p)
    throw new PkiError("KEY_EC_POINT_INVALID", "A coordinate is not below the field prime.");
  const lhs = (y * y) % p;
  const rhs = (((x * x) % p) * x - 3n * x + b) % p;
  if (lhs !== (rhs + p) % p) {
    throw new PkiError("KEY_EC_POINT_INVALID", `The point is not on ${curve.name}.`);
  }
}

export function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0
    ? 0n
    : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`);
}

function bitLength(magnitude: Uint8Array): number {
  if (magnitude.length === 0) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/** "RSA 2048" / "EC P-256": how people name a key. */
export function describeKey(key: PublicKeyInfo): string {
  return key.kind === "rsa" ? `RSA ${key.bits}` : `EC ${key.curve}`;
}
