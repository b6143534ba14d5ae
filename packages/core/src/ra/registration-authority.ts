/**
 * The registration authority behind the REST API: submission (CSR and policy checked at once,
 * so a bad request is a 4xx, not a workflow run), request and certificate views, and approval
 * decisions, which it relays to the waiting workflow. Like Boulder's RA it decides and records;
 * the CA signs in the workflow and the repository stores.
 */
import { planApproval } from "../approvals/approvers.ts";
import { caIdOfChainPem } from "../ca/authority.ts";
import { isPublicationKey, publicationKeys } from "../ca/publication-urls.ts";
import { type CrlCa, crlCaId, rootCrlMissing } from "../crl/ca-choice.ts";
import { crlStatus } from "../crl/publisher.ts";
import { checkCsr } from "../csr/intake.ts";
import { isPkiError, PkiError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import {
  anonymousPrincipal,
  describePrincipal,
  mayRead,
  type Principal,
  principalOfKey,
  principalOfPerson,
  requestPrincipalOf,
} from "../identity/principal.ts";
import type { IdentityProvider, PendingSignIn } from "../identity/provider.ts";
import type { CertificateInventory } from "../inventory/certificate-inventory.ts";
import type { InventoryFilter, InventoryQuery } from "../inventory/filter.ts";
import { hashSecret, isWellFormedSecret } from "../links/secrets.ts";
import type { Mailer } from "../notifications/mailer.ts";
import type { Config } from "../policy/config.ts";
import { evaluatePolicy, findProfile } from "../policy/evaluate.ts";
import { type RenewalInput, renewCertificate } from "../renewal/renew.ts";
import { revokeSuperseded } from "../renewal/supersede.ts";
import {
  type CsrSummary,
  type Request,
  type RequestStatus,
  summariseCsr,
} from "../requests/request.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type {
  ApiKeyRecord,
  ApiKeyRole,
  PageInput,
  RequestRepository,
} from "../store/request-repository.ts";
import type { RevocationRecord, RevocationStore } from "../store/revocation-store.ts";
import type { WorkflowEngine } from "../workflow/engine.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";
import { type CreatedApiKey, createApiKey, hashApiKey } from "./api-keys.ts";
import { ApprovalDecisions } from "./approval-decisions.ts";
import { type ApprovalResendResult, resendApprovalMails } from "./approval-resend.ts";
import { renewalView } from "./certificate-renewal-view.ts";
import { inventoryExport, inventoryPage } from "./inventory-listing.ts";
import { listRequests, searchRequests } from "./listing.ts";
import { createAndStart } from "./request-intake.ts";
import { revokeCertificate } from "./revocation.ts";
import { findSession, signInPerson, signInWithKey, signOut } from "./sessions.ts";
import { type ApprovalProgressView, SignedInDecisions } from "./signed-in-decisions.ts";
import type { ApprovalView, CertificateView, RequestView } from "./views.ts";

export interface RaDependencies {
  readonly repository: RequestRepository;
  /** Certificates by expiry, for listings and exports (inventory/). */
  readonly inventory: CertificateInventory;
  readonly engine: WorkflowEngine;
  readonly bus: EventBus;
  readonly config: Config;
  readonly ca: IssuingCa;
  readonly objects: ObjectStore;
  readonly revocations: RevocationStore;
  /** People's sign-in; absent where only API keys are used. */
  readonly identity?: IdentityProvider;
  /** Sends resent approval mails; absent where this process mails nothing. */
  readonly mailer?: Mailer;
  readonly now?: () => Date;
}

export interface Submission {
  readonly csr: string | Uint8Array;
  /** Where mails about the request go; absent: the principal's own address. */
  readonly email?: string;
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
  private readonly decisions: ApprovalDecisions;
  private readonly signedInDecisions: SignedInDecisions;

  constructor(deps: RaDependencies) {
    this.deps = deps;
    this.decisions = new ApprovalDecisions({ ...deps, now: () => this.now() });
    this.signedInDecisions = new SignedInDecisions({ ...deps, now: () => this.now() });
  }

