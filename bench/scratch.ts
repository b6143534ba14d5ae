/**
 * A section's scratch folder and the clean-up steps it registers (stop a runtime, a server,
 * remove the folder), run in reverse on the way out, also when the bench is interrupted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type CleanupStep = () => Promise<unknown> | unknown;

export interface Scratch {
  readonly work: string;
  readonly cleanups: CleanupStep[];
  /** Runs every step once, last registered first, and stops listening for signals. */
  cleanUp(): Promise<void>;
}

export function scratch(prefix: string): Scratch {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const cleanups: CleanupStep[] = [() => rmSync(work, { recursive: true, force: true })];
  const run = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`bench: clean-up: ${(error as Error).message}`);
      }
    }
  };
  const onSignal = () => void run().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    work,
    cleanups,
    async cleanUp() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await run();
    },
  };
}
