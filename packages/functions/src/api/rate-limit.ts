/**
 * Token-bucket rate limiting per API key and per client address, in memory. On Lambda each
 * instance keeps its own buckets, so the limit is per instance: a brake on one noisy client,
 * not an account-wide quota (API Gateway or WAF does that in front when needed).
 */
export interface RateLimit {
  /** Requests allowed in a burst. */
  readonly burst: number;
  /** Sustained requests per second. */
  readonly perSecond: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

const MAX_BUCKETS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limit: RateLimit;
  private readonly now: () => number;

  constructor(limit: RateLimit, now: () => number = Date.now) {
    this.limit = limit;
    this.now = now;
  }

  /** Takes one token for `key`; returns 0 when allowed, else the seconds until one is free. */
  take(key: string): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) {
        // Maps iterate in insertion order: drop the oldest so memory stays bounded.
        this.buckets.delete(this.buckets.keys().next().value!);
      }
      bucket = { tokens: this.limit.burst, updated: now };
    } else {
      // Re-inserted on every use, so eviction drops the least recently used bucket: a busy
      // key's bucket must not be evicted (and so refilled) by a flood of new addresses.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    const refill = ((now - bucket.updated) / 1000) * this.limit.perSecond;
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + refill);
    bucket.updated = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.limit.perSecond);
  }
}
