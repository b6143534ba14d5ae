/**
 * The local service's hold on its data folder: dynalite's LevelDB and the engine's execution
 * files take one writer, and the CLI must not change the CA under a running service.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PkiError } from "@spca/core/errors";
import { createOnce } from "@spca/core/store/files";

const lockFile = (dataDir: string) => join(dataDir, "runtime.lock");

/**
 * One runtime per data folder: dynalite's LevelDB and the engine's execution files take one
 * writer. A lock left by a process that died is taken over.
 */
export function acquireLock(dataDir: string): () => void {
  const lock = lockFile(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createOnce(lock, String(process.pid))) return () => rmSync(lock, { force: true });
    const holder = Number(readFileSync(lock, "utf8"));
    if (isAlive(holder)) {
      throw new PkiError(
        "RUNTIME_RUNNING",
        `Process ${holder} runs the local service on ${dataDir}; stop it first.`,
      );
    }
    rmSync(lock, { force: true });
  }
  throw new PkiError("RUNTIME_RUNNING", `Cannot take ${lock}.`);
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of the live local service holding the data folder, if one does. */
export function runtimeHolder(dataDir: string): number | undefined {
  let holder: number;
  try {
    holder = Number(readFileSync(lockFile(dataDir), "utf8"));
  } catch {
    return undefined;
  }
  return isAlive(holder) ? holder : undefined;
}

/** Refuses to go on while a live local service holds the data folder. */
export function assertNoRuntime(dataDir: string, what: string): void {
  const holder = runtimeHolder(dataDir);
  if (holder !== undefined) {
    throw new PkiError(
      "RUNTIME_RUNNING",
      `Process ${holder} runs the local service on ${dataDir}, so "${what}" would change state under it. Use its API (see runtime.json), or stop it first.`,
    );
  }
}
