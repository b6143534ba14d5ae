/**
 * The local stand-in for the EventBridge Scheduler rule: an in-process timer that publishes the
 * CRL while a revocation is unpublished, and republishes it when crl.refreshHours have passed
 * since the last one, well before its nextUpdate.
 * It sleeps until the next due time (rechecking at least every `maxSleepMs`, since another
 * publication may have moved it), and retries a failed publication after `retryMs`.
 */
import { type RecurringTimer, startRecurring } from "../recurring.ts";
import type { CrlPublisher } from "./publisher.ts";

/** The shortest wait between two looks: a second, against hours between refreshes. */
const MIN_RECHECK_MS = 1_000;

export interface CrlRefreshTimerOptions {
  readonly retryMs?: number;
  readonly maxSleepMs?: number;
  readonly onError?: (error: unknown) => void;
}

export function startCrlRefreshTimer(
  publisher: CrlPublisher,
  options: CrlRefreshTimerOptions = {},
): RecurringTimer {
  const retryMs = options.retryMs ?? 30_000;
  const maxSleepMs = options.maxSleepMs ?? 60_000;
  const onError =
    options.onError ??
    ((error) => console.error(`CRL refresh failed: ${(error as Error).message}`));

  const check = async () => {
    let next: number;
    try {
      await publisher.publishIfDue("schedule");
      // A mark that cannot be cleared must not turn the timer into a loop of publications.
      next = Math.max(MIN_RECHECK_MS, ((await publisher.nextDue()) ?? Date.now()) - Date.now());
    } catch (error) {
      onError(error);
      next = retryMs;
    }
    return Math.max(0, Math.min(next, maxSleepMs));
  };

  return startRecurring(check, 0);
}
