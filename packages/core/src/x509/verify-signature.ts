/** Verifying one X.509 signature (certificate, CRL or CSR) under a given SPKI. */
import { verify } from "node:crypto";
import { encodePem } from "../encoding/pem.ts";
import { type AlgorithmDetails, algorithmFromIdentifier } from "../signer/algorithms.ts";

export function signatureVerifies(
  signed: Uint8Array,
  algorithmIdentifier: Uint8Array,
  signature: Uint8Array,
  signerSpki: Uint8Array,
): boolean {
  const algorithm = algorithmFromIdentifier(algorithmIdentifier);
  return algorithm !== undefined && verifiesUnder(algorithm, signed, signature, signerSpki);
}

/** Verifies with a known algorithm; a key node:crypto cannot load counts as a failure. */
export function verifiesUnder(
  algorithm: AlgorithmDetails,
  signed: Uint8Array,
  signature: Uint8Array,
  signerSpki: Uint8Array,
): boolean {
  // The key goes in as a PEM string, not as { key, format: "der" }: for an options object
  // node:crypto throws and catches two internal errors to tell it from a KeyObject, which
  // cost a fifth of a P-256 issuance. The SPKI has already passed our strict DER parser.
  const pem = encodePem("PUBLIC KEY", signerSpki);
  const key =
    algorithm.nodeOptions.padding === undefined ? pem : { key: pem, ...algorithm.nodeOptions };
  try {
    return verify(algorithm.hash, signed, key, signature);
  } catch {
    return false;
  }
}
