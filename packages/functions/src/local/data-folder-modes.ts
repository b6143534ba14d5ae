/**
 * The data folder is for its owner only: runtime.json holds the admin key in clear, and the
 * table (dynalite's LevelDB), the bucket (s3rver's files) and the executions hold the CA's
 * state. Those libraries take no file mode, so the process's umask makes what they create
 * 0600/0700; a folder left open by an older version is closed once, when it is next used.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { PRIVATE_DIR, PRIVATE_FILE } from "@spca/core/store/files";

/**
 * Call before anything creates files in `dataDir`: sets the umask to 077, creates the folder
 * 0700 if it is missing (unless `create` is false: the CLI leaves that to its first write),
 * and tightens one that group or others may enter (its files to 0600, its folders to 0700;
 * symbolic links are neither followed nor changed).
 */
export function securePrivateDataFolder(dataDir: string, { create = true } = {}): void {
  process.umask(0o077);
  if (create) mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR });
  else if (!existsSync(dataDir)) return;
  if ((statSync(dataDir).mode & 0o077) !== 0) tighten(dataDir);
}

function tighten(dir: string): void {
  chmodSync(dir, PRIVATE_DIR);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tighten(path);
    else if (entry.isFile()) chmodSync(path, PRIVATE_FILE);
  }
}
