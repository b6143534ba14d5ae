/**
 * Following a published CRL object in the bucket until it lists a serial: a GetObject every
 * POLL_MS with If-None-Match set to the last ETag seen. An unchanged 100k-entry CRL (4.6 MB)
 * then costs a 304, not a download, so the poller does not slow down the service it times.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseCrl } from "@spca/core/crl/parse";

/** How often the bucket is asked whether the CRL changed. */
export const POLL_MS = 10;

export interface Listed {
  /** performance.now() when the CRL listing the serial had been received in full. */
  readonly at: number;
  readonly der: Uint8Array;
}

export class CrlWatch {
  private readonly url: string;
  private etag: string;
  /** Conditional GETs sent, and how many of them brought a changed CRL back. */
  polls = 0;
  downloads = 0;
  /**
   * Reads that returned part of a CRL, or a 500, as plain s3rver can mid-write (it rewrites an
   * object's files in place). The runtime makes its writes atomic (local/s3rver-atomic.ts), so
   * this must stay 0; such a read is retried and counted, and the bench fails on it.
   */
  torn = 0;

  private constructor(url: string, etag: string) {
    this.url = url;
    this.etag = etag;
  }

  /** Starts from the object as it is now (it must exist). */
  static async open(url: string): Promise<CrlWatch> {
    const res = await fetch(url, { method: "HEAD" });
    const etag = res.headers.get("etag");
    if (res.status !== 200 || !etag) throw new Error(`HEAD ${url}: ${res.status}, no ETag`);
    return new CrlWatch(url, etag);
  }

  /** Polls until the object lists `serialHex`; throws after `timeoutMs`. */
  async waitListing(serialHex: string, timeoutMs: number): Promise<Listed> {
    const needle = derInteger(serialHex);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const fetched = await this.fetchChanged();
      if (fetched && Buffer.from(fetched.der).indexOf(needle) >= 0) return fetched;
      if (performance.now() > deadline)
        throw new Error(`${this.url} did not list ${serialHex} within ${timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }

  /** The object if it changed since the last call and is whole; else undefined. */
  private async fetchChanged(): Promise<Listed | undefined> {
    this.polls++;
    const res = await fetch(this.url, { headers: { "if-none-match": this.etag } });
    if (res.status === 304) {
      await res.arrayBuffer();
      return undefined;
    }
    if (res.status === 500) {
      // s3rver read the object's metadata.json while it was being rewritten.
      await res.arrayBuffer();
      this.torn++;
      return undefined;
    }
    if (res.status !== 200) throw new Error(`GET ${this.url}: ${res.status} ${await res.text()}`);
    let der: Uint8Array;
    let at: number;
    try {
      der = new Uint8Array(await res.arrayBuffer());
      at = performance.now();
      parseCrl(der); // checks the DER is whole; the entries are only walked on demand
    } catch {
      // A body cut short of its Content-Length, or a CRL half old and half new.
      this.torn++;
      return undefined; // the ETag is kept, so the next poll downloads it again
    }
    this.downloads++;
    this.etag = res.headers.get("etag") ?? this.etag;
    return { at, der };
  }
}

/**
 * The DER INTEGER of a serial as a CRL entry carries it. Finding these bytes in the CRL is a
 * quick test for the wait (a full parse of 100k entries takes longer than a poll); the bench
 * checks every serial by parsing the last CRL in the end.
 */
export function derInteger(serialHex: string): Buffer {
  let bytes = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, "hex");
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  if (bytes.length > 127) throw new Error(`serial ${serialHex} is too long`);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}
