/**
 * A bus subscriber as a Lambda handler for its EventBridge rule. The event is re-validated
 * against the catalogue on arrival; one the subscriber does not take (a rule wider than its
 * types) is logged and acknowledged. A failure is thrown, so Lambda's asynchronous retries and
 * the function's failure destination keep it: subscribers are idempotent. Log lines carry the
 * event's `eventId` and `eventType`, and `certificateRequestId` when the event names a request.
 */
import type { Subscription } from "@spca/core/events/bus";
import { accepts } from "@spca/core/events/bus";
import type { EventType } from "@spca/core/events/catalogue";
import { type EventBridgeEnvelope, fromEventBridge } from "@spca/core/events/eventbridge-bus";
import type { AwsServices } from "./aws-services.ts";
import { type LambdaContext, logger, observed, stringField } from "./observability.ts";

export function subscriberLambda<T extends EventType>(
  make: (services: AwsServices) => Subscription<T>,
  services: () => AwsServices,
): (envelope: EventBridgeEnvelope, context?: LambdaContext) => Promise<void> {
  let subscriber: Subscription<T> | undefined;
  return observed(
    "subscriber",
    async (envelope: EventBridgeEnvelope) => {
      subscriber ??= make(services());
      const event = fromEventBridge(envelope);
      if (!accepts(subscriber, event)) {
        logger.warn(
          `${subscriber.name} does not take ${event.type} events; the rule routes too much`,
        );
        return;
      }
      await subscriber.handle(event);
      logger.info(`${subscriber.name} handled ${event.type}`);
    },
    {
      // Read before validation (a malformed event is logged with what it has).
      keys: (envelope) => ({
        eventId: stringField(envelope, "detail", "id"),
        eventType: stringField(envelope, "detail-type"),
        certificateRequestId: stringField(envelope, "detail", "data", "requestId"),
      }),
    },
  );
}
