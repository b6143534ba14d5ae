/**
 * When owners hear that a certificate is about to expire: `notifications.expiryReminderDays`,
 * the days before notAfter at which a reminder goes out (each at most once per certificate),
 * largest first. A last mail follows expiry unless the certificate was renewed or revoked.
 */
import * as v from "valibot";

export const DEFAULT_EXPIRY_REMINDER_DAYS = [30, 7, 1] as const;

export const NotificationsSchema = v.optional(
  v.strictObject({
    expiryReminderDays: v.optional(
      v.pipe(
        v.array(
          v.pipe(
            v.number(),
            v.integer("notifications.expiryReminderDays must hold whole numbers of days"),
            v.minValue(1, "notifications.expiryReminderDays must hold days from 1 to 3650"),
            v.maxValue(3650, "notifications.expiryReminderDays must hold days from 1 to 3650"),
          ),
        ),
        v.check(
          (days) => new Set(days).size === days.length,
          "notifications.expiryReminderDays must not repeat a day",
        ),
        v.transform((days) => [...days].sort((a, b) => b - a)),
      ),
      [...DEFAULT_EXPIRY_REMINDER_DAYS],
    ),
  }),
  { expiryReminderDays: [...DEFAULT_EXPIRY_REMINDER_DAYS] },
);
