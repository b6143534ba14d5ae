/**
 * NotifyRequester: publishes the request's outcome on the bus. The requester's email and the
 * audit trail are subscribers; the event id names the fact, so a re-run republishes the same
 * event and the subscribers' once-markers keep it to one email.
 */
import { PkiError } from "../../errors.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";

export async function notifyRequester(
  { requestId, outcome }: StepPayloads["NotifyRequester"],
  deps: StepDependencies,
): Promise<null> {
  const request = await requireRequest(deps.repository, requestId);
  const at = request.updatedAt;
  const requester = request.requester;
  switch (outcome) {
    case "issued": {
      const record = request.serial
        ? await deps.repository.getCertificate(request.serial)
        : undefined;
      if (!record)
        throw new PkiError(
          "REQUEST_STATE_CONFLICT",
          `Request ${requestId} has no stored certificate.`,
        );
      await deps.bus.publish("certificate.issued", {
        requestId,
        requester,
        serial: record.serial,
        profile: record.profile,
        notAfter: record.notAfter,
        issuedAt: record.issuedAt,
      });
      break;
    }
    case "rejected": {
      const rejection = request.decisions.findLast((d) => d.decision === "reject");
      await deps.bus.publish("request.rejected", {
        requestId,
        requester,
        rejectedBy: rejection?.approver ?? null,
        reason: request.reason ?? rejection?.reason ?? "Rejected.",
        rejectedAt: at,
      });
      break;
    }
    case "expired":
      await deps.bus.publish("request.expired", { requestId, requester, expiredAt: at });
      break;
    case "failed":
      await deps.bus.publish("request.failed", {
        requestId,
        requester,
        reason: request.reason ?? "The workflow failed.",
        failedAt: at,
      });
      break;
  }
  return null;
}
