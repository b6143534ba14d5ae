/**
 * What the inventory can be asked: a status, a profile, a requester, an issuing CA, a text
 * within the subject or a SAN, and an expiry window. The schema reads query strings (the API's
 * query, the CLI's options) and turns them into one InventoryFilter; `matches` applies it.
 */
import * as v from "valibot";
import { isSamePerson } from "../identity/principal.ts";
import type { CertificateRecord } from "../store/request-repository.ts";

export const certificateStatuses = ["valid", "revoked", "expired"] as const;
export type CertificateStatus = (typeof certificateStatuses)[number];

export interface InventoryFilter {
  readonly status?: CertificateStatus;
  readonly profile?: string;
  /** An address (compared as a mailbox: case and +tags ignored) or a principal id. */
  readonly requester?: string;
  /** The issuing CA's id. */
  readonly ca?: string;
  /** A case-insensitive substring of the subject or of any SAN. */
  readonly q?: string;
  /** notAfter before this instant (exclusive), ISO 8601. */
  readonly expiresBefore?: string;
  /** notAfter at or after this instant, ISO 8601. */
  readonly expiresAfter?: string;
}

/** The most a page may hold. */
export const MAX_PAGE_LIMIT = 500;
export const DEFAULT_PAGE_LIMIT = 50;

const Instant = (name: string) =>
  v.pipe(
    v.string(),
    v.check(
      (s) =>
        /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(s) &&
        !Number.isNaN(Date.parse(s)),
      `${name} must be a date (2027-01-31) or an ISO 8601 instant with its offset (2027-01-31T12:00:00Z)`,
    ),
    v.transform((s) => new Date(s).toISOString()),
  );

const Text = (name: string, max: number) =>
  v.pipe(
    v.string(),
    v.minLength(1, `${name} must not be empty`),
    v.maxLength(max, `${name} must be at most ${max} characters`),
  );

export const WINDOW_OUT_OF_ORDER = "expiresAfter must be earlier than expiresBefore";

/** Whether an expiry window's ends, where both are given, are in order. */
export function windowInOrder<
  T extends {
    readonly expiresBefore?: string | undefined;
    readonly expiresAfter?: string | undefined;
  },
>(query: T): boolean {
  return (
    query.expiresBefore === undefined ||
    query.expiresAfter === undefined ||
    query.expiresAfter < query.expiresBefore
  );
}

/** The listing's query: every value a string, as it arrives in a URL. */
export const InventoryQuerySchema = v.pipe(
  v.strictObject({
    status: v.optional(
      v.picklist(certificateStatuses, `status must be one of ${certificateStatuses.join(", ")}`),
    ),
    profile: v.optional(Text("profile", 63)),
    requester: v.optional(Text("requester", 320)),
    ca: v.optional(
      v.pipe(v.string(), v.regex(/^[0-9a-f]{1,64}$/, "ca must be a CA id (lowercase hex)")),
    ),
    q: v.optional(Text("q", 256)),
    expiresBefore: v.optional(Instant("expiresBefore")),
    expiresAfter: v.optional(Instant("expiresAfter")),
    limit: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[0-9]{1,4}$/, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`),
        v.transform(Number),
        v.minValue(1, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`),
        v.maxValue(MAX_PAGE_LIMIT, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`),
      ),
    ),
    cursor: v.optional(
      v.pipe(v.string(), v.maxLength(1024, "cursor is not one this listing gave out")),
    ),
  }),
  v.check(windowInOrder, WINDOW_OUT_OF_ORDER),
);

export type InventoryQuery = v.InferOutput<typeof InventoryQuerySchema>;

/** The filter part of a parsed query. */
export function filterOf(query: InventoryQuery): InventoryFilter {
  const { limit: _limit, cursor: _cursor, ...filter } = query;
  return Object.fromEntries(
    Object.entries(filter).filter(([, value]) => value !== undefined),
  ) as InventoryFilter;
}

export function certificateStatus(
  record: Pick<CertificateRecord, "revokedAt" | "notAfter">,
  now: Date,
): CertificateStatus {
  if (record.revokedAt !== null) return "revoked";
  // RFC 5280 4.1.2.5: valid through notAfter, inclusive.
  return Date.parse(record.notAfter) < now.getTime() ? "expired" : "valid";
}

/** The notAfter range a filter allows: [from, to), ISO 8601; undefined is open. */
export function expiryRange(
  filter: InventoryFilter,
  now: Date,
): { readonly from?: string; readonly to?: string } {
  let from = filter.expiresAfter;
  let to = filter.expiresBefore;
  const nowIso = now.toISOString();
  if (filter.status === "expired" && (to === undefined || nowIso < to)) to = nowIso;
  if (filter.status === "valid" && (from === undefined || nowIso > from)) from = nowIso;
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

export function matches(record: CertificateRecord, filter: InventoryFilter, now: Date): boolean {
  if (filter.status !== undefined && certificateStatus(record, now) !== filter.status) return false;
  if (filter.profile !== undefined && record.profile !== filter.profile) return false;
  if (filter.ca !== undefined && record.caId !== filter.ca) return false;
  if (filter.expiresAfter !== undefined && record.notAfter < filter.expiresAfter) return false;
  if (filter.expiresBefore !== undefined && record.notAfter >= filter.expiresBefore) return false;
  if (filter.requester !== undefined) {
    const who = filter.requester;
    const same =
      record.principal.id === who ||
      isSamePerson(who, record.principal.email) ||
      isSamePerson(who, record.requester);
    if (!same) return false;
  }
  if (filter.q !== undefined) {
    const needle = filter.q.toLowerCase();
    const names = [record.subject, ...record.sans.map((s) => s.value)];
    if (!names.some((name) => name.toLowerCase().includes(needle))) return false;
  }
  return true;
}
