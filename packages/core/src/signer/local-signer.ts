/**
 * The local stand-in for a KMS key: a node:crypto private key in a PKCS#8 PEM file that only
 * its owner may read (mode 0600), signing with the same algorithms KMS offers.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { PkiError } from "../errors.ts";
import { parsePublicKey } from "../keys/public-key.ts";
import {
  type AlgorithmDetails,
  algorithms,
  algorithmsForKeySpec,
  type KeySpec,
  keySpecOf,
  type SigningAlgorithm,
} from "./algorithms.ts";
import type { Signer } from "./signer.ts";

export class LocalSigner implements Signer {
  readonly algorithm: SigningAlgorithm;
  readonly description: string;
  readonly keySpec: KeySpec;
  private readonly details: AlgorithmDetails;
  /** What node:crypto sign() takes: the bare KeyObject when there are no options (faster). */
  private readonly signingKey: KeyObject | SignKeyObjectInput;
  private readonly spki: Uint8Array;

  constructor(key: KeyObject, description: string, algorithm?: SigningAlgorithm) {
    this.description = description;
    this.spki = new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" }));
    const spec = keySpecOf(parsePublicKey(this.spki));
    if (!spec)
      throw new PkiError("SIGNER_UNSUPPORTED", "The local key is not one of the KMS key specs.");
    this.keySpec = spec;
    const allowed = algorithmsForKeySpec(spec);
    const chosen = algorithm ?? allowed[0]!;
    if (!allowed.includes(chosen)) {
      throw new PkiError(
        "SIGNER_UNSUPPORTED",
        `${chosen} cannot be used with a ${spec} key; use one of ${allowed.join(", ")}.`,
      );
    }
    this.algorithm = chosen;
    this.details = algorithms[chosen];
    const options = this.details.nodeOptions;
    this.signingKey = options.padding === undefined ? key : { key, ...options };
  }

  /** Generates a key of `spec` and writes it to `path` (which must not exist) with mode 0600. */
  static generate(path: string, spec: KeySpec, algorithm?: SigningAlgorithm): LocalSigner {
    const { privateKey } = generateKey(spec);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const pem = privateKey.export({ format: "pem", type: "pkcs8" });
    writeFileSync(path, pem, { mode: 0o600, flag: "wx" });
    return new LocalSigner(privateKey, `local:${path}`, algorithm);
  }

  /** Loads a key file, refusing one that group or others can read. */
  static load(path: string, algorithm?: SigningAlgorithm): LocalSigner {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new PkiError(
        "SIGNER_UNSUPPORTED",
        `The key file ${path} has mode ${mode.toString(8)}; run chmod 600 on it.`,
      );
    }
    return new LocalSigner(createPrivateKey(readFileSync(path)), `local:${path}`, algorithm);
  }

  async publicKey(): Promise<Uint8Array> {
    return this.spki;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign(this.details.hash, message, this.signingKey));
  }
}

export function generateKey(spec: KeySpec) {
  if (spec.startsWith("RSA_")) {
    return generateKeyPairSync("rsa", {
      modulusLength: Number(spec.slice(4)),
      publicExponent: 65537,
    });
  }
  const namedCurve = { ECC_NIST_P256: "P-256", ECC_NIST_P384: "P-384", ECC_NIST_P521: "P-521" }[
    spec as "ECC_NIST_P256"
  ];
  return generateKeyPairSync("ec", { namedCurve });
}
