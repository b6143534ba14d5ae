/**
 * The signing port. A Signer holds one CA key wherever it lives (AWS KMS, a local file) and
 * signs messages with one fixed algorithm. Certificates and CRLs are signed by giving it the
 * exact TBS bytes that will be published; how the digest reaches the key is the adapter's
 * business (KMS receives only the digest).
 */
import type { SigningAlgorithm } from "./algorithms.ts";

export interface Signer {
  readonly algorithm: SigningAlgorithm;
  /** A stable description for logs and `pki ca show`: "kms:arn:…" or "local:keys/issuing.pem". */
  readonly description: string;
  /** The key's SubjectPublicKeyInfo DER. */
  publicKey(): Promise<Uint8Array>;
  /** Signs `message`; the result goes into the signature BIT STRING unchanged. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}
