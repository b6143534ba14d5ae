/**
 * The registration authority behind the REST API: submission (CSR and policy checked at once,
 * so a bad request is a 4xx, not a workflow run), request and certificate views, and approval
 * decisions, which it relays to the waiting workflow. Like Boulder's RA it decides and records;
 * the CA signs in the workflow and the repository stores.
 */
import { planApproval } from "../approvals/approvers.ts";
import { caIdOfChainPem } from "../ca/authority.ts";
import { isPublicationKey, publicationKeys } from "../ca/publication-urls.ts";
import { crlStatus } from "../crl/publisher.ts";
import { checkCsr } from "../csr/intake.ts";
import { encodePem } from "../encoding/pem.ts";
import { isPkiError, PkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import { hashSecret, isWellFormedSecret, newLinkSecret } from "../links/secrets.ts";
import type { Config } from "../policy/config.ts";
import { evaluatePolicy, findProfile } from "../policy/evaluate.ts";
import {
  approversOf,
  type CsrSummary,
  newRequestId,
  type Request,
  type RequestStatus,
  summariseCsr,
} from "../requests/request.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type {
  ApiKeyRecord,
  ApiKeyRole,
  DecisionResult,
  PageInput,
  RequestRepository,
} from "../store/request-repository.ts";
import type { RevocationRecord, RevocationStore } from "../store/revocation-store.ts";
import { isTaskTokenError, type WorkflowEngine } from "../workflow/engine.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";
import { type CreatedApiKey, createApiKey, hashApiKey } from "./api-keys.ts";
import { listCertificates, listRequests, searchRequests } from "./listing.ts";
import { revokeCertificate } from "./revocation.ts";
import { findSession, signIn, signOut } from "./sessions.ts";
import type { ApprovalView, CertificateView, RequestView } from "./views.ts";

export interface RaDependencies {
  readonly repository: RequestRepository;
  readonly engine: WorkflowEngine;
  readonly bus: EventBus;
  readonly config: Config;
  readonly ca: IssuingCa;
  readonly objects: ObjectStore;
  readonly revocations: RevocationStore;
  readonly now?: () => Date;
}

export interface Submission {
  readonly csr: string | Uint8Array;
  readonly email: string;
  readonly profile: string;
  readonly comment?: string;
  readonly validityDays?: number;
}

/** What a CSR holds and whether the named profile would take it, before anything is stored. */
export interface CsrPreview {
  readonly summary: CsrSummary;
  /** The profile's verdict; null when no profile was named. */
  readonly policy:
    | { readonly ok: true }
    | { readonly ok: false; readonly code: string; readonly message: string }
    | null;
}

export class RegistrationAuthority {
  private readonly deps: RaDependencies;

  constructor(deps: RaDependencies) {
    this.deps = deps;
  }

  async authenticate(rawKey: string): Promise<{ keyId: string; role: ApiKeyRole } | undefined> {
    const key = await this.deps.repository.findActiveApiKey(hashApiKey(rawKey));
    return key ? { keyId: key.id, role: key.role } : undefined;
  }

  /** A new key for `role`; its secret is in the result only. */
  createApiKey(role: ApiKeyRole, label: string): Promise<CreatedApiKey> {
    return createApiKey(this.deps.repository, role, label);
  }

  listApiKeys(): Promise<readonly ApiKeyRecord[]> {
    return this.deps.repository.listApiKeys();
  }

  /** Revokes a key; revoking a revoked key returns it unchanged. API_KEY_NOT_FOUND. */
  revokeApiKey(id: string): Promise<ApiKeyRecord> {
    return this.deps.repository.revokeApiKey(id);
  }

  async submit(input: Submission, caller: { keyId: string }, idempotencyKey: string | undefined) {
    const csr = checkCsr(input.csr);
    const profile = findProfile(this.deps.config, input.profile);
    evaluatePolicy(csr, input.profile, profile, input.validityDays);
    const plan = planApproval(input.profile, profile, input.email);
    // The status page's link secret: handed out once, below, and stored only hashed.
    const statusToken = newLinkSecret();
    const { request, created } = await this.deps.repository.createRequest(
      {
        id: newRequestId(),
        requester: input.email,
        profile: input.profile,
        comment: input.comment ?? null,
        csr: encodePem("CERTIFICATE REQUEST", csr.der),
        csrSummary: summariseCsr(csr),
        validityDays: input.validityDays ?? null,
        approval: { ...plan, approvers: [...plan.approvers], deadline: null },
        submittedBy: caller.keyId,
        statusSecretHash: hashSecret(statusToken),
      },
      idempotencyKey ? { idempotency: { scope: caller.keyId, key: idempotencyKey } } : {},
    );
    // Also on a replay: the first attempt may have stored the request and died before this.
    const { executionId } = await this.deps.engine.startExecution(request.id);
    if (request.executionId !== executionId)
      await this.deps.repository.attachExecution(request.id, executionId);
    if (created) {
      await this.deps.bus.publish("request.submitted", {
        requestId: request.id,
        requester: request.requester,
        profile: request.profile,
        submittedAt: request.createdAt,
      });
    }
    // A replay returns the first request, whose link secret is not known any more.
    return {
      request: await this.view(request),
      created,
      statusToken: created ? statusToken : null,
    };
  }

