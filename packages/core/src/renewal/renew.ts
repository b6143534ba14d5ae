/**
 * Renewing a certificate: a new CSR for the same profile and a subset of its names, by its
 * requester (or an admin), within the profile's renewal window, and not for a revoked or
 * already renewed certificate. The checks run here, before anything is stored, so a refusal
 * is a specific 4xx; the request then enters the CA as a submission does (ra/request-intake.ts)
 * with `renews` set, and StoreCertificate links the two certificates.
 */
import { createHash } from "node:crypto";
import { normaliseSerial } from "../certificate/serial.ts";
import { checkCsr } from "../csr/intake.ts";
import { decodePemBlocks } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import { hasRole, isSamePerson, mayRead, type Principal } from "../identity/principal.ts";
import type { Config } from "../policy/config.ts";
import { evaluatePolicy, findProfile } from "../policy/evaluate.ts";
import { createAndStart, type Intake, type IntakeDependencies } from "../ra/request-intake.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { CertificateRecord } from "../store/request-repository.ts";
import { planRequestApproval } from "./approval.ts";
import { renewedNames, widenedNames } from "./names.ts";
import { renewalPolicyOf, renewalWindow } from "./policy.ts";

export interface RenewalDependencies extends IntakeDependencies {
  readonly config: Config;
  readonly objects: ObjectStore;
  readonly now: () => Date;
}

export interface RenewalInput {
  readonly csr: string | Uint8Array;
  /** If given, it must be the renewed certificate's profile. */
  readonly profile?: string;
  /** Where mails go; absent: where the renewed certificate's went. */
  readonly email?: string;
  readonly comment?: string;
  /** Absent: the validity the renewed certificate's request asked for. */
  readonly validityDays?: number;
}

export async function renewCertificate(
  deps: RenewalDependencies,
  serialText: string,
  input: RenewalInput,
  caller: Principal,
  idempotencyKey: string | undefined,
): Promise<Intake> {
  const serial = normaliseSerial(serialText);
  const notFound = () =>
    new PkiError("CERT_NOT_FOUND", `No certificate with serial ${serialText} was issued here.`);
  if (!serial) throw notFound();
  const record = await deps.repository.getCertificate(serial);
  const original = record && (await deps.repository.getRequest(record.requestId));
  // Someone else's certificate is not found, as on every other lookup: no probing.
  if (!record || !original || !mayRead(caller, original.principal)) throw notFound();
  const isRequester =
    caller.id === record.principal.id || isSamePerson(caller.email, record.principal.email);
  if (!isRequester && !hasRole(caller, "admin")) {
    throw new PkiError(
      "RENEWAL_NOT_ALLOWED",
      `Certificate ${serial} was requested by ${record.principal.email ?? record.principal.id}; only they or an admin may renew it.`,
    );
  }
  if (record.revokedAt !== null) {
    throw new PkiError(
      "RENEWAL_CERT_REVOKED",
      `Certificate ${serial} was revoked (${record.revocationReason ?? "unspecified"}) at ${record.revokedAt}; request a new certificate instead.`,
    );
  }
  const csr = checkCsr(input.csr);
  if (record.renewedBy !== null) {
    const replay = idempotencyKey && (await replayOf(deps, record, csr.der, caller));
    if (replay) return replay;
    throw new PkiError(
      "RENEWAL_SUPERSEDED",
      `Certificate ${serial} was already renewed by ${record.renewedBy}; renew that one.`,
      { renewedBy: record.renewedBy },
    );
  }
  const profile = findProfile(deps.config, record.profile);
  const policy = renewalPolicyOf(profile);
  const window = renewalWindow(record.notBefore, record.notAfter, policy);
  const now = deps.now().getTime();
  if (now < Date.parse(window.opensAt) || now > Date.parse(window.closesAt)) {
    throw new PkiError(
      "RENEWAL_OUTSIDE_WINDOW",
      `Certificate ${serial} may be renewed from ${window.opensAt} until ${window.closesAt}.`,
      { ...window },
    );
  }
  if (input.profile !== undefined && input.profile !== record.profile) {
    throw new PkiError(
      "RENEWAL_PROFILE_MISMATCH",
      `Certificate ${serial} is of profile ${record.profile}, not ${input.profile}.`,
    );
  }
  const names = renewedNames(await certificateDer(deps, record), record.sans);
  const extra = widenedNames(names, csr);
  if (extra.length > 0) {
    throw new PkiError(
      "RENEWAL_NAMES_WIDENED",
      `Certificate ${serial} does not have ${extra.join(", ")}; request a new certificate for other names.`,
      { names: extra },
    );
  }
  const oldKey = createHash("sha256").update(names.spki).digest("hex");
  if (!policy.reuseKey && csr.publicKeySha256 === oldKey) {
    throw new PkiError(
      "RENEWAL_KEY_REUSED",
      `Profile ${record.profile} wants a new key for a renewal; the CSR has the key of certificate ${serial}.`,
    );
  }
  const validityDays = input.validityDays ?? original.validityDays ?? undefined;
  evaluatePolicy(csr, record.profile, profile, validityDays);
  // The certificate stays its owner's, whoever renews it (an admin, a machine's key).
  const notify = input.email ?? record.requester;
  const approval = planRequestApproval(
    record.profile,
    profile,
    original.principal.email ?? notify,
    { requestId: original.id },
  );
  return createAndStart(
    deps,
    {
      csr,
      profile: record.profile,
      notify,
      principal: original.principal,
      submittedBy: caller.id,
      comment: input.comment ?? null,
      validityDays: validityDays ?? null,
      approval,
      renews: serial,
    },
    idempotencyKey,
  );
}

async function certificateDer(deps: RenewalDependencies, record: CertificateRecord) {
  const object = await deps.objects.get(record.objectKey);
  if (!object) {
    throw new PkiError(
      "CERT_NOT_FOUND",
      `Certificate ${record.serial} is recorded but its PEM is missing.`,
    );
  }
  return decodePemBlocks(Buffer.from(object.body).toString("utf8"))[0]!.der;
}

/**
 * A repeat (same caller, same CSR) of the renewal that made the successor: the successor's
 * request, as an Idempotency-Key replay answers, rather than a refusal the caller cannot
 * tell from someone else's renewal.
 */
async function replayOf(
  deps: RenewalDependencies,
  record: CertificateRecord,
  csrDer: Uint8Array,
  caller: Principal,
): Promise<Intake | undefined> {
  const successor = await deps.repository.getCertificate(record.renewedBy!);
  const request = successor && (await deps.repository.getRequest(successor.requestId));
  const sha256 = createHash("sha256").update(csrDer).digest("hex");
  if (!request || request.submittedBy !== caller.id || request.csrSummary.sha256 !== sha256)
    return undefined;
  return { request, created: false, statusToken: null };
}
