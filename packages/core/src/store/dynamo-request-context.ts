/**
 * What the request repository's modules share at run time: the table access, the clock and the
 * attempt limit (one RequestTableContext, made by the DynamoRequestRepository façade), the
 * strongly consistent read of a request item, and the optimistic write that every change
 * depending on more than the status goes through (approval links, decisions): read the item,
 * decide, and write on the condition that its `version` is still the one read, retrying a few
 * times when another writer got there first.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PkiError, TransientError } from "../errors.ts";
import { isRequestId } from "../requests/request.ts";
import type { DynamoAccess, Expression } from "./dynamo-access.ts";
import { key, type RequestItem } from "./dynamo-request-items.ts";

export interface RequestTableContext {
  readonly db: DynamoAccess;
  /** The clock (tests move it to expire links and leases). */
  readonly clock: () => Date;
  /** Optimistic-write attempts before giving up with a TransientError. */
  readonly maxAttempts: number;
}

export async function getRequestItem(
  ctx: RequestTableContext,
  id: string,
): Promise<RequestItem | undefined> {
  if (!isRequestId(id)) return undefined;
  return (await ctx.db.getItem(key.request(id))) as RequestItem | undefined;
}

/**
 * Read the request, let `plan` decide the write (or throw), and write it on condition that
 * the item's version is unchanged; on a lost race, read and decide again.
 */
export async function optimisticUpdate<T>(
  ctx: RequestTableContext,
  requestId: string,
  plan: (item: RequestItem) => Promise<{
    x: Expression;
    update: string[];
    condition: string;
    result: (updated: RequestItem) => T;
  }>,
  notFound: () => Error = () => new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`),
): Promise<T> {
  for (let attempt = 1; attempt <= ctx.maxAttempts; attempt++) {
    const item = await getRequestItem(ctx, requestId);
    if (!item) throw notFound();
    const { x, update, condition, result } = await plan(item);
    const version = x.name("version");
    const written = await ctx.db.update(
      new UpdateCommand({
        TableName: ctx.db.tableName,
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
