/**
 * The storage authority's port: everything the API, the workflow steps and the CLI persist
 * about requests, approvals, issued certificates, API keys and sent mail. The DynamoDB adapter
 * (dynamo-request-repository.ts) implements it; docs/dynamodb.md gives the layout.
 *
 * Rules every implementation keeps:
 * - Every write is conditional, so a step run twice, or two steps racing, never moves a request
 *   backwards, issues twice, or sends twice.
 * - Every status change writes its audit entry in the same atomic write.
 * - Reads that a decision depends on are strongly consistent.
 * - Secrets are never stored: API keys and approval-link secrets arrive as SHA-256 hashes.
 *
 * Failures are PkiErrors with codes from the "Requests and storage" group of errors.ts.
 */

import { PkiError } from "../errors.ts";
import { type Role, roles } from "../identity/config.ts";
import type { RequestPrincipal } from "../identity/principal.ts";
import type {
  AuditEntry,
  DecisionKind,
  JsonValue,
  NewRequest,
  Request,
  RequestStatus,
} from "../requests/request.ts";
import type { San } from "../x509/general-names.ts";

/** The request, or REQUEST_NOT_FOUND: for callers that were handed an id that must exist. */
export async function requireRequest(repository: RequestRepository, id: string): Promise<Request> {
  const request = await repository.getRequest(id);
  if (!request) throw new PkiError("REQUEST_NOT_FOUND", `No request ${id}.`);
  return request;
}

export interface RequestRepository {
  /**
   * Stores a new request with status `submitted` and its first audit entry. Refuses an id that
   * exists (REQUEST_EXISTS). With an idempotency key, a repeat of the same request under the
   * same key and scope returns the first request with `created: false`; the same key with a
   * different request is IDEMPOTENCY_KEY_REUSED.
   */
  createRequest(input: NewRequest, options?: CreateRequestOptions): Promise<CreateRequestResult>;

  /** The request, strongly consistent; undefined if there is none. */
  getRequest(id: string): Promise<Request | undefined>;

  /**
   * Moves a request from one of `from` to `to` and appends the audit entry, atomically.
   * - `from → to` not allowed by the lifecycle: REQUEST_TRANSITION_INVALID (nothing written);
   * - the request is already in `to`: `{ changed: false }` with the stored request (an
   *   idempotent re-run; compare its fields if the patch matters);
   * - the request is elsewhere: REQUEST_STATE_CONFLICT, details `{ current, expected, target }`;
   * - no such request: REQUEST_NOT_FOUND.
   */
  transition(requestId: string, change: TransitionInput): Promise<TransitionResult>;

  /** Records the workflow execution; a different execution id already recorded is REQUEST_STATE_CONFLICT. */
  attachExecution(requestId: string, executionId: string): Promise<Request>;

  /**
   * Appends an audit entry that is not a status change (an email sent, an event seen). With
   * `eventId`, the entry is written once per id: a repeat returns false.
   */
  appendAudit(requestId: string, entry: AuditInput): Promise<boolean>;

  /** The request's audit entries, oldest first. REQUEST_NOT_FOUND if there is no request. */
  history(requestId: string): Promise<readonly AuditEntry[]>;

  /**
   * The request, if `secretHash` is the hash of one of its status-page secrets: the one set at
   * creation, or one a mail added (addStatusSecret). Undefined for an unknown request, a wrong
   * hash, or a request that has none.
   */
  findRequestByStatusSecret(id: string, secretHash: string): Promise<Request | undefined>;

  /**
   * Adds a status-page secret's SHA-256 to the request: each mail that links to the request
   * mints its own secret (the raw one exists only in that mail), and every earlier one keeps
   * working. Bounded per request (STATUS_LINKS_EXHAUSTED); REQUEST_NOT_FOUND.
   */
  addStatusSecret(requestId: string, secretHash: string): Promise<void>;

  /**
   * Lists requests in one status, oldest first (newest first with `newestFirst`), from an
   * eventually consistent index (for operators and sweepers; never for a decision).
   */
  listRequestsByStatus(status: RequestStatus, page?: PageInput): Promise<Page<Request>>;

  /**
   * Stores the workflow task token, the deadline and one link per approver while the request
   * is `pending_approval`. Called again (a retried approval step), it replaces the task token
   * and the links given; a link whose approver has decided cannot be replaced
   * (APPROVAL_ALREADY_DECIDED). Approvers must be on the request's approver list
   * (APPROVER_NOT_LISTED) and never the requester (APPROVAL_SELF). Not pending:
   * APPROVAL_NOT_PENDING.
   */
  openApproval(requestId: string, approval: OpenApprovalInput): Promise<ApprovalState>;

