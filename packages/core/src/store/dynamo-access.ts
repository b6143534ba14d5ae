/**
 * What every DynamoDB adapter on the one table shares: a document client, strongly consistent
 * reads, conditional writes that report a failed condition as a value (not an exception), and
 * SDK errors that may pass on retry turned into TransientError.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { isRetryableAwsError } from "../aws-errors.ts";
import { TransientError } from "../errors.ts";

/** A stored item as the document client returns it. */
// biome-ignore lint/suspicious/noExplicitAny: attribute types are checked where they are read.
export type Item = Record<string, any>;

export class DynamoAccess {
  readonly tableName: string;
  readonly doc: DynamoDBDocumentClient;

  constructor(client: DynamoDBClient, tableName: string) {
    this.tableName = tableName;
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async getItem(itemKey: { pk: string; sk: string }): Promise<Item | undefined> {
    const result = await this.send(() =>
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: itemKey, ConsistentRead: true }),
      ),
    );
    return result.Item;
  }

  /** An UpdateItem's returned attributes, or undefined when its condition failed. */
  async update(command: UpdateCommand): Promise<Item | undefined> {
    try {
      const result = await this.send(() => this.doc.send(command));
      return result.Attributes ?? {};
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw e;
    }
  }

  /** Whether a conditional Put or Delete was written. */
  async conditional(command: PutCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.send(() =>
        command instanceof PutCommand ? this.doc.send(command) : this.doc.send(command),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Runs one SDK call, turning throttling and unreachable-service errors into TransientError. */
  async send<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (isRetryableAwsError(e, transientNames)) {
        throw new TransientError(`DynamoDB: ${(e as Error).message}`, { cause: e });
      }
      throw e;
    }
  }
}

/** Builds expression attribute names and values, so no attribute name can hit a reserved word. */
export class Expression {
  private readonly names = new Map<string, string>();
  private readonly values: Record<string, unknown> = {};
  private valueCount = 0;

  name(attribute: string): string {
    let placeholder = this.names.get(attribute);
    if (!placeholder) {
      placeholder = `#n${this.names.size}`;
      this.names.set(attribute, placeholder);
    }
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${this.valueCount++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  attributes(): {
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    const names = Object.fromEntries([...this.names].map(([name, p]) => [p, name]));
    return this.valueCount === 0
      ? { ExpressionAttributeNames: names }
      : { ExpressionAttributeNames: names, ExpressionAttributeValues: this.values };
  }
}

export function isConditionFailure(e: unknown): boolean {
  return e instanceof Error && e.name === "ConditionalCheckFailedException";
}

const transientNames = new Set([
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "ThrottlingException",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
]);
