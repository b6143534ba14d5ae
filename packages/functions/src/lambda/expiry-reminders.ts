/**
 * Lambda entry point: the daily expiry-reminder job, run by an EventBridge Scheduler schedule
 * with `{"source":"schedule"}` (stacks/expiry.ts). Core's runExpiryReminders reads the
 * certificates near or just past expiry from the inventory index, mails each reminder once
 * (send-once claims in the table) and announces `certificate.expiring` / `certificate.expired`.
 *
 * A mail or event that failed fails the invocation after every other certificate was seen, so
 * Lambda's retries of the asynchronous invocation send what is left within minutes; what was
 * sent is never sent again.
 */
import { PkiError, TransientError } from "@spca/core/errors";
import { type ExpiryReport, runExpiryReminders } from "@spca/core/expiry/reminders";
import type { AwsServices } from "./aws-services.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { sesAdapters } from "./clients/ses.ts";
import { containerServices } from "./container.ts";
import type { ScheduledInvocation } from "./crl-publisher.ts";
import { type LambdaContext, logger, observed } from "./observability.ts";

export function expiryRemindersLambda(
  services: () => AwsServices,
  now: () => Date = () => new Date(),
): (event: ScheduledInvocation, context?: LambdaContext) => Promise<ExpiryReport> {
  return observed("expiry-reminders", async (event: ScheduledInvocation) => {
    if ((event as Partial<ScheduledInvocation> | undefined)?.source !== "schedule") {
      throw new PkiError("EVENT_INVALID", 'The expiry reminders take {"source":"schedule"} only.');
    }
    const aws = services();
    const report = await runExpiryReminders(
      {
        inventory: aws.inventory,
        repository: aws.repository,
        mailer: aws.mailer,
        bus: aws.bus,
        config: aws.settings.config,
      },
      now(),
    );
    const summary = {
      checked: report.checked,
      due: report.due,
      mailed: report.mailed.length,
      alreadySent: report.alreadySent,
      inProgress: report.inProgress.length,
      published: report.published.length,
    };
    logger.info(`Expiry reminders: ${report.mailed.length} mailed`, summary);
    if (report.failed.length > 0) {
      logger.error("Expiry reminders that could not be sent", { failed: [...report.failed] });
      throw new TransientError(
        `${report.failed.length} expiry reminder(s) failed (${report.failed[0]!.error}); the retry sends them.`,
      );
    }
    return report;
  });
}

export const handler = expiryRemindersLambda(
  containerServices("ExpiryReminders", {
    ...dynamodbAdapters(),
    ...sesAdapters(),
    ...eventBridgeAdapters(),
  }),
);
