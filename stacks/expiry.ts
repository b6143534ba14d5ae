/**
 * Expiry reminders on AWS: an EventBridge Scheduler schedule runs the ExpiryReminders function
 * once a day (packages/functions/src/lambda/expiry-reminders.ts). It reads the certificates
 * near or just past expiry from the inventory index, mails the requester and the profile's
 * owners once per threshold (notifications.expiryReminderDays) and after expiry, and
 * announces `certificate.expiring` / `certificate.expired` on the bus.
 */
import type { AwsContext } from "./aws-context.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import { functionSchedule } from "./trust.ts";

/** Once a day: the thresholds are whole days, and each reminder is sent once whenever it runs. */
export const EXPIRY_SCHEDULE_EXPRESSION = "rate(1 day)";

export function expiryReminders(ctx: FunctionContext, context: AwsContext) {
  const reminders = pkiFunction(ctx, "ExpiryReminders", {
    handler: lambdaHandler("expiry-reminders"),
    // A day's reminders go out one after another (SES's sending rate); a run cut short is
    // finished by Lambda's retry, which skips what was sent.
    timeout: "10 minutes",
  });
  const schedule = functionSchedule(
    context,
    "ExpiryRemindersSchedule",
    reminders.arn,
    EXPIRY_SCHEDULE_EXPRESSION,
  );
  return { reminders, schedule };
}
