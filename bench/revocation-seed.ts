/**
 * Fills a local data folder's table with revocations before the runtime starts, so the
 * `revocation` bench measures a CRL rebuild over a store that already holds them. It writes
 * the items the way DynamoRevocationStore.recordRevocation would (same keys and attributes), but
 * with BatchWriteItem, which the store never needs: seeding speed is reported, not measured.
 * The serials are the `crl` bench's (revoked-entries.ts), so OpenSSL's index.txt holds the same.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { normaliseSerial } from "@spca/core/certificate/serial";
import { createTable } from "@spca/core/store/table";
import {
  LOCAL_CREDENTIALS,
  LOCAL_TABLE,
  startDynamo,
} from "../packages/functions/src/local/stand-ins.ts";
import { benchEntries, entryNotAfter } from "./revoked-entries.ts";

/** DynamoDB's limit per BatchWriteItem. */
const BATCH = 25;
/**
 * Batches in flight: dynalite runs in this process, so more only helps while LevelDB's writes
 * (on libuv's threads) overlap with request handling on the main thread.
 */
const IN_FLIGHT = 8;

export interface Seeded {
  readonly count: number;
  readonly seconds: number;
}

/**
 * Writes `count` revocations of CA `caId` into `dataDir`'s table (created if need be). Opens
 * dynalite on the folder alone: the runtime must not be running (LevelDB has one writer).
 */
export async function seedRevocations(
  dataDir: string,
  caId: string,
  count: number,
): Promise<Seeded> {
  const dynamo = await startDynamo(dataDir);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
  });
  const doc = DynamoDBDocumentClient.from(client);
  try {
    await createTable(client, LOCAL_TABLE);
    const started = performance.now();
    const items = revocationItems(caId, count);
    let written = 0;
    const worker = async () => {
      for (;;) {
        // next(), not for-of: leaving a for-of early would close the shared generator.
        const batch: Record<string, unknown>[] = [];
        for (let next = items.next(); !next.done; next = items.next()) {
          batch.push(next.value);
          if (batch.length === BATCH) break;
        }
        if (batch.length === 0) return;
        await writeAll(doc, batch);
        written += batch.length;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    if (written !== count) throw new Error(`seeded ${written} revocations, not ${count}`);
    return { count, seconds: (performance.now() - started) / 1000 };
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

/** One BatchWriteItem, its unprocessed items sent again until none are left. */
async function writeAll(doc: DynamoDBDocumentClient, batch: Record<string, unknown>[]) {
  let requests = batch.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 1; requests.length > 0; attempt++) {
    if (attempt > 10) throw new Error(`${requests.length} items still unprocessed`);
    const result = await doc.send(
      new BatchWriteCommand({ RequestItems: { [LOCAL_TABLE]: requests } }),
    );
    requests = (result.UnprocessedItems?.[LOCAL_TABLE] ?? []) as typeof requests;
  }
}

/** The items DynamoRevocationStore writes (docs/dynamodb.md), for the bench's serials. */
function* revocationItems(caId: string, count: number): Generator<Record<string, unknown>> {
  for (const entry of benchEntries(count)) {
    const notAfter = new Date(entryNotAfter(entry) * 1000).toISOString();
    // As the store holds serials: a serial starting with a zero byte loses it.
    const serial = normaliseSerial(entry.serialHex)!;
    yield {
      pk: `REVOKED#${caId}`,
      sk: `${notAfter}#${serial}`,
      type: "revocation",
      caId,
      serial,
      notAfter,
      reason: entry.reason,
      revokedAt: new Date(entry.revokedAt * 1000).toISOString(),
      requestId: null,
      revokedBy: "bench-seed",
    };
  }
}
