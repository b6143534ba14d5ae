/**
 * Turns a burst of requests into one run: the first request starts a short wait, every request
 * during the wait (or during the run) joins, and each caller's promise settles with the first
 * run that started after it asked. Locally this debounces CRL publication after revocations;
 * on AWS the SQS batching window does the same.
 */
interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class CoalescingTrigger {
  private readonly run: () => Promise<unknown>;
  private readonly delayMs: number;
  private waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(run: () => Promise<unknown>, delayMs: number) {
    this.run = run;
    this.delayMs = delayMs;
  }

  request(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("The trigger is closed."));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking requests; waits for a run in progress and fails those still waiting. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    for (const w of this.waiting.splice(0)) w.reject(new Error("The trigger was closed."));
  }

  private schedule(): void {
    if (this.timer || this.running || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, this.delayMs);
  }

  private fire(): void {
    const batch = this.waiting.splice(0);
    if (batch.length === 0) return;
    this.running = this.run().then(
      () => {
        for (const w of batch) w.resolve();
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
    void this.running.finally(() => {
      this.running = undefined;
      // Requests that came in during the run need a run that started after them.
      if (this.waiting.length > 0) this.schedule();
    });
  }
}
