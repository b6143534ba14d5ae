/**
 * The event-bus port. Publishers hand over a type and a detail; the bus validates it against
 * the catalogue before anything leaves the process. Subscribers get a typed event whose detail
 * has been validated again on arrival (it crossed a serialisation boundary).
 */
import * as v from "valibot";
import { PkiError } from "../errors.ts";
import { issueMessages } from "../validation.ts";
import {
  type DomainEvent,
  type EventDetail,
  type EventType,
  eventCatalogue,
  isEventType,
} from "./catalogue.ts";

export interface EventBus {
  publish<T extends EventType>(type: T, detail: EventDetail<T>): Promise<DomainEvent<T>>;
}

export interface Subscription<T extends EventType = EventType> {
  /** Stable name, used in logs and as the deduplication scope of the subscriber. */
  readonly name: string;
  readonly types: readonly T[];
  handle(event: DomainEvent<T>): Promise<void>;
}

export function subscription<T extends EventType>(
  name: string,
  types: readonly T[],
  handle: (event: DomainEvent<T>) => Promise<void>,
): Subscription<T> {
  return { name, types, handle };
}

/** Builds a validated event; the id names the fact, so publishing it again gives the same id. */
export function createEvent<T extends EventType>(
  type: T,
  detail: EventDetail<T>,
  time = new Date(),
): DomainEvent<T> {
  const valid = validateDetail(type, detail);
  return { id: `${type}/${factKey(valid)}`, type, time: time.toISOString(), detail: valid };
}

/** What names the fact an event reports, so the same fact always gets the same id. */
function factKey(detail: EventDetail<EventType>): string {
  // One certificate reaches several reminder thresholds: each is its own fact.
  if ("thresholdDays" in detail) return `${detail.serial}/${detail.thresholdDays}d`;
  if ("serial" in detail) return detail.serial;
  if ("requestId" in detail) return detail.requestId;
  if ("caId" in detail) return `${detail.caId}/${detail.number}`;
  if ("eventId" in detail) return detail.eventId;
  if ("updatedAt" in detail) return `${detail.target}@${detail.updatedAt}`;
  return `${detail.target}@${detail.failedAt}`;
}

/** Re-validates an event that arrived from outside (EventBridge, a queue, JSON on disk). */
export function parseEvent(raw: {
  readonly id: unknown;
  readonly type: unknown;
  readonly time: unknown;
  readonly detail: unknown;
}): DomainEvent {
  if (typeof raw.type !== "string" || !isEventType(raw.type)) {
    throw new PkiError("EVENT_INVALID", `"${String(raw.type)}" is not an event type of this CA.`);
  }
  if (typeof raw.id !== "string" || raw.id === "" || typeof raw.time !== "string") {
    throw new PkiError("EVENT_INVALID", `The ${raw.type} event lacks an id or a time.`);
  }
  return {
    id: raw.id,
    type: raw.type,
    time: raw.time,
    detail: validateDetail(raw.type, raw.detail as EventDetail<typeof raw.type>),
  };
}

function validateDetail<T extends EventType>(type: T, detail: unknown): EventDetail<T> {
  const result = v.safeParse(eventCatalogue[type], detail);
  if (!result.success) {
    const problems = issueMessages(result.issues);
    throw new PkiError("EVENT_INVALID", `${type}: ${problems.join("; ")}`, { problems });
  }
  return result.output as EventDetail<T>;
}

/** True when the subscription takes events of this type (narrows the event for it). */
export function accepts<T extends EventType>(
  sub: Subscription<T>,
  event: DomainEvent,
): event is DomainEvent<T> {
  return (sub.types as readonly EventType[]).includes(event.type);
}
