/**
 * The AWS event bus: EventBridge PutEvents on the CA's bus. EventBridge assigns its own event
 * ids, so the detail carries ours (deterministic per fact) beside the payload:
 * `{ "id": "...", "data": { ... } }`. Lambda subscribers turn the EventBridge envelope back into
 * a validated DomainEvent with `fromEventBridge`.
 */
import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PkiError, TransientError } from "../errors.ts";
import { createEvent, type EventBus, parseEvent } from "./bus.ts";
import type { DomainEvent, EventDetail, EventType } from "./catalogue.ts";

export const EVENT_SOURCE = "serverless-private-ca";

export class EventBridgeBus implements EventBus {
  private readonly client: EventBridgeClient;
  private readonly busName: string;

  constructor(client: EventBridgeClient, busName: string) {
    this.client = client;
    this.busName = busName;
  }

  async publish<T extends EventType>(type: T, detail: EventDetail<T>): Promise<DomainEvent<T>> {
    const event = createEvent(type, detail);
    const result = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: type,
            Time: new Date(event.time),
            Detail: JSON.stringify({ id: event.id, data: event.detail }),
          },
        ],
      }),
    );
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.[0];
      // PutEvents reports throttling and internal failures per entry; the step retries them.
      throw new TransientError(
        `EventBridge did not accept ${event.id}: ${entry?.ErrorCode ?? "unknown"} ${entry?.ErrorMessage ?? ""}`.trim(),
      );
    }
    return event;
  }
}

/** The EventBridge event a Lambda subscriber receives, as far as we read it. */
export interface EventBridgeEnvelope {
  readonly source?: string;
  readonly "detail-type"?: string;
  readonly time?: string;
  readonly detail?: unknown;
}

export function fromEventBridge(envelope: EventBridgeEnvelope): DomainEvent {
  if (envelope.source !== EVENT_SOURCE) {
    throw new PkiError("EVENT_INVALID", `Events from "${String(envelope.source)}" are not ours.`);
  }
  const wire = envelope.detail as { id?: unknown; data?: unknown } | undefined;
  return parseEvent({
    id: wire?.id,
    type: envelope["detail-type"],
    time: envelope.time,
    detail: wire?.data,
  });
}
