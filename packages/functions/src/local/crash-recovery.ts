/**
 * The local service after a crash. A marker file says the service is running; a clean stop
 * removes it, so finding it at start means the last run died (kill -9, power loss). Then,
 * before anything runs, holding the data-folder lock so no other holder can be alive:
 * - dynalite's index is mended (dynalite-repair.ts);
 * - every message and signing claim still held is given back, so a resumed step or a
 *   redelivered event does not wait out the dead holder's lease;
 * - the CRL publication leases are broken, so the start-up publication does not wait either.
 * What else a crash leaves is handled on every start: executions resume, the event outbox is
 * delivered, unpublished revocations are published and stranded requests are started.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { writeAtomic } from "@spca/core/store/files";
import type { RevocationStore } from "@spca/core/store/revocation-store";
import { repairIndex } from "./dynalite-repair.ts";

const markerFile = (dataDir: string) => join(dataDir, "runtime.active");

/** Marks the service running; true when the previous run did not stop cleanly. */
export function markRunning(dataDir: string): boolean {
  const crashed = existsSync(markerFile(dataDir));
  writeAtomic(markerFile(dataDir), `${process.pid}\n`);
  return crashed;
}

/** Called last on a clean stop. */
export function markStopped(dataDir: string): void {
  rmSync(markerFile(dataDir), { force: true });
}

export interface CrashRecoveryTargets {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly repository: DynamoRequestRepository;
  readonly revocations: RevocationStore;
  /** The ids of the CAs whose CRLs this service publishes. */
  readonly caIds: readonly string[];
}

export interface CrashRecoveryReport {
  readonly strayIndexEntries: number;
  readonly missingIndexEntries: number;
  readonly releasedClaims: number;
}

export async function recoverAfterCrash(
  targets: CrashRecoveryTargets,
): Promise<CrashRecoveryReport> {
  const index = await repairIndex(targets.client, targets.tableName);
  const releasedClaims = await targets.repository.releaseAbandonedClaims();
  for (const caId of targets.caIds) await targets.revocations.breakCrlLease(caId);
  return {
    strayIndexEntries: index.strayEntries,
    missingIndexEntries: index.missingEntries,
    releasedClaims,
  };
}
