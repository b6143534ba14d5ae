/** Lambda entry point for the workflow's RecordOutcome Task (see docs/workflow.md). */
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { containerServices } from "../container.ts";
import { stepLambda } from "../step-handler.ts";

// The services this step uses, and no other (its bundle holds only their clients):
// DynamoDB (the outcome's transition).
export const handler = stepLambda(
  "RecordOutcome",
  containerServices("RecordOutcome", dynamodbAdapters()),
);
