/**
 * StoreCertificate: files the signed certificate: its record under the serial (unique), the
 * PEM in the bucket, the certificate it renews (if any) marked renewed, and the request moved
 * to `issued` with the serial. Every write is
 * idempotent, so a re-run completes whatever the last one left undone.
 */
import { PkiError } from "../../errors.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads, StepResults } from "../engine.ts";
import { objectKeys, type StepDependencies } from "./dependencies.ts";
import { readPending } from "./sign-certificate.ts";

export async function storeCertificate(
  { requestId, serial }: StepPayloads["StoreCertificate"],
  deps: StepDependencies,
): Promise<StepResults["StoreCertificate"]> {
  const request = await requireRequest(deps.repository, requestId);
  if (request.status === "issued" || request.status === "revoked") return { status: "issued" };
  const pending = await readPending(deps, requestId);
  if (pending.serial !== serial) {
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `The signed certificate has serial ${pending.serial}, not ${serial}.`,
    );
  }
  await deps.objects.put(objectKeys.certificate(serial), pending.pem, "application/x-pem-file");
  await deps.repository.putCertificate({
    serial,
    requestId,
    objectKey: objectKeys.certificate(serial),
    subject: pending.subject,
    sans: pending.sans,
    profile: request.profile,
    notBefore: pending.notBefore,
    notAfter: pending.notAfter,
    requester: request.requester,
    principal: request.principal,
    caId: pending.caId ?? "",
    renews: request.renews,
  });
  // The renewed certificate gets no more reminders; a re-run marks it again, harmlessly.
  if (request.renews) await deps.repository.markCertificateRenewed(request.renews, serial);
  const { request: moved } = await deps.repository.transition(requestId, {
    from: "approved",
    to: "issued",
    actor: "ca",
    action: "issued",
    details: { serial, notAfter: pending.notAfter },
    patch: { serial },
  });
  return { status: moved.status };
}
