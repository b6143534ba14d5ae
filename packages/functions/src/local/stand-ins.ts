/**
 * The local stand-ins for AWS, each a real implementation of the service's protocol: dynalite
 * (DynamoDB, LevelDB under the data folder), s3rver (S3, files under the data folder) and
 * aws-ses-v2-local (SES v2, with its mail viewer; mails kept under the data folder too, see
 * ses-mailbox.ts). They listen on 127.0.0.1 only.
 */
import { existsSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import sesLocal from "aws-ses-v2-local";
import dynalite from "dynalite";
import S3rver from "s3rver";
import { makeS3rverWritesAtomic } from "./s3rver-atomic.ts";
import { keepMailbox } from "./ses-mailbox.ts";

export interface StandIns {
  readonly dynamodb: string;
  readonly s3: string;
  readonly ses: string;
  close(): Promise<void>;
}

export interface StandInOptions {
  readonly dataDir: string;
  /** The mail viewer's port (0 for any free port). */
  readonly mailPort: number;
  readonly buckets: readonly string[];
}

/** The local table and bucket names (one data folder holds one of each). */
export const LOCAL_TABLE = "spca-local";
export const LOCAL_BUCKET = "certificates";

/** Any credentials do for dynalite and aws-ses-v2-local; s3rver checks its own fixed pair. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/**
 * Whether the data folder holds the local service's table: its certificates, revocations and
 * CRL numbers are the service's, not `pki issue`'s file registry.
 */
export function hostsLocalService(dataDir: string): boolean {
  return existsSync(join(dataDir, "dynamodb"));
}

export interface LocalDynamo {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * dynalite on the data folder's LevelDB. LevelDB takes one writer: callers hold the runtime
 * lock (see runtime-lock.ts) while it runs.
 */
export async function startDynamo(dataDir: string): Promise<LocalDynamo> {
  const path = join(dataDir, "dynamodb");
  mkdirSync(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function startStandIns(options: StandInOptions): Promise<StandIns> {
  const s3Path = join(options.dataDir, "s3");
  mkdirSync(s3Path, { recursive: true });

  const dynamo = await startDynamo(options.dataDir);

  const s3 = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: s3Path,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  makeS3rverWritesAtomic(s3);
  const { port: s3Port } = (await s3.run()) as AddressInfo;

  const mailPath = join(options.dataDir, "mail");
  mkdirSync(mailPath, { recursive: true, mode: 0o700 });
  keepMailbox(mailPath);
  // A CommonJS module: its default export is the exports object holding `default`.
  const ses = await sesLocal.default({ host: "127.0.0.1", port: options.mailPort });
  const sesPort = (ses.address() as AddressInfo).port;

  return {
    dynamodb: dynamo.endpoint,
    s3: `http://127.0.0.1:${s3Port}`,
    ses: `http://127.0.0.1:${sesPort}`,
    async close() {
      ses.closeAllConnections();
      await Promise.all([
        new Promise<void>((r) => ses.close(() => r())),
        s3.close(),
        dynamo.close(),
      ]);
    },
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}
