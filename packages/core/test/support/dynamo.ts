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

/** Longer than any test file runs. */
export const IDLE_CONNECTIONS_KEPT_MS = 60 * 60_000;

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // The client below makes one attempt, and keeps idle connections for as long as it likes: a
  // server closing an idle one (Node's default: after 5 s) resets the next request sent on it
  // (ECONNRESET). Idle connections stay open for the life of the test file instead.
  server.keepAliveTimeout = IDLE_CONNECTIONS_KEPT_MS;
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
