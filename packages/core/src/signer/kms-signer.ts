/**
 * The AWS KMS adapter of the signing port. The CA key never leaves KMS: we hash the exact TBS
 * bytes locally and send only the digest (`MessageType: "DIGEST"`), because `RAW` messages are
 * limited to 4096 bytes, which CRLs and many-SAN certificates exceed. KMS returns the signature
 * in the form X.509 wants (raw PKCS#1 v1.5 / PSS bytes for RSA, DER Ecdsa-Sig-Value for ECDSA),
 * so it goes into the signature BIT STRING unchanged.
 *
 * Two ways in:
 * - `createKmsSigner(options)` (async) fetches the public key once, validates the key (usage,
 *   spec, algorithm) and picks the default algorithm for the key spec when none is given. Use it
 *   at start-up so a misconfigured key fails before any request is handled.
 * - `new KmsSigner(options)` (sync) needs `signingAlgorithm` up front, since `algorithm` is a
 *   readonly field of the port; the key is fetched and validated lazily on the first
 *   `publicKey()` or `sign()`.
 *
 * Retries: KMS throttles asymmetric operations per account and Region, so Sign and GetPublicKey
 * are retried with exponential backoff and jitter on throttling, KMS-internal, dependency-timeout,
 * 5xx and network errors. When we construct the KMSClient ourselves we set the SDK's own
 * `maxAttempts` to 1: otherwise its standard strategy (3 attempts with its own backoff) would run
 * inside each of ours, multiplying attempts (6 x 3 = 18) and latency, and hiding the delays from
 * the injectable `sleep`, so the behaviour could not be tested. A client passed in by the caller
 * is used as configured; give it `maxAttempts: 1` too if you want only our policy.
 */
import { createHash, createPublicKey } from "node:crypto";
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  KMSClient,
  SignCommand,
} from "@aws-sdk/client-kms";
import { type AwsLikeError, isRetryableAwsError } from "../aws-errors.ts";
import { PkiError } from "../errors.ts";
import {
  type AlgorithmDetails,
  algorithms,
  algorithmsForKeySpec,
  type KeySpec,
  keySpecs,
  type SigningAlgorithm,
  signingAlgorithms,
} from "./algorithms.ts";
import type { Signer } from "./signer.ts";

export interface KmsSignerOptions {
  /** Key id, key ARN, alias name or alias ARN, exactly as sent to KMS. */
  keyId: string;
  /** A ready client; when absent one is built for `region` with SDK retries disabled. */
  client?: KMSClient;
  /** Defaults (in `createKmsSigner`) to the first algorithm `algorithmsForKeySpec` lists. */
  signingAlgorithm?: SigningAlgorithm;
  /** Region for the client we build; ignored when `client` is given. */
  region?: string;
  /** Waits between attempts; defaults to a setTimeout-based sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Total attempts per KMS call, including the first (default 6). */
  maxAttempts?: number;
  /** Backoff before the second attempt, doubling after each (default 100 ms). */
  baseDelayMs?: number;
  /** Ceiling of one backoff delay (default 5000 ms). */
  maxDelayMs?: number;
}

/** What GetPublicKey told us, after validation. */
export interface KmsKeyInfo {
  /** The key ARN KMS answered with (or `keyId` when it answered without one). */
  readonly keyArn: string;
  readonly keySpec: KeySpec;
  readonly signingAlgorithms: readonly string[];
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
}

