/** EventBridge: the event bus. */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { EventBridgeBus } from "@spca/core/events/eventbridge-bus";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function eventBridgeAdapters(
  client: () => EventBridgeClient = () => tracedClient(new EventBridgeClient({})),
): Required<Pick<AwsAdapters, "bus">> {
  return {
    bus: ({ eventBusName }) => new EventBridgeBus(client(), eventBusName),
  };
}
