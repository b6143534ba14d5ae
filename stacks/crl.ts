/**
 * CRL publication on AWS. A revocation's `certificate.revoked` event goes from the bus to a
 * queue whose batching window gathers a burst into one publication (docs/revocation.md), and
 * an EventBridge Scheduler schedule republishes before nextUpdate. Messages that fail five
 * times land in a dead-letter queue; the schedule republishes anyway, so no revocation is lost
 * from the CRL (the revocation record, not the message, is the fact).
 */
import { EVENT_SOURCE } from "../packages/core/src/events/eventbridge-bus.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";

/** How often the schedule looks: often enough that a due CRL is republished within a quarter of the refresh interval, at most hourly. */
export function crlScheduleExpression(refreshHours: number): `rate(${string})` {
  const minutes = Math.max(1, Math.min(60, Math.floor((refreshHours * 60) / 4)));
  return minutes === 1 ? "rate(1 minute)" : `rate(${minutes} minutes)`;
}

export interface CrlQueues {
  readonly queue: sst.aws.Queue;
  readonly deadLetters: sst.aws.Queue;
}

export function crlQueues(): CrlQueues {
  const deadLetters = new sst.aws.Queue("CrlDeadLetters");
  const queue = new sst.aws.Queue("CrlQueue", {
    // Six times the publisher's timeout, as Lambda advises for SQS sources.
    visibilityTimeout: "12 minutes",
    dlq: { queue: deadLetters.arn, retry: 5 },
  });
  return { queue, deadLetters };
}

export function crlPublication(ctx: FunctionContext, bus: sst.aws.Bus, queues: CrlQueues) {
  const publisher = pkiFunction(ctx, "CrlPublisher", {
    handler: lambdaHandler("crl-publisher"),
    timeout: "2 minutes",
  });
  bus.subscribeQueue("CrlOnRevocation", queues.queue, {
    pattern: { source: [EVENT_SOURCE], detailType: ["certificate.revoked"] },
  });
  queues.queue.subscribe(publisher.arn, { batch: { size: 100, window: "5 seconds" } });
  const schedule = new sst.aws.CronV2("CrlSchedule", {
    function: publisher.arn,
    schedule: crlScheduleExpression(ctx.d.config.crl.refreshHours),
    event: { source: "schedule" },
  });
  return { publisher, schedule };
}
