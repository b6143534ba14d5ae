/**
 * The local event bus: delivers each published event to every matching subscription in this
 * process, asynchronously (publishing returns once the event is accepted, as with EventBridge),
 * through a JSON round trip and re-validation (as a Lambda subscriber would see it), retrying a
 * failing subscriber with backoff like EventBridge's retry policy.
 *
 * With an outbox folder, an accepted event is durable, as it is on EventBridge: each delivery
 * is written to a file before `publish` returns and removed once the subscriber has handled
 * it, and `resumePending` delivers what a process that died left there. Subscribers are
 * idempotent (the event id names the fact), so a delivery cut short and repeated is harmless.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readJson, writeAtomic } from "../store/files.ts";
import { accepts, createEvent, type EventBus, parseEvent, type Subscription } from "./bus.ts";
import type { DomainEvent, EventDetail, EventType } from "./catalogue.ts";

export interface InProcessBusOptions {
  /** Delivery attempts per subscriber (EventBridge retries for up to 24 hours; locally fewer). */
  readonly attempts?: number;
  readonly firstRetryMs?: number;
  /** Called when a subscriber gave up on an event; the default logs to stderr. */
  readonly onDeliveryFailure?: (subscription: string, event: DomainEvent, error: unknown) => void;
  /** Folder keeping every delivery until it is done, so none is lost with the process. */
  readonly outbox?: string;
}

/** A delivery waiting in the outbox. */
interface PendingDelivery {
  readonly subscription: string;
  readonly wire: string;
}

export class InProcessEventBus implements EventBus {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly attempts: number;
  private readonly firstRetryMs: number;
  private readonly onDeliveryFailure: NonNullable<InProcessBusOptions["onDeliveryFailure"]>;
  private readonly outbox: string | undefined;

  constructor(options: InProcessBusOptions = {}) {
    this.attempts = options.attempts ?? 5;
    this.firstRetryMs = options.firstRetryMs ?? 200;
    this.onDeliveryFailure =
      options.onDeliveryFailure ??
      ((name, event, error) =>
        console.error(`event ${event.id}: subscriber ${name} failed: ${(error as Error).message}`));
    this.outbox = options.outbox;
    if (this.outbox) mkdirSync(this.outbox, { recursive: true, mode: 0o700 });
  }

  subscribe<T extends EventType>(sub: Subscription<T>): void {
    this.subscriptions.push(sub as unknown as Subscription);
  }

  async publish<T extends EventType>(type: T, detail: EventDetail<T>): Promise<DomainEvent<T>> {
    const event = createEvent(type, detail);
    const wire = JSON.stringify(event);
    for (const sub of this.subscriptions) {
      if (!accepts(sub, event)) continue;
      const file = this.keep(sub.name, event.id, wire);
      this.start(sub, wire, file);
    }
    return event;
  }

  /**
   * Delivers what the outbox holds from an earlier process (call once the subscriptions are
   * in place). Returns how many deliveries it started.
   */
  resumePending(): number {
    if (!this.outbox) return 0;
    let started = 0;
    for (const name of readdirSync(this.outbox).sort()) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const file = join(this.outbox, name);
      const pending = readJson<PendingDelivery>(file);
      const sub = this.subscriptions.find((s) => s.name === pending?.subscription);
      if (!pending || !sub) {
        console.error(`${file}: no subscriber "${pending?.subscription}" here; left in place.`);
        continue;
      }
      this.start(sub, pending.wire, file);
      started++;
    }
    return started;
  }

  private keep(subscription: string, eventId: string, wire: string): string | undefined {
    if (!this.outbox) return undefined;
    // One file per subscriber and fact: the same event published again is the same delivery.
    const name = createHash("sha256").update(`${subscription}\n${eventId}`).digest("hex");
    const file = join(this.outbox, `${name}.json`);
    writeAtomic(file, JSON.stringify({ subscription, wire } satisfies PendingDelivery));
    return file;
  }

  private start(sub: Subscription, wire: string, file: string | undefined): void {
    const delivery = this.deliver(sub, wire, file)
      .catch((error: unknown) =>
        console.error(`${file ?? "an event"} cannot be delivered: ${(error as Error).message}`),
      )
      .finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  /** Resolves once every delivery started so far (and any it caused) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(sub: Subscription, wire: string, file: string | undefined): Promise<void> {
    // A macrotask later, so the publisher's own work finishes first, as with a real bus.
    await new Promise((resolve) => setImmediate(resolve));
    const event = parseEvent(JSON.parse(wire));
    for (let attempt = 1; ; attempt++) {
      try {
        await sub.handle(event);
        if (file) rmSync(file, { force: true });
        return;
      } catch (error) {
        if (attempt >= this.attempts) {
          // An outbox keeps the delivery: the next start tries it again.
          this.onDeliveryFailure(sub.name, event, error);
          return;
        }
        await new Promise((r) => setTimeout(r, this.firstRetryMs * 2 ** (attempt - 1)));
      }
    }
  }
}
