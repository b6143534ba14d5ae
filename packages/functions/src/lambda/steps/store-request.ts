/** Lambda entry point for the workflow's StoreRequest Task (see docs/workflow.md). */
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { eventBridgeAdapters } from "../clients/eventbridge.ts";
import { containerServices } from "../container.ts";
import { stepLambda } from "../step-handler.ts";

// The services this step uses, and no other (its bundle holds only their clients):
// DynamoDB, and EventBridge for request.approved.
export const handler = stepLambda(
  "StoreRequest",
  containerServices("StoreRequest", { ...dynamodbAdapters(), ...eventBridgeAdapters() }),
);
