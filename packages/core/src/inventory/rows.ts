/**
 * What the inventory shows of a certificate: the API's JSON, the CLI's table and the exports'
 * rows. CSV follows RFC 4180 (CRLF, quotes doubled); a cell that a spreadsheet would run as a
 * formula (= + - @ first) is prefixed with a quote, as OWASP advises for CSV injection.
 */
import { describePrincipal } from "../identity/principal.ts";
import type { CertificateRecord } from "../store/request-repository.ts";
import type { San } from "../x509/general-names.ts";
import { type CertificateStatus, certificateStatus } from "./filter.ts";

export interface InventoryRow {
  readonly serial: string;
  readonly status: CertificateStatus;
  readonly subject: string;
  readonly sans: readonly San[];
  readonly profile: string;
  /** The notification address. */
  readonly requester: string;
  /** Who asked, as authenticated. */
  readonly requestedBy: string;
  readonly caId: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  readonly requestId: string;
  readonly renews: string | null;
  readonly renewedBy: string | null;
  readonly revokedAt: string | null;
  readonly revocationReason: string | null;
}

export function inventoryRow(record: CertificateRecord, now: Date): InventoryRow {
  return {
    serial: record.serial,
    status: certificateStatus(record, now),
    subject: record.subject,
    sans: record.sans.map((s) => ({ type: s.type, value: s.value })),
    profile: record.profile,
    requester: record.requester,
    requestedBy: describePrincipal(record.principal),
    caId: record.caId,
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    issuedAt: record.issuedAt,
    requestId: record.requestId,
    renews: record.renews,
    renewedBy: record.renewedBy,
    revokedAt: record.revokedAt,
    revocationReason: record.revocationReason,
  };
}

export const exportFormats = ["csv", "jsonl"] as const;
export type ExportFormat = (typeof exportFormats)[number];

export const exportMediaTypes: Readonly<Record<ExportFormat, string>> = {
  csv: "text/csv; charset=utf-8",
  jsonl: "application/jsonl",
};

const csvColumns = [
  "serial",
  "status",
  "subject",
  "sans",
  "profile",
  "requester",
  "requestedBy",
  "caId",
  "notBefore",
  "notAfter",
  "issuedAt",
  "requestId",
  "renews",
  "renewedBy",
  "revokedAt",
  "revocationReason",
] as const satisfies readonly (keyof InventoryRow)[];

/** The CSV header line, CRLF-terminated. */
export function csvHeader(): string {
  return `${csvColumns.join(",")}\r\n`;
}

/** One row as a CSV line, CRLF-terminated; SANs as `type:value` separated by spaces. */
export function csvLine(row: InventoryRow): string {
  return `${csvColumns
    .map((column) => {
      const value = row[column];
      if (column === "sans") return csvCell(row.sans.map((s) => `${s.type}:${s.value}`).join(" "));
      return csvCell(value === null ? "" : String(value));
    })
    .join(",")}\r\n`;
}

/** One row as a JSON Lines line. */
export function jsonLine(row: InventoryRow): string {
  return `${JSON.stringify(row)}\n`;
}

function csvCell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
