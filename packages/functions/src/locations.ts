/**
 * Where the CLI and the local service find their data folder and configuration; both use the
 * same rules so they always meet on the same state.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** --data-dir, else $PKI_DATA_DIR, else ./.pki-data. */
export function dataDirPath(flag: string | undefined): string {
  return resolve(flag ?? process.env.PKI_DATA_DIR ?? ".pki-data");
}

/** --config, else $PKI_CONFIG, else ./pki.config.json, else the project's bundled one. */
export function configPath(flag: string | undefined): string {
  if (flag) return resolve(flag);
  if (process.env.PKI_CONFIG) return resolve(process.env.PKI_CONFIG);
  if (existsSync("pki.config.json")) return resolve("pki.config.json");
  return new URL("../../../pki.config.json", import.meta.url).pathname;
}
