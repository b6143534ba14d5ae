/** Lambda entry point: the requester's emails, on request and certificate events. */
import { requesterMailSubscription } from "@spca/core/subscribers/requester-mail";
import { subscriberLambda } from "../subscriber-handler.ts";

export const handler = subscriberLambda((services) => requesterMailSubscription(services.steps));
