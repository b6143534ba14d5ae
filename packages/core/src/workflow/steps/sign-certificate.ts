/**
 * SignCertificate: the CA signs the approved request (checking the CSR and policy once more,
 * as a CA must not trust what it is handed). The result waits in the bucket under
 * pending/<request>.json until StoreCertificate files it. A once-claim keyed by the request
 * guards the signing, so a retried or duplicated run returns the certificate already signed
 * rather than issuing a second one.
 */
import { issueCertificate } from "../../certificate/issue.ts";
import { checkCsr } from "../../csr/intake.ts";
import { PkiError, TransientError } from "../../errors.ts";
import { evaluatePolicy, findProfile } from "../../policy/evaluate.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads, StepResults } from "../engine.ts";
import { objectKeys, type StepDependencies } from "./dependencies.ts";

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
}

const SIGNING = "step:sign";

export async function signCertificate(
  { requestId }: StepPayloads["SignCertificate"],
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
  const claim = await deps.repository.claimMessage(requestId, SIGNING, { leaseSeconds: 120 });
  if (claim.state === "sent") return { serial: (await readPending(deps, requestId)).serial };
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
    const issued = await issueCertificate(
      await deps.ca.issuingAuthority(),
      csr,
      decision,
      deps.now?.(),
    );
    const pending: PendingCertificate = {
      serial: issued.serialHex,
      pem: issued.pem,
      subject: issued.subject,
      sans: issued.sans.map((s) => ({ type: s.type, value: s.value })),
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
    };
    await deps.objects.put(
      objectKeys.pending(requestId),
      JSON.stringify(pending),
      "application/json",
    );
    await deps.repository.markMessageSent(requestId, SIGNING, claim.claimId);
    return { serial: pending.serial };
  } catch (error) {
    await deps.repository.releaseMessage(requestId, SIGNING, claim.claimId).catch(() => undefined);
    throw error;
  }
}

export async function readPending(
  deps: StepDependencies,
  requestId: string,
): Promise<PendingCertificate> {
  const object = await deps.objects.get(objectKeys.pending(requestId));
  if (!object)
    throw new PkiError(
      "REQUEST_STATE_CONFLICT",
      `Request ${requestId} has no signed certificate waiting.`,
    );
  return JSON.parse(Buffer.from(object.body).toString("utf8")) as PendingCertificate;
}
