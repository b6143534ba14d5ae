/**
 * A bus subscriber as a Lambda handler for its EventBridge rule. The event is re-validated
 * against the catalogue on arrival; one the subscriber does not take (a rule wider than its
 * types) is logged and acknowledged. A failure is thrown, so Lambda's asynchronous retries and
 * the function's failure destination keep it: subscribers are idempotent.
 */
import type { Subscription } from "@spca/core/events/bus";
import { accepts } from "@spca/core/events/bus";
import type { EventType } from "@spca/core/events/catalogue";
import { type EventBridgeEnvelope, fromEventBridge } from "@spca/core/events/eventbridge-bus";
import type { AwsServices } from "./aws-services.ts";
import { containerServices } from "./container.ts";

export function subscriberLambda<T extends EventType>(
  make: (services: AwsServices) => Subscription<T>,
  services: () => AwsServices = containerServices,
): (envelope: EventBridgeEnvelope) => Promise<void> {
  let subscriber: Subscription<T> | undefined;
  return async (envelope) => {
    subscriber ??= make(services());
    const event = fromEventBridge(envelope);
    if (!accepts(subscriber, event)) {
      console.warn(
        JSON.stringify({
          level: "WARN",
          message: `${subscriber.name} does not take ${event.type} events; the rule routes too much`,
          eventId: event.id,
        }),
      );
      return;
    }
    await subscriber.handle(event);
  };
}
