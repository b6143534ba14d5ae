/**
 * The local stand-in for the daily EventBridge Scheduler schedule: runs the expiry reminders
 * soon after start (a service that was stopped for days catches up at once) and then once a
 * day. A failed run is logged and tried again after `retryMs`; it never stops the service.
 */
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

export interface ExpiryTimer {
  close(): Promise<void>;
}

export function startExpiryReminderTimer(
  run: () => Promise<ExpiryReport>,
  options: ExpiryTimerOptions = {},
): ExpiryTimer {
  const intervalMs = options.intervalMs ?? 24 * 3600_000;
  const retryMs = options.retryMs ?? 15 * 60_000;
  const onError =
    options.onError ??
    ((error) => console.error(`Expiry reminders failed: ${(error as Error).message}`));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;

  const schedule = (ms: number) => {
    if (closed) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
      });
    }, ms);
    timer.unref();
  };

  const tick = async () => {
    let next = intervalMs;
    try {
      const report = await run();
      options.onReport?.(report);
      if (report.failed.length > 0) {
        onError(
          new Error(
            `${report.failed.length} reminder(s) not sent (${report.failed[0]!.error}); retrying later`,
          ),
        );
        next = retryMs;
      }
    } catch (error) {
      onError(error);
      next = retryMs;
    }
    schedule(next);
  };

  schedule(options.firstRunMs ?? 5_000);
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
