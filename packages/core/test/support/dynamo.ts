/**
 * An in-process dynalite server for one test file, and fresh tables on it. Tables are cheap
 * (in memory), so tests that need isolation take one each.
 */
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { createTable } from "../../src/store/table.ts";

export interface LocalDynamo {
  readonly client: DynamoDBClient;
  /** Its URL, for clients of other processes. */
  readonly endpoint: string;
  /** Creates an empty table with the application's layout and returns its name. */
  freshTable(): Promise<string>;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  let tables = 0;
  return {
    client,
    endpoint,
    async freshTable() {
      const name = `spca-test-${++tables}`;
      await createTable(client, name);
      return name;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