  /** The approval state (task token, links without their hashes); undefined if no request. */
  getApproval(requestId: string): Promise<ApprovalState | undefined>;

  /**
   * The request and the link that `secretHash` opens, for showing an approver the request
   * (a GET: no state change). Undefined for an unknown request or a hash that matches no link.
   */
  findApprovalLink(requestId: string, secretHash: string): Promise<ApprovalLinkView | undefined>;

  /**
   * Records an approver's decision through their link, once: the link is used up, the decision
   * and its audit entry are appended, and when this decision completes the quorum (or is a
   * rejection) the request moves to `approved` (or `rejected`) in the same write. Errors, in
   * the order they are checked: APPROVAL_TOKEN_INVALID (no such request, or no link with that
   * hash), APPROVAL_ALREADY_DECIDED (the link was used), APPROVAL_NOT_PENDING (the request no
   * longer waits for approval; details `{ status }`), APPROVAL_EXPIRED (past the link's expiry).
   */
  recordDecision(requestId: string, input: DecisionInput): Promise<DecisionResult>;

  /**
   * An admin's resend of the approval mails: each approver given gets a new link secret (its
   * hash), and every earlier hash of their link (the current one and `earlierSecretHashes`)
   * stops opening it; the link's expiry, the task token and the deadline stay. An approver who
   * has decided keeps their link and is reported in `decided`. One `approval.resent` audit
   * entry by `actor`, naming the approvers, in the same write. Errors: REQUEST_NOT_FOUND,
   * APPROVAL_NOT_PENDING (details `{ status }`), APPROVER_NOT_LISTED (an approver given has no
   * link), APPROVAL_EXPIRED, APPROVAL_ALREADY_DECIDED (everyone given has decided; nothing is
   * written).
   */
  replaceApprovalLinks(
    requestId: string,
    input: ReplaceApprovalLinksInput,
  ): Promise<ReplaceApprovalLinksResult>;

  /**
   * Stores an issued certificate under its serial. The serial is unique: another request's
   * certificate under it is CERT_SERIAL_EXISTS; the same request's again is `created: false`.
   */
  putCertificate(record: NewCertificateRecord): Promise<PutCertificateResult>;

  /** The certificate record, strongly consistent; undefined if the serial is unknown. */
  getCertificate(serial: string): Promise<CertificateRecord | undefined>;

  /**
   * Marks a stored certificate revoked (the revocation store holds the fact; this is what the
   * inventory and the reminders read). The first time and reason stand; CERT_NOT_FOUND.
   */
  markCertificateRevoked(serial: string, revokedAt: string, reason: string): Promise<void>;

  /** Records that `renewedBy` renews the certificate `serial`; the latest renewal stands. */
  markCertificateRenewed(serial: string, renewedBy: string): Promise<void>;

  /** Stores an API key by the SHA-256 of the key; API_KEY_EXISTS if its id is taken. */
  createApiKey(input: NewApiKey): Promise<ApiKeyRecord>;

  /** The key with this hash if it exists and is not revoked (strongly consistent). */
  findActiveApiKey(keyHash: string): Promise<ApiKeyRecord | undefined>;

  /** Every API key, revoked ones included, oldest first (eventually consistent). */
  listApiKeys(): Promise<readonly ApiKeyRecord[]>;

  /** Revokes a key by id; revoking a revoked key returns it unchanged. API_KEY_NOT_FOUND. */
  revokeApiKey(id: string): Promise<ApiKeyRecord>;

  /** Stores a browser session (the pages' sign-in) under the SHA-256 of its secret. */
  createSession(input: NewSession): Promise<void>;

  /**
   * The session with this hash while it is unexpired and its API key is still active (the
   * key's current role); undefined otherwise. Strongly consistent, so signing out or revoking
   * the key ends the session at once.
   */
  findSession(secretHash: string): Promise<SessionRecord | undefined>;

  /** Ends a session; ending an unknown or ended session is not an error. */
  deleteSession(secretHash: string): Promise<void>;

  /**
   * Claims the right to send one message (a request's mail of one kind, e.g.
   * "approval-needed:alice@example.com"). Exactly one caller holds a claim at a time; a
   * message marked sent is never claimed again. A claim not completed within its lease (the
   * sender crashed) can be taken over.
   */
  claimMessage(requestId: string, kind: string, options?: ClaimOptions): Promise<MessageClaim>;

