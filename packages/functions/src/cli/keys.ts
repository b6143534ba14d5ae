/**
 * `pki keys create|list|revoke`: API keys live in the local service's table (`pki keys create
 * --aws` makes one in the deployment's table instead: aws-target.ts). While the service
 * runs, its LevelDB has one writer, so the CLI asks the service's admin API (runtime.json gives
 * the URL and admin key); otherwise it opens the table itself, holding the runtime lock so a
 * service cannot start under it.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createApiKey } from "@spca/core/ra/api-keys";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import type { ApiKeyRecord, NewApiKey } from "@spca/core/store/request-repository";
import { createTable } from "@spca/core/store/table";
import { securePrivateDataFolder } from "../local/data-folder-modes.ts";
import { acquireLock } from "../local/runtime-lock.ts";
import { LOCAL_CREDENTIALS, LOCAL_TABLE, startDynamo } from "../local/stand-ins.ts";
import { runningService, type ServiceClient } from "./service-client.ts";

export interface KeyStore {
  /** Where the keys are, for messages: the service's URL or the data folder. */
  readonly where: string;
  /** A key with `role` for `owner` (an email address): its requests are that person's. */
  create(input: Omit<NewApiKey, "keyHash">): Promise<{ key: string; record: ApiKeyRecord }>;
  list(): Promise<readonly ApiKeyRecord[]>;
  revoke(id: string): Promise<ApiKeyRecord>;
  close(): Promise<void>;
}

/** The running service's API if one holds the data folder, else the folder's table. */
export async function openKeyStore(dataDir: string): Promise<KeyStore> {
  const service = runningService(dataDir);
  return service ? serviceKeys(service) : openDataFolder(dataDir);
}

async function openDataFolder(dataDir: string): Promise<KeyStore> {
  securePrivateDataFolder(dataDir, { create: false });
  const release = acquireLock(dataDir);
  let dynamo: Awaited<ReturnType<typeof startDynamo>> | undefined;
  let client: DynamoDBClient | undefined;
  const close = async () => {
    client?.destroy();
    await dynamo?.close();
    release();
  };
  try {
    dynamo = await startDynamo(dataDir);
    client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: "us-east-1",
      credentials: LOCAL_CREDENTIALS,
    });
    await createTable(client, LOCAL_TABLE);
    const repository = new DynamoRequestRepository({ client, tableName: LOCAL_TABLE });
    return {
      where: dataDir,
      create: (input) => createApiKey(repository, input),
      list: () => repository.listApiKeys(),
      revoke: (id) => repository.revokeApiKey(id),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * What `pki keys create` prints, on a data folder, through the local service or with --aws: the
 * key alone on stdout (for `> ci.key`), the rest on stderr: its role, id and owner. `where`
 * names where it was stored.
 */
export function printCreatedKey(
  out: { stdout(text: string): void; stderr(text: string): void },
  created: {
    readonly key: string;
    readonly record: Pick<ApiKeyRecord, "id" | "role" | "owner">;
  },
  where: string,
): void {
  out.stderr(
    `Created ${created.record.role} key ${created.record.id} for ${created.record.owner ?? "no owner"} in ${where}. This is the only time the key is shown.\n`,
  );
  out.stdout(`${created.key}\n`);
}

function serviceKeys(service: ServiceClient): KeyStore {
  return {
    where: service.api,
    async create({ role, label, owner }) {
      const { key, ...record } = await service.json<ApiKeyRecord & { key: string }>(
        "POST",
        "/v1/keys",
        { role, label, owner },
      );
      return { key, record };
    },
    list: async () => (await service.json<{ keys: ApiKeyRecord[] }>("GET", "/v1/keys")).keys,
    revoke: (id) => service.json<ApiKeyRecord>("DELETE", `/v1/keys/${encodeURIComponent(id)}`),
    close: async () => {},
  };
}
