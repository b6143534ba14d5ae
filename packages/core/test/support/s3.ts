/** An in-process s3rver with the given buckets, and an S3 client for it. */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { makeS3rverWritesAtomic } from "../../../functions/src/local/s3rver-atomic.ts";

export interface LocalS3 {
  readonly client: S3Client;
  /** Its URL, for clients of other processes (credentials: S3RVER_CREDENTIALS). */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startS3rver(buckets: readonly string[]): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  // The local runtime's fix for s3rver's in-place writes (readers never see part of an object).
  makeS3rverWritesAtomic(server);
  const { port } = (await server.run()) as AddressInfo;
  // s3rver checks signatures against its fixed pair of credentials.
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  return {
    client,
    endpoint,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