const DEFAULT_MAX_ATTEMPTS = 6;
const DEFAULT_BASE_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 5000;

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/** KMS error names worth another attempt. ThrottlingException is not modelled by the SDK. */
const retryableNames = new Set([
  "ThrottlingException",
  "KMSInternalException",
  "DependencyTimeoutException",
  // HTTP 500; KMS documents it as "You can retry the request" (e.g. custom key stores).
  "KeyUnavailableException",
  // Generic transient names the SDK and Node use for timeouts.
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

/** Whether a failed KMS call may succeed if repeated. Exported for tests and other adapters. */
export function isRetryableKmsError(error: unknown): boolean {
  return isRetryableAwsError(error, retryableNames);
}

function errorSummary(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const e = error as AwsLikeError;
    const name = typeof e.name === "string" ? e.name : "Error";
    const message = typeof e.message === "string" && e.message ? `: ${e.message}` : "";
    return `${name}${message}`;
  }
  return String(error);
}

function errorDetails(error: unknown): Record<string, unknown> {
  if (typeof error !== "object" || error === null) return {};
  const e = error as AwsLikeError;
  const details: Record<string, unknown> = {};
  if (typeof e.name === "string") details.kmsError = e.name;
  if (e.$metadata?.httpStatusCode !== undefined)
    details.httpStatusCode = e.$metadata.httpStatusCode;
  if (e.$metadata?.requestId !== undefined) details.requestId = e.$metadata.requestId;
  return details;
}

function failed(detail: string, details: Record<string, unknown>, cause?: unknown): PkiError {
  const error = new PkiError("SIGNER_FAILED", detail, details);
  if (cause !== undefined) error.cause = cause;
  return error;
}

function unsupported(detail: string, details: Record<string, unknown>): PkiError {
  return new PkiError("SIGNER_UNSUPPORTED", detail, details);
}

const curveBits: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** Checks that GetPublicKey's answer is a signing key of one of our specs. */
function validateKeyInfo(keyId: string, output: GetPublicKeyCommandOutput): KmsKeyInfo {
  const where = { keyId };
  if (output.KeyUsage !== "SIGN_VERIFY") {
    throw unsupported(
      `KMS key ${keyId} has KeyUsage ${output.KeyUsage ?? "(none)"}; a CA key needs SIGN_VERIFY.`,
      { ...where, keyUsage: output.KeyUsage },
    );
  }
  const spec = output.KeySpec;
  if (!spec || !(keySpecs as readonly string[]).includes(spec)) {
    throw unsupported(
      `KMS key ${keyId} has KeySpec ${spec ?? "(none)"}; supported: ${keySpecs.join(", ")}.`,
      { ...where, keySpec: spec },
    );
  }
  const keySpec = spec as KeySpec;
  if (!output.PublicKey || output.PublicKey.length === 0) {
    throw failed(`KMS GetPublicKey for key ${keyId} returned no public key.`, where);
  }
  const spki = new Uint8Array(output.PublicKey);
  // The SPKI must be the key KMS says it is, or every signature would fail self-checks later.
  let actual: string;
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    const d = key.asymmetricKeyDetails ?? {};
    actual =
      key.asymmetricKeyType === "rsa"
        ? `RSA_${d.modulusLength}`
        : key.asymmetricKeyType === "ec"
          ? `ECC_NIST_P${curveBits[d.namedCurve ?? ""] ?? d.namedCurve}`
          : String(key.asymmetricKeyType);
  } catch (cause) {
    throw failed(
      `KMS GetPublicKey for key ${keyId} returned an unreadable public key.`,
      where,
      cause,
    );
  }
  if (actual !== keySpec) {
    throw failed(
      `KMS key ${keyId} reports KeySpec ${keySpec} but its public key is ${actual}.`,
      where,
    );
  }
  return {
    keyArn: output.KeyId ?? keyId,
    keySpec,
    signingAlgorithms: [...(output.SigningAlgorithms ?? [])],
    spki,
  };
}

function checkAlgorithm(keyId: string, info: KmsKeyInfo, algorithm: SigningAlgorithm): void {
  const ours = algorithmsForKeySpec(info.keySpec);
  if (!ours.includes(algorithm)) {
    throw unsupported(
      `${algorithm} cannot be used with the ${info.keySpec} KMS key ${keyId}; use one of ${ours.join(", ")}.`,
      { keyId, keySpec: info.keySpec, signingAlgorithm: algorithm },
    );
  }
  if (!info.signingAlgorithms.includes(algorithm)) {
    throw unsupported(
      `KMS key ${keyId} does not list ${algorithm} in its SigningAlgorithms (${info.signingAlgorithms.join(", ") || "none"}).`,
      { keyId, keySpec: info.keySpec, signingAlgorithm: algorithm },
    );
  }
}

interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

function retryPolicy(options: KmsSignerOptions): RetryPolicy {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw unsupported(`maxAttempts must be a positive integer, not ${maxAttempts}.`, {});
  }
  return {
    maxAttempts,
    baseDelayMs: options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    sleep: options.sleep ?? defaultSleep,
  };
}

function buildClient(options: KmsSignerOptions): KMSClient {
  return (
    options.client ??
    new KMSClient({ ...(options.region ? { region: options.region } : {}), maxAttempts: 1 })
  );
}

/** Runs a KMS call with our retry policy; every failure becomes a SIGNER_FAILED PkiError. */
async function withRetries<T>(
  operation: string,
  keyId: string,
  policy: RetryPolicy,
  call: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const details = { keyId, operation, attempts: attempt, ...errorDetails(error) };
      if (!isRetryableKmsError(error)) {
        throw failed(
          `KMS ${operation} on key ${keyId} failed: ${errorSummary(error)}.`,
          details,
          error,
        );
      }
      if (attempt >= policy.maxAttempts) {
        throw failed(
          `KMS ${operation} on key ${keyId} failed after ${attempt} attempts: ${errorSummary(error)}.`,
          details,
          error,
        );
      }
      // "Equal jitter": half the exponential step fixed, half random, so delays still grow.
      const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await policy.sleep(step / 2 + Math.random() * (step / 2));
    }
  }
}

