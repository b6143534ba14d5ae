/**
 * Enforcement state in the one table: an item per gate, `pk = ENFORCEMENT#<target>`,
 * `sk = STATE`. One writer at a time (the sync is serialised), so plain puts suffice.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { DynamoAccess } from "../store/dynamo-access.ts";
import type { EnforcementStateStore } from "./state-store.ts";
import type { TargetState } from "./target.ts";

const key = (target: string) => ({ pk: `ENFORCEMENT#${target}`, sk: "STATE" });

export class DynamoEnforcementStateStore implements EnforcementStateStore {
  private readonly db: DynamoAccess;

  constructor(db: DynamoAccess) {
    this.db = db;
  }

  async get(target: string): Promise<TargetState | undefined> {
    const item = await this.db.getItem(key(target));
    if (!item) return undefined;
    return {
      target: item.target,
      kind: item.kind,
      crlSha256: item.crlSha256,
      bundleSha256: item.bundleSha256,
      crlNumber: item.crlNumber,
      details: item.details ?? {},
      failures: item.failures ?? 0,
      lastError: item.lastError,
      retryAt: item.retryAt,
      failedFor: item.failedFor,
      updatedAt: item.updatedAt,
    };
  }

  async put(state: TargetState): Promise<void> {
    await this.db.send(() =>
      this.db.doc.send(
        new PutCommand({ TableName: this.db.tableName, Item: { ...key(state.target), ...state } }),
      ),
    );
  }
}
