/**
 * Lambda entry point: drift, from the default event bus. CloudTrail management events ("AWS API
 * Call via CloudTrail"; the account needs a trail) for the calls that change what a gate
 * enforces reach it through a rule that already leaves out the CA's own roles
 * (stacks/enforcement.ts). It keeps the calls that changed one of our gates or the publication
 * bucket (drift-call.ts), counts each in the EnforcementDrift metric, which an alarm watches,
 * and announces it as `enforcement.drift` on our bus. Anything it cannot read, or that is not
 * ours, is logged and skipped: an unreadable event must not be retried forever.
 */
import type { AwsServices } from "./aws-services.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { containerServices } from "./container.ts";
import { driftResource, readCloudTrailCall, type WatchedResources } from "./drift-call.ts";
import { type LambdaContext, logger, observed, recordDrift, stringField } from "./observability.ts";

export type DriftResult =
  | { readonly reported: true; readonly eventName: string; readonly resource: string }
  | { readonly reported: false; readonly reason: string };

export function enforcementDriftLambda(
  services: () => AwsServices,
): (event: unknown, context?: LambdaContext) => Promise<DriftResult> {
  return observed(
    "enforcement-drift",
    async (event: unknown): Promise<DriftResult> => {
      const call = readCloudTrailCall(event);
      if (!call.ok) {
        logger.warn(`skipped an event that is not a watched CloudTrail call: ${call.reason}`);
        return { reported: false, reason: call.reason };
      }
      const aws = services();
      const found = driftResource(call.value, watchedBy(aws));
      const { eventName, eventSource, eventId, actor, eventTime } = call.value;
      if (!found.ok) {
        logger.info(`${eventName} is not drift: ${found.reason}`, { eventId, actor });
        return { reported: false, reason: found.reason };
      }
      // Counted first: the alarm must fire even if the announcement below fails.
      recordDrift();
      logger.warn(`drift: ${actor} called ${eventName} on ${found.value}`, {
        eventId,
        eventSource,
        actor,
        resource: found.value,
      });
      await aws.bus.publish("enforcement.drift", {
        eventId,
        eventSource,
        eventName,
        actor,
        resource: found.value,
        eventTime,
      });
      return { reported: true, eventName, resource: found.value };
    },
    {
      keys: (event) => ({
        eventId: stringField(event, "detail", "eventID"),
        eventType: stringField(event, "detail", "eventName"),
      }),
    },
  );
}

function watchedBy(services: AwsServices): WatchedResources {
  const { config, bucketName, caRoleArns } = services.settings;
  return {
    trustStoreArns: config.enforcement.albTrustStores,
    domainNames: config.enforcement.apiGatewayDomains,
    trustAnchorArns: config.enforcement.rolesAnywhereTrustAnchors,
    bucket: bucketName,
    caRoleArns: caRoleArns ?? [],
  };
}

export const handler = enforcementDriftLambda(
  containerServices("EnforcementDrift", eventBridgeAdapters()),
);
