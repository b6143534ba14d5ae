/**
 * The RequestRepository on one DynamoDB table (docs/dynamodb.md). Every write is a single-item
 * conditional write: DynamoDB makes each one atomic, and dynalite (tests, local mode) does not
 * implement TransactWriteItems. So a request's audit trail, approval links and decisions live
 * in the request's own item, and a status change, its audit entry and a decision land in one
 * UpdateItem. Writes that depend on more than the status (approval links, decisions) read the
 * item, decide, and write on the condition that its `version` is still the one they read,
 * retrying a few times when another writer got there first.
 */
import { createHash, randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { normaliseSerial } from "../certificate/serial.ts";
import { PkiError, TransientError } from "../errors.ts";
import { describePrincipal, isSamePerson, type RequestPrincipal } from "../identity/principal.ts";
import {
  type AuditEntry,
  approversOf,
  canTransition,
  type Decision,
  isRequestId,
  type NewRequest,
  type Request,
  type RequestStatus,
} from "../requests/request.ts";
import { findLinkByApprover, noLinkError, planLinkReplacement } from "./approval-links.ts";
import { DynamoAccess, Expression, type Item } from "./dynamo-access.ts";
import {
  addStatusSecretHash,
  opensWithStatusSecret,
  type StatusSecretAttributes,
} from "./dynamo-status-secrets.ts";
import type {
  ApiKeyRecord,
  ApprovalLink,
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
import { table } from "./table.ts";

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const DEFAULT_LEASE_SECONDS = 300;

export function isValidIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY.test(key);
}

export interface DynamoRequestRepositoryOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The clock (tests move it to expire links and leases). */
  readonly now?: () => Date;
  /** Optimistic-write attempts before giving up with a TransientError. Default 8. */
  readonly maxAttempts?: number;
}

/** Stored approval link: the hash of its secret, never the secret. */
interface LinkItem {
  readonly approver: string;
  readonly secretHash: string;
  /**
   * Hashes of links this approver was sent before this one, still valid: a re-run sends a new
   * link when the last mail was not recorded as sent, but a mail cut short by a crash may
   * have gone out all the same, and its link must keep working.
   */
  readonly earlierSecretHashes?: readonly string[];
  readonly expiresAt: string;
  readonly usedAt: string | null;
  readonly decision: Decision["decision"] | null;
}

type StoredAuditEntry = Omit<AuditEntry, "seq">;

interface RequestItem extends Omit<Request, "principal">, StatusSecretAttributes {
  /** Absent on requests stored before principals were recorded. */
  readonly principal?: RequestPrincipal;
  readonly pk: string;
  readonly sk: string;
  readonly gsi1pk: string;
  readonly gsi1sk: string;
  readonly version: number;
  readonly history: readonly StoredAuditEntry[];
  readonly taskToken: string | null;
  readonly links: Readonly<Record<string, LinkItem>>;
  /** Absent on requests created without a status link. */
  readonly statusSecretHash?: string;
}

const key = {
  request: (id: string) => ({ pk: `REQ#${id}`, sk: "REQUEST" }),
  message: (id: string, kind: string) => ({ pk: `REQ#${id}`, sk: `MSG#${kind}` }),
  idempotency: (scope: string, idempotencyKey: string) => ({
    pk: `IDEM#${sha256Hex(JSON.stringify([scope, idempotencyKey]))}`,
    sk: "IDEMPOTENCY",
  }),
  certificate: (serial: string) => ({ pk: `CERT#${serial}`, sk: "CERTIFICATE" }),
  apiKey: (id: string) => ({ pk: `APIKEY#${id}`, sk: "APIKEY" }),
  session: (secretHash: string) => ({ pk: `SESSION#${secretHash}`, sk: "SESSION" }),
};

const statusIndexKey = (status: RequestStatus) => `STATUS#${status}`;
const API_KEYS_INDEX_KEY = "APIKEYS";

export class DynamoRequestRepository implements RequestRepository {
  readonly tableName: string;
  private readonly db: DynamoAccess;
  private readonly clock: () => Date;
  private readonly maxAttempts: number;

  constructor(options: DynamoRequestRepositoryOptions) {
    this.tableName = options.tableName;
    this.db = new DynamoAccess(options.client, options.tableName);
    this.clock = options.now ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 8;
  }

  // ---- Requests -------------------------------------------------------------------------

