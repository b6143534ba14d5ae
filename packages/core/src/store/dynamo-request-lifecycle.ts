/**
 * Requests on the table: creating one (claiming its Idempotency-Key record first, when it has
 * one), reading it (also through a status-page secret), moving it through its lifecycle with the
 * audit entry in the same UpdateItem, appending audit entries, and listing requests by status
 * through gsi1, with page cursors that only this module makes and accepts.
 */
import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PkiError, TransientError } from "../errors.ts";
import { describePrincipal } from "../identity/principal.ts";
import {
  type AuditEntry,
  canTransition,
  isRequestId,
  type NewRequest,
  type Request,
  type RequestStatus,
} from "../requests/request.ts";
import { Expression } from "./dynamo-access.ts";
import { getRequestItem, type RequestTableContext } from "./dynamo-request-context.ts";
import {
  epochSeconds,
  key,
  type RequestItem,
  requireSha256,
  SHA256_HEX,
  type StoredAuditEntry,
  sha256Hex,
  statusIndexKey,
  toRequest,
} from "./dynamo-request-items.ts";
import { addStatusSecretHash, opensWithStatusSecret } from "./dynamo-status-secrets.ts";
import type {
  AuditInput,
  CreateRequestOptions,
  CreateRequestResult,
  Page,
  PageInput,
  TransitionInput,
  TransitionResult,
} from "./request-repository.ts";
import { table } from "./table.ts";

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function isValidIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY.test(key);
}

