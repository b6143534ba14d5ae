/**
 * The local event bus: delivers each published event to every matching subscription in this
 * process, asynchronously (publishing returns once the event is accepted, as with EventBridge),
 * through a JSON round trip and re-validation (as a Lambda subscriber would see it), retrying a
 * failing subscriber with backoff like EventBridge's retry policy.
 */

import { accepts, createEvent, type EventBus, parseEvent, type Subscription } from "./bus.ts";
import type { DomainEvent, EventDetail, EventType } from "./catalogue.ts";

export interface InProcessBusOptions {
  /** Delivery attempts per subscriber (EventBridge retries for up to 24 hours; locally fewer). */
  readonly attempts?: number;
  readonly firstRetryMs?: number;
  /** Called when a subscriber gave up on an event; the default logs to stderr. */
  readonly onDeliveryFailure?: (subscription: string, event: DomainEvent, error: unknown) => void;
}

export class InProcessEventBus implements EventBus {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly attempts: number;
  private readonly firstRetryMs: number;
  private readonly onDeliveryFailure: NonNullable<InProcessBusOptions["onDeliveryFailure"]>;

  constructor(options: InProcessBusOptions = {}) {
    this.attempts = options.attempts ?? 5;
    this.firstRetryMs = options.firstRetryMs ?? 200;
    this.onDeliveryFailure =
      options.onDeliveryFailure ??
      ((name, event, error) =>
        console.error(`event ${event.id}: subscriber ${name} failed: ${(error as Error).message}`));
  }

  subscribe<T extends EventType>(sub: Subscription<T>): void {
    this.subscriptions.push(sub as unknown as Subscription);
  }

  async publish<T extends EventType>(type: T, detail: EventDetail<T>): Promise<DomainEvent<T>> {
    const event = createEvent(type, detail);
    const wire = JSON.stringify(event);
    for (const sub of this.subscriptions) {
      if (!accepts(sub, event)) continue;
      const delivery = this.deliver(sub, wire).finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
    return event;
  }

  /** Resolves once every delivery started so far (and any it caused) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(sub: Subscription, wire: string): Promise<void> {
    // A macrotask later, so the publisher's own work finishes first, as with a real bus.
    await new Promise((resolve) => setImmediate(resolve));
    const event = parseEvent(JSON.parse(wire));
    for (let attempt = 1; ; attempt++) {
      try {
        await sub.handle(event);
        return;
      } catch (error) {
        if (attempt >= this.attempts) {
          this.onDeliveryFailure(sub.name, event, error);
          return;
        }
        await new Promise((r) => setTimeout(r, this.firstRetryMs * 2 ** (attempt - 1)));
      }
    }
  }
}
