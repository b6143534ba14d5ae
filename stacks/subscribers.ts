/**
 * The bus subscribers: the requester's mail and the audit trail. Each rule routes only the
 * event types its subscriber takes. EventBridge invokes them asynchronously; an event that
 * still fails after Lambda's retries goes to a dead-letter queue instead of being dropped.
 */
import { eventTypes } from "../packages/core/src/events/catalogue.ts";
import { EVENT_SOURCE } from "../packages/core/src/events/eventbridge-bus.ts";
import { requesterMailEventTypes } from "../packages/core/src/subscribers/requester-mail.ts";
import { QUEUE_RETENTION_SECONDS } from "./crl.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";

/** Where an event a subscriber still failed after Lambda's retries is kept (and alarms). */
export function subscriberFailures(): sst.aws.Queue {
  return new sst.aws.Queue("SubscriberFailures", {
    transform: {
      queue: (args) => {
        args.messageRetentionSeconds = QUEUE_RETENTION_SECONDS;
      },
    },
  });
}

export function subscribers(ctx: FunctionContext, bus: sst.aws.Bus, failures: sst.aws.Queue) {
  const subscribe = (
    name: "RequesterMail" | "AuditTrail",
    file: string,
    types: readonly string[],
  ) => {
    const fn = pkiFunction(ctx, name, { handler: lambdaHandler(file) });
    new aws.lambda.FunctionEventInvokeConfig(`${name}Delivery`, {
      functionName: fn.name,
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: failures.arn } },
    });
    bus.subscribe(name, fn.arn, {
      pattern: { source: [EVENT_SOURCE], detailType: [...types] },
    });
    return fn;
  };
  return {
    requesterMail: subscribe(
      "RequesterMail",
      "subscribers/requester-mail",
      requesterMailEventTypes,
    ),
    auditTrail: subscribe("AuditTrail", "subscribers/audit-trail", eventTypes),
  };
}
