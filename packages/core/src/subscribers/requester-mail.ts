/**
 * The requester's emails, driven by events: received, issued (certificate and chain attached),
 * rejected, expired, failed, revoked. Each is sent once per request whatever the bus redelivers.
 */
import { PkiError } from "../errors.ts";
import { subscription } from "../events/bus.ts";
import type { DomainEvent } from "../events/catalogue.ts";
import { mintStatusSecret } from "../links/status-link.ts";
import {
  certificateIssuedMail,
  certificateRevokedMail,
  requestExpiredMail,
  requestFailedMail,
  requestReceivedMail,
  requestRejectedMail,
} from "../notifications/messages.ts";
import { mailSummary } from "../notifications/request-mail-inputs.ts";
import { sendOnce } from "../notifications/send-once.ts";
import { requireRequest } from "../store/request-repository.ts";
import type { StepDependencies } from "../workflow/steps/dependencies.ts";

type Deps = Pick<StepDependencies, "repository" | "mailer" | "objects" | "ca" | "config">;

/** The events the requester hears about (the deployed bus rule routes exactly these). */
export const requesterMailEventTypes = [
  "request.submitted",
  "certificate.issued",
  "request.rejected",
  "request.expired",
  "request.failed",
  "certificate.revoked",
] as const;

export function requesterMailSubscription(deps: Deps) {
  return subscription("requester-mail", requesterMailEventTypes, (event) =>
    sendRequesterMail(event, deps),
  );
}

async function sendRequesterMail(
  event: DomainEvent<(typeof requesterMailEventTypes)[number]>,
  deps: Deps,
): Promise<void> {
  const { requestId } = event.detail;
  // A revocation of a certificate no request of ours asked for has nobody to tell.
  if (requestId === null) return;
  const request = await requireRequest(deps.repository, requestId);
  await sendOnce(deps.repository, deps.mailer, requestId, event.type, async () => {
    // This mail's own status link (only its hash is stored): its links open in a browser.
    const base = {
      ...mailSummary(request),
      to: request.requester,
      publicBaseUrl: deps.config.publicBaseUrl,
      statusToken: await mintStatusSecret(deps.repository, requestId),
    };
    switch (event.type) {
      case "request.submitted":
        return requestReceivedMail(base);
      case "certificate.issued": {
        const detail = (event as DomainEvent<"certificate.issued">).detail;
        const record = await deps.repository.getCertificate(detail.serial);
        const object = record ? await deps.objects.get(record.objectKey) : undefined;
        if (!record || !object)
          throw new PkiError("CERT_NOT_FOUND", `Certificate ${detail.serial} is not stored.`);
        return certificateIssuedMail({
          ...base,
          serial: record.serial,
          notBefore: new Date(record.notBefore),
          notAfter: new Date(record.notAfter),
          certificatePem: Buffer.from(object.body).toString("utf8"),
          chainPem: await deps.ca.chainPem(),
        });
      }
      case "request.rejected": {
        const detail = (event as DomainEvent<"request.rejected">).detail;
        return requestRejectedMail({
          ...base,
          reason: detail.reason,
          rejectedBy: detail.rejectedBy ?? "policy",
        });
      }
      case "request.expired":
        return requestExpiredMail({
          ...base,
          deadline: new Date(request.approval.deadline ?? event.time),
        });
      case "request.failed":
        return requestFailedMail({
          ...base,
          reason: (event as DomainEvent<"request.failed">).detail.reason,
        });
      case "certificate.revoked": {
        const detail = (event as DomainEvent<"certificate.revoked">).detail;
        return certificateRevokedMail({
          ...base,
          serial: detail.serial,
          reason: detail.reason,
          revokedAt: new Date(detail.revokedAt),
        });
      }
    }
  });
}
