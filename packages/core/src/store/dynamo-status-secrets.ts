/**
 * A request's status-page secrets on its DynamoDB item (docs/dynamodb.md), as SHA-256 hashes
 * only: the submission's link as `statusSecretHash` (one hash, written with the request), and
 * each mail's own link as `statusSecretHashes`, a string set every mail adds one to. The raw
 * secret is known only when it is minted, so a mail sent later than the submission cannot reuse
 * the submission's; it mints its own, and every earlier one keeps working.
 *
 * The set is bounded: a request sends a handful of mails, and only a failed send (retried with
 * a fresh secret) adds a hash that no mail carries. Adding to a full set is refused, so a
 * request item cannot grow without limit however often a send is retried.
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { PkiError } from "../errors.ts";
import { isRequestId } from "../requests/request.ts";
import type { DynamoAccess } from "./dynamo-access.ts";

/** The most mail-minted status secrets one request holds (about 70 bytes each). */
export const MAX_STATUS_SECRETS = 64;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The status-secret attributes of a request item, as the document client reads them. */
export interface StatusSecretAttributes {
  /** The submission's link; absent on requests created without one. */
  readonly statusSecretHash?: string;
  /** The mails' links; absent until a mail links to the request. */
  readonly statusSecretHashes?: ReadonlySet<string>;
}

/** Whether `secretHash` is the hash of one of the request's status secrets. */
export function opensWithStatusSecret(item: StatusSecretAttributes, secretHash: string): boolean {
  if (!SHA256_HEX.test(secretHash)) return false;
  if (item.statusSecretHash === secretHash) return true;
  return item.statusSecretHashes instanceof Set && item.statusSecretHashes.has(secretHash);
}

/**
 * Adds `secretHash` to the request's set (`ADD`, so adding one twice is harmless), on condition
 * that the request exists and the set is not full. REQUEST_NOT_FOUND; STATUS_LINKS_EXHAUSTED.
 */
export async function addStatusSecretHash(
  db: DynamoAccess,
  itemKey: { pk: string; sk: string },
  requestId: string,
  secretHash: string,
): Promise<void> {
  if (!SHA256_HEX.test(secretHash))
    throw new TypeError("statusSecretHash is not a lowercase hex SHA-256");
  if (!isRequestId(requestId)) throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
  const written = await db.update(
    new UpdateCommand({
      TableName: db.tableName,
      Key: itemKey,
      UpdateExpression: "ADD #hashes :added",
      ConditionExpression:
        "attribute_exists(pk) AND (attribute_not_exists(#hashes) OR size(#hashes) < :max OR contains(#hashes, :hash))",
      ExpressionAttributeNames: { "#hashes": "statusSecretHashes" },
      ExpressionAttributeValues: {
        ":added": new Set([secretHash]),
        ":hash": secretHash,
        ":max": MAX_STATUS_SECRETS,
      },
    }),
  );
  if (written) return;
  if (!(await db.getItem(itemKey))) {
    throw new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
  }
  throw new PkiError(
    "STATUS_LINKS_EXHAUSTED",
    `Request ${requestId} holds ${MAX_STATUS_SECRETS} status links.`,
    { requestId, max: MAX_STATUS_SECRETS },
  );
}
