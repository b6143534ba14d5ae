/**
 * SignCertificate: the CA signs the approved request (checking the CSR and policy once more,
 * as a CA must not trust what it is handed). A once-claim keyed by the request guards the
 * signing, and the signed certificate is recorded in that claim as it is marked done: only the
 * claim's current holder can record, so exactly one certificate is ever recorded for a
 * request, and a re-run returns it. StoreCertificate files it from there.
 *
 * The claim's owner is the execution. A resumed or retried run of the same execution takes
 * its own claim over at once: the attempt before it died or timed out, and waiting for its
 * lease would only run the retries out and fail an approved request.
 */
import { issueCertificate } from "../../certificate/issue.ts";
import { checkCsr } from "../../csr/intake.ts";
import { PkiError, TransientError } from "../../errors.ts";
import { evaluatePolicy, findProfile } from "../../policy/evaluate.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads, StepResults } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";

export interface PendingCertificate {
  readonly serial: string;
  readonly pem: string;
  readonly subject: string;
  readonly sans: readonly {
    readonly type: "dns" | "ip" | "email" | "uri";
    readonly value: string;
  }[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** The issuing CA's id (ca/authority.ts caIdOf); absent on certificates signed before it. */
  readonly caId?: string;
}

const SIGNING = "step:sign";
/** Above the signing function's timeout, so a lease outlives only a holder that is gone. */
const SIGNING_LEASE_SECONDS = 60;

export async function signCertificate(
  { requestId, executionId }: StepPayloads["SignCertificate"],
  deps: StepDependencies,
): Promise<StepResults["SignCertificate"]> {
  const request = await requireRequest(deps.repository, requestId);
  // Signed already (and perhaps revoked since): a re-run returns what was issued.
  if ((request.status === "issued" || request.status === "revoked") && request.serial)
    return { serial: request.serial };
  if (request.status !== "approved") {
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `Request ${requestId} is ${request.status}, not approved.`,
    );
  }
  const claim = await deps.repository.claimMessage(requestId, SIGNING, {
    leaseSeconds: SIGNING_LEASE_SECONDS,
    ...(executionId === undefined ? {} : { owner: executionId }),
  });
  if (claim.state === "sent") return { serial: signedResult(requestId, claim.result).serial };
  if (claim.state === "in-progress") {
    throw new TransientError(`Request ${requestId} is being signed by another run.`);
  }
  try {
    const csr = checkCsr(request.csr);
    const decision = evaluatePolicy(
      csr,
      request.profile,
      findProfile(deps.config, request.profile),
      request.validityDays ?? undefined,
    );
    const authority = await deps.ca.issuingAuthority();
    const issued = await issueCertificate(authority, csr, decision, deps.now?.());
    const pending: PendingCertificate = {
      serial: issued.serialHex,
      pem: issued.pem,
      subject: issued.subject,
      sans: issued.sans.map((s) => ({ type: s.type, value: s.value })),
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      caId: authority.id,
    };
    await deps.repository.markMessageSent(requestId, SIGNING, claim.claimId, { result: pending });
    return { serial: pending.serial };
  } catch (error) {
    await deps.repository.releaseMessage(requestId, SIGNING, claim.claimId).catch(() => undefined);
    throw error;
  }
}

/** The certificate SignCertificate recorded for the request. */
export async function readPending(
  deps: StepDependencies,
  requestId: string,
): Promise<PendingCertificate> {
  const signed = await deps.repository.sentMessage(requestId, SIGNING);
  if (!signed)
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `Request ${requestId} has no signed certificate waiting.`,
    );
  return signedResult(requestId, signed.result);
}

function signedResult(requestId: string, result: unknown): PendingCertificate {
  const pending = result as Partial<PendingCertificate> | null;
  if (typeof pending?.serial !== "string" || typeof pending.pem !== "string")
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `Request ${requestId} was signed, but the signed certificate was not recorded with it.`,
    );
  return pending as PendingCertificate;
}
