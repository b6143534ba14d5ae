/**
 * The object store on S3 (and, locally, on s3rver through the same client). Puts are whole
 * objects, so a reader sees either the old or the new version, never a partial one.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { isRetryableAwsError } from "../aws-errors.ts";
import { TransientError } from "../errors.ts";
import type { ObjectStore, PutOptions, StoredObject } from "./object-store.ts";

const TRANSIENT = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "RequestTimeout",
  "TimeoutError",
]);

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.client = client;
    this.bucket = bucket;
  }

  async put(
    key: string,
    body: Uint8Array | string,
    contentType: string,
    options: PutOptions = {},
  ): Promise<void> {
    await this.call(() =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
        }),
      ),
    );
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const result = await this.call(() =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })),
      );
      const body = await result.Body!.transformToByteArray();
      return {
        body,
        contentType: result.ContentType,
        ...(result.CacheControl ? { cacheControl: result.CacheControl } : {}),
        ...(result.VersionId && result.VersionId !== "null" ? { versionId: result.VersionId } : {}),
      };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      // Throttling, 5xx and network failures pass on retry; the workflow's Retry matches the name.
      if (isRetryableAwsError(error, TRANSIENT)) {
        throw new TransientError(
          `S3 ${this.bucket}: ${(error as Error).name}: ${(error as Error).message}`,
        );
      }
      throw error;
    }
  }
}
