/** An ObjectStore in memory, for tests that need the bucket's behaviour but not S3. */
import type { ObjectStore, PutOptions, StoredObject } from "../../src/store/object-store.ts";

export class MemoryObjects implements ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  async put(
    key: string,
    body: Uint8Array | string,
    contentType: string,
    options: PutOptions = {},
  ): Promise<void> {
    this.objects.set(key, {
      body: typeof body === "string" ? new TextEncoder().encode(body) : body,
      contentType,
      ...(options.cacheControl ? { cacheControl: options.cacheControl } : {}),
    });
  }
  async get(key: string): Promise<StoredObject | undefined> {
    return this.objects.get(key);
  }
}