export class KmsSigner implements Signer {
  readonly algorithm: SigningAlgorithm;
  /** `kms:<keyId>`, with keyId as configured. */
  readonly description: string;
  readonly keyId: string;
  readonly client: KMSClient;
  private readonly details: AlgorithmDetails;
  private readonly policy: RetryPolicy;
  /** The validated key, shared by concurrent callers; dropped on failure so a later call retries. */
  private keyInfo: Promise<KmsKeyInfo> | undefined;

  /**
   * Lazy form: nothing is fetched until `publicKey()` or `sign()`. `prefetched` is the already
   * validated GetPublicKey answer (used by `createKmsSigner` so the key is fetched only once).
   */
  constructor(
    options: KmsSignerOptions & { signingAlgorithm: SigningAlgorithm },
    prefetched?: KmsKeyInfo,
  ) {
    if (!options.keyId) throw unsupported("A KMS key id is required.", {});
    if (!(signingAlgorithms as readonly string[]).includes(options.signingAlgorithm)) {
      throw unsupported(
        `${String(options.signingAlgorithm)} is not a supported signing algorithm; use one of ${signingAlgorithms.join(", ")}.`,
        { keyId: options.keyId, signingAlgorithm: options.signingAlgorithm },
      );
    }
    this.policy = retryPolicy(options);
    this.keyId = options.keyId;
    this.description = `kms:${options.keyId}`;
    this.algorithm = options.signingAlgorithm;
    this.details = algorithms[options.signingAlgorithm];
    this.client = buildClient(options);
    if (prefetched) {
      checkAlgorithm(this.keyId, prefetched, this.algorithm);
      this.keyInfo = Promise.resolve(prefetched);
    }
  }

  /** The validated key description (fetched once; concurrent callers share the call). */
  info(): Promise<KmsKeyInfo> {
    if (!this.keyInfo) {
      const pending = fetchKmsKeyInfo(this.client, this.keyId, this.policy).then((info) => {
        checkAlgorithm(this.keyId, info, this.algorithm);
        return info;
      });
      this.keyInfo = pending;
      pending.catch(() => {
        if (this.keyInfo === pending) this.keyInfo = undefined;
      });
    }
    return this.keyInfo;
  }

  async publicKey(): Promise<Uint8Array> {
    // A copy, so no caller can alter the cached key.
    return new Uint8Array((await this.info()).spki);
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    await this.info();
    const digest = new Uint8Array(createHash(this.details.hash).update(message).digest());
    const output = await withRetries("Sign", this.keyId, this.policy, () =>
      this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: digest,
          MessageType: "DIGEST",
          SigningAlgorithm: this.algorithm,
        }),
      ),
    );
    if (!output.Signature || output.Signature.length === 0) {
      throw failed(`KMS Sign on key ${this.keyId} returned no signature.`, {
        keyId: this.keyId,
        operation: "Sign",
      });
    }
    return output.Signature;
  }
}

/** GetPublicKey with our retry policy, validated (usage and spec; not the algorithm). */
async function fetchKmsKeyInfo(
  client: KMSClient,
  keyId: string,
  policy: RetryPolicy,
): Promise<KmsKeyInfo> {
  const output = await withRetries("GetPublicKey", keyId, policy, () =>
    client.send(new GetPublicKeyCommand({ KeyId: keyId })),
  );
  return validateKeyInfo(keyId, output);
}

/**
 * Builds a signer and validates its key now (one GetPublicKey, cached for `publicKey()`). Without
 * `signingAlgorithm` it uses the key spec's default, `algorithmsForKeySpec(spec)[0]`.
 */
export async function createKmsSigner(options: KmsSignerOptions): Promise<KmsSigner> {
  if (options.signingAlgorithm) {
    const signer = new KmsSigner({ ...options, signingAlgorithm: options.signingAlgorithm });
    await signer.info();
    return signer;
  }
  if (!options.keyId) throw unsupported("A KMS key id is required.", {});
  // Build the client once and hand it to the signer, so both calls use the same one.
  const client = buildClient(options);
  const info = await fetchKmsKeyInfo(client, options.keyId, retryPolicy(options));
  const signingAlgorithm = algorithmsForKeySpec(info.keySpec)[0]!;
  return new KmsSigner({ ...options, client, signingAlgorithm }, info);
}
