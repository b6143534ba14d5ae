/**
 * A certificate request and its lifecycle. The model is plain, JSON-serialisable data: absent
 * values are `null`, never `undefined`, so a Lambda can return it as it is and a workflow state
 * can read every field.
 *
 *   submitted ──► pending_approval ──► approved ──► issued ──► revoked
 *       │  │            │    │             │
 *       │  └─► approved │    └─► expired   └─► failed
 *       ├─► rejected ◄──┘
 *       └─► failed ◄──── (pending_approval)
 *
 * `submitted → approved` is the automatic-approval path (no wait). `submitted → rejected` and
 * `submitted → failed` are re-validation failing before anything was stored. `issued →
 * revoked` follows the certificate's revocation (ra/revocation.ts). Statuses never go
 * backwards, and every change is a conditional write on the current status (see
 * store/request-repository.ts).
 */
import { createHash, randomUUID } from "node:crypto";
import type { CheckedCsr } from "../csr/intake.ts";
import type { RequestPrincipal } from "../identity/principal.ts";
import type { San } from "../x509/general-names.ts";

export const requestStatuses = [
  "submitted",
  "pending_approval",
  "approved",
  "rejected",
  "expired",
  "issued",
  "failed",
  "revoked",
] as const;

export type RequestStatus = (typeof requestStatuses)[number];

const transitions: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  submitted: ["pending_approval", "approved", "rejected", "failed"],
  pending_approval: ["approved", "rejected", "expired", "failed"],
  approved: ["issued", "failed"],
  rejected: [],
  expired: [],
  issued: ["revoked"],
  failed: [],
  revoked: [],
};

/** Whether the lifecycle allows `from → to`. A status never transitions to itself. */
export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return transitions[from].includes(to);
}

/** The statuses `from` may move to, in lifecycle order. */
export function nextStatuses(from: RequestStatus): readonly RequestStatus[] {
  return transitions[from];
}

/** No transition leaves these. */
export function isFinalStatus(status: RequestStatus): boolean {
  return transitions[status].length === 0;
}

export function isRequestStatus(value: unknown): value is RequestStatus {
  return typeof value === "string" && (requestStatuses as readonly string[]).includes(value);
}

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** What an approver reads before deciding, and what the audit trail keeps of the CSR. */
export interface CsrSummary {
  /** The subject as text, e.g. "CN=app.example.com, O=Example". */
  readonly subject: string;
  readonly sans: readonly San[];
  /** Key type and size in words, e.g. "RSA 2048" or "EC P-256". */
  readonly key: string;
  /** The key type as approvers see it: "RSA", or "EC" with its curve ("EC P-256"). */
  readonly keyType: string;
  /** The key size in bits (the modulus for RSA, the curve's field for EC). */
  readonly keyBits: number;
  /** SHA-256 of the CSR's DER, lowercase hex. */
  readonly sha256: string;
  /** SHA-256 of the SubjectPublicKeyInfo, lowercase hex. */
  readonly publicKeySha256: string;
  /** The intake checks the CSR passed, in words. */
  readonly checks: readonly string[];
}

export function summariseCsr(csr: CheckedCsr): CsrSummary {
  return {
    subject: csr.subject.text,
    sans: csr.sans.map((s) => ({ type: s.type, value: s.value })),
    key: csr.keyDescription,
    keyType: csr.publicKey.kind === "rsa" ? "RSA" : `EC ${csr.publicKey.curve}`,
    keyBits: csr.publicKey.bits,
    sha256: createHash("sha256").update(csr.der).digest("hex"),
    publicKeySha256: csr.publicKeySha256,
    checks: [...csr.checks],
  };
}

export type ApprovalMode = "automatic" | "manual";

/** The profile's approval policy as it was when the request was submitted. */
export interface ApprovalSnapshot {
  readonly mode: ApprovalMode;
  /** The approvers who may decide (the requester already removed: four eyes). */
  readonly approvers: readonly string[];
  /**
   * Listed approvers removed because they are the requester (same mailbox, any case or
   * +tag); the submission's audit entry names them. Absent on older requests.
   */
  readonly excluded?: readonly string[];
  /** Approvals needed; 0 for automatic approval. */
  readonly quorum: number;
  /** How long the workflow waits for the quorum; 0 for automatic approval. */
  readonly timeoutSeconds: number;
  /** When the wait ends, set when the approval step opens it; null until then. */
  readonly deadline: string | null;
  /**
   * A renewal under `approval: "inherit"` (renewal/policy.ts): the request whose approval it
   * carries on, instead of asking anyone again. Absent otherwise.
   */
  readonly inheritedFrom?: string;
}

export type DecisionKind = "approve" | "reject";

export interface Decision {
  readonly approver: string;
  readonly decision: DecisionKind;
  readonly reason: string | null;
  readonly at: string;
}

export interface Request {
  readonly id: string;
  readonly status: RequestStatus;
  /**
   * Where the requester's mails go: the address given with the request, or the principal's
   * own. Only a notification address: who asked is `principal`.
   */
  readonly requester: string;
  /** Who submitted it, as authenticated (identity/principal.ts). */
  readonly principal: RequestPrincipal;
  readonly profile: string;
  readonly comment: string | null;
  /** The CSR as submitted, PEM. */
  readonly csr: string;
  readonly csrSummary: CsrSummary;
  /** Requested validity; null means the profile's default. */
  readonly validityDays: number | null;
  readonly approval: ApprovalSnapshot;
  /** Approvers' decisions, in the order they were recorded. */
  readonly decisions: readonly Decision[];
  /** Why the request was rejected or failed; null otherwise. */
  readonly reason: string | null;
  /** The issued certificate's serial (lowercase hex), once issued. */
  readonly serial: string | null;
  /** The workflow execution (ARN or local id), once started. */
  readonly executionId: string | null;
  /** The submitting principal's id (the idempotency scope); see `principal`. */
  readonly submittedBy: string | null;
  /** The serial of the certificate this request renews (renewal/); null for a new one. */
  readonly renews: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What the API supplies to create a request; the store fills in status and timestamps. */
export type NewRequest = Pick<
  Request,
  | "id"
  | "requester"
  | "profile"
  | "comment"
  | "csr"
  | "csrSummary"
  | "validityDays"
  | "approval"
  | "submittedBy"
  | "principal"
> & {
  readonly executionId?: string | null;
  /** The serial this request renews; absent or null for a new certificate. */
  readonly renews?: string | null;
  /**
   * SHA-256 of the secret in the request's status-page link (links/secrets.ts), kept
   * beside the request but never part of it; absent: no status link.
   */
  readonly statusSecretHash?: string;
};

/** One line of a request's history: who did what, when. */
export interface AuditEntry {
  /** 1, 2, 3 … in the order the entries were written. */
  readonly seq: number;
  readonly at: string;
  /** Who: "api-key:<id>", "approver:<email>", "workflow:<step>", "system" … */
  readonly actor: string;
  /** What: the new status for a transition ("approved"), or e.g. "approval.approve". */
  readonly action: string;
  /** The status change this entry records, if any. */
  readonly from: RequestStatus | null;
  readonly to: RequestStatus | null;
  readonly details: { readonly [key: string]: JsonValue } | null;
}

/** Request ids are also workflow execution names: at most 80 of [A-Za-z0-9-_]. */
export function newRequestId(): string {
  return randomUUID();
}

const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isRequestId(value: string): boolean {
  return REQUEST_ID.test(value);
}

/** Who approved, in the order their decisions were recorded. */
export function approversOf(decisions: readonly Decision[]): string[] {
  return decisions.filter((d) => d.decision === "approve").map((d) => d.approver);
}
