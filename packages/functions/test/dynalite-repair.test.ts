/**
 * Mending dynalite's gsi1 after a crash (src/local/dynalite-repair.ts). dynalite writes an
 * item's index entries and the item as separate LevelDB writes, so a process killed between
 * them leaves the index and the items disagreeing. The leftovers are forged exactly: dynalite
 * is stopped, its LevelDB opened with dynalite's own db module (the index keys built by its
 * createIndexKey, as its putItem builds them) and entries added or taken away; then dynalite
 * is started again on the folder, as the local service does after a crash, and repaired.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { createTable } from "@spca/core/store/table";
import { repairIndex } from "../src/local/dynalite-repair.ts";
import { LOCAL_CREDENTIALS, type LocalDynamo, startDynamo } from "../src/local/stand-ins.ts";

const work = mkdtempSync(join(tmpdir(), "dynalite-repair-"));
after(() => rmSync(work, { recursive: true, force: true }));

const TABLE = "spca-local";
type Item = Record<string, unknown>;

// ---- dynalite's internals: the part of node_modules/dynalite/db/index.js used here ----------

type Callback<T = void> = (error: Error | null | undefined, value: T) => void;
interface SubDb {
  put(key: string, value: unknown, callback: Callback): void;
  del(key: string, callback: Callback): void;
}
interface TableDefinition {
  readonly GlobalSecondaryIndexes: readonly { IndexName: string; KeySchema: unknown[] }[];
}
interface DynaliteStore {
  getTable(name: string, callback: Callback<TableDefinition>): void;
  getIndexDb(indexType: "Global" | "Local", tableName: string, indexName: string): SubDb;
  readonly db: { close(callback: Callback): void };
}
interface DynaliteDb {
  create(options: { path: string }): DynaliteStore;
  createIndexKey(item: Record<string, unknown>, table: TableDefinition, keySchema: unknown): string;
}
const dynaliteDb = createRequire(import.meta.url)("dynalite/db/index.js") as DynaliteDb;

function call<T>(fn: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    fn((error, value) => (error ? reject(error) : resolve(value))),
  );
}

/** What a crash leaves in gsi1, written straight into dynalite's LevelDB while it is stopped. */
async function forgeIndex(
  dataDir: string,
  change: { add: readonly Item[]; remove: readonly Item[] },
): Promise<void> {
  const store = dynaliteDb.create({ path: join(dataDir, "dynamodb") });
  try {
    const table = await call<TableDefinition>((cb) => store.getTable(TABLE, cb));
    const gsi1 = table.GlobalSecondaryIndexes.find((index) => index.IndexName === "gsi1")!;
    const index = store.getIndexDb("Global", TABLE, "gsi1");
    // An entry is keyed by the index keys and then the table keys; with the ALL projection,
    // its value is the whole item, in the wire format (as putItem stores it).
    const keyOf = (wire: Record<string, unknown>) =>
      dynaliteDb.createIndexKey(wire, table, gsi1.KeySchema);
    for (const item of change.remove) {
      await call((cb) => index.del(keyOf(toWire(item)), cb));
    }
    for (const item of change.add) {
      const wire = toWire(item);
      await call((cb) => index.put(keyOf(wire), wire, cb));
    }
  } finally {
    await call((cb) => store.db.close(cb));
  }
}

/** An item in DynamoDB's wire format, as dynalite stores it (the types the items here use). */
function toWire(item: Item): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, attribute(v)]));
}

function attribute(value: unknown): unknown {
  if (typeof value === "string") return { S: value };
  if (typeof value === "number") return { N: String(value) };
  if (Array.isArray(value)) return { L: value.map(attribute) };
  if (value !== null && typeof value === "object") return { M: toWire(value as Item) };
  throw new TypeError(`no wire format here for ${String(value)}`);
}

// ---- the running table ------------------------------------------------------------------

async function open(dataDir: string) {
  const dynamo: LocalDynamo = await startDynamo(dataDir);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const doc = DynamoDBDocumentClient.from(client);
  return {
    client,
    doc,
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}

async function scanAll(doc: DynamoDBDocumentClient, indexName?: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: TABLE,
        ...(indexName ? { IndexName: indexName } : { ConsistentRead: true }),
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => key(a).localeCompare(key(b)));
}

async function gsi1(doc: DynamoDBDocumentClient, partition: string): Promise<Item[]> {
  const page = await doc.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: "gsi1",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": partition },
    }),
  );
  return page.Items ?? [];
}

const key = (item: Item) => `${item.pk}|${item.sk}|${item.gsi1pk ?? ""}|${item.gsi1sk ?? ""}`;

// ---- the items ------------------------------------------------------------------------------

const request = (id: string, status: string, day: string, extra: Item = {}): Item => ({
  pk: `REQ#${id}`,
  sk: "REQUEST",
  type: "request",
  status,
  gsi1pk: `STATUS#${status}`,
  gsi1sk: `2030-01-${day}T00:00:00.000Z#${id}`,
  history: [{ seq: 1, action: "submitted" }],
  ...extra,
});

