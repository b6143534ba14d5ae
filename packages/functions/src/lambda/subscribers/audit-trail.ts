/** Lambda entry point: the audit trail, on every event of the catalogue. */
import { auditTrailSubscription } from "@spca/core/subscribers/audit-trail";
import { subscriberLambda } from "../subscriber-handler.ts";

export const handler = subscriberLambda((services) => auditTrailSubscription(services.repository));
