/** Lambda entry point for the workflow's ValidateRequest Task (see docs/workflow.md). */
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { containerServices } from "../container.ts";
import { stepLambda } from "../step-handler.ts";

// The services this step uses, and no other (its bundle holds only their clients):
// DynamoDB (the request, the verdict).
export const handler = stepLambda(
  "ValidateRequest",
  containerServices("ValidateRequest", dynamodbAdapters()),
);
