/** A throwaway data-folder CA using the project's shipped pki.config.json. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/policy/config.ts";
import { DataFolderCa } from "../../src/store/data-folder-ca.ts";

export const shippedConfigPath = new URL("../../../../pki.config.json", import.meta.url).pathname;

export function tempCa(): DataFolderCa {
  return new DataFolderCa(mkdtempSync(join(tmpdir(), "pki-ca-")), loadConfig(shippedConfigPath));
}
