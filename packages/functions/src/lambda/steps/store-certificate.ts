/** Lambda entry point for the workflow's StoreCertificate Task (see docs/workflow.md). */
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { s3Adapters } from "../clients/s3.ts";
import { containerServices } from "../container.ts";
import { stepLambda } from "../step-handler.ts";

// The services this step uses, and no other (its bundle holds only their clients):
// DynamoDB (the signed certificate), S3 (certificates/).
export const handler = stepLambda(
  "StoreCertificate",
  containerServices("StoreCertificate", { ...dynamodbAdapters(), ...s3Adapters() }),
);
