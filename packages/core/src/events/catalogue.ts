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
const EnforcementTarget = v.pipe(v.string(), v.minLength(1), v.maxLength(2048));
const TargetKind = v.picklist([
  "alb-trust-store",
  "api-gateway-domain",
  "roles-anywhere-trust-anchor",
  "local-gateway",
]);

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
  /** A certificate nobody renewed or revoked is within `thresholdDays` of its notAfter. */
  "certificate.expiring": v.strictObject({
    serial: Serial,
    requestId: RequestId,
    profile: v.string(),
    notAfter: Timestamp,
    /** The reminder threshold (notifications.expiryReminderDays) it has reached. */
    thresholdDays: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3650)),
    /** Who was told: the requester and the profile's owners. */
    recipients: v.array(Email),
  }),
  /** A certificate expired without being renewed or revoked. */
  "certificate.expired": v.strictObject({
    serial: Serial,
    requestId: RequestId,
    profile: v.string(),
    notAfter: Timestamp,
    recipients: v.array(Email),
  }),
  /** A CRL is out (the objects are written and its state recorded): the gates follow it. */
  "crl.published": v.strictObject({
    caId: v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/, "a CA id (16 hex digits)")),
    /** The cRLNumber, decimal. */
    number: v.pipe(v.string(), v.regex(/^\d{1,49}$/, "a decimal cRLNumber")),
    thisUpdate: Timestamp,
    nextUpdate: Timestamp,
    entries: v.pipe(v.number(), v.integer(), v.minValue(0)),
    trigger: v.picklist(["revocation", "schedule", "startup"]),
  }),
  /** A gate holds the current CRL and CA bundle (docs/enforcement.md). */
  "enforcement.updated": v.strictObject({
    target: EnforcementTarget,
    kind: TargetKind,
    /** The cRLNumber the gate now holds, decimal; null for a gate without CRLs. */
    crlNumber: v.nullable(v.pipe(v.string(), v.regex(/^\d{1,49}$/))),
    /** The calls that brought it in step, in order (AddTrustStoreRevocations, ...). */
    actions: v.array(v.string()),
    updatedAt: Timestamp,
  }),
  /** A gate could not be brought in step; it is retried, and an alarm watches these. */
  "enforcement.failed": v.strictObject({
    target: EnforcementTarget,
    kind: TargetKind,
    /** The service's error name (TooManyTrustStoreRevocationEntries, ...) or ours. */
    code: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
    message: v.pipe(v.string(), v.maxLength(2048)),
    /** Failed attempts in a row, this one included. */
    attempts: v.pipe(v.number(), v.integer(), v.minValue(1)),
    failedAt: Timestamp,
  }),
  /** Someone other than the CA changed a gate's or the publication bucket's settings. */
  "enforcement.drift": v.strictObject({
    /** The CloudTrail event's id. */
    eventId: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
    eventSource: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
    eventName: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
    /** Who made the call: the role behind a session, else the caller's ARN. */
    actor: v.pipe(v.string(), v.maxLength(2048)),
    /** The resource named in the call (trust store ARN, domain name, bucket), when there is one. */
    resource: v.nullable(v.pipe(v.string(), v.maxLength(2048))),
    eventTime: Timestamp,
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
