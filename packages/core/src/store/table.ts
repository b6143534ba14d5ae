/**
 * The one DynamoDB table (single-table design, docs/dynamodb.md), as plain data shared by
 * `stacks/` (SST's Dynamo component takes `fields`, `primaryIndex`, `globalIndexes` and `ttl`
 * in this shape) and by tests and local mode, which create it in dynalite with `createTable`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";

export const table = {
  /** Deployed tables are named `<namePrefix>-<stage>`. */
  namePrefix: "spca",
  partitionKey: "pk",
  sortKey: "sk",
  /** Every key attribute is a string. */
  fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  /** gsi1: requests by status, API keys, certificates by expiry, unpublished revocations (eventually consistent). */
  globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk", projection: "all" } },
  /**
   * Epoch seconds after which DynamoDB may delete the item (idempotency records, browser sessions).
   * Housekeeping only: the store compares it itself, so nothing depends on the deletion
   * (dynalite never deletes).
   */
  ttl: "purgeAt",
} as const;

export type TableIndexName = keyof typeof table.globalIndexes;

export function tableName(stage: string): string {
  return `${table.namePrefix}-${stage}`;
}

/**
 * Creates the table (on-demand billing) for tests and local mode and waits until it and its
 * index are active; an existing table is left as it is. TTL is not switched on: dynalite does
 * not implement it, and nothing relies on it.
 */
export async function createTable(
  client: DynamoDBClient,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  const index = table.globalIndexes.gsi1;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: Object.keys(table.fields).map((field) => ({
          AttributeName: field,
          AttributeType: "S",
        })),
        KeySchema: [
          { AttributeName: table.primaryIndex.hashKey, KeyType: "HASH" },
          { AttributeName: table.primaryIndex.rangeKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: "gsi1",
            KeySchema: [
              { AttributeName: index.hashKey, KeyType: "HASH" },
              { AttributeName: index.rangeKey, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === "ACTIVE" && indexes.every((i) => i.IndexStatus === "ACTIVE")) return;
    if (Date.now() > deadline) throw new Error(`Table ${name} did not become active.`);
    await sleep(25);
  }
}