  /**
   * The principal a bearer credential names: an API key (`spca_…`), or a person's access token
   * from the identity provider (a JWT). Undefined when it is neither valid key nor token.
   */
  async authenticate(credential: string): Promise<Principal | undefined> {
    if (isJwt(credential)) {
      const person = await this.deps.identity?.verifyAccessToken(credential);
      return person && principalOfPerson(person, this.deps.config.identity.roleGroups);
    }
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(credential)) return undefined;
    const key = await this.deps.repository.findActiveApiKey(hashApiKey(credential));
    return key && principalOfKey(key);
  }

  /** Nobody signed in, where submission is open: the client's address names them. */
  anonymous(address: string): Principal {
    return anonymousPrincipal(address);
  }

  /** A new key for `role`, acting for `owner`; its secret is in the result only. */
  createApiKey(role: ApiKeyRole, label: string, owner: string): Promise<CreatedApiKey> {
    return createApiKey(this.deps.repository, { role, label, owner });
  }

  listApiKeys(): Promise<readonly ApiKeyRecord[]> {
    return this.deps.repository.listApiKeys();
  }

  /** Revokes a key; revoking a revoked key returns it unchanged. API_KEY_NOT_FOUND. */
  revokeApiKey(id: string): Promise<ApiKeyRecord> {
    return this.deps.repository.revokeApiKey(id);
  }

  async submit(input: Submission, caller: Principal, idempotencyKey: string | undefined) {
    const csr = checkCsr(input.csr);
    const profile = findProfile(this.deps.config, input.profile);
    evaluatePolicy(csr, input.profile, profile, input.validityDays);
    const notify = input.email ?? caller.email;
    if (!notify) {
      throw new PkiError(
        "REQUEST_EMAIL_REQUIRED",
        "Give the address that mails about this request go to (email).",
      );
    }
    // Four eyes on who asked; only where nobody signed in, on the address given.
    const plan = planApproval(input.profile, profile, caller.email ?? notify);
    const intake = await createAndStart(
      this.deps,
      {
        csr,
        profile: input.profile,
        notify,
        principal: requestPrincipalOf(caller, this.deps.config.identity.roleGroups),
        submittedBy: caller.id,
        comment: input.comment ?? null,
        validityDays: input.validityDays ?? null,
        approval: plan,
        renews: null,
      },
      idempotencyKey,
    );
    return { ...intake, request: await this.view(intake.request) };
  }

  /**
   * Renews certificate `serial` with a new CSR (renewal/renew.ts): refused with a RENEWAL_*
   * code unless `caller` may, now, for these names; then entered like a submission.
   */
  async renew(
    serial: string,
    input: RenewalInput,
    caller: Principal,
    idempotencyKey: string | undefined,
  ) {
    const intake = await renewCertificate(
      { ...this.deps, now: () => this.now() },
      serial,
      input,
      caller,
      idempotencyKey,
    );
    return { ...intake, request: await this.view(intake.request) };
  }

  /**
   * What the CSR holds and the profile's verdict on it; CSR errors are thrown as on submit.
   * `submitter`: the address four eyes is judged on (the signed-in principal's, else the one
   * given), as submission will.
   */
  previewCsr(
    csr: string | Uint8Array,
    profileName: string | undefined,
    submitter: string | undefined,
  ): CsrPreview {
    const checked = checkCsr(csr);
    const summary = summariseCsr(checked);
    if (profileName === undefined) return { summary, policy: null };
    try {
      const profile = findProfile(this.deps.config, profileName);
      evaluatePolicy(checked, profileName, profile);
      if (submitter) planApproval(profileName, profile, submitter);
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
    return signInWithKey(this.deps.repository, rawKey, this.now());
  }

  /** Whether people sign in through an identity provider here. */
  get signsInPeople(): boolean {
    return this.deps.identity !== undefined;
  }

  /** Starts a person's sign-in: where to send the browser, and what to keep for the callback. */
  beginSignIn(redirectUri: string) {
    return this.requireIdentity().beginSignIn(redirectUri);
  }

  /** Finishes it from the provider's callback: a session for the person it vouched for. */
  async finishSignIn(callback: URL, pending: PendingSignIn) {
    const person = await this.requireIdentity().finishSignIn(callback, pending);
    return signInPerson(
      this.deps.repository,
      person,
      this.deps.config.identity.roleGroups,
      this.now(),
    );
  }

  /** The provider's own sign-out, back to `returnTo`, where it has one. */
  async signOutUrl(returnTo: string): Promise<string | undefined> {
    return this.deps.identity?.signOutUrl(returnTo);
  }

  private requireIdentity(): IdentityProvider {
    if (!this.deps.identity)
      throw new PkiError("SIGN_IN_FAILED", "No identity provider is configured here.");
    return this.deps.identity;
  }

  session(secret: string) {
    return findSession(this.deps.repository, secret, this.deps.config.identity.roleGroups);
  }

  signOut(secret: string) {
    return signOut(this.deps.repository, secret);
  }

  listRequests(status: RequestStatus, page: PageInput) {
    return listRequests(this.deps.repository, status, page);
  }

  /** A page of the certificate inventory as `viewer` may see it (inventory-listing.ts). */
  certificateInventory(query: InventoryQuery, viewer: Principal) {
    return inventoryPage(this.deps.inventory, query, viewer, this.now());
  }

  /** Every certificate matching `filter` that `viewer` may see, streamed, for exports. */
  exportCertificateInventory(filter: InventoryFilter, viewer: Principal) {
    return inventoryExport(this.deps.inventory, filter, viewer, this.now());
  }

  searchRequests(text: string) {
    return searchRequests(this.deps.repository, text);
  }

  /**
   * The request if `viewer` may read it: their own, a shared group's, or any for those who read
   * everything. Undefined otherwise, as for a request that does not exist.
   */
  async getRequest(id: string, viewer: Principal): Promise<RequestView | undefined> {
    const request = await this.deps.repository.getRequest(id);
    return request && mayRead(viewer, request.principal) ? this.view(request) : undefined;
  }

  /**
   * The certificate if `viewer` may read its request: a principal, or `ofRequest` for a caller
   * that has already opened the request it was issued for (by its status link, say).
   * Undefined otherwise, as for an unknown serial.
   */
  async getCertificate(
    serial: string,
    viewer: Principal | { readonly ofRequest: string },
  ): Promise<CertificateView | undefined> {
    const record = await this.deps.repository.getCertificate(serial);
    if (!record) return undefined;
    if ("ofRequest" in viewer) {
      if (viewer.ofRequest !== record.requestId) return undefined;
    } else {
      const request = await this.deps.repository.getRequest(record.requestId);
      if (!request || !mayRead(viewer, request.principal)) return undefined;
    }
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
    // Its holder has the successor now; revokeSuperseded never fails the download.
    await revokeSuperseded({ ...this.deps, now: () => this.now() }, record);
    return {
      ...record,
      status: revocation ? "revoked" : expired ? "expired" : "valid",
      revocation: revocation ? revocationView(revocation) : null,
      renewal: renewalView(this.deps.config, record),
      pem: Buffer.from(object.body).toString("utf8"),
      chainPem,
    };
  }

  /** Revokes a certificate (idempotent: again, it returns the first revocation). */
  async revokeCertificate(serial: string, reason: string, caller: Principal) {
    const { record, created } = await revokeCertificate(this.deps, {
      serial,
      reason,
      revokedBy: describePrincipal(caller),
    });
    return { ...revocationView(record), created };
  }

  /**
   * The published CRL (DER) of the issuing CA or of the root above it; undefined before the
   * issuing CA's first publication. A root whose CRL is not here: see ca-choice.ts.
   */
  async crl(which: CrlCa = "issuing"): Promise<Uint8Array | undefined> {
    const caId = await crlCaId(this.deps.ca, which);
    const object = await this.deps.objects.get(publicationKeys(caId).crl);
    if (!object && which === "root") throw await rootCrlMissing(this.deps.ca);
    return object?.body;
  }

  async crlStatus(which: CrlCa = "issuing") {
    const status = await crlStatus(this.deps, await crlCaId(this.deps.ca, which));
    if (!status && which === "root") throw await rootCrlMissing(this.deps.ca);
    return status;
  }

  /** A public object (CRL, CA certificate, trust store); any other key is not found. */
  async publishedObject(key: string) {
    return isPublicationKey(key) ? this.deps.objects.get(key) : undefined;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * What the link's holder is asked to decide, also after the link was used or the request
   * moved on. APPROVAL_TOKEN_INVALID for a wrong token.
   */
  getApproval(requestId: string, token: string): Promise<ApprovalView> {
    return this.decisions.show(requestId, token);
  }

  /**
   * Records a decision through an approval link (approval-decisions.ts): bound to its
   * approver, never the submitter's own, refusals in the audit trail.
   */
  async decide(
    requestId: string,
    token: string,
    decision: "approve" | "reject",
    reason: string | undefined,
    signedIn?: Principal,
  ): Promise<RequestView> {
    return this.view(await this.decisions.decide(requestId, token, decision, reason, signedIn));
  }

  /**
   * The request's approval as the operators' request page shows it, and whether `viewer` may
   * decide it there (signed-in-decisions.ts); undefined when they may not read the request.
   */
  async approvalProgress(
    requestId: string,
    viewer: Principal,
  ): Promise<ApprovalProgressView | undefined> {
    const request = await this.deps.repository.getRequest(requestId);
    if (!request || !mayRead(viewer, request.principal)) return undefined;
    return this.signedInDecisions.progress(request, viewer);
  }

  /**
   * A decision by an approver signed in in person, without the emailed link: their own link,
   * found by who they are; never the submitter's; refusals in the audit trail.
   */
  async decideSignedIn(
    requestId: string,
    decision: "approve" | "reject",
    reason: string | undefined,
    signedIn: Principal,
  ): Promise<RequestView> {
    return this.view(await this.signedInDecisions.decide(requestId, decision, reason, signedIn));
  }

  /**
   * Resends a pending request's approval mails (admin): new links for every approver yet to
   * decide, the earlier ones no longer valid (approval-resend.ts).
   */
  resendApprovalMails(requestId: string, caller: Principal): Promise<ApprovalResendResult> {
    return resendApprovalMails({ ...this.deps, now: () => this.now() }, requestId, caller);
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
      requestedBy: describePrincipal(request.principal),
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

/** A compact JWS (an access token), not an API key: three base64url parts. */
function isJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}
