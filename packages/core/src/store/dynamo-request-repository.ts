/**
 * The RequestRepository on one DynamoDB table (docs/dynamodb.md). Every write is a single-item
 * conditional write: DynamoDB makes each one atomic, and dynalite (tests, local mode) does not
 * implement TransactWriteItems. So a request's audit trail, approval links and decisions live
 * in the request's own item, and a status change, its audit entry and a decision land in one
 * UpdateItem. Writes that depend on more than the status (approval links, decisions) read the
 * item, decide, and write on the condition that its `version` is still the one they read,
 * retrying a few times when another writer got there first.
 *
 * This class is only the port's face: each concern is a module of functions over one shared
 * RequestTableContext (dynamo-request-context.ts), on the items of dynamo-request-items.ts:
 * requests (dynamo-request-lifecycle.ts), approvals (dynamo-approvals.ts), certificates
 * (dynamo-certificates.ts), API keys and sessions (dynamo-api-keys-and-sessions.ts), and sent
 * markers (dynamo-message-claims.ts).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { AuditEntry, NewRequest, Request, RequestStatus } from "../requests/request.ts";
import { DynamoAccess } from "./dynamo-access.ts";
import {
  createApiKey,
  createSession,
  deleteSession,
  findActiveApiKey,
  findSession,
  listApiKeys,
  revokeApiKey,
} from "./dynamo-api-keys-and-sessions.ts";
import {
  findApprovalLink,
  getApproval,
  openApproval,
  recordDecision,
  replaceApprovalLinks,
} from "./dynamo-approvals.ts";
import {
  getCertificate,
  markCertificateRenewed,
  markCertificateRevoked,
  putCertificate,
} from "./dynamo-certificates.ts";
import {
  claimMessage,
  markMessageSent,
  releaseAbandonedClaims,
  releaseMessage,
  sentMessage,
} from "./dynamo-message-claims.ts";
import type { RequestTableContext } from "./dynamo-request-context.ts";
import {
  addStatusSecret,
  appendAudit,
  attachExecution,
  createRequest,
  findRequestByStatusSecret,
  getRequest,
  history,
  listRequestsByStatus,
  transition,
} from "./dynamo-request-lifecycle.ts";
import type {
  ApiKeyRecord,
  ApprovalLinkView,
  ApprovalState,
  AuditInput,
  CertificateRecord,
  ClaimOptions,
  CreateRequestOptions,
  CreateRequestResult,
  DecisionInput,
  DecisionResult,
  MessageClaim,
  NewApiKey,
  NewCertificateRecord,
  NewSession,
  OpenApprovalInput,
  Page,
  PageInput,
  PutCertificateResult,
  ReplaceApprovalLinksInput,
  ReplaceApprovalLinksResult,
  RequestRepository,
  SessionRecord,
  TransitionInput,
  TransitionResult,
} from "./request-repository.ts";

export {
  IDEMPOTENCY_WINDOW_SECONDS,
  isValidIdempotencyKey,
} from "./dynamo-request-lifecycle.ts";

export interface DynamoRequestRepositoryOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The clock (tests move it to expire links and leases). */
  readonly now?: () => Date;
  /** Optimistic-write attempts before giving up with a TransientError. Default 8. */
  readonly maxAttempts?: number;
}

export class DynamoRequestRepository implements RequestRepository {
  readonly tableName: string;
  private readonly context: RequestTableContext;

  constructor(options: DynamoRequestRepositoryOptions) {
    this.tableName = options.tableName;
    const db = new DynamoAccess(options.client, options.tableName);
    this.context = {
      db,
      clock: options.now ?? (() => new Date()),
      maxAttempts: options.maxAttempts ?? 8,
    };
  }

  // ---- Requests -------------------------------------------------------------------------

  createRequest(input: NewRequest, options?: CreateRequestOptions): Promise<CreateRequestResult> {
    return createRequest(this.context, input, options);
  }

  getRequest(id: string): Promise<Request | undefined> {
    return getRequest(this.context, id);
  }

  findRequestByStatusSecret(id: string, secretHash: string): Promise<Request | undefined> {
    return findRequestByStatusSecret(this.context, id, secretHash);
  }

  addStatusSecret(requestId: string, secretHash: string): Promise<void> {
    return addStatusSecret(this.context, requestId, secretHash);
  }

