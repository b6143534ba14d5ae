/**
 * An in-process timer that runs a step, then sleeps for as long as the step says before running
 * it again: the local stand-in for an EventBridge Scheduler schedule. The timer never keeps the
 * process alive, and closing it waits for a step under way. The step handles its own errors
 * (it decides how soon to retry).
 */
export interface RecurringTimer {
  close(): Promise<void>;
}

export function startRecurring(
  /** Does the work once; resolves to the delay before the next run, in milliseconds. */
  step: () => Promise<number>,
  firstDelayMs: number,
): RecurringTimer {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;

  const schedule = (ms: number) => {
    if (closed) return;
    timer = setTimeout(() => {
      running = step()
        .then(schedule)
        .finally(() => {
          running = undefined;
        });
    }, ms);
    timer.unref();
  };

  schedule(firstDelayMs);
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
