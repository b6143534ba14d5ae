/**
 * Lambda entry point: publishing the CRL, on two triggers.
 * - An SQS batch of `certificate.revoked` events (the EventBridge rule's target is a queue
 *   whose batching window gathers a burst of revocations): one publication per batch, which
 *   covers every revocation recorded before it. A failure throws, so SQS delivers the batch
 *   again.
 * - The EventBridge Scheduler schedule, whose input is `{"source":"schedule"}`: republish when
 *   the last CRL is older than crl.refreshHours (or there is none), well before nextUpdate.
 */
import { PkiError } from "@spca/core/errors";
import { type EventBridgeEnvelope, fromEventBridge } from "@spca/core/events/eventbridge-bus";
import type { AwsServices } from "./aws-services.ts";
import { containerServices } from "./container.ts";

export interface SqsBatch {
  readonly Records: readonly { readonly messageId: string; readonly body: string }[];
}

export interface ScheduledInvocation {
  readonly source: "schedule";
}

export function crlPublisherLambda(
  services: () => AwsServices = containerServices,
): (event: SqsBatch | ScheduledInvocation) => Promise<void> {
  return async (event) => {
    const publisher = services().crlPublisher;
    if (isSqsBatch(event)) {
      const revoked = event.Records.filter((record) => isRevocation(record));
      if (revoked.length === 0) return;
      const published = await publisher.publish("revocation");
      log(`CRL ${published.number} published for ${revoked.length} revocation event(s)`, {
        number: published.number,
        entries: published.entries,
      });
      return;
    }
    if ((event as Partial<ScheduledInvocation>)?.source === "schedule") {
      const published = await publisher.publishIfDue("schedule");
      log(published ? `CRL ${published.number} republished` : "CRL not due", {
        number: published?.number ?? null,
      });
      return;
    }
    throw new PkiError(
      "EVENT_INVALID",
      'The CRL publisher takes SQS batches of certificate.revoked events or {"source":"schedule"}.',
    );
  };
}

function isSqsBatch(event: unknown): event is SqsBatch {
  return Array.isArray((event as Partial<SqsBatch> | undefined)?.Records);
}

/** A record that is not one of our certificate.revoked events is logged and skipped. */
function isRevocation(record: SqsBatch["Records"][number]): boolean {
  try {
    const event = fromEventBridge(JSON.parse(record.body) as EventBridgeEnvelope);
    if (event.type === "certificate.revoked") return true;
    log(`skipped a ${event.type} event: the rule routes too much`, { messageId: record.messageId });
  } catch (error) {
    log(`skipped a message that is not our event: ${(error as Error).message}`, {
      messageId: record.messageId,
    });
  }
  return false;
}

function log(message: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "INFO", message, ...fields }));
}

export const handler = crlPublisherLambda();
