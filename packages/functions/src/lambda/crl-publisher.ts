/**
 * Lambda entry point: publishing the CRL, on two triggers.
 * - An SQS batch of `certificate.revoked` events (the EventBridge rule's target is a queue
 *   whose batching window gathers a burst of revocations): one publication per batch, which
 *   covers every revocation recorded before it. A failure throws, so SQS delivers the batch
 *   again.
 * - The EventBridge Scheduler schedule, every minute, whose input is `{"source":"schedule"}`:
 *   publish when a revocation is still marked unpublished (its event was lost, or the API died
 *   between recording it and announcing it), or when the last CRL is older than
 *   crl.refreshHours (or there is none), well before nextUpdate.
 * After every run, failed ones included, it publishes the current CRL's age and the time left to
 * its nextUpdate as metrics (CrlAgeSeconds, CrlSecondsToNextUpdate), which an alarm watches.
 */
import { crlStatus } from "@spca/core/crl/publisher";
import { PkiError } from "@spca/core/errors";
import { type EventBridgeEnvelope, fromEventBridge } from "@spca/core/events/eventbridge-bus";
import type { AwsServices } from "./aws-services.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { kmsAdapters } from "./clients/kms.ts";
import { s3Adapters } from "./clients/s3.ts";
import { containerServices } from "./container.ts";
import { type LambdaContext, logger, observed, recordCrlAge } from "./observability.ts";

export interface SqsBatch {
  readonly Records: readonly { readonly messageId: string; readonly body: string }[];
}

export interface ScheduledInvocation {
  readonly source: "schedule";
}

export function crlPublisherLambda(
  services: () => AwsServices,
): (event: SqsBatch | ScheduledInvocation, context?: LambdaContext) => Promise<void> {
  return observed("crl-publisher", async (event: SqsBatch | ScheduledInvocation) => {
    const scheduled = (event as Partial<ScheduledInvocation> | undefined)?.source === "schedule";
    if (!isSqsBatch(event) && !scheduled) {
      throw new PkiError(
        "EVENT_INVALID",
        'The CRL publisher takes SQS batches of certificate.revoked events or {"source":"schedule"}.',
      );
    }
    const aws = services();
    try {
      await run(aws, event);
    } finally {
      await measureCrl(aws);
    }
  });
}

async function run(services: AwsServices, event: SqsBatch | ScheduledInvocation): Promise<void> {
  const publisher = services.crlPublisher;
  if (isSqsBatch(event)) {
    const revoked = event.Records.filter((record) => isRevocation(record));
    if (revoked.length === 0) return;
    const published = await publisher.publish("revocation");
    logger.info(`CRL ${published.number} published for ${revoked.length} revocation event(s)`, {
      number: published.number,
      entries: published.entries,
    });
    return;
  }
  const published = await publisher.publishIfDue("schedule");
  logger.info(published ? `CRL ${published.number} published` : "CRL not due", {
    number: published?.number ?? null,
  });
}

/** Best effort: a failure to read the CRL's state is logged, and never hides the run's own. */
async function measureCrl(services: AwsServices): Promise<void> {
  try {
    const status = await crlStatus({
      revocations: services.revocations,
      ca: services.ca,
      config: services.settings.config,
    });
    if (status) recordCrlAge(status);
    else logger.warn("No CRL has been published yet");
  } catch (error) {
    logger.warn("Could not read the CRL's state for its metrics", error as Error);
  }
}

function isSqsBatch(event: unknown): event is SqsBatch {
  return Array.isArray((event as Partial<SqsBatch> | undefined)?.Records);
}

/** A record that is not one of our certificate.revoked events is logged and skipped. */
function isRevocation(record: SqsBatch["Records"][number]): boolean {
  try {
    const event = fromEventBridge(JSON.parse(record.body) as EventBridgeEnvelope);
    if (event.type === "certificate.revoked") return true;
    logger.warn(`skipped a ${event.type} event: the rule routes too much`, {
      messageId: record.messageId,
    });
  } catch (error) {
    logger.warn(`skipped a message that is not our event: ${(error as Error).message}`, {
      messageId: record.messageId,
    });
  }
  return false;
}

export const handler = crlPublisherLambda(
  containerServices("CrlPublisher", {
    ...dynamodbAdapters(),
    ...s3Adapters(),
    ...kmsAdapters(),
    // Announces each CRL (crl.published) for the enforcement sync.
    ...eventBridgeAdapters(),
  }),
);
