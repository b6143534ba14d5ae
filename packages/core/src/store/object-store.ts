/**
 * The object-store port: certificate PEMs in the private bucket; later the published CRL and
 * CA objects. Keys are bucket-relative paths such as `certificates/<serial>.pem`.
 */
export interface StoredObject {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  /** The Cache-Control it is served with (publication objects: crl/publication-cache.ts). */
  readonly cacheControl?: string | undefined;
  /** The S3 object version this body is (a versioned bucket); undefined where there are none. */
  readonly versionId?: string | undefined;
}

export interface PutOptions {
  readonly cacheControl?: string;
}

export interface ObjectStore {
  put(
    key: string,
    body: Uint8Array | string,
    contentType: string,
    options?: PutOptions,
  ): Promise<void>;
  /** The object, or undefined when there is none under `key`. */
  get(key: string): Promise<StoredObject | undefined>;
}