  /**
   * Marks a claimed message sent, with what sending it produced (`result`: JSON, returned to
   * every later claim). MESSAGE_CLAIM_LOST if the claim was taken over: then this holder's
   * result is not recorded, so exactly one holder's result ever is.
   */
  markMessageSent(
    requestId: string,
    kind: string,
    claimId: string,
    details?: { readonly messageId?: string | null; readonly result?: unknown },
  ): Promise<void>;

  /** Gives a claim back after a failed send, so a retry can send at once. */
  releaseMessage(requestId: string, kind: string, claimId: string): Promise<void>;

  /** A message marked sent, with its result; undefined while unsent. Strongly consistent. */
  sentMessage(
    requestId: string,
    kind: string,
  ): Promise<{ readonly sentAt: string; readonly result: unknown } | undefined>;
}

export interface CreateRequestOptions {
  readonly idempotency?: {
    /** Whose key it is: an API key id, or a client identifier for open submission. */
    readonly scope: string;
    /** The Idempotency-Key header: 1 to 255 printable ASCII characters. */
    readonly key: string;
  };
}

export interface CreateRequestResult {
  readonly request: Request;
  /** False when an idempotency key replayed an earlier request. */
  readonly created: boolean;
}

/** Fields a transition may set along with the status. */
export interface RequestPatch {
  readonly reason?: string | null;
  readonly serial?: string | null;
}

export interface TransitionInput {
  /** The status(es) the request must be in. */
  readonly from: RequestStatus | readonly RequestStatus[];
  readonly to: RequestStatus;
  /** Who makes the change, for the audit trail. */
  readonly actor: string;
  /** What the audit entry calls it; defaults to the new status. */
  readonly action?: string;
  readonly details?: { readonly [key: string]: JsonValue };
  readonly patch?: RequestPatch;
}

export interface TransitionResult {
  readonly request: Request;
  /** False when the request was already in the target status (nothing written). */
  readonly changed: boolean;
}

export interface AuditInput {
  readonly actor: string;
  readonly action: string;
  readonly details?: { readonly [key: string]: JsonValue };
  /** A deterministic id (a domain event's id): the entry is appended once per id. */
  readonly eventId?: string;
}

