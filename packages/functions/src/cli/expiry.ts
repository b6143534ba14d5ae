import type { ExpiryReport } from "@spca/core/expiry/reminders";
import { expectArgs, UsageError } from "./arguments.ts";
import { requireRunningService } from "./service-client.ts";

export const EXPIRY_USAGE = "pki expiry run [--json]";

export async function expiry(
  dataDir: string,
  sub: string | undefined,
  rest: readonly string[],
  values: { readonly json?: boolean | undefined },
  out: (text: string) => void,
): Promise<number> {
  if (sub !== "run")
    throw new UsageError(`unknown command "expiry ${sub ?? ""}"; try ${EXPIRY_USAGE}`);
  expectArgs(rest, 0, EXPIRY_USAGE);
  const service = requireRunningService(
    dataDir,
    "pki expiry run",
    "holds the mailer and the sent markers",
  );
  // Safe to send again on a dropped connection: each reminder is sent once, whoever runs the job.
  const report = await service.json<ExpiryReport>("POST", "/v1/expiry-reminders/run", undefined, {
    idempotent: true,
  });
  if (values.json) {
    out(`${JSON.stringify(report, null, 2)}\n`);
    return report.failed.length > 0 ? 1 : 0;
  }
  out(describe(report));
  return report.failed.length > 0 ? 1 : 0;
}

export function describe(report: ExpiryReport): string {
  const lines = [
    `Checked ${report.checked} certificate(s) near or just past expiry; ${report.due} had a reminder due.`,
  ];
  for (const m of report.mailed) {
    lines.push(`  mailed ${m.to}: ${reminderWords(m.reminder)} (serial ${m.serial})`);
  }
  if (report.mailed.length === 0) lines.push("Nothing new to mail.");
  if (report.alreadySent > 0) lines.push(`${report.alreadySent} reminder(s) were already sent.`);
  for (const m of report.inProgress) {
    lines.push(
      `  being sent by another run: ${m.to} (serial ${m.serial}); a later run finishes it`,
    );
  }
  for (const f of report.failed) {
    lines.push(
      `  FAILED ${f.to ?? "event"}: ${reminderWords(f.reminder)} (serial ${f.serial}): ${f.error}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function reminderWords(reminder: number | "expired"): string {
  if (reminder === "expired") return "expired";
  return reminder === 1 ? "expires within 1 day" : `expires within ${reminder} days`;
}
