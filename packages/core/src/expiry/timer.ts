/**
 * The local stand-in for the daily EventBridge Scheduler schedule: runs the expiry reminders
 * soon after start (a service that was stopped for days catches up at once) and then once a
 * day. A failed run is logged and tried again after `retryMs`; it never stops the service.
 */
import { type RecurringTimer, startRecurring } from "../recurring.ts";
import type { ExpiryReport } from "./reminders.ts";

export interface ExpiryTimerOptions {
  /** Delay before the first run: start-up is not held up by it. */
  readonly firstRunMs?: number;
  readonly intervalMs?: number;
  /** After a run that threw, or left reminders unsent. */
  readonly retryMs?: number;
  readonly onReport?: (report: ExpiryReport) => void;
  readonly onError?: (error: unknown) => void;
}

export function startExpiryReminderTimer(
  run: () => Promise<ExpiryReport>,
  options: ExpiryTimerOptions = {},
): RecurringTimer {
  const intervalMs = options.intervalMs ?? 24 * 3600_000;
  const retryMs = options.retryMs ?? 15 * 60_000;
  const onError =
    options.onError ??
    ((error) => console.error(`Expiry reminders failed: ${(error as Error).message}`));

  const tick = async () => {
    try {
      const report = await run();
      options.onReport?.(report);
      if (report.failed.length === 0) return intervalMs;
      onError(
        new Error(
          `${report.failed.length} reminder(s) not sent (${report.failed[0]!.error}); retrying later`,
        ),
      );
    } catch (error) {
      onError(error);
    }
    return retryMs;
  };

  return startRecurring(tick, options.firstRunMs ?? 5_000);
}