/** Healthy: its entry is right, and stays as it is. */
const healthy = request("a", "issued", "01", { serial: "0a" });
/** Its entry went missing (the index write was lost, the item was written). */
const unindexed = request("b", "issued", "02");
/** Moved from approved to issued: the new entry is there, the old one was never taken away. */
const moved = request("c", "issued", "03");
const movedStale = { ...moved, status: "approved", gsi1pk: "STATUS#approved" };
/** Moved from pending_approval to issued, index still on the old keys: stale and missing. */
const stuck = request("f", "issued", "05");
const stuckStale = { ...stuck, status: "pending_approval", gsi1pk: "STATUS#pending_approval" };
/** The index entry of an item that was never written (a listing row that opens to a 404). */
const ghost = request("ghost", "issued", "04");
/** An item without gsi1 keys (its mark cleared), whose entry is still there. */
const cleared: Item = {
  pk: "REVOKED#ca-1",
  sk: "2031-01-01T00:00:00.000Z#0e",
  type: "revocation",
  serial: "0e",
};
const clearedStale = { ...cleared, gsi1pk: "UNPUBLISHED#ca-1", gsi1sk: "2030-01-01T00:00:00Z#0e" };
/** An update that kept its keys and died after the index write: the entry is newer. */
const updated = request("d", "issued", "06", { serial: "0d" });
const updatedAhead = { ...updated, serial: "ff" };
/** Never in the index, and not to be put there. */
const plain: Item = { pk: "CRL#ca-1", sk: "STATE", type: "crlState", lastNumber: 7 };

test("repairIndex makes gsi1 match the items again, and changes no item", async () => {
  const dataDir = join(work, "data");
  let dynamo = await open(dataDir);
  await createTable(dynamo.client, TABLE);
  for (const item of [healthy, unindexed, moved, stuck, updated, cleared, plain]) {
    await dynamo.doc.send(new PutCommand({ TableName: TABLE, Item: item }));
  }
  const items = await scanAll(dynamo.doc);
  assert.equal(items.length, 7);
  await dynamo.close();

  await forgeIndex(dataDir, {
    remove: [unindexed, stuck],
    add: [ghost, movedStale, stuckStale, clearedStale, updatedAhead],
  });

  dynamo = await open(dataDir);
  try {
    // The crash's leftovers, as a listing sees them.
    assert.deepEqual(
      (await gsi1(dynamo.doc, "STATUS#issued")).map((i) => i.pk),
      ["REQ#a", "REQ#c", "REQ#ghost", "REQ#d"],
      "forged: b and f missing, a ghost",
    );
    assert.deepEqual(
      (await gsi1(dynamo.doc, "STATUS#approved")).map((i) => i.pk),
      ["REQ#c"],
    );
    assert.deepEqual(
      (await gsi1(dynamo.doc, "STATUS#pending_approval")).map((i) => i.pk),
      ["REQ#f"],
    );
    assert.equal((await gsi1(dynamo.doc, "UNPUBLISHED#ca-1")).length, 1);
    assert.equal(
      (await gsi1(dynamo.doc, "STATUS#issued")).find((i) => i.pk === "REQ#d")?.serial,
      "ff",
      "forged: d's entry ahead of its item",
    );
    assert.deepEqual(await scanAll(dynamo.doc), items, "forging touched no item");

    assert.deepEqual(await repairIndex(dynamo.client, TABLE), {
      strayEntries: 4,
      missingEntries: 3,
    });

    // Every item with gsi1 keys has exactly its entry, with its current keys and content.
    assert.deepEqual(await gsi1(dynamo.doc, "STATUS#issued"), [
      healthy,
      unindexed,
      moved,
      stuck,
      updated,
    ]);
    assert.deepEqual(await gsi1(dynamo.doc, "STATUS#approved"), []);
    assert.deepEqual(await gsi1(dynamo.doc, "STATUS#pending_approval"), []);
    assert.deepEqual(await gsi1(dynamo.doc, "UNPUBLISHED#ca-1"), []);
    assert.deepEqual(
      await scanAll(dynamo.doc, "gsi1"),
      items.filter((item) => item.gsi1pk !== undefined),
    );
    // The items are as they were: nothing added (no ghost item), changed or lost.
    assert.deepEqual(await scanAll(dynamo.doc), items);
    // Mended: a second run finds nothing to do.
    assert.deepEqual(await repairIndex(dynamo.client, TABLE), {
      strayEntries: 0,
      missingEntries: 0,
    });
  } finally {
    await dynamo.close();
  }
});

test("a healthy table is left alone", async () => {
  const dataDir = join(work, "healthy");
  const dynamo = await open(dataDir);
  try {
    await createTable(dynamo.client, TABLE);
    for (const item of [healthy, moved, plain]) {
      await dynamo.doc.send(new PutCommand({ TableName: TABLE, Item: item }));
    }
    const items = await scanAll(dynamo.doc);
    const entries = await scanAll(dynamo.doc, "gsi1");
    assert.deepEqual(await repairIndex(dynamo.client, TABLE), {
      strayEntries: 0,
      missingEntries: 0,
    });
    assert.deepEqual(await scanAll(dynamo.doc), items);
    assert.deepEqual(await scanAll(dynamo.doc, "gsi1"), entries);
  } finally {
    await dynamo.close();
  }
});
