/**
 * The audit trail as a subscriber: every event about a request lands in its history once
 * (the event id makes a redelivery a no-op). Status changes are audited where they are
 * written; this adds what the bus saw, e.g. the certificate.issued notice.
 */
import { subscription } from "../events/bus.ts";
import { eventTypes } from "../events/catalogue.ts";
import type { RequestRepository } from "../store/request-repository.ts";

export function auditTrailSubscription(repository: Pick<RequestRepository, "appendAudit">) {
  return subscription("audit-trail", eventTypes, async (event) => {
    const requestId = "requestId" in event.detail ? event.detail.requestId : null;
    if (!requestId) return;
    await repository.appendAudit(requestId, {
      actor: "event-bus",
      action: event.type,
      details: { eventId: event.id },
      eventId: event.id,
    });
  });
}
