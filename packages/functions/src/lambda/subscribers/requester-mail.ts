/** Lambda entry point: the requester's emails, on request and certificate events. */
import { requesterMailSubscription } from "@spca/core/subscribers/requester-mail";
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { s3Adapters } from "../clients/s3.ts";
import { sesAdapters } from "../clients/ses.ts";
import { containerServices } from "../container.ts";
import { subscriberLambda } from "../subscriber-handler.ts";

export const handler = subscriberLambda(
  (services) => requesterMailSubscription(services.steps),
  containerServices("RequesterMail", { ...dynamodbAdapters(), ...s3Adapters(), ...sesAdapters() }),
);
