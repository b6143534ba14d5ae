/**
 * Who may call: API keys (stored by the SHA-256 of the key, listed through gsi1) and the browser
 * sessions that a key or a person signs in to (stored by the SHA-256 of their secret). Together
 * because a key's session lasts only as long as the key: a session lookup reads its key and
 * finds nothing once the key is revoked.
 */
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PkiError, TransientError } from "../errors.ts";
import { Expression } from "./dynamo-access.ts";
import type { RequestTableContext } from "./dynamo-request-context.ts";
import {
  API_KEYS_INDEX_KEY,
  epochSeconds,
  key,
  requireSha256,
  SHA256_HEX,
  toApiKey,
} from "./dynamo-request-items.ts";
import type { ApiKeyRecord, NewApiKey, NewSession, SessionRecord } from "./request-repository.ts";
import { table } from "./table.ts";

// ---- API keys -------------------------------------------------------------------------

export async function createApiKey(
  ctx: RequestTableContext,
  input: NewApiKey,
): Promise<ApiKeyRecord> {
  requireSha256(input.keyHash, "keyHash");
  const record: ApiKeyRecord = {
    id: input.keyHash.slice(0, 16),
    role: input.role,
    label: input.label,
    owner: input.owner,
    createdAt: ctx.clock().toISOString(),
    revokedAt: null,
  };
  const stored = await ctx.db.conditional(
    new PutCommand({
      TableName: ctx.db.tableName,
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

export async function findActiveApiKey(
  ctx: RequestTableContext,
  keyHash: string,
): Promise<ApiKeyRecord | undefined> {
  if (!SHA256_HEX.test(keyHash)) return undefined;
  const item = await ctx.db.getItem(key.apiKey(keyHash.slice(0, 16)));
  if (!item || item.keyHash !== keyHash || item.revokedAt !== null) return undefined;
  return toApiKey(item);
}

export async function listApiKeys(ctx: RequestTableContext): Promise<readonly ApiKeyRecord[]> {
  const keys: ApiKeyRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ctx.db.send(() =>
      ctx.db.doc.send(
        new QueryCommand({
          TableName: ctx.db.tableName,
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

export async function revokeApiKey(ctx: RequestTableContext, id: string): Promise<ApiKeyRecord> {
  const x = new Expression();
  const revokedAt = x.name("revokedAt");
  const result = await ctx.db.update(
    new UpdateCommand({
      TableName: ctx.db.tableName,
      Key: key.apiKey(id),
      UpdateExpression: `SET ${revokedAt} = ${x.value(ctx.clock().toISOString())}`,
      ConditionExpression: `attribute_exists(pk) AND attribute_type(${revokedAt}, ${x.value("NULL")})`,
      ...x.attributes(),
      ReturnValues: "ALL_NEW",
    }),
  );
  if (result) return toApiKey(result);
  const existing = await ctx.db.getItem(key.apiKey(id));
  if (!existing) throw new PkiError("API_KEY_NOT_FOUND", `Key id ${id}.`);
  return toApiKey(existing);
}

// ---- Browser sessions ----------------------------------------------------------------

export async function createSession(ctx: RequestTableContext, input: NewSession): Promise<void> {
  requireSha256(input.secretHash, "secretHash");
  const expiresAt = new Date(input.expiresAt);
  const stored = await ctx.db.conditional(
    new PutCommand({
      TableName: ctx.db.tableName,
      Item: {
        ...key.session(input.secretHash),
        type: "session",
        ...("keyId" in input.holder
          ? { keyId: input.holder.keyId }
          : { person: input.holder.person }),
        createdAt: ctx.clock().toISOString(),
        expiresAt: expiresAt.toISOString(),
        // TTL only tidies up: findSession checks expiresAt itself.
        [table.ttl]: epochSeconds(expiresAt) + 3600,
      },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  if (!stored) throw new TransientError("A session with this secret exists; make a new one.");
}

export async function findSession(
  ctx: RequestTableContext,
  secretHash: string,
): Promise<SessionRecord | undefined> {
  if (!SHA256_HEX.test(secretHash)) return undefined;
  const session = await ctx.db.getItem(key.session(secretHash));
  if (!session || new Date(session.expiresAt) <= ctx.clock()) return undefined;
  const times = { createdAt: session.createdAt, expiresAt: session.expiresAt };
  if (session.person) return { holder: { person: session.person }, ...times };
  const apiKey = await ctx.db.getItem(key.apiKey(session.keyId));
  if (!apiKey || apiKey.revokedAt !== null) return undefined;
  return { holder: { key: toApiKey(apiKey) }, ...times };
}

export async function deleteSession(ctx: RequestTableContext, secretHash: string): Promise<void> {
  if (!SHA256_HEX.test(secretHash)) return;
  await ctx.db.send(() =>
    ctx.db.doc.send(
      new DeleteCommand({ TableName: ctx.db.tableName, Key: key.session(secretHash) }),
    ),
  );
}
