/**
 * Crash-safe file primitives for the data folder: atomic replace, create-once, and a lock.
 * The data folder holds secrets (runtime.json's admin key) and the CA's state, so files are
 * written 0600 and folders made 0700 unless a caller asks for another mode.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";

/** Modes for what the data folder holds: only its owner may read it. */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

/** Writes via a temporary file and rename, so readers see the old or the new content, never half. */
export function writeAtomic(path: string, data: string | Uint8Array, mode = PRIVATE_FILE): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR });
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", mode);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** Creates `path` only if it does not exist; false when it already did. */
export function createOnce(path: string, data: string, mode = PRIVATE_FILE): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR });
  try {
    writeFileSync(path, data, { flag: "wx", mode });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Runs `fn` holding an exclusive lock file. A lock left by a process that no longer exists
 * is taken over; a live holder is waited for up to `timeoutMs`.
 */
export async function withLock<T>(
  lockPath: string,
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
): Promise<T> {
  mkdirSync(dirname(lockPath), { recursive: true, mode: PRIVATE_DIR });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: "wx", mode: PRIVATE_FILE });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(readFileSync(lockPath, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`${lockPath} is held by process ${holder}; try again when it has finished`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
