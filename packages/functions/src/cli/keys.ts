/**
 * `pki keys create|list|revoke`: API keys live in the local service's table. While the service
 * runs, its LevelDB has one writer, so the CLI asks the service's admin API (runtime.json gives
 * the URL and admin key); otherwise it opens the table itself, holding the runtime lock so a
 * service cannot start under it.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createApiKey } from "@spca/core/ra/api-keys";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import type { ApiKeyRecord, ApiKeyRole } from "@spca/core/store/request-repository";
import { createTable } from "@spca/core/store/table";
import { readRuntimeInfo } from "../local/runtime-info.ts";
import { acquireLock, runtimeHolder } from "../local/runtime-lock.ts";
import { LOCAL_CREDENTIALS, LOCAL_TABLE, startDynamo } from "../local/stand-ins.ts";

export interface KeyStore {
  /** Where the keys are, for messages: the service's URL or the data folder. */
  readonly where: string;
  create(role: ApiKeyRole, label: string): Promise<{ key: string; record: ApiKeyRecord }>;
  list(): Promise<readonly ApiKeyRecord[]>;
  revoke(id: string): Promise<ApiKeyRecord>;
  close(): Promise<void>;
}

/** The running service's API if one holds the data folder, else the folder's table. */
export async function openKeyStore(dataDir: string): Promise<KeyStore> {
  const holder = runtimeHolder(dataDir);
  if (holder === undefined) return openDataFolder(dataDir);
  const info = readRuntimeInfo(dataDir);
  if (!info || info.pid !== holder) {
    throw new Error(
      `The local service (process ${holder}) holds ${dataDir} but has not written runtime.json yet; try again when it prints "ready".`,
    );
  }
  return serviceApi(info.api, info.adminKey);
}

async function openDataFolder(dataDir: string): Promise<KeyStore> {
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
      create: (role, label) => createApiKey(repository, role, label),
      list: () => repository.listApiKeys(),
      revoke: (id) => repository.revokeApiKey(id),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function serviceApi(api: string, adminKey: string): KeyStore {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new Error(
        `The local service should be at ${api} (runtime.json) but cannot be reached: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let problem: { code?: string; detail?: string; title?: string } = {};
      try {
        problem = JSON.parse(text);
      } catch {}
      const hint =
        res.status === 401
          ? " The admin key in runtime.json is no longer valid; stop the service to manage keys on the data folder directly."
          : "";
      throw new Error(
        `The local service at ${api} refused ${method} ${path}: ${res.status} ${problem.code ?? ""}: ${problem.detail ?? problem.title ?? text}.${hint}`,
      );
    }
    return JSON.parse(text) as T;
  };
  return {
    where: api,
    async create(role, label) {
      const { key, ...record } = await call<ApiKeyRecord & { key: string }>("POST", "/v1/keys", {
        role,
        label,
      });
      return { key, record };
    },
    list: async () => (await call<{ keys: ApiKeyRecord[] }>("GET", "/v1/keys")).keys,
    revoke: (id) => call<ApiKeyRecord>("DELETE", `/v1/keys/${encodeURIComponent(id)}`),
    close: async () => {},
  };
}
