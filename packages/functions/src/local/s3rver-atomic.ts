/**
 * S3 never shows a reader part of an object, but s3rver's filesystem store rewrites an object
 * in place (and answers a PUT before the bytes are on disk), so a relying party fetching the
 * CRL while it is republished could get a cut-off one. This makes s3rver keep S3's promise
 * within its process: a PUT writes a temporary file and renames it over the object, and a GET
 * reads the object's metadata and opens its file under the same per-key lock, so it streams
 * one whole version (an open file survives the rename).
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import type S3rver from "s3rver";

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | Readable;
  readonly metadata: Record<string, string>;
}

/** The parts of s3rver's FilesystemStore this replaces or calls. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  getObject(bucket: string, key: string, options: unknown): Promise<unknown>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

export function makeS3rverWritesAtomic(server: S3rver): void {
  const store = (server as unknown as { store: FilesystemStore }).store;
  const tails = new Map<string, Promise<void>>();
  const exclusive = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(name) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    tails.set(name, tail);
    void tail.then(() => {
      if (tails.get(name) === tail) tails.delete(name);
    });
    return run;
  };

  const getObject = store.getObject.bind(store);
  store.getObject = (bucket, key, options) =>
    exclusive(`${bucket}/${key}`, () => getObject(bucket, key, options));

  store.putObject = async (object) => {
    const path = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(dirname(path), { recursive: true });
    const content = Buffer.isBuffer(object.content)
      ? object.content
      : Buffer.concat(await object.content.toArray());
    const md5 = createHash("md5").update(content).digest("hex");
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, content);
    await exclusive(`${object.bucket}/${object.key}`, async () => {
      await rename(temporary, path);
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    });
    return { size: content.length, md5 };
  };
}
