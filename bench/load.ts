/**
 * A small closed-loop load generator: `concurrency` workers, each sending its next request as
 * soon as its last one is answered, until a time or a count is reached. It times every request,
 * keeps what each successful one returned (for checking afterwards, outside the timings) and
 * counts every failure: a run with errors says so, it is never just slower or faster.
 */
export interface LoadOptions {
  readonly concurrency: number;
  /** Stop starting requests after this many seconds (requests under way finish) ... */
  readonly seconds?: number;
  /** ... or after this many requests in all, whichever comes first. */
  readonly count?: number;
}

export interface LoadResult<T> {
  readonly concurrency: number;
  /** Requests that succeeded; the rate and percentiles are over these. */
  readonly ok: number;
  readonly errors: number;
  /** The first few distinct error messages. */
  readonly errorSamples: readonly string[];
  /** From the first request sent to the last answer received. */
  readonly seconds: number;
  /** Successful requests per second. */
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly results: readonly T[];
}

export async function runLoad<T>(
  options: LoadOptions,
  request: (worker: number) => Promise<T>,
): Promise<LoadResult<T>> {
  const { concurrency } = options;
  if (options.seconds === undefined && options.count === undefined)
    throw new Error("runLoad: give seconds, count or both");
  const latencies: number[] = [];
  const results: T[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;
  let started = 0;
  const start = performance.now();
  const until = options.seconds === undefined ? Infinity : start + options.seconds * 1000;
  const count = options.count ?? Infinity;

  async function worker(n: number): Promise<void> {
    while (started < count && performance.now() < until) {
      started++;
      const sent = performance.now();
      try {
        const result = await request(n);
        latencies.push(performance.now() - sent);
        results.push(result);
      } catch (error) {
        errors++;
        if (errorSamples.size < 3) errorSamples.add((error as Error).message ?? String(error));
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, n) => worker(n)));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    ok: latencies.length,
    errors,
    errorSamples: [...errorSamples],
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    results,
  };
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}
