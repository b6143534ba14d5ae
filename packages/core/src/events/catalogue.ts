/**
 * The event catalogue: every event the CA publishes, with the valibot schema of its detail.
 * Publishing validates against it and subscribers re-validate, so a malformed or foreign
 * event never reaches a handler. Details carry ids and facts, never secrets (approval links
 * travel only in the approval email).
 */
import * as v from "valibot";
import { type RevocationReason, revocationReasons } from "../crl/reasons.ts";

const RequestId = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
const Email = v.pipe(v.string(), v.email());
const Serial = v.pipe(v.string(), v.regex(/^[0-9a-f]{1,40}$/, "a lowercase hex serial"));
const Timestamp = v.pipe(v.string(), v.isoTimestamp());

export const eventCatalogue = {
  "request.submitted": v.strictObject({
    requestId: RequestId,
    requester: Email,
    profile: v.string(),
    submittedAt: Timestamp,
  }),
  "request.approved": v.strictObject({
    requestId: RequestId,
    requester: Email,
    /** Approvers whose decisions made the quorum; empty for automatic approval. */
    approvers: v.array(Email),
    approvedAt: Timestamp,
  }),
  "request.rejected": v.strictObject({
    requestId: RequestId,
    requester: Email,
    /** The approver who rejected, or null when policy rejected the request. */
    rejectedBy: v.nullable(Email),
    reason: v.string(),
    rejectedAt: Timestamp,
  }),
  "request.expired": v.strictObject({
    requestId: RequestId,
    requester: Email,
    expiredAt: Timestamp,
  }),
  "request.failed": v.strictObject({
    requestId: RequestId,
    requester: Email,
    reason: v.string(),
    failedAt: Timestamp,
  }),
  "certificate.issued": v.strictObject({
    requestId: RequestId,
    requester: Email,
    serial: Serial,
    profile: v.string(),
    notAfter: Timestamp,
    issuedAt: Timestamp,
  }),
  "certificate.revoked": v.strictObject({
    serial: Serial,
    requestId: v.nullable(RequestId),
    reason: v.picklist(Object.keys(revocationReasons) as RevocationReason[]),
    revokedAt: Timestamp,
  }),
} as const;

export type EventType = keyof typeof eventCatalogue;
export type EventDetail<T extends EventType> = v.InferOutput<(typeof eventCatalogue)[T]>;

export const eventTypes = Object.keys(eventCatalogue) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(eventCatalogue, value);
}

/** One published event. `id` is deterministic per fact, so a replayed step republishes the
 * same id and subscribers can deduplicate on it. */
export interface DomainEvent<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly time: string;
  readonly detail: EventDetail<T>;
}
