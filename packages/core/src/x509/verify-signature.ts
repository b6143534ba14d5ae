/** Verifying one X.509 signature (certificate, CRL or CSR) under a given SPKI. */
import { verify } from "node:crypto";
import { algorithmFromIdentifier } from "../signer/algorithms.ts";

export function signatureVerifies(
  signed: Uint8Array,
  algorithmIdentifier: Uint8Array,
  signature: Uint8Array,
  signerSpki: Uint8Array,
): boolean {
  const algorithm = algorithmFromIdentifier(algorithmIdentifier);
  if (!algorithm) return false;
  try {
    return verify(
      algorithm.hash,
      signed,
      { key: Buffer.from(signerSpki), format: "der", type: "spki", ...algorithm.nodeOptions },
      signature,
    );
  } catch {
    return false;
  }
}
