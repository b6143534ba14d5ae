/**
 * The inventory on the one table (docs/dynamodb.md): everyone's certificates are one Query of
 * gsi1's `CERTS` partition, in notAfter order; a requester's are Queries of their visibility
 * keys' view partitions, merged in the same order, each view's record then read by its key.
 * Both read one page of at most PAGE_ITEMS at a time, so an export of any size holds a page.
 */

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DynamoAccess, type Item } from "../store/dynamo-access.ts";
import {
  ALL_CERTIFICATES,
  certificateOfItem,
  viewPartition,
} from "../store/dynamo-certificates.ts";
import { key } from "../store/dynamo-request-items.ts";
import type { CertificateRecord } from "../store/request-repository.ts";
import type {
  CertificateInventory,
  InventoryRange,
  InventoryScope,
} from "./certificate-inventory.ts";

/** Items per Query page. */
const PAGE_ITEMS = 250;
/** Lower and upper bounds that sort below and above every `<ISO instant>#<serial>`. */
const LOWEST = "0";
const HIGHEST = "~";

export class DynamoCertificateInventory implements CertificateInventory {
  private readonly db: DynamoAccess;

  constructor(options: { readonly client: DynamoDBClient; readonly tableName: string }) {
    this.db = new DynamoAccess(options.client, options.tableName);
  }

  records(scope: InventoryScope, range: InventoryRange): AsyncIterable<CertificateRecord> {
    if (scope.all) return this.everyone(range);
    return this.viewed(scope.visibilityKeys, range);
  }

  private async *everyone(range: InventoryRange): AsyncIterable<CertificateRecord> {
    const items = this.query(
      { IndexName: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk", partition: ALL_CERTIFICATES },
      range,
      (sk) => {
        const serial = sk.slice(sk.indexOf("#") + 1);
        return { ...key.certificate(serial), gsi1pk: ALL_CERTIFICATES, gsi1sk: sk };
      },
    );
    for await (const item of items) yield certificateOfItem(item);
  }

  private async *viewed(
    visibilityKeys: readonly string[],
    range: InventoryRange,
  ): AsyncIterable<CertificateRecord> {
    const streams = [...new Set(visibilityKeys)].map((visibility) =>
      this.query(
        { partitionKey: "pk", sortKey: "sk", partition: viewPartition(visibility) },
        range,
        (sk) => ({ pk: viewPartition(visibility), sk }),
      ),
    );
    let batch: Item[] = [];
    for await (const view of mergeBySortKey(streams)) {
      batch.push(view);
      if (batch.length === 100) {
        yield* await this.recordsOf(batch);
        batch = [];
      }
    }
    if (batch.length > 0) yield* await this.recordsOf(batch);
  }

  /** The records the views name, in the views' order; a view whose record is another request's is not one. */
  private async recordsOf(views: readonly Item[]): Promise<CertificateRecord[]> {
    const byKey = new Map<string, Item>();
    let wanted = views.map((view) => key.certificate(view.serial as string));
    while (wanted.length > 0) {
      const result = await this.db.send(() =>
        this.db.doc.send(
          new BatchGetCommand({ RequestItems: { [this.db.tableName]: { Keys: wanted } } }),
        ),
      );
      for (const item of result.Responses?.[this.db.tableName] ?? []) byKey.set(item.pk, item);
      wanted = (result.UnprocessedKeys?.[this.db.tableName]?.Keys ?? []) as typeof wanted;
    }
    const records: CertificateRecord[] = [];
    for (const view of views) {
      const item = byKey.get(key.certificate(view.serial).pk);
      if (item && item.requestId === view.requestId) records.push(certificateOfItem(item));
    }
    return records;
  }

  /** A partition's items from `range`, page by page. */
  private async *query(
    where: {
      readonly IndexName?: string;
      readonly partitionKey: string;
      readonly sortKey: string;
      readonly partition: string;
    },
    range: InventoryRange,
    startKey: (sortKey: string) => Record<string, string>,
  ): AsyncIterable<Item> {
    let exclusiveStartKey: Record<string, unknown> | undefined =
      range.after === undefined ? undefined : startKey(range.after);
    // The upper bound is exclusive: "<to>#serial" sorts after "<to>", so BETWEEN leaves it out.
    const lower = range.from ?? LOWEST;
    const upper = range.to ?? HIGHEST;
    if (lower > upper) return;
    do {
      const result = await this.db.send(() =>
        this.db.doc.send(
          new QueryCommand({
            TableName: this.db.tableName,
            ...(where.IndexName ? { IndexName: where.IndexName } : {}),
            KeyConditionExpression: "#p = :p AND #s BETWEEN :lower AND :upper",
            ExpressionAttributeNames: { "#p": where.partitionKey, "#s": where.sortKey },
            ExpressionAttributeValues: { ":p": where.partition, ":lower": lower, ":upper": upper },
            Limit: PAGE_ITEMS,
            ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          }),
        ),
      );
      for (const item of result.Items ?? []) yield item;
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }
}

/** Merges streams each sorted by `sk` into one, an item seen in several streams once. */
async function* mergeBySortKey(streams: readonly AsyncIterable<Item>[]): AsyncIterable<Item> {
  const cursors = streams.map((stream) => stream[Symbol.asyncIterator]());
  const heads = await Promise.all(cursors.map((c) => c.next()));
  let lastSk: string | undefined;
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i]!;
      if (head.done) continue;
      if (best < 0 || (head.value.sk as string) < (heads[best]!.value.sk as string)) best = i;
    }
    if (best < 0) return;
    const item = heads[best]!.value as Item;
    if (item.sk !== lastSk) yield item;
    lastSk = item.sk;
    heads[best] = await cursors[best]!.next();
  }
}
