/**
 * The RevocationStore on the one table (docs/dynamodb.md). Revocations of a CA share a
 * partition, sorted by the certificate's notAfter, so building a CRL is one strongly consistent
 * Query that starts at the grace-period cut-off and never reads the entries that dropped out.
 * The CA's CRL state (request tickets, cRLNumber, publication lease, last publication) is one
 * item that every change updates atomically.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { RevokedEntry } from "../crl/build.ts";
import { DynamoAccess, Expression, type Item } from "./dynamo-access.ts";
import type {
  CrlLease,
  CrlPublication,
  CrlState,
  RecordRevocationResult,
  RevocationRecord,
  RevocationStore,
  UnpublishedRevocation,
} from "./revocation-store.ts";

const key = {
  revocation: (caId: string, notAfter: string, serial: string) => ({
    pk: revokedPartition(caId),
    sk: `${new Date(notAfter).toISOString()}#${serial}`,
  }),
  crlState: (caId: string) => ({ pk: `CRL#${caId}`, sk: "STATE" }),
};

/**
 * The unpublished mark: gsi1 keys on the revocation item, so the CA's revocations that no CRL
 * lists yet are one index Query away, and clearing the mark takes them out of the index.
 */
function unpublishedMark(record: Pick<RevocationRecord, "caId" | "revokedAt" | "serial">) {
  return {
    gsi1pk: unpublishedPartition(record.caId),
    gsi1sk: `${record.revokedAt}#${record.serial}`,
  };
}

function unpublishedPartition(caId: string): string {
  return `UNPUBLISHED#${caId}`;
}

function revokedPartition(caId: string): string {
  return `REVOKED#${caId}`;
}

export interface DynamoRevocationStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The clock that decides whether a lease ran out. */
  readonly now?: () => Date;
}

export class DynamoRevocationStore implements RevocationStore {
  private readonly db: DynamoAccess;
  private readonly clock: () => Date;

  constructor(options: DynamoRevocationStoreOptions) {
    this.db = new DynamoAccess(options.client, options.tableName);
    this.clock = options.now ?? (() => new Date());
  }

