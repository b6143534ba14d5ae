/** DynamoDB: the request repository and the revocation store, on the one table. */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function dynamodbAdapters(
  client: () => DynamoDBClient = () => tracedClient(new DynamoDBClient({})),
): Required<Pick<AwsAdapters, "repository" | "revocations">> {
  return {
    repository: ({ tableName }) => new DynamoRequestRepository({ client: client(), tableName }),
    revocations: ({ tableName }) => new DynamoRevocationStore({ client: client(), tableName }),
  };
}