  /** What the CSR holds and the profile's verdict on it; CSR errors are thrown as on submit. */
  previewCsr(
    csr: string | Uint8Array,
    profileName: string | undefined,
    email: string | undefined,
  ): CsrPreview {
    const checked = checkCsr(csr);
    const summary = summariseCsr(checked);
    if (profileName === undefined) return { summary, policy: null };
    try {
      const profile = findProfile(this.deps.config, profileName);
      evaluatePolicy(checked, profileName, profile);
      if (email) planApproval(profileName, profile, email);
      return { summary, policy: { ok: true } };
    } catch (error) {
      if (!isPkiError(error)) throw error;
      return { summary, policy: { ok: false, code: error.code, message: error.message } };
    }
  }

  /** The configured profiles, by name, with their descriptions. */
  profiles(): readonly { readonly name: string; readonly description: string }[] {
    return Object.entries(this.deps.config.profiles).map(([name, p]) => ({
      name,
      description: p.description,
    }));
  }

  /** The request behind a status-page link, or undefined when the link is not valid. */
  async getRequestByStatusToken(id: string, token: string): Promise<RequestView | undefined> {
    if (!isWellFormedSecret(token)) return undefined;
    const request = await this.deps.repository.findRequestByStatusSecret(id, hashSecret(token));
    return request ? this.view(request) : undefined;
  }

  /** A browser session for an active API key (pages' sign-in). */
  signIn(rawKey: string) {
    return signIn(this.deps.repository, rawKey, this.now());
  }

  session(secret: string) {
    return findSession(this.deps.repository, secret);
  }

  signOut(secret: string) {
    return signOut(this.deps.repository, secret);
  }

  listRequests(status: RequestStatus, page: PageInput) {
    return listRequests(this.deps.repository, status, page);
  }

  listCertificates(status: "issued" | "revoked", page: PageInput) {
    return listCertificates(this.deps.repository, status, page, this.now());
  }

  searchRequests(text: string) {
    return searchRequests(this.deps.repository, text);
  }

  async getRequest(id: string): Promise<RequestView | undefined> {
    const request = await this.deps.repository.getRequest(id);
    return request ? this.view(request) : undefined;
  }

  async getCertificate(serial: string): Promise<CertificateView | undefined> {
    const record = await this.deps.repository.getCertificate(serial);
    if (!record) return undefined;
    const object = await this.deps.objects.get(record.objectKey);
    if (!object)
      throw new PkiError(
        "CERT_NOT_FOUND",
        `Certificate ${serial} is recorded but its PEM is missing.`,
      );
    const chainPem = await this.deps.ca.chainPem();
    const revocation = await this.deps.revocations.getRevocation(
      caIdOfChainPem(chainPem),
      record.serial,
      record.notAfter,
    );
    const expired = new Date(record.notAfter) < this.now();
    return {
      ...record,
      status: revocation ? "revoked" : expired ? "expired" : "valid",
      revocation: revocation ? revocationView(revocation) : null,
      pem: Buffer.from(object.body).toString("utf8"),
      chainPem,
    };
  }

  /** Revokes a certificate (idempotent: again, it returns the first revocation). */
  async revokeCertificate(serial: string, reason: string, caller: { keyId: string }) {
    const { record, created } = await revokeCertificate(this.deps, {
      serial,
      reason,
      revokedBy: caller.keyId,
    });
    return { ...revocationView(record), created };
  }

  /** The published CRL (DER), or undefined before the first publication. */
  async crl(): Promise<Uint8Array | undefined> {
    const caId = caIdOfChainPem(await this.deps.ca.chainPem());
    return (await this.deps.objects.get(publicationKeys(caId).crl))?.body;
  }

  crlStatus() {
    return crlStatus(this.deps);
  }

