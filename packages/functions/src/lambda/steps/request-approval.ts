/** Lambda entry point for the workflow's RequestApproval Task (see docs/workflow.md). */
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { sesAdapters } from "../clients/ses.ts";
import { containerServices } from "../container.ts";
import { stepLambda } from "../step-handler.ts";

// The services this step uses, and no other (its bundle holds only their clients):
// DynamoDB, and SES to mail the approvers.
export const handler = stepLambda(
  "RequestApproval",
  containerServices("RequestApproval", { ...dynamodbAdapters(), ...sesAdapters() }),
);
