/**
 * The inventory's port and its listing: certificate records in notAfter order (soonest to
 * expire first, then by serial), read from an index, never a scan. A listing page reads from
 * its cursor on, keeps what matches the filter, and stops when the page is full or it has
 * looked at MAX_SCANNED records: a page may then be short, and `next` goes on from there.
 * Exports read the same order to the end, one index page at a time (bounded memory).
 */
import { createHash } from "node:crypto";
import { PkiError } from "../errors.ts";
import {
  type CertificateRecord,
  inventorySortKey,
  type Page,
} from "../store/request-repository.ts";
import { DEFAULT_PAGE_LIMIT, expiryRange, type InventoryFilter, matches } from "./filter.ts";

/** Whose certificates: everyone's, or those listed under any of these visibility keys. */
export type InventoryScope =
  | { readonly all: true }
  | { readonly all?: false; readonly visibilityKeys: readonly string[] };

export interface InventoryRange {
  /** notAfter at or after (ISO 8601). */
  readonly from?: string;
  /** notAfter before (ISO 8601). */
  readonly to?: string;
  /** Resume after this position (a sort key, `<notAfter>#<serial>`). */
  readonly after?: string;
}

export interface CertificateInventory {
  /** Records in `scope` within `range`, in sort-key order, read lazily page by page. */
  records(scope: InventoryScope, range: InventoryRange): AsyncIterable<CertificateRecord>;
}

/** How many records one listing page looks at, at most, before answering. */
export const MAX_SCANNED = 2_000;

export interface ListInput {
  readonly filter: InventoryFilter;
  readonly scope: InventoryScope;
  readonly limit?: number;
  readonly cursor?: string;
  readonly now: Date;
}

export async function listInventory(
  inventory: CertificateInventory,
  input: ListInput,
): Promise<Page<CertificateRecord>> {
  const limit = input.limit ?? DEFAULT_PAGE_LIMIT;
  const fingerprint = filterFingerprint(input.filter);
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor, fingerprint);
  const items: CertificateRecord[] = [];
  let scanned = 0;
  let last: string | undefined;
  for await (const record of inventory.records(input.scope, {
    ...expiryRange(input.filter, input.now),
    ...(after === undefined ? {} : { after }),
  })) {
    if (matches(record, input.filter, input.now)) {
      // One more than the page: then there is a next page, and it starts after the last kept.
      if (items.length === limit) return { items, next: encodeCursor(last!, fingerprint) };
      items.push(record);
    }
    last = inventorySortKey(record);
    if (++scanned >= MAX_SCANNED) return { items, next: encodeCursor(last, fingerprint) };
  }
  return { items, next: null };
}

/** Every matching record, in order, streamed: for exports. */
export async function* exportInventory(
  inventory: CertificateInventory,
  filter: InventoryFilter,
  scope: InventoryScope,
  now: Date,
): AsyncIterable<CertificateRecord> {
  for await (const record of inventory.records(scope, expiryRange(filter, now))) {
    if (matches(record, filter, now)) yield record;
  }
}

const SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f]{1,64}$/;

function filterFingerprint(filter: InventoryFilter): string {
  const canonical = Object.entries(filter)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 16);
}

function encodeCursor(after: string, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ after, filter: fingerprint }), "utf8").toString("base64url");
}

/** The position a cursor names; a cursor made for another filter, or none of ours, is refused. */
function decodeCursor(cursor: string, fingerprint: string): string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  const fields = value as { after?: unknown; filter?: unknown } | undefined;
  if (
    typeof fields !== "object" ||
    fields === null ||
    Object.keys(fields).sort().join(",") !== "after,filter" ||
    typeof fields.after !== "string" ||
    !SORT_KEY.test(fields.after)
  ) {
    throw new PkiError(
      "PAGE_CURSOR_INVALID",
      "The cursor is not one this listing gave out; start again from the first page.",
    );
  }
  if (fields.filter !== fingerprint) {
    throw new PkiError(
      "PAGE_CURSOR_INVALID",
      "The cursor belongs to a listing with other filters; keep the filters of the page that gave it, or start again from the first page.",
    );
  }
  return fields.after;
}
