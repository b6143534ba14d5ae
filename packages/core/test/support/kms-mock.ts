/**
 * A real key behind an aws-sdk-client-mock KMS: GetPublicKey answers with the key's SPKI DER and
 * Sign signs the received DIGEST the way KMS does (PKCS#1 v1.5 and PSS by raw RSA over our own
 * encoding, ECDSA over the prehashed digest with @noble/curves), so signatures verify for real.
 */
import {
  constants,
  createHash,
  generateKeyPair,
  type KeyObject,
  privateEncrypt,
  randomBytes,
} from "node:crypto";
import { promisify } from "node:util";
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  KMSServiceException,
  SignCommand,
  type SignCommandInput,
  type SignCommandOutput,
} from "@aws-sdk/client-kms";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { AwsClientStub } from "aws-sdk-client-mock";
import {
  algorithms,
  algorithmsForKeySpec,
  type HashName,
  type KeySpec,
  type SigningAlgorithm,
} from "../../src/signer/algorithms.ts";

const generateKeyPairAsync = promisify(generateKeyPair);

export interface TestKmsKey {
  readonly spec: KeySpec;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly spki: Uint8Array;
  /** The EC private scalar, big-endian, curve-length bytes (EC keys only). */
  readonly ecSecret?: Uint8Array;
}

const curveNames: Partial<Record<KeySpec, string>> = {
  ECC_NIST_P256: "P-256",
  ECC_NIST_P384: "P-384",
  ECC_NIST_P521: "P-521",
};

const keyCache = new Map<KeySpec, Promise<TestKmsKey>>();

/** A fresh key pair per spec, generated off the main thread and cached (RSA 4096 is slow). */
export function testKey(spec: KeySpec): Promise<TestKmsKey> {
  let key = keyCache.get(spec);
  if (!key) {
    key = makeKey(spec);
    keyCache.set(spec, key);
  }
  return key;
}

async function makeKey(spec: KeySpec): Promise<TestKmsKey> {
  const curve = curveNames[spec];
  const { privateKey, publicKey } = curve
    ? await generateKeyPairAsync("ec", { namedCurve: curve })
    : await generateKeyPairAsync("rsa", { modulusLength: Number(spec.slice(4)) });
  const spki = new Uint8Array(publicKey.export({ format: "der", type: "spki" }));
  if (!curve) return { spec, privateKey, publicKey, spki };
  const d = privateKey.export({ format: "jwk" }).d;
  if (!d) throw new Error("EC JWK without d");
  return {
    spec,
    privateKey,
    publicKey,
    spki,
    ecSecret: new Uint8Array(Buffer.from(d, "base64url")),
  };
}

/** DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
const digestInfoPrefix: Record<HashName, string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

function mgf1(hash: HashName, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0, produced = 0; produced < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** EMSA-PSS-ENCODE (RFC 8017 section 9.1.1) with MGF1(hash) and salt length = hash length. */
export function emsaPssEncode(hash: HashName, mHash: Uint8Array, modBits: number): Buffer {
  const hLen = mHash.length;
  const sLen = hLen;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + sLen + 2) throw new Error("encoding error");
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - sLen - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(hash, h, emLen - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ mask[i]!;
  db[0] = db[0]! & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** What KMS Sign would return for `digest` with `algorithm` (MessageType DIGEST). */
export function kmsSignDigest(
  key: TestKmsKey,
  algorithm: SigningAlgorithm,
  digest: Uint8Array,
): Uint8Array {
  const details = algorithms[algorithm];
  if (digest.length !== details.digestLength) throw new Error("digest length mismatch");
  if (algorithm.startsWith("RSASSA_PKCS1")) {
    const digestInfo = Buffer.concat([Buffer.from(digestInfoPrefix[details.hash], "hex"), digest]);
    return new Uint8Array(
      privateEncrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo),
    );
  }
  if (algorithm.startsWith("RSASSA_PSS")) {
    const modBits = key.privateKey.asymmetricKeyDetails?.modulusLength;
    if (!modBits) throw new Error("not an RSA key");
    const em = emsaPssEncode(details.hash, digest, modBits);
    return new Uint8Array(
      privateEncrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, em),
    );
  }
  const curve = { ECC_NIST_P256: p256, ECC_NIST_P384: p384, ECC_NIST_P521: p521 }[
    key.spec as "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521"
  ];
  if (!curve || !key.ecSecret) throw new Error(`${algorithm} needs an EC key, not ${key.spec}`);
  return curve.sign(digest, key.ecSecret, { prehash: false, format: "der" });
}

export const TEST_KEY_ARN =
  "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** The GetPublicKey answer KMS gives for `key`, with overrides for the bad-key cases. */
export function getPublicKeyOutput(
  key: TestKmsKey,
  overrides: Partial<GetPublicKeyCommandOutput> = {},
): GetPublicKeyCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    KeyId: TEST_KEY_ARN,
    PublicKey: key.spki,
    KeySpec: key.spec,
    KeyUsage: "SIGN_VERIFY",
    SigningAlgorithms: [...algorithmsForKeySpec(key.spec)],
    ...overrides,
  };
}

/** A Sign handler that signs for real, refusing requests KMS itself would refuse. */
export function signHandler(key: TestKmsKey) {
  return (input: SignCommandInput): SignCommandOutput => {
    const algorithm = input.SigningAlgorithm as SigningAlgorithm;
    if (!algorithmsForKeySpec(key.spec).includes(algorithm)) {
      throw kmsError("InvalidKeyUsageException", `${algorithm} is not valid for ${key.spec}`);
    }
    if (input.MessageType !== "DIGEST" || !input.Message) {
      throw kmsError("ValidationException", "expected a DIGEST message");
    }
    return {
      $metadata: { httpStatusCode: 200 },
      KeyId: TEST_KEY_ARN,
      SigningAlgorithm: algorithm,
      Signature: kmsSignDigest(key, algorithm, input.Message),
    };
  };
}

/** Points both KMS operations of `mock` at `key`. */
export function serveKey(
  mock: AwsClientStub<KMSClient>,
  key: TestKmsKey,
  overrides: Partial<GetPublicKeyCommandOutput> = {},
): void {
  mock.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key, overrides));
  mock.on(SignCommand).callsFake(signHandler(key));
}

/** An error shaped like the SDK's deserialised KMS errors. */
export function kmsError(
  name: string,
  message: string,
  httpStatusCode = name === "KMSInternalException" ? 500 : 400,
): KMSServiceException {
  return new KMSServiceException({
    name,
    message,
    $fault: httpStatusCode >= 500 ? "server" : "client",
    $metadata: { httpStatusCode, requestId: "00000000-0000-0000-0000-000000000000" },
  });
}