export async function createRequest(
  ctx: RequestTableContext,
  input: NewRequest,
  options: CreateRequestOptions = {},
): Promise<CreateRequestResult> {
  if (input.statusSecretHash !== undefined)
    requireSha256(input.statusSecretHash, "statusSecretHash");
  const idempotency = options.idempotency;
  if (!idempotency) return { request: await putNewRequest(ctx, input), created: true };
  if (!isValidIdempotencyKey(idempotency.key)) throw new PkiError("IDEMPOTENCY_KEY_INVALID");
  if (idempotency.scope === "") throw new TypeError("idempotency scope is empty");

  const idemKey = key.idempotency(idempotency.scope, idempotency.key);
  const fingerprint = requestFingerprint(input);
  const now = ctx.clock();
  const claimed = await ctx.db.conditional(
    new PutCommand({
      TableName: ctx.db.tableName,
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
    const record = await ctx.db.getItem(idemKey);
    if (!record) throw new TransientError("The idempotency record vanished; retry.");
    if (record.fingerprint !== fingerprint) {
      throw new PkiError(
        "IDEMPOTENCY_KEY_REUSED",
        `It was first used for request ${String(record.requestId)}.`,
        { requestId: record.requestId },
      );
    }
    requestId = String(record.requestId);
    const existing = await getRequest(ctx, requestId);
    if (existing) return { request: existing, created: false };
    // The first attempt stored the key but not the request (it crashed, or is still
    // running): create the request under the id the key names.
  }
  try {
    return { request: await putNewRequest(ctx, { ...input, id: requestId }), created: true };
  } catch (e) {
    if (!(e instanceof PkiError && e.code === "REQUEST_EXISTS")) throw e;
    // A concurrent twin of this call created it first.
    const existing = await getRequest(ctx, requestId);
    if (!existing) throw e;
    return { request: existing, created: false };
  }
}

async function putNewRequest(ctx: RequestTableContext, input: NewRequest): Promise<Request> {
  if (!isRequestId(input.id)) throw new RangeError(`invalid request id ${input.id}`);
  const at = ctx.clock().toISOString();
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
    renews: input.renews ?? null,
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
      // A renewal: what it renews, and whose approval it carries on (renewal/approval.ts).
      ...(input.renews ? { renews: input.renews } : {}),
      // An admin renewing someone's certificate submits for them.
      ...(input.submittedBy && input.submittedBy !== input.principal.id
        ? { submittedBy: input.submittedBy }
        : {}),
      ...(input.approval.inheritedFrom
        ? { approvalInheritedFrom: input.approval.inheritedFrom }
        : {}),
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
  const stored = await ctx.db.conditional(
    new PutCommand({
      TableName: ctx.db.tableName,
      Item: { type: "request", ...item },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  if (!stored) throw new PkiError("REQUEST_EXISTS", `Request ${input.id}.`);
  return request;
}

export async function getRequest(
  ctx: RequestTableContext,
  id: string,
): Promise<Request | undefined> {
  const item = await getRequestItem(ctx, id);
  return item && toRequest(item);
}

export async function findRequestByStatusSecret(
  ctx: RequestTableContext,
  id: string,
  secretHash: string,
): Promise<Request | undefined> {
  if (!SHA256_HEX.test(secretHash) || !isRequestId(id)) return undefined;
  const item = await getRequestItem(ctx, id);
  if (!item || !opensWithStatusSecret(item, secretHash)) return undefined;
  return toRequest(item);
}

export async function addStatusSecret(
  ctx: RequestTableContext,
  requestId: string,
  secretHash: string,
): Promise<void> {
  await addStatusSecretHash(ctx.db, key.request(requestId), requestId, secretHash);
}

export async function transition(
  ctx: RequestTableContext,
  requestId: string,
  change: TransitionInput,
): Promise<TransitionResult> {
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
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    if (origin === undefined) {
      const current = await getRequestItem(ctx, requestId);
      if (!current) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
      if (current.status === change.to) return { request: toRequest(current), changed: false };
      if (!from.includes(current.status))
        throw stateConflict(requestId, current.status, from, change.to);
      origin = current.status;
    }
    const at = ctx.clock().toISOString();
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
    const written = await ctx.db.update(
      new UpdateCommand({
        TableName: ctx.db.tableName,
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

export async function attachExecution(
  ctx: RequestTableContext,
  requestId: string,
  executionId: string,
): Promise<Request> {
  const x = new Expression();
  const field = x.name("executionId");
  const result = await ctx.db.update(
    new UpdateCommand({
      TableName: ctx.db.tableName,
      Key: key.request(requestId),
      UpdateExpression: `SET ${field} = ${x.value(executionId)}, ${x.name("version")} = ${x.name("version")} + ${x.value(1)}`,
      ConditionExpression: `attribute_exists(pk) AND (attribute_type(${field}, ${x.value("NULL")}) OR ${field} = ${x.value(executionId)})`,
      ...x.attributes(),
      ReturnValues: "ALL_NEW",
    }),
  );
  if (result) return toRequest(result as RequestItem);
  const current = await getRequestItem(ctx, requestId);
  if (!current) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
  throw new PkiError(
    "REQUEST_STATE_CONFLICT",
    `Request ${requestId} already belongs to execution ${current.executionId}.`,
    { requestId, executionId: current.executionId },
  );
}

export async function appendAudit(
  ctx: RequestTableContext,
  requestId: string,
  input: AuditInput,
): Promise<boolean> {
  const entry: StoredAuditEntry = {
    at: ctx.clock().toISOString(),
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
  const result = await ctx.db.update(
    new UpdateCommand({
      TableName: ctx.db.tableName,
      Key: key.request(requestId),
      UpdateExpression: updateExpression,
      ConditionExpression: condition,
      ...x.attributes(),
    }),
  );
  if (result) return true;
  if (!(await getRequestItem(ctx, requestId)))
    throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
  return false;
}

export async function history(
  ctx: RequestTableContext,
  requestId: string,
): Promise<readonly AuditEntry[]> {
  const item = await getRequestItem(ctx, requestId);
  if (!item) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
  return item.history.map((entry, i) => ({ seq: i + 1, ...entry }));
}

export async function listRequestsByStatus(
  ctx: RequestTableContext,
  status: RequestStatus,
  page: PageInput = {},
): Promise<Page<Request>> {
  const result = await ctx.db.send(() =>
    ctx.db.doc.send(
      new QueryCommand({
        TableName: ctx.db.tableName,
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": statusIndexKey(status) },
        Limit: page.limit ?? 50,
        ScanIndexForward: page.newestFirst !== true,
        ExclusiveStartKey:
          page.cursor === undefined ? undefined : decodeCursor(page.cursor, statusIndexKey(status)),
      }),
    ),
  );
  return {
    items: (result.Items ?? []).map((item) => toRequest(item as RequestItem)),
    next: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : null,
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

/** Same request body, same fingerprint: what an idempotency key is checked against. */
function requestFingerprint(input: NewRequest): string {
  return sha256Hex(
    JSON.stringify([
      input.requester,
      input.profile,
      input.comment,
      input.csrSummary.sha256,
      input.validityDays,
      // A renewal of another certificate is another request.
      ...(input.renews ? [input.renews] : []),
    ]),
  );
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