  async createRequest(
    input: NewRequest,
    options: CreateRequestOptions = {},
  ): Promise<CreateRequestResult> {
    if (input.statusSecretHash !== undefined)
      requireSha256(input.statusSecretHash, "statusSecretHash");
    const idempotency = options.idempotency;
    if (!idempotency) return { request: await this.putNewRequest(input), created: true };
    if (!isValidIdempotencyKey(idempotency.key)) throw new PkiError("IDEMPOTENCY_KEY_INVALID");
    if (idempotency.scope === "") throw new TypeError("idempotency scope is empty");

    const idemKey = key.idempotency(idempotency.scope, idempotency.key);
    const fingerprint = requestFingerprint(input);
    const now = this.clock();
    const claimed = await this.db.conditional(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...idemKey,
          type: "idempotency",
          scope: idempotency.scope,
          requestId: input.id,
          fingerprint,
          createdAt: now.toISOString(),
          [table.ttl]: epochSeconds(now) + IDEMPOTENCY_WINDOW_SECONDS,
        },
        // A record past its window counts as gone even before TTL deletes it.
        ConditionExpression: "attribute_not_exists(pk) OR #purge < :now",
        ExpressionAttributeNames: { "#purge": table.ttl },
        ExpressionAttributeValues: { ":now": epochSeconds(now) },
      }),
    );
    let requestId = input.id;
    if (!claimed) {
      const record = await this.db.getItem(idemKey);
      if (!record) throw new TransientError("The idempotency record vanished; retry.");
      if (record.fingerprint !== fingerprint) {
        throw new PkiError(
          "IDEMPOTENCY_KEY_REUSED",
          `It was first used for request ${String(record.requestId)}.`,
          { requestId: record.requestId },
        );
      }
      requestId = String(record.requestId);
      const existing = await this.getRequest(requestId);
      if (existing) return { request: existing, created: false };
      // The first attempt stored the key but not the request (it crashed, or is still
      // running): create the request under the id the key names.
    }
    try {
      return { request: await this.putNewRequest({ ...input, id: requestId }), created: true };
    } catch (e) {
      if (!(e instanceof PkiError && e.code === "REQUEST_EXISTS")) throw e;
      // A concurrent twin of this call created it first.
      const existing = await this.getRequest(requestId);
      if (!existing) throw e;
      return { request: existing, created: false };
    }
  }

  private async putNewRequest(input: NewRequest): Promise<Request> {
    if (!isRequestId(input.id)) throw new RangeError(`invalid request id ${input.id}`);
    const at = this.clock().toISOString();
    const request: Request = {
      id: input.id,
      status: "submitted",
      requester: input.requester,
      principal: input.principal,
      profile: input.profile,
      comment: input.comment,
      csr: input.csr,
      csrSummary: input.csrSummary,
      validityDays: input.validityDays,
      approval: input.approval,
      decisions: [],
      reason: null,
      serial: null,
      executionId: input.executionId ?? null,
      submittedBy: input.submittedBy,
      createdAt: at,
      updatedAt: at,
    };
    const entry: StoredAuditEntry = {
      at,
      actor: describePrincipal(input.principal),
      action: "submitted",
      from: null,
      to: "submitted",
      details: {
        principal: input.principal.id,
        notify: input.requester,
        // Four eyes, on the record: who was listed but gets no link, being the submitter.
        ...(input.approval.excluded?.length
          ? { fourEyesExcluded: [...input.approval.excluded] }
          : {}),
        profile: input.profile,
        csrSha256: input.csrSummary.sha256,
      },
    };
    const item: RequestItem = {
      ...key.request(input.id),
      ...request,
      gsi1pk: statusIndexKey("submitted"),
      gsi1sk: `${at}#${input.id}`,
      version: 1,
      history: [entry],
      taskToken: null,
      links: {},
      ...(input.statusSecretHash === undefined ? {} : { statusSecretHash: input.statusSecretHash }),
    };
    const stored = await this.db.conditional(
      new PutCommand({
        TableName: this.tableName,
        Item: { type: "request", ...item },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    if (!stored) throw new PkiError("REQUEST_EXISTS", `Request ${input.id}.`);
    return request;
  }

  async getRequest(id: string): Promise<Request | undefined> {
    const item = await this.getRequestItem(id);
    return item && toRequest(item);
  }

  async findRequestByStatusSecret(id: string, secretHash: string): Promise<Request | undefined> {
    if (!SHA256_HEX.test(secretHash) || !isRequestId(id)) return undefined;
    const item = await this.getRequestItem(id);
    if (!item || !opensWithStatusSecret(item, secretHash)) return undefined;
    return toRequest(item);
  }

  async addStatusSecret(requestId: string, secretHash: string): Promise<void> {
    await addStatusSecretHash(this.db, key.request(requestId), requestId, secretHash);
  }

  async transition(requestId: string, change: TransitionInput): Promise<TransitionResult> {
    const from: readonly RequestStatus[] =
      typeof change.from === "string" ? [change.from] : change.from;
    if (from.length === 0) throw new TypeError("transition needs at least one from status");
    for (const status of from) {
      if (!canTransition(status, change.to)) {
        throw new PkiError("REQUEST_TRANSITION_INVALID", `${status} → ${change.to}.`, {
          from: status,
          to: change.to,
        });
      }
    }
    // With one possible origin the write is tried blind; otherwise (and after a lost race)
    // the item is read first, so the audit entry names the status actually left.
    let origin: RequestStatus | undefined = from.length === 1 ? from[0] : undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (origin === undefined) {
        const current = await this.getRequestItem(requestId);
        if (!current) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
        if (current.status === change.to) return { request: toRequest(current), changed: false };
        if (!from.includes(current.status))
          throw stateConflict(requestId, current.status, from, change.to);
        origin = current.status;
      }
      const at = this.clock().toISOString();
      const entry: StoredAuditEntry = {
        at,
        actor: change.actor,
        action: change.action ?? change.to,
        from: origin,
        to: change.to,
        details: change.details ?? null,
      };
      const x = new Expression();
      const sets = [
        `${x.name("status")} = ${x.value(change.to)}`,
        `${x.name("gsi1pk")} = ${x.value(statusIndexKey(change.to))}`,
        `${x.name("updatedAt")} = ${x.value(at)}`,
        `${x.name("version")} = ${x.name("version")} + ${x.value(1)}`,
        `${x.name("history")} = list_append(${x.name("history")}, ${x.value([entry])})`,
      ];
      if (change.patch?.reason !== undefined)
        sets.push(`${x.name("reason")} = ${x.value(change.patch.reason)}`);
      if (change.patch?.serial !== undefined)
        sets.push(`${x.name("serial")} = ${x.value(change.patch.serial)}`);
      const written = await this.db.update(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key.request(requestId),
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: `${x.name("status")} = ${x.value(origin)}`,
          ...x.attributes(),
          ReturnValues: "ALL_NEW",
        }),
      );
      if (written) return { request: toRequest(written as RequestItem), changed: true };
      origin = undefined;
    }
    throw new TransientError(`Request ${requestId} kept changing; retry.`);
  }

  async attachExecution(requestId: string, executionId: string): Promise<Request> {
    const x = new Expression();
    const field = x.name("executionId");
    const result = await this.db.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key.request(requestId),
        UpdateExpression: `SET ${field} = ${x.value(executionId)}, ${x.name("version")} = ${x.name("version")} + ${x.value(1)}`,
        ConditionExpression: `attribute_exists(pk) AND (attribute_type(${field}, ${x.value("NULL")}) OR ${field} = ${x.value(executionId)})`,
        ...x.attributes(),
        ReturnValues: "ALL_NEW",
      }),
    );
    if (result) return toRequest(result as RequestItem);
    const current = await this.getRequestItem(requestId);
    if (!current) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `Request ${requestId} already belongs to execution ${current.executionId}.`,
      { requestId, executionId: current.executionId },
    );
  }

  async appendAudit(requestId: string, input: AuditInput): Promise<boolean> {
    const entry: StoredAuditEntry = {
      at: this.clock().toISOString(),
      actor: input.actor,
      action: input.action,
      from: null,
      to: null,
      details: input.details ?? null,
    };
    const x = new Expression();
    const history = x.name("history");
    let updateExpression = `SET ${history} = list_append(${history}, ${x.value([entry])}), ${x.name("version")} = ${x.name("version")} + ${x.value(1)}`;
    let condition = "attribute_exists(pk)";
    if (input.eventId !== undefined) {
      const ids = x.name("auditEventIds");
      updateExpression += ` ADD ${ids} ${x.value(new Set([input.eventId]))}`;
      condition += ` AND NOT contains(${ids}, ${x.value(input.eventId)})`;
    }
    const result = await this.db.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key.request(requestId),
        UpdateExpression: updateExpression,
        ConditionExpression: condition,
        ...x.attributes(),
      }),
    );
    if (result) return true;
    if (!(await this.getRequestItem(requestId)))
      throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
    return false;
  }

  async history(requestId: string): Promise<readonly AuditEntry[]> {
    const item = await this.getRequestItem(requestId);
    if (!item) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
    return item.history.map((entry, i) => ({ seq: i + 1, ...entry }));
  }

  async listRequestsByStatus(status: RequestStatus, page: PageInput = {}): Promise<Page<Request>> {
    const result = await this.db.send(() =>
      this.db.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": statusIndexKey(status) },
          Limit: page.limit ?? 50,
          ScanIndexForward: page.newestFirst !== true,
          ExclusiveStartKey:
            page.cursor === undefined
              ? undefined
              : decodeCursor(page.cursor, statusIndexKey(status)),
        }),
      ),
    );
    return {
      items: (result.Items ?? []).map((item) => toRequest(item as RequestItem)),
      next: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : null,
    };
  }

  // ---- Approvals ------------------------------------------------------------------------

  async openApproval(requestId: string, input: OpenApprovalInput): Promise<ApprovalState> {
    const seen = new Set<string>();
    for (const link of input.links) {
      requireSha256(link.secretHash, "secretHash");
      const mailbox = mailboxKey(link.approver);
      if (seen.has(mailbox)) throw new TypeError(`two links for ${link.approver}`);
      seen.add(mailbox);
    }
    if (new Set(input.links.map((l) => l.secretHash)).size !== input.links.length)
      throw new TypeError("two links share a secret");

    return this.optimistic(requestId, async (item) => {
      if (item.status !== "pending_approval") {
        throw new PkiError("APPROVAL_NOT_PENDING", `Request ${requestId} is ${item.status}.`, {
          status: item.status,
        });
      }
      const links: Record<string, LinkItem> = { ...item.links };
      for (const link of input.links) {
        if (isSamePerson(link.approver, submitterEmail(item))) {
          throw new PkiError("APPROVAL_SELF", `${link.approver} submitted request ${requestId}.`);
        }
        if (!item.approval.approvers.some((a) => mailboxKey(a) === mailboxKey(link.approver))) {
          throw new PkiError("APPROVER_NOT_LISTED", `${link.approver}, request ${requestId}.`);
        }
        const existing = links[mailboxKey(link.approver)];
        if (existing?.usedAt) {
          throw new PkiError("APPROVAL_ALREADY_DECIDED", `${link.approver} has decided.`);
        }
        const earlier = existing
          ? [...(existing.earlierSecretHashes ?? []), existing.secretHash]
          : [];
        links[mailboxKey(link.approver)] = {
          approver: link.approver,
          secretHash: link.secretHash,
          ...(earlier.length > 0
            ? { earlierSecretHashes: earlier.filter((h) => h !== link.secretHash) }
            : {}),
          expiresAt: link.expiresAt,
          usedAt: null,
          decision: null,
        };
      }
      const otherHashes = Object.values(links).flatMap((l) => [
        l.secretHash,
        ...(l.earlierSecretHashes ?? []),
      ]);
      if (new Set(otherHashes).size !== otherHashes.length)
        throw new TypeError("a link secret is already in use");
      const at = this.clock().toISOString();
      const approval = { ...item.approval, deadline: input.deadline };
      const entry: StoredAuditEntry = {
        at,
        actor: input.actor ?? "workflow:RequestApproval",
        action: "approval.opened",
        from: null,
        to: null,
        details: { approvers: input.links.map((l) => l.approver), deadline: input.deadline },
      };
      const x = new Expression();
      return {
        x,
        update: [
          `${x.name("links")} = ${x.value(links)}`,
          `${x.name("taskToken")} = ${x.value(input.taskToken)}`,
          `${x.name("approval")} = ${x.value(approval)}`,
          `${x.name("updatedAt")} = ${x.value(at)}`,
          `${x.name("history")} = list_append(${x.name("history")}, ${x.value([entry])})`,
        ],
        condition: `${x.name("status")} = ${x.value("pending_approval")}`,
        result: (updated: RequestItem) => toApprovalState(updated),
      };
    });
  }

  async getApproval(requestId: string): Promise<ApprovalState | undefined> {
    const item = await this.getRequestItem(requestId);
    return item && toApprovalState(item);
  }

  async findApprovalLink(
    requestId: string,
    secretHash: string,
  ): Promise<ApprovalLinkView | undefined> {
    if (!SHA256_HEX.test(secretHash) || !isRequestId(requestId)) return undefined;
    const item = await this.getRequestItem(requestId);
    const link = item && findLink(item, secretHash);
    return item && link ? { request: toRequest(item), link: toApprovalLink(link[1]) } : undefined;
  }

  async recordDecision(requestId: string, input: DecisionInput): Promise<DecisionResult> {
    // Through a link (its secret's hash), or by the signed-in approver (approval-links.ts).
    const { approver, secretHash } = input;
    const invalid = () =>
      approver === undefined
        ? new PkiError("APPROVAL_TOKEN_INVALID", `Request ${requestId}.`, { requestId })
        : new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
    if (!isRequestId(requestId) || (approver === undefined && !SHA256_HEX.test(secretHash)))
      throw invalid();
    let decided: Pick<DecisionResult, "approver" | "tally" | "outcome"> | undefined;
    const request = await this.optimistic(
      requestId,
      async (item) => {
        const found =
          approver === undefined
            ? findLink(item, secretHash)
            : findLinkByApprover(item.links, approver);
        if (!found && approver !== undefined)
          throw noLinkError(requestId, approver, submitterEmail(item), item.approval.approvers);
        if (!found) throw invalid();
        const [linkKey, link] = found;
        if (link.usedAt !== null) {
          throw new PkiError(
            "APPROVAL_ALREADY_DECIDED",
            `${link.approver} decided "${link.decision}" at ${link.usedAt}.`,
            { decision: link.decision, usedAt: link.usedAt },
          );
        }
        if (item.status !== "pending_approval") {
          throw new PkiError("APPROVAL_NOT_PENDING", `Request ${requestId} is ${item.status}.`, {
            status: item.status,
          });
        }
        const now = this.clock();
        if (now.getTime() >= Date.parse(link.expiresAt)) {
          throw new PkiError("APPROVAL_EXPIRED", `The link expired at ${link.expiresAt}.`, {
            expiresAt: link.expiresAt,
          });
        }
        if (isSamePerson(link.approver, submitterEmail(item))) {
          throw new PkiError("APPROVAL_SELF", `${link.approver} submitted request ${requestId}.`);
        }
        const at = now.toISOString();
        const reason = input.reason ?? null;
        const decisions: Decision[] = [
          ...item.decisions,
          { approver: link.approver, decision: input.decision, reason, at },
        ];
        const tally = tallyOf(decisions, item.approval.quorum);
        const outcome = tally.rejected
          ? "rejected"
          : tally.approvals >= tally.quorum
            ? "approved"
            : "pending";
        decided = { approver: link.approver, tally, outcome };
        const actor = input.actor ?? `approver:${link.approver}`;
        const entries: StoredAuditEntry[] = [
          {
            at,
            actor,
            action: `approval.${input.decision}`,
            from: null,
            to: null,
            details: {
              reason,
              approvals: tally.approvals,
              quorum: tally.quorum,
              ...(input.via === undefined ? {} : { via: input.via }),
            },
          },
        ];
        const x = new Expression();
        const update = [
          `${x.name("links")}.${x.name(linkKey)}.${x.name("usedAt")} = ${x.value(at)}`,
          `${x.name("links")}.${x.name(linkKey)}.${x.name("decision")} = ${x.value(input.decision)}`,
          `${x.name("decisions")} = ${x.value(decisions)}`,
          `${x.name("updatedAt")} = ${x.value(at)}`,
        ];
        if (outcome !== "pending") {
          entries.push({
            at,
            actor,
            action: outcome,
            from: "pending_approval",
            to: outcome,
            details: outcome === "approved" ? { approvers: approversOf(decisions) } : { reason },
          });
          update.push(
            `${x.name("status")} = ${x.value(outcome)}`,
            `${x.name("gsi1pk")} = ${x.value(statusIndexKey(outcome))}`,
          );
          if (outcome === "rejected")
            update.push(
              `${x.name("reason")} = ${x.value(reason ?? `Rejected by ${link.approver}.`)}`,
            );
        }
        update.push(
          `${x.name("history")} = list_append(${x.name("history")}, ${x.value(entries)})`,
        );
        const linkPath = `${x.name("links")}.${x.name(linkKey)}`;
        return {
          x,
          update,
          condition: [
            `${x.name("status")} = ${x.value("pending_approval")}`,
            // The link as read (the version condition holds the rest of the item still).
            `${linkPath}.${x.name("secretHash")} = ${x.value(link.secretHash)}`,
            `attribute_type(${linkPath}.${x.name("usedAt")}, ${x.value("NULL")})`,
          ].join(" AND "),
          result: (updated: RequestItem) => updated,
        };
      },
      () => invalid(),
    );
    const done = decided!;
    return {
      request: toRequest(request),
      approver: done.approver,
      tally: done.tally,
      outcome: done.outcome,
      taskToken: request.taskToken,
    };
  }

  async replaceApprovalLinks(
    requestId: string,
    input: ReplaceApprovalLinksInput,
  ): Promise<ReplaceApprovalLinksResult> {
    for (const link of input.links) requireSha256(link.secretHash, "secretHash");
    let plan: { replaced: readonly string[]; decided: readonly string[] } | undefined;
    const state = await this.optimistic(requestId, async (item) => {
      if (item.status !== "pending_approval") {
        throw new PkiError("APPROVAL_NOT_PENDING", `Request ${requestId} is ${item.status}.`, {
          status: item.status,
        });
      }
      const now = this.clock();
      const { links, replaced, decided } = planLinkReplacement(
        requestId,
        item.links,
        input.links,
        now,
      );
      plan = { replaced, decided };
      const at = now.toISOString();
      const entry: StoredAuditEntry = {
        at,
        actor: input.actor,
        action: "approval.resent",
        from: null,
        to: null,
        details: {
          approvers: [...replaced],
          ...(decided.length > 0 ? { decided: [...decided] } : {}),
        },
      };
      const x = new Expression();
      return {
        x,
        update: [
          `${x.name("links")} = ${x.value(links)}`,
          `${x.name("updatedAt")} = ${x.value(at)}`,
          `${x.name("history")} = list_append(${x.name("history")}, ${x.value([entry])})`,
        ],
        condition: `${x.name("status")} = ${x.value("pending_approval")}`,
        result: (updated: RequestItem) => toApprovalState(updated),
      };
    });
    return { state, replaced: plan!.replaced, decided: plan!.decided };
  }

  // ---- Certificates ---------------------------------------------------------------------

  async putCertificate(input: NewCertificateRecord): Promise<PutCertificateResult> {
    if (normaliseSerial(input.serial) !== input.serial)
      throw new RangeError(`serial ${input.serial} is not normalised lowercase hex`);
    const record: CertificateRecord = {
      serial: input.serial,
      requestId: input.requestId,
      objectKey: input.objectKey,
      subject: input.subject,
      sans: input.sans.map((s) => ({ type: s.type, value: s.value })),
      profile: input.profile,
      notBefore: input.notBefore,
      notAfter: input.notAfter,
      issuedAt: this.clock().toISOString(),
    };
    const stored = await this.db.conditional(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key.certificate(input.serial), type: "certificate", ...record },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    if (stored) return { record, created: true };
    const existing = await this.getCertificate(input.serial);
    if (existing?.requestId === input.requestId) return { record: existing, created: false };
    throw new PkiError("CERT_SERIAL_EXISTS", `Serial ${input.serial}.`, {
      serial: input.serial,
      requestId: existing?.requestId ?? null,
    });
  }

  async getCertificate(serial: string): Promise<CertificateRecord | undefined> {
    const normal = normaliseSerial(serial);
    if (!normal) return undefined;
    const item = await this.db.getItem(key.certificate(normal));
    if (!item) return undefined;
    return {
      serial: item.serial,
      requestId: item.requestId,
      objectKey: item.objectKey,
      subject: item.subject,
      sans: item.sans,
      profile: item.profile,
      notBefore: item.notBefore,
      notAfter: item.notAfter,
      issuedAt: item.issuedAt,
    };
  }

  // ---- API keys -------------------------------------------------------------------------

  async createApiKey(input: NewApiKey): Promise<ApiKeyRecord> {
    requireSha256(input.keyHash, "keyHash");
    const record: ApiKeyRecord = {
      id: input.keyHash.slice(0, 16),
      role: input.role,
      label: input.label,
      owner: input.owner,
      createdAt: this.clock().toISOString(),
      revokedAt: null,
    };
    const stored = await this.db.conditional(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...key.apiKey(record.id),
          type: "apiKey",
          gsi1pk: API_KEYS_INDEX_KEY,
          gsi1sk: `${record.createdAt}#${record.id}`,
          keyHash: input.keyHash,
          ...record,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    if (!stored) throw new PkiError("API_KEY_EXISTS", `Key id ${record.id}.`);
    return record;
  }

  async findActiveApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    if (!SHA256_HEX.test(keyHash)) return undefined;
    const item = await this.db.getItem(key.apiKey(keyHash.slice(0, 16)));
    if (!item || item.keyHash !== keyHash || item.revokedAt !== null) return undefined;
    return toApiKey(item);
  }

  async listApiKeys(): Promise<readonly ApiKeyRecord[]> {
    const keys: ApiKeyRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(() =>
        this.db.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: "gsi1",
            KeyConditionExpression: "gsi1pk = :pk",
            ExpressionAttributeValues: { ":pk": API_KEYS_INDEX_KEY },
            ExclusiveStartKey: start,
          }),
        ),
      );
      keys.push(...(page.Items ?? []).map(toApiKey));
      start = page.LastEvaluatedKey;
    } while (start);
    return keys;
  }

  async revokeApiKey(id: string): Promise<ApiKeyRecord> {
    const x = new Expression();
    const revokedAt = x.name("revokedAt");
    const result = await this.db.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key.apiKey(id),
        UpdateExpression: `SET ${revokedAt} = ${x.value(this.clock().toISOString())}`,
        ConditionExpression: `attribute_exists(pk) AND attribute_type(${revokedAt}, ${x.value("NULL")})`,
        ...x.attributes(),
        ReturnValues: "ALL_NEW",
      }),
    );
    if (result) return toApiKey(result);
    const existing = await this.db.getItem(key.apiKey(id));
    if (!existing) throw new PkiError("API_KEY_NOT_FOUND", `Key id ${id}.`);
    return toApiKey(existing);
  }

  // ---- Browser sessions ----------------------------------------------------------------

  async createSession(input: NewSession): Promise<void> {
    requireSha256(input.secretHash, "secretHash");
    const expiresAt = new Date(input.expiresAt);
    const stored = await this.db.conditional(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...key.session(input.secretHash),
          type: "session",
          ...("keyId" in input.holder
            ? { keyId: input.holder.keyId }
            : { person: input.holder.person }),
          createdAt: this.clock().toISOString(),
          expiresAt: expiresAt.toISOString(),
          // TTL only tidies up: findSession checks expiresAt itself.
          [table.ttl]: epochSeconds(expiresAt) + 3600,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    if (!stored) throw new TransientError("A session with this secret exists; make a new one.");
  }

  async findSession(secretHash: string): Promise<SessionRecord | undefined> {
    if (!SHA256_HEX.test(secretHash)) return undefined;
    const session = await this.db.getItem(key.session(secretHash));
    if (!session || new Date(session.expiresAt) <= this.clock()) return undefined;
    const times = { createdAt: session.createdAt, expiresAt: session.expiresAt };
    if (session.person) return { holder: { person: session.person }, ...times };
    const apiKey = await this.db.getItem(key.apiKey(session.keyId));
    if (!apiKey || apiKey.revokedAt !== null) return undefined;
    return { holder: { key: toApiKey(apiKey) }, ...times };
  }

  async deleteSession(secretHash: string): Promise<void> {
    if (!SHA256_HEX.test(secretHash)) return;
    await this.db.send(() =>
      this.db.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: key.session(secretHash) }),
      ),
    );
  }

  // ---- Sent markers ---------------------------------------------------------------------

  async claimMessage(
    requestId: string,
    kind: string,
    options: ClaimOptions = {},
  ): Promise<MessageClaim> {
    requireKind(kind);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const now = this.clock();
      const claimId = randomUUID();
      const leaseUntil = new Date(
        now.getTime() + (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000,
      ).toISOString();
      const x = new Expression();
      const state = x.name("state");
      const lease = x.name("leaseUntil");
      const owner = x.name("owner");
      const claimed = await this.db.update(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key.message(requestId, kind),
          UpdateExpression: [
            `SET ${state} = ${x.value("sending")}`,
            `${x.name("claimId")} = ${x.value(claimId)}`,
            `${lease} = ${x.value(leaseUntil)}`,
            `${x.name("type")} = ${x.value("message")}`,
            `${x.name("attempts")} = if_not_exists(${x.name("attempts")}, ${x.value(0)}) + ${x.value(1)}`,
            `${owner} = ${x.value(options.owner ?? null)}`,
          ].join(", "),
          ConditionExpression: `attribute_not_exists(pk) OR (${state} = ${x.value("sending")} AND (${lease} < ${x.value(now.toISOString())}${options.owner === undefined ? "" : ` OR ${owner} = ${x.value(options.owner)}`}))`,
          ...x.attributes(),
          ReturnValues: "ALL_NEW",
        }),
      );
      if (claimed) return { state: "claimed", claimId };
      const current = await this.db.getItem(key.message(requestId, kind));
      if (current?.state === "sent")
        return { state: "sent", sentAt: current.sentAt, result: current.result ?? null };
      if (current?.state === "sending" && current.leaseUntil >= now.toISOString())
        return { state: "in-progress", leaseUntil: current.leaseUntil };
      // Released or expired in between: try again.
    }
    throw new TransientError(`Message ${kind} of request ${requestId} kept changing; retry.`);
  }

  async markMessageSent(
    requestId: string,
    kind: string,
    claimId: string,
    details: { readonly messageId?: string | null; readonly result?: unknown } = {},
  ): Promise<void> {
    requireKind(kind);
    const x = new Expression();
    const state = x.name("state");
    const done = await this.db.update(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key.message(requestId, kind),
        UpdateExpression: `SET ${state} = ${x.value("sent")}, ${x.name("sentAt")} = ${x.value(this.clock().toISOString())}, ${x.name("messageId")} = ${x.value(details.messageId ?? null)}, ${x.name("result")} = ${x.value(details.result ?? null)} REMOVE ${x.name("leaseUntil")}`,
        ConditionExpression: `${x.name("claimId")} = ${x.value(claimId)} AND ${state} = ${x.value("sending")}`,
        ...x.attributes(),
      }),
    );
    if (done) return;
    const current = await this.db.getItem(key.message(requestId, kind));
    if (current?.state === "sent" && current.claimId === claimId) return;
    throw new PkiError("MESSAGE_CLAIM_LOST", `Message ${kind} of request ${requestId}.`);
  }

  async releaseMessage(requestId: string, kind: string, claimId: string): Promise<void> {
    requireKind(kind);
    await this.db.conditional(
      new DeleteCommand({
        TableName: this.tableName,
        Key: key.message(requestId, kind),
        ConditionExpression: "claimId = :c AND #state = :sending",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: { ":c": claimId, ":sending": "sending" },
      }),
    );
  }

  /**
   * Gives back every message claim still held, whoever holds it. Not part of the port: only
   * for a caller that knows no holder is alive (the local service starting after a crash,
   * under its data-folder lock). Scans the table. Returns how many it released.
   */
  async releaseAbandonedClaims(): Promise<number> {
    let released = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(() =>
        this.db.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: "#type = :message AND #state = :sending",
            ExpressionAttributeNames: { "#type": "type", "#state": "state" },
            ExpressionAttributeValues: { ":message": "message", ":sending": "sending" },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const kind = String(item.sk).slice("MSG#".length);
        const requestId = String(item.pk).slice("REQ#".length);
        await this.releaseMessage(requestId, kind, item.claimId);
        released++;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return released;
  }

  async sentMessage(
    requestId: string,
    kind: string,
  ): Promise<{ readonly sentAt: string; readonly result: unknown } | undefined> {
    requireKind(kind);
    const item = await this.db.getItem(key.message(requestId, kind));
    return item?.state === "sent"
      ? { sentAt: item.sentAt, result: item.result ?? null }
      : undefined;
  }

  // ---- Plumbing -------------------------------------------------------------------------

  private async getRequestItem(id: string): Promise<RequestItem | undefined> {
    if (!isRequestId(id)) return undefined;
    return (await this.db.getItem(key.request(id))) as RequestItem | undefined;
  }

  /**
   * Read the request, let `plan` decide the write (or throw), and write it on condition that
   * the item's version is unchanged; on a lost race, read and decide again.
   */
  private async optimistic<T>(
    requestId: string,
    plan: (item: RequestItem) => Promise<{
      x: Expression;
      update: string[];
      condition: string;
      result: (updated: RequestItem) => T;
    }>,
    notFound: () => Error = () => new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`),
  ): Promise<T> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const item = await this.getRequestItem(requestId);
      if (!item) throw notFound();
      const { x, update, condition, result } = await plan(item);
      const version = x.name("version");
      const written = await this.db.update(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key.request(requestId),
          UpdateExpression: `SET ${[...update, `${version} = ${version} + ${x.value(1)}`].join(", ")}`,
          ConditionExpression: `${version} = ${x.value(item.version)} AND ${condition}`,
          ...x.attributes(),
          ReturnValues: "ALL_NEW",
        }),
      );
      if (written) return result(written as RequestItem);
    }
    throw new TransientError(`Request ${requestId} kept changing; retry.`);
  }
}

// ---- Helpers --------------------------------------------------------------------------------

function toRequest(item: RequestItem): Request {
  return {
    id: item.id,
    status: item.status,
    requester: item.requester,
    principal: item.principal ?? legacyPrincipal(item),
    profile: item.profile,
    comment: item.comment,
    csr: item.csr,
    csrSummary: item.csrSummary,
    validityDays: item.validityDays,
    approval: item.approval,
    decisions: item.decisions,
    reason: item.reason,
    serial: item.serial,
    executionId: item.executionId,
    submittedBy: item.submittedBy,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

function toApprovalLink(link: LinkItem): ApprovalLink {
  return {
    approver: link.approver,
    expiresAt: link.expiresAt,
    usedAt: link.usedAt,
    decision: link.decision,
  };
}

function toApprovalState(item: RequestItem): ApprovalState {
  return {
    requestId: item.id,
    status: item.status,
    taskToken: item.taskToken,
    deadline: item.approval.deadline,
    quorum: item.approval.quorum,
    links: Object.values(item.links).map(toApprovalLink),
  };
}

function toApiKey(item: Item): ApiKeyRecord {
  return {
    id: item.id,
    role: item.role,
    label: item.label,
    owner: item.owner ?? null,
    createdAt: item.createdAt,
    revokedAt: item.revokedAt ?? null,
  };
}

function findLink(item: RequestItem, secretHash: string): [string, LinkItem] | undefined {
  return Object.entries(item.links).find(
    ([, link]) =>
      link.secretHash === secretHash || (link.earlierSecretHashes ?? []).includes(secretHash),
  );
}

function tallyOf(decisions: readonly Decision[], quorum: number): DecisionResult["tally"] {
  const approvers = new Set(
    decisions.filter((d) => d.decision === "approve").map((d) => mailboxKey(d.approver)),
  );
  return {
    approvals: approvers.size,
    quorum,
    rejected: decisions.some((d) => d.decision === "reject"),
  };
}

function stateConflict(
  requestId: string,
  current: RequestStatus,
  expected: readonly RequestStatus[],
  target: RequestStatus,
): PkiError {
  return new PkiError(
    "REQUEST_STATE_CONFLICT",
    `Request ${requestId} is ${current}, not ${expected.join(" or ")}, so it cannot become ${target}.`,
    { requestId, current, expected: [...expected], target },
  );
}

/**
 * Requests stored before principals were recorded: the key that submitted (then stored as its
 * bare id), and the address typed then (all four eyes had to go on).
 */
function legacyPrincipal(item: RequestItem): RequestPrincipal {
  const by = item.submittedBy;
  const id = by && /^[0-9a-f]{16}$/.test(by) ? `api-key:${by}` : `anonymous:${by ?? "unknown"}`;
  return { id, email: item.requester, groups: [] };
}

/** Whose approval would be their own: the submitter's address, typed if nobody signed in. */
function submitterEmail(item: RequestItem): string {
  const principal = item.principal ?? legacyPrincipal(item);
  return principal.email ?? item.requester;
}

/** Same request body, same fingerprint: what an idempotency key is checked against. */
function requestFingerprint(input: NewRequest): string {
  return sha256Hex(
    JSON.stringify([
      input.requester,
      input.profile,
      input.comment,
      input.csrSummary.sha256,
      input.validityDays,
    ]),
  );
}

/** Approvers compare case-insensitively, as the configuration's approver list does. */
function mailboxKey(email: string): string {
  return email.toLowerCase();
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function requireSha256(value: string, what: string): void {
  if (!SHA256_HEX.test(value)) throw new TypeError(`${what} is not a lowercase hex SHA-256`);
}

function requireKind(kind: string): void {
  if (kind.length === 0 || kind.length > 256)
    throw new TypeError("message kind must be 1-256 characters");
}

function encodeCursor(lastKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastKey), "utf8").toString("base64url");
}

/** What a request's index position looks like: its creation time, then its id. */
const CURSOR_SORT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z#([A-Za-z0-9_-]{1,64})$/;

/**
 * A cursor this repository made for the index partition `indexKey`: anything else (edited,
 * crafted, or copied from another listing) is PAGE_CURSOR_INVALID here, never a key DynamoDB
 * would refuse. Every part is checked, since a cursor is the client's text.
 */
function decodeCursor(cursor: string, indexKey: string): Record<string, unknown> {
  const invalid = () => new PkiError("PAGE_CURSOR_INVALID", "Start again from the first page.");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid();
  const key = value as Record<string, unknown>;
  if (Object.keys(key).sort().join(",") !== "gsi1pk,gsi1sk,pk,sk") throw invalid();
  const position = typeof key.gsi1sk === "string" ? CURSOR_SORT_KEY.exec(key.gsi1sk) : null;
  const id = position?.[2];
  if (key.gsi1pk !== indexKey || id === undefined || key.pk !== `REQ#${id}` || key.sk !== "REQUEST")
    throw invalid();
  return key;
}
