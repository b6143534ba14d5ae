/**
 * The daily expiry-reminder job (EventBridge Scheduler on AWS, a timer locally, `pki expiry
 * run` on demand). It reads only the certificates whose notAfter lies between a week ago and
 * the largest threshold ahead (one index Query, in notAfter order), and for each that is
 * neither renewed nor revoked mails the reminder now due to the requester and the profile's
 * owners, then announces it (`certificate.expiring` / `certificate.expired`).
 *
 * Exactly once: each mail is claimed on its own under the certificate's request
 * (`expiry:<serial>:<30d|expired>:<mailbox>`), sent, then marked sent, so a second run sends
 * nothing and a run that died after the first of two mails sends only the second. A claim held
 * by a run still going (or dead within its lease) is skipped and picked up by a later run.
 */
import { createHash } from "node:crypto";
import { isPkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import { mailboxOf } from "../identity/principal.ts";
import type { CertificateInventory } from "../inventory/certificate-inventory.ts";
import { mintStatusSecret } from "../links/status-link.ts";
import type { Mailer } from "../notifications/mailer.ts";
import { doOnce } from "../notifications/send-once.ts";
import type { Config } from "../policy/config.ts";
import type { CertificateRecord, RequestRepository } from "../store/request-repository.ts";
import { expiryReminderMail } from "./mail.ts";

const DAY_MS = 86_400_000;

/**
 * How long after expiry a certificate still gets its "expired" mail: the job runs daily, so a
 * week covers a long outage, and certificates that expired long ago are left alone.
 */
export const EXPIRED_LOOKBACK_DAYS = 7;

/** A reminder threshold in days, or the mail after expiry. */
export type Reminder = number | "expired";

export interface ExpiryReminderDependencies {
  readonly inventory: CertificateInventory;
  readonly repository: Pick<
    RequestRepository,
    "claimMessage" | "markMessageSent" | "releaseMessage" | "addStatusSecret"
  >;
  readonly mailer: Mailer;
  readonly bus: EventBus;
  readonly config: Pick<Config, "notifications" | "profiles" | "publicBaseUrl">;
}

export interface ReminderOutcome {
  readonly serial: string;
  readonly requestId: string;
  readonly reminder: Reminder;
  /** The recipient; null for the certificate's event. */
  readonly to: string | null;
}

export interface ExpiryReport {
  readonly ranAt: string;
  /** Certificates read in the window (near or just past expiry). */
  readonly checked: number;
  /** Of those, the ones a reminder was due for (not renewed, not revoked). */
  readonly due: number;
  readonly mailed: readonly ReminderOutcome[];
  /** Mails found already sent by an earlier run. */
  readonly alreadySent: number;
  /** Mails another run holds the claim of: left to it, or to a later run. */
  readonly inProgress: readonly ReminderOutcome[];
  readonly published: readonly ReminderOutcome[];
  readonly failed: readonly (ReminderOutcome & { readonly error: string })[];
}

/**
 * The reminder due for `record` at `now`, if any: none once renewed or revoked; "expired" once
 * notAfter has passed (within EXPIRED_LOOKBACK_DAYS); else the smallest threshold it is within,
 * so a job that was down does not send the 30-day mail at 5 days left, only the 7-day one. A
 * threshold as long as the certificate's whole life is skipped: its issuance mail said as much.
 */
export function dueReminder(
  record: Pick<CertificateRecord, "notBefore" | "notAfter" | "renewedBy" | "revokedAt">,
  thresholds: readonly number[],
  now: Date,
): Reminder | undefined {
  if (record.renewedBy !== null || record.revokedAt !== null) return undefined;
  const notAfter = Date.parse(record.notAfter);
  const left = notAfter - now.getTime();
  if (left <= 0) return -left <= EXPIRED_LOOKBACK_DAYS * DAY_MS ? "expired" : undefined;
  const lifetime = notAfter - Date.parse(record.notBefore);
  let due: number | undefined;
  for (const days of thresholds) {
    if (left <= days * DAY_MS && days * DAY_MS < lifetime && (due === undefined || days < due)) {
      due = days;
    }
  }
  return due;
}

/** Runs the job once as of `now`; one certificate's failure never stops the others. */
export async function runExpiryReminders(
  deps: ExpiryReminderDependencies,
  now: Date = new Date(),
): Promise<ExpiryReport> {
  const thresholds = deps.config.notifications.expiryReminderDays;
  const longest = Math.max(0, ...thresholds);
  const report = {
    ranAt: now.toISOString(),
    checked: 0,
    due: 0,
    mailed: [] as ReminderOutcome[],
    alreadySent: 0,
    inProgress: [] as ReminderOutcome[],
    published: [] as ReminderOutcome[],
    failed: [] as (ReminderOutcome & { error: string })[],
  };
  const records = deps.inventory.records(
    { all: true },
    {
      from: new Date(now.getTime() - EXPIRED_LOOKBACK_DAYS * DAY_MS).toISOString(),
      // `to` is exclusive: a certificate exactly `longest` days out is due.
      to: new Date(now.getTime() + longest * DAY_MS + 1).toISOString(),
    },
  );
  for await (const record of records) {
    report.checked++;
    const reminder = dueReminder(record, thresholds, now);
    if (reminder === undefined) continue;
    report.due++;
    await remind(deps, record, reminder, report);
  }
  return report;
}

type MutableReport = {
  mailed: ReminderOutcome[];
  alreadySent: number;
  inProgress: ReminderOutcome[];
  published: ReminderOutcome[];
  failed: (ReminderOutcome & { error: string })[];
};

async function remind(
  deps: ExpiryReminderDependencies,
  record: CertificateRecord,
  reminder: Reminder,
  report: MutableReport,
): Promise<void> {
  const base = { serial: record.serial, requestId: record.requestId, reminder };
  const recipients = recipientsOf(record, deps.config);
  for (const to of recipients) {
    const outcome = { ...base, to };
    try {
      const result = await sendReminder(deps, record, reminder, to);
      if (result === "sent") report.mailed.push(outcome);
      else if (result === "already-sent") report.alreadySent++;
      else report.inProgress.push(outcome);
    } catch (error) {
      report.failed.push({ ...outcome, error: (error as Error).message });
    }
  }
  try {
    if (await announce(deps, record, reminder, recipients)) {
      report.published.push({ ...base, to: null });
    }
  } catch (error) {
    report.failed.push({ ...base, to: null, error: (error as Error).message });
  }
}

/** The requester first, then the profile's owners, one per mailbox. */
export function recipientsOf(
  record: Pick<CertificateRecord, "requester" | "profile">,
  config: Pick<Config, "profiles">,
): string[] {
  const owners = Object.hasOwn(config.profiles, record.profile)
    ? (config.profiles[record.profile]?.owners ?? [])
    : [];
  const seen = new Set<string>();
  const recipients: string[] = [];
  for (const address of [record.requester, ...owners]) {
    const mailbox = mailboxOf(address);
    if (seen.has(mailbox)) continue;
    seen.add(mailbox);
    recipients.push(address);
  }
  return recipients;
}

/** The claim's name; a mailbox too long for it is named by a digest instead. */
export function reminderKind(serial: string, reminder: Reminder, mailbox: string): string {
  const prefix = `expiry:${serial}:${label(reminder)}:`;
  if (prefix.length + mailbox.length <= 256) return `${prefix}${mailbox}`;
  return `${prefix}sha256-${sha256Hex(mailbox)}`;
}

function label(reminder: Reminder): string {
  return reminder === "expired" ? "expired" : `${reminder}d`;
}

function sendReminder(
  deps: ExpiryReminderDependencies,
  record: CertificateRecord,
  reminder: Reminder,
  to: string,
): Promise<"sent" | "already-sent" | "in-progress"> {
  const kind = reminderKind(record.serial, reminder, mailboxOf(to));
  const isRequester = mailboxOf(to) === mailboxOf(record.requester);
  const send = async () => {
    const mail = expiryReminderMail({
      to,
      publicBaseUrl: deps.config.publicBaseUrl,
      serial: record.serial,
      requestId: record.requestId,
      profile: record.profile,
      subject: record.subject,
      sans: record.sans.map((san) => `${sanLabel[san.type]}:${san.value}`),
      notAfter: new Date(record.notAfter),
      reminder,
      requester: record.requester,
      statusToken: isRequester ? await statusToken(deps, record.requestId) : undefined,
    });
    return (await deps.mailer.send(mail)).messageId;
  };
  // Another run's claim is left to it (or to a later run): the job comes back daily.
  return doOnce(deps.repository, record.requestId, kind, send, { inProgress: "report" });
}

/**
 * The requester's own status-page link, when one can be added: a request that is not stored
 * (an imported certificate) or holds its most links yet still gets the reminder, without it.
 */
async function statusToken(
  deps: ExpiryReminderDependencies,
  requestId: string,
): Promise<string | undefined> {
  try {
    return await mintStatusSecret(deps.repository, requestId);
  } catch (error) {
    if (isPkiError(error, "REQUEST_NOT_FOUND") || isPkiError(error, "STATUS_LINKS_EXHAUSTED")) {
      return undefined;
    }
    throw error;
  }
}

/** Publishes the certificate's event once per reminder, under its own claim. */
async function announce(
  deps: ExpiryReminderDependencies,
  record: CertificateRecord,
  reminder: Reminder,
  recipients: readonly string[],
): Promise<boolean> {
  const kind = `expiry-event:${record.serial}:${label(reminder)}`;
  const common = {
    serial: record.serial,
    requestId: record.requestId,
    profile: record.profile,
    notAfter: record.notAfter,
    recipients: [...recipients],
  };
  const publish = async () => {
    if (reminder === "expired") await deps.bus.publish("certificate.expired", common);
    else await deps.bus.publish("certificate.expiring", { ...common, thresholdDays: reminder });
    return undefined;
  };
  const outcome = await doOnce(deps.repository, record.requestId, kind, publish, {
    inProgress: "report",
  });
  return outcome === "sent";
}

const sanLabel = { dns: "DNS", ip: "IP", email: "email", uri: "URI" } as const;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
