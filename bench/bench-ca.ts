/** A throwaway data-folder CA for the benchmarks, using the shipped pki.config.json. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@spca/core/policy/config";
import type { KeySpec, SigningAlgorithm } from "@spca/core/signer/algorithms";
import { DataFolderCa } from "@spca/core/store/data-folder-ca";

export const shippedConfig = new URL("../pki.config.json", import.meta.url).pathname;

export async function benchCa(keySpec: KeySpec, signingAlgorithm?: SigningAlgorithm) {
  const dir = mkdtempSync(join(tmpdir(), "pki-bench-"));
  const ca = new DataFolderCa(dir, loadConfig(shippedConfig));
  await ca.init({ issuing: { keySpec, signingAlgorithm }, twoTier: false });
  return { dir, ca, authority: await ca.issuingAuthority() };
}