  transition(requestId: string, change: TransitionInput): Promise<TransitionResult> {
    return transition(this.context, requestId, change);
  }

  attachExecution(requestId: string, executionId: string): Promise<Request> {
    return attachExecution(this.context, requestId, executionId);
  }

  appendAudit(requestId: string, input: AuditInput): Promise<boolean> {
    return appendAudit(this.context, requestId, input);
  }

  history(requestId: string): Promise<readonly AuditEntry[]> {
    return history(this.context, requestId);
  }

  listRequestsByStatus(status: RequestStatus, page?: PageInput): Promise<Page<Request>> {
    return listRequestsByStatus(this.context, status, page);
  }

  // ---- Approvals ------------------------------------------------------------------------

  openApproval(requestId: string, input: OpenApprovalInput): Promise<ApprovalState> {
    return openApproval(this.context, requestId, input);
  }

  getApproval(requestId: string): Promise<ApprovalState | undefined> {
    return getApproval(this.context, requestId);
  }

  findApprovalLink(requestId: string, secretHash: string): Promise<ApprovalLinkView | undefined> {
    return findApprovalLink(this.context, requestId, secretHash);
  }

  recordDecision(requestId: string, input: DecisionInput): Promise<DecisionResult> {
    return recordDecision(this.context, requestId, input);
  }

  replaceApprovalLinks(
    requestId: string,
    input: ReplaceApprovalLinksInput,
  ): Promise<ReplaceApprovalLinksResult> {
    return replaceApprovalLinks(this.context, requestId, input);
  }

  // ---- Certificates ---------------------------------------------------------------------

  putCertificate(input: NewCertificateRecord): Promise<PutCertificateResult> {
    return putCertificate(this.context, input);
  }

  getCertificate(serial: string): Promise<CertificateRecord | undefined> {
    return getCertificate(this.context, serial);
  }

  markCertificateRevoked(serial: string, revokedAt: string, reason: string): Promise<void> {
    return markCertificateRevoked(this.context, serial, revokedAt, reason);
  }

  markCertificateRenewed(serial: string, renewedBy: string): Promise<void> {
    return markCertificateRenewed(this.context, serial, renewedBy);
  }

  // ---- API keys and browser sessions ----------------------------------------------------

  createApiKey(input: NewApiKey): Promise<ApiKeyRecord> {
    return createApiKey(this.context, input);
  }

  findActiveApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return findActiveApiKey(this.context, keyHash);
  }

  listApiKeys(): Promise<readonly ApiKeyRecord[]> {
    return listApiKeys(this.context);
  }

  revokeApiKey(id: string): Promise<ApiKeyRecord> {
    return revokeApiKey(this.context, id);
  }

  createSession(input: NewSession): Promise<void> {
    return createSession(this.context, input);
  }

  findSession(secretHash: string): Promise<SessionRecord | undefined> {
    return findSession(this.context, secretHash);
  }

  deleteSession(secretHash: string): Promise<void> {
    return deleteSession(this.context, secretHash);
  }

  // ---- Sent markers ---------------------------------------------------------------------

  claimMessage(requestId: string, kind: string, options?: ClaimOptions): Promise<MessageClaim> {
    return claimMessage(this.context, requestId, kind, options);
  }

  markMessageSent(
    requestId: string,
    kind: string,
    claimId: string,
    details?: { readonly messageId?: string | null; readonly result?: unknown },
  ): Promise<void> {
    return markMessageSent(this.context, requestId, kind, claimId, details);
  }

  releaseMessage(requestId: string, kind: string, claimId: string): Promise<void> {
    return releaseMessage(this.context, requestId, kind, claimId);
  }

  /**
   * Gives back every message claim still held, whoever holds it. Not part of the port: only
   * for a caller that knows no holder is alive (the local service starting after a crash,
   * under its data-folder lock). Scans the table. Returns how many it released.
   */
  releaseAbandonedClaims(): Promise<number> {
    return releaseAbandonedClaims(this.context);
  }

  sentMessage(
    requestId: string,
    kind: string,
  ): Promise<{ readonly sentAt: string; readonly result: unknown } | undefined> {
    return sentMessage(this.context, requestId, kind);
  }
}
