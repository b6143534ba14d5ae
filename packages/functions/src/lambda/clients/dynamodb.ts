/**
 * DynamoDB: the request repository, the revocation store, the certificate inventory and the
 * enforcement state, on the one table.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoEnforcementStateStore } from "@spca/core/enforcement/dynamo-state-store";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { DynamoAccess } from "@spca/core/store/dynamo-access";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequest, type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function dynamodbAdapters(
  client: () => DynamoDBClient = () =>
    logCalls(tracedClient(new DynamoDBClient({})), dynamodbRequests),
): Required<Pick<AwsAdapters, "repository" | "revocations" | "inventory" | "enforcementStates">> {
  return {
    repository: ({ tableName }) => new DynamoRequestRepository({ client: client(), tableName }),
    revocations: ({ tableName }) => new DynamoRevocationStore({ client: client(), tableName }),
    inventory: ({ tableName }) => new DynamoCertificateInventory({ client: client(), tableName }),
    enforcementStates: ({ tableName }) =>
      new DynamoEnforcementStateStore(new DynamoAccess(client(), tableName)),
  };
}

/** The document client's command names, and a transaction's item kinds, as IAM actions. */
const itemActions: Readonly<Record<string, string>> = {
  Get: "dynamodb:GetItem",
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  ConditionCheck: "dynamodb:ConditionCheckItem",
  TransactWrite: "dynamodb:TransactWriteItems",
  TransactGet: "dynamodb:TransactGetItems",
  BatchGet: "dynamodb:BatchGetItem",
  BatchWrite: "dynamodb:BatchWriteItem",
};

type Input = Readonly<Record<string, unknown>>;

/**
 * What IAM authorizes for a DynamoDB call: a transaction is authorized item by item (there is no
 * TransactWriteItems action), and a Query on an index on the index's ARN.
 */
export const dynamodbRequests: IamRequestsOf = (operation, input, target) => {
  const table = (name: unknown) =>
    `arn:${target.partition}:dynamodb:${target.region}:${target.account}:table/${String(name)}`;
  const action = itemActions[operation] ?? `dynamodb:${operation}`;
  if (action === "dynamodb:TransactWriteItems" || action === "dynamodb:TransactGetItems") {
    return ((input.TransactItems ?? []) as Input[]).flatMap((item) =>
      Object.entries(item).map(([kind, body]): IamRequest => {
        const itemAction = kind === "Get" ? "dynamodb:GetItem" : itemActions[kind];
        return {
          action: itemAction ?? `dynamodb:${kind}`,
          resource: table((body as Input).TableName),
        };
      }),
    );
  }
  if (action === "dynamodb:BatchGetItem" || action === "dynamodb:BatchWriteItem") {
    return Object.keys((input.RequestItems ?? {}) as Input).map((name) => ({
      action,
      resource: table(name),
    }));
  }
  const tableArn = table(input.TableName);
  const resource =
    typeof input.IndexName === "string" ? `${tableArn}/index/${input.IndexName}` : tableArn;
  return [{ action, resource }];
};
