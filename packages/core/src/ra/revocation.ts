/**
 * Revoking a certificate, as the registration authority does it: find the certificate, refuse
 * an expired one, record the revocation once (the first reason stands), move the request to
 * `revoked`, and announce `certificate.revoked` (which republishes the CRL and tells the
 * requester). The revocation record is written first and is the fact; the rest repeats
 * harmlessly, so revoking again also completes whatever an interrupted first attempt left.
 * A repeat that finds nothing left to complete (the request moved on, the revocation on a
 * published CRL) announces nothing: it must not publish a CRL, count or audit a revocation
 * again. Its unpublished mark, not the event, is what guarantees the CRL.
 */
import { caIdOfChainPem } from "../ca/authority.ts";
import { normaliseSerial } from "../certificate/serial.ts";
import { isRevocationReason, type RevocationReason, revocationReasons } from "../crl/reasons.ts";
import { PkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import type { RequestRepository } from "../store/request-repository.ts";
import type { RecordRevocationResult, RevocationStore } from "../store/revocation-store.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";

export interface RevocationDependencies {
  readonly repository: RequestRepository;
  readonly revocations: RevocationStore;
  readonly bus: EventBus;
  readonly ca: IssuingCa;
  readonly now?: () => Date;
}

export interface RevokeInput {
  /** Hex, with or without colons or 0x, as a user types it. */
  readonly serial: string;
  readonly reason: string;
  /** Who asks: an API key id, or "cli". */
  readonly revokedBy: string;
}

export async function revokeCertificate(
  deps: RevocationDependencies,
  input: RevokeInput,
): Promise<RecordRevocationResult> {
  const reason = checkReason(input.reason);
  const serial = normaliseSerial(input.serial);
  if (!serial)
    throw new PkiError("CERT_NOT_FOUND", `"${input.serial}" is not a hexadecimal serial number.`);
  const certificate = await deps.repository.getCertificate(serial);
  if (!certificate)
    throw new PkiError("CERT_NOT_FOUND", `No certificate with serial ${serial} was issued here.`);
  const caId = caIdOfChainPem(await deps.ca.chainPem());
  const now = deps.now?.() ?? new Date();

  let result: RecordRevocationResult;
  const existing = await deps.revocations.getRevocation(caId, serial, certificate.notAfter);
  if (existing) {
    result = { record: existing, created: false };
  } else {
    // Relying parties reject an expired certificate anyway; listing it would only grow the CRL.
    if (Date.parse(certificate.notAfter) < now.getTime()) {
      throw new PkiError(
        "CERT_EXPIRED",
        `Certificate ${serial} expired on ${certificate.notAfter}; an expired certificate is not revoked.`,
        { serial, notAfter: certificate.notAfter },
      );
    }
    result = await deps.revocations.recordRevocation({
      caId,
      serial,
      notAfter: certificate.notAfter,
      reason,
      revokedAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
      requestId: certificate.requestId,
      revokedBy: input.revokedBy,
    });
  }

  const { record, created } = result;
  // What the inventory and the reminders read; a repeat completes it if a crash cut it short.
  if (certificate.revokedAt === null)
    await deps.repository.markCertificateRevoked(serial, record.revokedAt, record.reason);
  const request = await deps.repository.getRequest(certificate.requestId);
  const unfinished = request?.status === "issued";
  if (unfinished) {
    await deps.repository.transition(request.id, {
      from: "issued",
      to: "revoked",
      actor: record.revokedBy,
      action: "revoked",
      details: { serial, reason: record.reason, revokedAt: record.revokedAt },
    });
  }
  // Read only for a repeat, from the item itself: the index may lag a fresh revocation.
  const owed =
    created ||
    unfinished ||
    (await deps.revocations.isUnpublished(caId, serial, certificate.notAfter));
  if (!owed) return result;
  await deps.bus.publish("certificate.revoked", {
    serial,
    requestId: request ? request.id : null,
    reason: record.reason,
    revokedAt: record.revokedAt,
  });
  return result;
}

function checkReason(reason: string): RevocationReason {
  if (isRevocationReason(reason)) return reason;
  throw new PkiError(
    "REVOCATION_REASON_INVALID",
    `"${reason}" is not one of ${Object.keys(revocationReasons).join(", ")}.`,
  );
}