  async recordRevocation(record: RevocationRecord): Promise<RecordRevocationResult> {
    const stored = await this.db.conditional(
      new PutCommand({
        TableName: this.db.tableName,
        Item: {
          ...key.revocation(record.caId, record.notAfter, record.serial),
          type: "revocation",
          ...record,
          ...unpublishedMark(record),
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    if (stored) return { record, created: true };
    const first = await this.getRevocation(record.caId, record.serial, record.notAfter);
    if (!first) throw new Error(`Revocation of ${record.serial} vanished while being recorded.`);
    return { record: first, created: false };
  }

  async getRevocation(
    caId: string,
    serial: string,
    notAfter: string,
  ): Promise<RevocationRecord | undefined> {
    const item = await this.db.getItem(key.revocation(caId, notAfter, serial));
    return item ? toRevocation(item) : undefined;
  }

  async *revokedEntries(caId: string, notAfterFrom: Date): AsyncIterable<readonly RevokedEntry[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(() =>
        this.db.doc.send(
          new QueryCommand({
            TableName: this.db.tableName,
            KeyConditionExpression: "pk = :pk AND sk >= :from",
            ExpressionAttributeValues: {
              ":pk": revokedPartition(caId),
              ":from": notAfterFrom.toISOString(),
            },
            // Only what a CRL entry needs: a third of the item, so a third of the reads.
            ProjectionExpression: "serial, reason, revokedAt",
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      yield (page.Items ?? []).map((item) => ({
        serialHex: item.serial as string,
        reason: item.reason,
        revokedAt: Date.parse(item.revokedAt as string) / 1000,
      }));
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async unpublishedRevocations(
    caId: string,
    limit: number,
  ): Promise<readonly UnpublishedRevocation[]> {
    const page = await this.db.send(() =>
      this.db.doc.send(
        new QueryCommand({
          TableName: this.db.tableName,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": unpublishedPartition(caId) },
          ProjectionExpression: "serial, notAfter",
          Limit: limit,
        }),
      ),
    );
    return (page.Items ?? []).map((item) => ({ serial: item.serial, notAfter: item.notAfter }));
  }

  async isUnpublished(caId: string, serial: string, notAfter: string): Promise<boolean> {
    const item = await this.db.getItem(key.revocation(caId, notAfter, serial));
    return item?.gsi1pk !== undefined;
  }

  async markPublished(caId: string, revocations: readonly UnpublishedRevocation[]): Promise<void> {
    for (const { serial, notAfter } of revocations) {
      // Conditional, so clearing never creates an item where there is none.
      await this.db.update(
        new UpdateCommand({
          TableName: this.db.tableName,
          Key: key.revocation(caId, notAfter, serial),
          UpdateExpression: "REMOVE gsi1pk, gsi1sk",
          ConditionExpression: "attribute_exists(pk)",
        }),
      );
    }
  }

  async requestCrl(caId: string): Promise<number> {
    const item = await this.db.update(
      new UpdateCommand({
        TableName: this.db.tableName,
        Key: key.crlState(caId),
        UpdateExpression: "SET #type = :type ADD lastTicket :one",
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: { ":type": "crlState", ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(item!.lastTicket);
  }

  async acquireCrlLease(caId: string, holder: string, until: Date): Promise<CrlLease | undefined> {
    const item = await this.db.update(
      new UpdateCommand({
        TableName: this.db.tableName,
        Key: key.crlState(caId),
        UpdateExpression:
          "SET #type = :type, leaseHolder = :holder, leaseUntil = :until ADD lastNumber :one",
        ConditionExpression: "attribute_not_exists(leaseUntil) OR leaseUntil < :now",
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: {
          ":type": "crlState",
          ":holder": holder,
          ":until": until.getTime(),
          ":now": this.clock().getTime(),
          ":one": 1,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    if (!item) return undefined;
    return { number: BigInt(item.lastNumber), ticket: Number(item.lastTicket ?? 0) };
  }

  async renewCrlLease(caId: string, holder: string, until: Date): Promise<boolean> {
    const item = await this.db.update(
      new UpdateCommand({
        TableName: this.db.tableName,
        Key: key.crlState(caId),
        UpdateExpression: "SET leaseUntil = :until",
        ConditionExpression: "leaseHolder = :holder",
        ExpressionAttributeValues: { ":holder": holder, ":until": until.getTime() },
      }),
    );
    return item !== undefined;
  }

  async completeCrl(
    caId: string,
    holder: string,
    ticket: number,
    publication: CrlPublication,
  ): Promise<boolean> {
    const x = new Expression();
    const item = await this.db.update(
      new UpdateCommand({
        TableName: this.db.tableName,
        Key: key.crlState(caId),
        UpdateExpression: `SET ${x.name("published")} = ${x.value(publication)}, ${x.name("coveredTicket")} = ${x.value(ticket)} REMOVE ${x.name("leaseHolder")}, ${x.name("leaseUntil")}`,
        ConditionExpression: `${x.name("leaseHolder")} = ${x.value(holder)}`,
        ...x.attributes(),
      }),
    );
    return item !== undefined;
  }

  async releaseCrlLease(caId: string, holder: string): Promise<void> {
    await this.db.update(
      new UpdateCommand({
        TableName: this.db.tableName,
        Key: key.crlState(caId),
        UpdateExpression: "REMOVE leaseHolder, leaseUntil",
        ConditionExpression: "leaseHolder = :holder",
        ExpressionAttributeValues: { ":holder": holder },
      }),
    );
  }

  async breakCrlLease(caId: string): Promise<void> {
    await this.db.update(
      new UpdateCommand({
        TableName: this.db.tableName,
        Key: key.crlState(caId),
        UpdateExpression: "REMOVE leaseHolder, leaseUntil",
        ConditionExpression: "attribute_exists(pk)",
      }),
    );
  }

  async crlState(caId: string): Promise<CrlState> {
    const item = await this.db.getItem(key.crlState(caId));
    return {
      published: (item?.published as CrlPublication | undefined) ?? null,
      coveredTicket: Number(item?.coveredTicket ?? 0),
      lastTicket: Number(item?.lastTicket ?? 0),
    };
  }
}

function toRevocation(item: Item): RevocationRecord {
  return {
    caId: item.caId,
    serial: item.serial,
    notAfter: item.notAfter,
    reason: item.reason,
    revokedAt: item.revokedAt,
    requestId: item.requestId ?? null,
    revokedBy: item.revokedBy,
  };
}