export interface PageInput {
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
  /** Newest first instead of oldest first. */
  readonly newestFirst?: boolean;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

export interface ApprovalLinkInput {
  readonly approver: string;
  /** SHA-256 of the link's secret, lowercase hex. */
  readonly secretHash: string;
  readonly expiresAt: string;
}

export interface OpenApprovalInput {
  readonly taskToken: string;
  /** When the workflow stops waiting (also each link's expiry, normally). */
  readonly deadline: string;
  readonly links: readonly ApprovalLinkInput[];
  readonly actor?: string;
}

export interface ApprovalLink {
  readonly approver: string;
  readonly expiresAt: string;
  /** When the link was used; null while unused. */
  readonly usedAt: string | null;
  readonly decision: DecisionKind | null;
}

export interface ApprovalState {
  readonly requestId: string;
  readonly status: RequestStatus;
  readonly taskToken: string | null;
  readonly deadline: string | null;
  readonly quorum: number;
  readonly links: readonly ApprovalLink[];
}

export interface ApprovalLinkView {
  readonly request: Request;
  readonly link: ApprovalLink;
}

/**
 * A decision, through the link its secret names (`secretHash`), or by the approver signed in
 * (`approver`: their link is found by who they are; no link for them is APPROVAL_SELF or
 * APPROVER_NOT_LISTED instead of APPROVAL_TOKEN_INVALID).
 */
export type DecisionInput =
  | (DecisionFields & {
      /** SHA-256 of the secret from the link, lowercase hex. */
      readonly secretHash: string;
      readonly approver?: undefined;
    })
  | (DecisionFields & {
      /** The signed-in approver's verified address. */
      readonly approver: string;
      readonly secretHash?: undefined;
    });

export interface DecisionFields {
  readonly decision: DecisionKind;
  readonly reason?: string | null;
  /** Who decides, for the audit trail; default "approver:<the link's approver>". */
  readonly actor?: string;
  /** How it was decided when not through the emailed link (e.g. "operators-page"); audited. */
  readonly via?: string;
}

export interface ReplaceApprovalLinksInput {
  /** One new secret's hash (SHA-256, lowercase hex) per approver whose link is replaced. */
  readonly links: readonly { readonly approver: string; readonly secretHash: string }[];
  /** Who resends, for the audit trail. */
  readonly actor: string;
}

export interface ReplaceApprovalLinksResult {
  readonly state: ApprovalState;
  /** Approvers whose links were replaced: only the new secret opens each now. */
  readonly replaced: readonly string[];
  /** Approvers given who had decided: their links are untouched. */
  readonly decided: readonly string[];
}

export interface ApprovalTally {
  /** Distinct approvers who approved. */
  readonly approvals: number;
  readonly quorum: number;
  /** Whether any approver rejected. */
  readonly rejected: boolean;
}

export interface DecisionResult {
  readonly request: Request;
  readonly approver: string;
  readonly tally: ApprovalTally;
  /** `pending`: more approvals needed; otherwise the status this decision moved the request to. */
  readonly outcome: "pending" | "approved" | "rejected";
  /** The workflow task token to send the outcome to (SendTaskSuccess / SendTaskFailure). */
  readonly taskToken: string | null;
}

export interface NewCertificateRecord {
  /** Lowercase hex, no leading zero bytes beyond one (certificate/serial.ts normaliseSerial). */
  readonly serial: string;
  readonly requestId: string;
  /** Where the PEM lives in the bucket. */
  readonly objectKey: string;
  readonly subject: string;
  readonly sans: readonly San[];
  readonly profile: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** The request's notification address: where reminders go. */
  readonly requester: string;
  /** Who asked for it (the request's principal): whose inventory it is in. */
  readonly principal: RequestPrincipal;
  /** The issuing CA (ca/authority.ts caIdOf). */
  readonly caId: string;
  /** The serial of the certificate this one renews; null for a first issuance. */
  readonly renews: string | null;
}

/**
 * Where a record sorts in the inventory (inventory/): by notAfter, then serial (unique). ISO
 * 8601 instants of one form sort as text in time order.
 */
export function inventorySortKey(record: Pick<CertificateRecord, "notAfter" | "serial">): string {
  return `${record.notAfter}#${record.serial}`;
}

export interface CertificateRecord extends NewCertificateRecord {
  readonly issuedAt: string;
  /** The serial of the certificate that renewed this one, once stored; then no reminders. */
  readonly renewedBy: string | null;
  /** When it was revoked (whole seconds), and why; null while not revoked. */
  readonly revokedAt: string | null;
  readonly revocationReason: string | null;
}

export interface PutCertificateResult {
  readonly record: CertificateRecord;
  /** False when this request's certificate was already stored under the serial. */
  readonly created: boolean;
}

/** What an API key may do: the roles people get from their groups (identity/config.ts). */
export const apiKeyRoles = roles;
export type ApiKeyRole = Role;

export interface NewApiKey {
  /** SHA-256 of the key, lowercase hex. */
  readonly keyHash: string;
  readonly role: ApiKeyRole;
  readonly label: string;
  /** The person the key belongs to, an email address: its requests are theirs. */
  readonly owner: string;
}

export interface ApiKeyRecord {
  /** Public, stable id: the first 16 hex digits of the key's hash. */
  readonly id: string;
  readonly role: ApiKeyRole;
  readonly label: string;
  /** Null only for keys made before keys had owners. */
  readonly owner: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** A person as the OpenID provider vouched for them at sign-in. */
export interface SignedInPerson {
  readonly sub: string;
  /** Verified. */
  readonly email: string;
  readonly name: string | null;
  readonly groups: readonly string[];
}

export interface NewSession {
  /** SHA-256 of the session secret (the cookie), lowercase hex. */
  readonly secretHash: string;
  /** Who signed in: an API key's id, or a person. */
  readonly holder: { readonly keyId: string } | { readonly person: SignedInPerson };
  readonly expiresAt: string;
}

export interface SessionRecord {
  /** The key as it is now (its role now, not at sign-in), or the person as signed in. */
  readonly holder: { readonly key: ApiKeyRecord } | { readonly person: SignedInPerson };
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface ClaimOptions {
  /** How long the claim holds before another sender may take it over. Default 300. */
  readonly leaseSeconds?: number;
  /**
   * Who claims: a workflow execution. A claim held by the same owner is taken over at once,
   * since the owner runs one attempt at a time: its earlier attempt died or timed out (a
   * crash and resume, a retry after a Lambda timeout), and waiting out its lease would only
   * run the step's retries out.
   */
  readonly owner?: string;
}

export type MessageClaim =
  | { readonly state: "claimed"; readonly claimId: string }
  | { readonly state: "sent"; readonly sentAt: string; readonly result: unknown }
  | { readonly state: "in-progress"; readonly leaseUntil: string };