  /** A public object (CRL, CA certificate, trust store); any other key is not found. */
  async publishedObject(key: string) {
    return isPublicationKey(key) ? this.deps.objects.get(key) : undefined;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async getApproval(requestId: string, token: string): Promise<ApprovalView> {
    const found = isWellFormedSecret(token)
      ? await this.deps.repository.findApprovalLink(requestId, hashSecret(token))
      : undefined;
    if (!found) throw new PkiError("APPROVAL_TOKEN_INVALID");
    const { request, link } = found;
    return {
      requestId: request.id,
      approver: link.approver,
      status: request.status,
      requester: request.requester,
      profile: request.profile,
      comment: request.comment,
      subject: request.csrSummary.subject,
      sans: request.csrSummary.sans,
      key: request.csrSummary.key,
      csrSha256: request.csrSummary.sha256,
      checks: request.csrSummary.checks,
      expiresAt: link.expiresAt,
      decided: link.usedAt !== null,
      expired: new Date(link.expiresAt) <= this.now(),
      decision: link.decision,
      // Quorum progress: approvals so far out of those required.
      approvals: approversOf(request.decisions).length,
      approvalsRequired: request.approval.quorum,
    };
  }

  async decide(
    requestId: string,
    token: string,
    decision: "approve" | "reject",
    reason: string | undefined,
  ) {
    if (!isWellFormedSecret(token)) throw new PkiError("APPROVAL_TOKEN_INVALID");
    const secretHash = hashSecret(token);
    let result: DecisionResult;
    try {
      result = await this.deps.repository.recordDecision(requestId, {
        secretHash,
        decision,
        reason: reason ?? null,
      });
    } catch (error) {
      // A link used again: its decision stands (the 409 below), but if that decision settled
      // the request and never reached the workflow, this is the moment to deliver it.
      if (isPkiError(error, "APPROVAL_ALREADY_DECIDED"))
        await this.redeliver(requestId, secretHash);
      throw error;
    }
    const { request, taskToken } = result;
    if (result.outcome !== "pending" && taskToken) {
      await this.deliver(request, taskToken, reason ?? `Rejected by ${result.approver}.`);
    }
    return this.view(request);
  }

  /**
   * Hands a settled request's outcome to the workflow waiting on `taskToken`. Every part may
   * be repeated: the event's id names the fact, and a token whose task is over (delivered
   * already, or timed out, when ExpireRequest finds the decision instead) is not an error.
   */
  private async deliver(request: Request, taskToken: string, rejection: string): Promise<void> {
    try {
      if (request.status === "approved") {
        const approvers = approversOf(request.decisions);
        await this.deps.bus.publish("request.approved", {
          requestId: request.id,
          requester: request.requester,
          approvers,
          approvedAt: request.updatedAt,
        });
        await this.deps.engine.sendTaskSuccess(taskToken, { decision: "approved", approvers });
      } else {
        await this.deps.engine.sendTaskFailure(taskToken, "Rejected", rejection);
      }
    } catch (error) {
      if (isTaskTokenError(error)) return;
      throw new PkiError(
        "APPROVAL_DELIVERY_FAILED",
        `The decision on request ${request.id} is recorded, but passing it on failed (${(error as Error).message}). Send the same decision again to finish; it will not be counted twice.`,
        { cause: error },
      );
    }
  }

  private async redeliver(requestId: string, secretHash: string): Promise<void> {
    const found = await this.deps.repository.findApprovalLink(requestId, secretHash);
    const status = found?.request.status;
    if (status !== "approved" && status !== "rejected") return;
    // Only a link whose own decision matches the outcome may re-send it.
    if (found!.link.decision !== (status === "approved" ? "approve" : "reject")) return;
    const approval = await this.deps.repository.getApproval(requestId);
    if (!approval?.taskToken) return;
    const rejection = found!.request.reason ?? `Rejected by ${found!.link.approver}.`;
    await this.deliver(found!.request, approval.taskToken, rejection);
  }

  async caChainPem(): Promise<string> {
    return this.deps.ca.chainPem();
  }

  private async view(request: Request): Promise<RequestView> {
    const history = await this.deps.repository.history(request.id);
    return {
      id: request.id,
      status: request.status,
      profile: request.profile,
      requester: request.requester,
      subject: request.csrSummary.subject,
      sans: request.csrSummary.sans,
      key: request.csrSummary.key,
      createdAt: request.createdAt,
      updatedAt: request.updatedAt,
      reason: request.reason,
      serial: request.serial,
      history: history.map((h) => ({
        at: h.at,
        actor: h.actor,
        action: h.action,
        details: h.details ?? {},
      })),
    };
  }
}

function revocationView(record: RevocationRecord) {
  return {
    serial: record.serial,
    reason: record.reason,
    revokedAt: record.revokedAt,
    revokedBy: record.revokedBy,
    requestId: record.requestId,
  };
}
