/** Lambda entry point for the workflow's SignCertificate Task (see docs/workflow.md). */
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { kmsAdapters } from "../clients/kms.ts";
import { s3Adapters } from "../clients/s3.ts";
import { containerServices } from "../container.ts";
import { stepLambda } from "../step-handler.ts";

// The services this step uses, and no other (its bundle holds only their clients):
// DynamoDB, S3 (the chain), KMS (the CA key).
export const handler = stepLambda(
  "SignCertificate",
  containerServices("SignCertificate", {
    ...dynamodbAdapters(),
    ...s3Adapters(),
    ...kmsAdapters(),
  }),
);
