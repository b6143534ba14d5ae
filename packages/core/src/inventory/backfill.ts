/**
 * Certificates stored before the inventory existed have no place on its index, no requester
 * and no revocation mark. The local service fills them in at start (it holds the data folder,
 * so nothing writes beside it); records already indexed are left alone. A Scan, so it runs to
 * the end once per table and then leaves a mark: every certificate stored since is indexed as
 * it is stored, and later starts skip the Scan.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { DynamoAccess } from "../store/dynamo-access.ts";
import { certificateItem, certificateOfItem, putViews } from "../store/dynamo-certificates.ts";
import { key, type RequestItem, toRequest } from "../store/dynamo-request-items.ts";
import type { CertificateRecord } from "../store/request-repository.ts";

/** Left once every certificate stored before the inventory has been filled in. */
const BACKFILLED = { pk: "INVENTORY", sk: "BACKFILLED" };

export async function backfillInventory(
  options: { readonly client: DynamoDBClient; readonly tableName: string },
  /** The issuing CA's id: every certificate of a local data folder is its. */
  caId: string,
): Promise<number> {
  const db = new DynamoAccess(options.client, options.tableName);
  if (await db.getItem(BACKFILLED)) return 0;
  let filled = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(() =>
      db.doc.send(
        new ScanCommand({
          TableName: db.tableName,
          FilterExpression: "#type = :certificate AND attribute_not_exists(gsi1pk)",
          ExpressionAttributeNames: { "#type": "type" },
          ExpressionAttributeValues: { ":certificate": "certificate" },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      const stored = certificateOfItem(item);
      const requestItem = (await db.getItem(key.request(stored.requestId))) as
        | RequestItem
        | undefined;
      const request = requestItem && toRequest(requestItem);
      const revoked = requestItem?.history.findLast((entry) => entry.to === "revoked");
      const record: CertificateRecord = {
        ...stored,
        requester: request?.requester ?? stored.requester,
        principal: request?.principal ?? stored.principal,
        caId: stored.caId || caId,
        revokedAt: revoked ? String(revoked.details?.revokedAt ?? revoked.at) : null,
        revocationReason: revoked ? String(revoked.details?.reason ?? "unspecified") : null,
      };
      await putViews({ db }, record);
      const written = await db.conditional(
        new PutCommand({
          TableName: db.tableName,
          Item: certificateItem(record),
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(gsi1pk)",
        }),
      );
      if (written) filled++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  await db.send(() =>
    db.doc.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...BACKFILLED, type: "marker", at: new Date().toISOString() },
      }),
    ),
  );
  return filled;
}
