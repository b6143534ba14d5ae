/** A throwaway data-folder CA using the project's shipped pki.config.json. */
import { loadConfig } from "../../src/policy/config.ts";
import { DataFolderCa } from "../../src/store/data-folder-ca.ts";
import { scratchDir } from "./scratch.ts";

export const shippedConfigPath = new URL("../../../../pki.config.json", import.meta.url).pathname;

export function tempCa(): DataFolderCa {
  return new DataFolderCa(scratchDir("pki-ca-"), loadConfig(shippedConfigPath));
}
