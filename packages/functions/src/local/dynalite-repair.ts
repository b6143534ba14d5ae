/**
 * Mending dynalite's index after a crash. dynalite writes an item's global-index entries and
 * then the item, as separate LevelDB writes (DynamoDB makes them one). A process killed in
 * between leaves an index entry that no item backs (a listing row that opens to a 404), or a
 * changed item's new entry while the item still holds the old keys, or no entry at all.
 *
 * The index can only be changed through items, so: an entry without a matching item gets an
 * item with the entry's keys written over it (dynalite then owns the entry through that item)
 * and taken away again (the real item, when there is one, is written back instead); an item
 * whose entry is missing, or holds content the item does not (an update whose item write was
 * lost), is written again as it is. Runs at the local service's start after a
 * crash, before anything else uses the table.
 */
import { isDeepStrictEqual } from "node:util";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { table } from "@spca/core/store/table";

type Item = Record<string, unknown>;

export interface IndexRepair {
  /** Index entries no item matched, taken out. */
  readonly strayEntries: number;
  /** Items whose entry was missing, or held other content, written again. */
  readonly missingEntries: number;
}

export async function repairIndex(client: DynamoDBClient, tableName: string): Promise<IndexRepair> {
  const doc = DynamoDBDocumentClient.from(client);
  const { hashKey, rangeKey } = table.globalIndexes.gsi1;
  const entryId = (item: Item) => JSON.stringify([item.pk, item.sk, item[hashKey], item[rangeKey]]);

  const entries = new Map<string, Item>();
  for await (const entry of scan(doc, tableName, "gsi1")) entries.set(entryId(entry), entry);

  let missingEntries = 0;
  for await (const item of scan(doc, tableName)) {
    if (item[hashKey] === undefined || item[rangeKey] === undefined) continue;
    const entry = entries.get(entryId(item));
    entries.delete(entryId(item));
    // The index projects every attribute: an entry that differs is from a write that died.
    if (entry && isDeepStrictEqual(entry, item)) continue;
    await doc.send(new PutCommand({ TableName: tableName, Item: item }));
    missingEntries++;
  }

  // What is left in `entries` matched no item.
  for (const entry of entries.values()) {
    const key = { pk: entry.pk, sk: entry.sk };
    const { Item: item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
    );
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...entry } }));
    if (item) await doc.send(new PutCommand({ TableName: tableName, Item: item }));
    else await doc.send(new DeleteCommand({ TableName: tableName, Key: key }));
  }
  return { strayEntries: entries.size, missingEntries };
}

async function* scan(
  doc: DynamoDBDocumentClient,
  tableName: string,
  indexName?: string,
): AsyncGenerator<Item> {
  let start: Item | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ...(indexName === undefined ? { ConsistentRead: true } : { IndexName: indexName }),
        ExclusiveStartKey: start,
      }),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}
