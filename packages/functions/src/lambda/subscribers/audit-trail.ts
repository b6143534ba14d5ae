/**
 * Lambda entry point: the audit trail, on every event of the catalogue. It also counts the
 * events the metrics follow (CertificatesIssued, RequestsRejected, RequestsExpired,
 * CertificatesRevoked): once per event, not per delivery. EventBridge may deliver an event
 * twice, and the audit trail writes each event id once, so an event is counted when its entry is
 * new. An event the trail does not record (a revocation of a certificate no request of ours
 * issued) is counted on every delivery.
 */
import { subscription } from "@spca/core/events/bus";
import type { RequestRepository } from "@spca/core/store/request-repository";
import { auditTrailSubscription } from "@spca/core/subscribers/audit-trail";
import type { AwsServices } from "../aws-services.ts";
import { dynamodbAdapters } from "../clients/dynamodb.ts";
import { containerServices } from "../container.ts";
import { countEvent } from "../observability.ts";
import { subscriberLambda } from "../subscriber-handler.ts";

export function auditTrailLambda(services: () => AwsServices) {
  return subscriberLambda((s) => countedAuditTrail(s.repository), services);
}

/** The audit trail, plus a count of each event whose entry it wrote (or that it does not keep). */
export function countedAuditTrail(repository: Pick<RequestRepository, "appendAudit">) {
  /** Per event id: whether this delivery wrote a new entry. */
  const written = new Map<string, boolean>();
  const trail = auditTrailSubscription({
    appendAudit: async (requestId, entry) => {
      const added = await repository.appendAudit(requestId, entry);
      if (entry.eventId !== undefined) written.set(entry.eventId, added);
      return added;
    },
  });
  return subscription(trail.name, trail.types, async (event) => {
    written.delete(event.id);
    await trail.handle(event);
    // Not asked (no request to write to) counts; asked and already there is a redelivery.
    if (written.get(event.id) !== false) countEvent(event);
    written.delete(event.id);
  });
}

export const handler = auditTrailLambda(containerServices("AuditTrail", dynamodbAdapters()));
