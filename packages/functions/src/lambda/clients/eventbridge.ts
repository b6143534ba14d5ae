/** EventBridge: the event bus. */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { EventBridgeBus } from "@spca/core/events/eventbridge-bus";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function eventBridgeAdapters(
  client: () => EventBridgeClient = () =>
    logCalls(tracedClient(new EventBridgeClient({})), eventBridgeRequests),
): Required<Pick<AwsAdapters, "bus">> {
  return {
    bus: ({ eventBusName }) => new EventBridgeBus(client(), eventBusName),
  };
}

/** PutEvents is authorized entry by entry, on each entry's bus, with its source and type. */
export const eventBridgeRequests: IamRequestsOf = (operation, input, target) => {
  if (operation !== "PutEvents") return [{ action: `events:${operation}`, resource: "*" }];
  return ((input.Entries ?? []) as Record<string, unknown>[]).map((entry) => {
    const bus = String(entry.EventBusName ?? "default");
    return {
      action: "events:PutEvents",
      resource: bus.startsWith("arn:")
        ? bus
        : `arn:${target.partition}:events:${target.region}:${target.account}:event-bus/${bus}`,
      context: {
        "events:source": String(entry.Source),
        "events:detail-type": String(entry.DetailType),
      },
    };
  });
};
