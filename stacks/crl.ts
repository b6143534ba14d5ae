/**
 * CRL publication on AWS. A revocation's `certificate.revoked` event goes from the bus to a
 * queue whose batching window gathers a burst into one publication (docs/revocation.md). An
 * EventBridge Scheduler schedule looks every minute: it publishes when a revocation is still
 * marked unpublished (its event was lost, or a function died between the record and the
 * event: the record is the outbox) and before nextUpdate. Messages that fail five times land
 * in a dead-letter queue, which alarms (alarms.ts); the schedule publishes anyway.
 */
import { EVENT_SOURCE } from "../packages/core/src/events/eventbridge-bus.ts";
import type { AwsContext } from "./aws-context.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import { functionSchedule, serviceResourcePolicy } from "./trust.ts";

/**
 * How often the schedule looks: every minute, so a revocation whose event never arrived is on
 * a CRL about a minute later. A look that finds nothing owed or due is one GetItem and one
 * index Query: about 43,000 a month, cents (docs/cost.md).
 */
export const CRL_SCHEDULE_EXPRESSION = "rate(1 minute)";

export const CRL_PUBLISHER_TIMEOUT_SECONDS = 120;
export const CRL_BATCH_WINDOW_SECONDS = 5;

/**
 * Lambda's advice for an SQS source: six times the function's timeout, plus the batching
 * window, so a batch being retried after throttling is not received twice.
 */
export function visibilitySeconds(timeoutSeconds: number, windowSeconds: number): number {
  return 6 * timeoutSeconds + windowSeconds;
}

/** SQS's longest: a message that failed is there to be looked at for two weeks. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;

export interface CrlQueues {
  readonly queue: sst.aws.Queue;
  readonly deadLetters: sst.aws.Queue;
}

export function crlQueues(): CrlQueues {
  const retained: sst.aws.QueueArgs = {
    transform: {
      queue: (args) => {
        args.messageRetentionSeconds = QUEUE_RETENTION_SECONDS;
      },
    },
  };
  const deadLetters = new sst.aws.Queue("CrlDeadLetters", retained);
  const queue = new sst.aws.Queue("CrlQueue", {
    visibilityTimeout: `${visibilitySeconds(CRL_PUBLISHER_TIMEOUT_SECONDS, CRL_BATCH_WINDOW_SECONDS)} seconds`,
    dlq: { queue: deadLetters.arn, retry: 5 },
    ...retained,
  });
  return { queue, deadLetters };
}

export function crlPublication(
  ctx: FunctionContext,
  context: AwsContext,
  bus: sst.aws.Bus,
  queues: CrlQueues,
) {
  const publisher = pkiFunction(ctx, "CrlPublisher", {
    handler: lambdaHandler("crl-publisher"),
    timeout: `${CRL_PUBLISHER_TIMEOUT_SECONDS} seconds`,
  });
  revocationsToQueue(context, bus, queues.queue);
  queues.queue.subscribe(publisher.arn, {
    batch: { size: 100, window: `${CRL_BATCH_WINDOW_SECONDS} seconds` },
  });
  const schedule = functionSchedule(context, "CrlSchedule", publisher.arn, CRL_SCHEDULE_EXPRESSION);
  return { publisher, schedule };
}

/**
 * The rule sending `certificate.revoked` to the queue, and a queue policy letting that rule
 * alone send. (SST's bus.subscribeQueue lets any SNS topic, bucket or rule send to the queue.)
 */
function revocationsToQueue(context: AwsContext, bus: sst.aws.Bus, queue: sst.aws.Queue): void {
  const rule = new aws.cloudwatch.EventRule("CrlOnRevocationRule", {
    eventBusName: bus.name,
    eventPattern: JSON.stringify({
      source: [EVENT_SOURCE],
      "detail-type": ["certificate.revoked"],
    }),
  });
  new aws.sqs.QueuePolicy("CrlOnRevocationPolicy", {
    queueUrl: queue.url,
    policy: serviceResourcePolicy(
      "events.amazonaws.com",
      ["sqs:SendMessage"],
      queue.arn,
      context,
      rule.arn,
    ),
  });
  new aws.cloudwatch.EventTarget("CrlOnRevocationTarget", {
    rule: rule.name,
    eventBusName: bus.name,
    arn: queue.arn,
  });
}
