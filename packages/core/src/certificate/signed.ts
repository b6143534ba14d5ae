/** Signing a TBS structure: the shape certificates, CRLs and CSRs share. */
import { bitString, type Der, sequence } from "../der/writer.ts";
import { algorithms } from "../signer/algorithms.ts";
import type { Signer } from "../signer/signer.ts";

/** SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }, signing the exact tbs bytes. */
export async function signStructure(tbs: Der, signer: Signer): Promise<Der> {
  const signature = await signer.sign(tbs);
  return sequence(tbs, algorithms[signer.algorithm].identifier, bitString(signature));
}
