/**
 * Sent markers: one item per request and kind of message (or step result) that a sender claims
 * for a lease before sending, marks sent with what it sent, or gives back when the send failed.
 * A crashed sender's claim lapses with its lease, so the message is sent by whoever comes next,
 * and never twice once it is marked sent.
 */
import { randomUUID } from "node:crypto";
import { DeleteCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PkiError, TransientError } from "../errors.ts";
import { Expression } from "./dynamo-access.ts";
import type { RequestTableContext } from "./dynamo-request-context.ts";
import { key } from "./dynamo-request-items.ts";
import type { ClaimOptions, MessageClaim } from "./request-repository.ts";

const DEFAULT_LEASE_SECONDS = 300;

export async function claimMessage(
  ctx: RequestTableContext,
  requestId: string,
  kind: string,
  options: ClaimOptions = {},
): Promise<MessageClaim> {
  requireKind(kind);
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    const now = ctx.clock();
    const claimId = randomUUID();
    const leaseUntil = new Date(
      now.getTime() + (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000,
    ).toISOString();
    const x = new Expression();
    const state = x.name("state");
    const lease = x.name("leaseUntil");
    const owner = x.name("owner");
    const claimed = await ctx.db.update(
      new UpdateCommand({
        TableName: ctx.db.tableName,
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
    const current = await ctx.db.getItem(key.message(requestId, kind));
    if (current?.state === "sent")
      return { state: "sent", sentAt: current.sentAt, result: current.result ?? null };
    if (current?.state === "sending" && current.leaseUntil >= now.toISOString())
      return { state: "in-progress", leaseUntil: current.leaseUntil };
    // Released or expired in between: try again.
  }
  throw new TransientError(`Message ${kind} of request ${requestId} kept changing; retry.`);
}

export async function markMessageSent(
  ctx: RequestTableContext,
  requestId: string,
  kind: string,
  claimId: string,
  details: { readonly messageId?: string | null; readonly result?: unknown } = {},
): Promise<void> {
  requireKind(kind);
  const x = new Expression();
  const state = x.name("state");
  const done = await ctx.db.update(
    new UpdateCommand({
      TableName: ctx.db.tableName,
      Key: key.message(requestId, kind),
      UpdateExpression: `SET ${state} = ${x.value("sent")}, ${x.name("sentAt")} = ${x.value(ctx.clock().toISOString())}, ${x.name("messageId")} = ${x.value(details.messageId ?? null)}, ${x.name("result")} = ${x.value(details.result ?? null)} REMOVE ${x.name("leaseUntil")}`,
      ConditionExpression: `${x.name("claimId")} = ${x.value(claimId)} AND ${state} = ${x.value("sending")}`,
      ...x.attributes(),
    }),
  );
  if (done) return;
  const current = await ctx.db.getItem(key.message(requestId, kind));
  if (current?.state === "sent" && current.claimId === claimId) return;
  throw new PkiError("MESSAGE_CLAIM_LOST", `Message ${kind} of request ${requestId}.`);
}

export async function releaseMessage(
  ctx: RequestTableContext,
  requestId: string,
  kind: string,
  claimId: string,
): Promise<void> {
  requireKind(kind);
  await ctx.db.conditional(
    new DeleteCommand({
      TableName: ctx.db.tableName,
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
export async function releaseAbandonedClaims(ctx: RequestTableContext): Promise<number> {
  let released = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ctx.db.send(() =>
      ctx.db.doc.send(
        new ScanCommand({
          TableName: ctx.db.tableName,
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
      await releaseMessage(ctx, requestId, kind, item.claimId);
      released++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return released;
}

export async function sentMessage(
  ctx: RequestTableContext,
  requestId: string,
  kind: string,
): Promise<{ readonly sentAt: string; readonly result: unknown } | undefined> {
  requireKind(kind);
  const item = await ctx.db.getItem(key.message(requestId, kind));
  return item?.state === "sent" ? { sentAt: item.sentAt, result: item.result ?? null } : undefined;
}

function requireKind(kind: string): void {
  if (kind.length === 0 || kind.length > 256)
    throw new TypeError("message kind must be 1-256 characters");
}
