/**
 * A published object (the CRL, the CA bundle) read from an http(s):// URL or from
 * s3://bucket/key and held in memory. A copy confirmed (200 or 304) less than `maxAgeMs` ago is
 * used without a request; an older one is confirmed with a conditional request (If-None-Match on
 * its ETag, else If-Modified-Since), so a warm authorizer downloads nothing while the object is
 * unchanged. Callers that need a refresh at the same time share one request.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";

export type SourceLocation =
  | { readonly kind: "http"; readonly url: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly key: string };

/** Reads `http(s)://…` or `s3://bucket/key`; throws a RangeError saying what is wrong. */
export function parseSourceLocation(text: string): SourceLocation {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(text);
  if (s3) return { kind: "s3", bucket: s3[1]!, key: s3[2]! };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`"${text}" is neither an http(s):// URL nor s3://bucket/key`);
  }
  if (url.protocol === "s3:") throw new RangeError(`"${text}" is not s3://bucket/key`);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RangeError(`"${text}" is neither an http(s):// URL nor s3://bucket/key`);
  }
  return { kind: "http", url: url.href };
}

/** The object as last received, and when it was last known to be current. */
export interface Snapshot {
  readonly body: Uint8Array;
  /** Rises with each new body (a 304 keeps it), so what is derived from a body can be cached. */
  readonly generation: number;
  /** Epoch ms when the request that returned or confirmed this body was sent. */
  readonly confirmedAt: number;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
}

export interface SourceOptions {
  readonly fetch?: typeof fetch;
  /** The S3 client for s3:// locations, made on first use (default: the environment's). */
  readonly s3?: () => S3Client;
  readonly now?: () => Date;
  /** Per request; a hung server must not hold the decision forever. */
  readonly timeoutMs?: number;
}

/** A refresh that failed: the message says which object and why. */
export class SourceError extends Error {
  override readonly name = "SourceError";
}

// Well inside a Lambda timeout (10 s as deployed), so a hung server still gets a logged Deny.
const DEFAULT_TIMEOUT_MS = 5_000;

export class PublishedSource {
  readonly location: SourceLocation;
  readonly description: string;
  private readonly options: SourceOptions;
  private snapshot: Snapshot | undefined;
  private pending: Promise<Snapshot> | undefined;
  private generations = 0;
  private s3Client: S3Client | undefined;

  constructor(location: string | SourceLocation, options: SourceOptions = {}) {
    this.location = typeof location === "string" ? parseSourceLocation(location) : location;
    this.description =
      this.location.kind === "http"
        ? this.location.url
        : `s3://${this.location.bucket}/${this.location.key}`;
    this.options = options;
  }

  /** The object, confirmed less than `maxAgeMs` ago; throws SourceError when it cannot be. */
  async fresh(maxAgeMs: number): Promise<Snapshot> {
    const held = this.snapshot;
    if (held) {
      const age = this.nowMs() - held.confirmedAt;
      // A clock that went back makes the age negative: confirm again rather than trust it.
      if (age >= 0 && age < maxAgeMs) return held;
    }
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async refresh(): Promise<Snapshot> {
    const held = this.snapshot;
    const sentAt = this.nowMs();
    const received =
      this.location.kind === "http"
        ? await this.getHttp(this.location.url, held)
        : await this.getS3(this.location.bucket, this.location.key, held);
    const next: Snapshot =
      received === "not-modified"
        ? { ...held!, confirmedAt: sentAt }
        : { ...received, generation: ++this.generations, confirmedAt: sentAt };
    this.snapshot = next;
    return next;
  }

  private async getHttp(
    url: string,
    held: Snapshot | undefined,
  ): Promise<Received | "not-modified"> {
    const headers: Record<string, string> = {};
    if (held?.etag) headers["if-none-match"] = held.etag;
    else if (held?.lastModified) headers["if-modified-since"] = held.lastModified;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        headers,
        signal: AbortSignal.timeout(this.timeoutMs()),
      });
    } catch (error) {
      throw new SourceError(`GET ${url} failed: ${describe(error)}`);
    }
    // A 304 means something only to a conditional request.
    if (response.status === 304 && held && Object.keys(headers).length > 0) {
      await response.body?.cancel();
      return "not-modified";
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new SourceError(`GET ${url} answered ${response.status}`);
    }
    try {
      return {
        body: new Uint8Array(await response.arrayBuffer()),
        etag: response.headers.get("etag") ?? undefined,
        lastModified: response.headers.get("last-modified") ?? undefined,
      };
    } catch (error) {
      throw new SourceError(`GET ${url}: the body could not be read: ${describe(error)}`);
    }
  }

  private async getS3(
    bucket: string,
    key: string,
    held: Snapshot | undefined,
  ): Promise<Received | "not-modified"> {
    const where = `s3://${bucket}/${key}`;
    try {
      const out = await this.s3().send(
        new GetObjectCommand({ Bucket: bucket, Key: key, IfNoneMatch: held?.etag }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs()) },
      );
      if (!out.Body) throw new SourceError(`GetObject ${where} returned no body`);
      return {
        body: await out.Body.transformToByteArray(),
        etag: out.ETag,
        lastModified: undefined,
      };
    } catch (error) {
      // The SDK throws on S3's 304; its name has been "NotModified", "304" and "" over versions.
      if (held?.etag && statusOf(error) === 304) return "not-modified";
      if (error instanceof SourceError) throw error;
      throw new SourceError(`GetObject ${where} failed: ${describe(error)}`);
    }
  }

  private s3(): S3Client {
    this.s3Client ??= this.options.s3?.() ?? new S3Client({});
    return this.s3Client;
  }

  private nowMs(): number {
    return (this.options.now?.() ?? new Date()).getTime();
  }

  private timeoutMs(): number {
    return this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }
}

type Received = Pick<Snapshot, "body" | "etag" | "lastModified">;

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = statusOf(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.name}${status ? ` ${status}` : ""}: ${error.message}${cause}`;
}
