/**
 * What the HTTP API needs from the domain, as one narrow interface. The registration authority
 * in @spca/core implements it over the repository, the workflow engine and the CA; tests can
 * give a fake. Views are the JSON the API returns, so routes only translate HTTP.
 */
import type { CrlCa } from "@spca/core/crl/ca-choice";
import type { Principal } from "@spca/core/identity/principal";
import type { InventoryFilter, InventoryQuery } from "@spca/core/inventory/filter";
import type { InventoryRow } from "@spca/core/inventory/rows";
import type {
  ApprovalView,
  CertificateView,
  CrlStatusView,
  PublishedObject,
  RequestView,
  RevocationView,
} from "@spca/core/ra/views";
import type { ApiKeyRole } from "@spca/core/store/request-repository";

export type { Principal } from "@spca/core/identity/principal";
export type {
  ApprovalView,
  CertificateView,
  CrlStatusView,
  HistoryEntry,
  PublishedObject,
  RequestView,
  RevocationView,
} from "@spca/core/ra/views";
export type Role = ApiKeyRole;

export interface SubmitInput {
  /** PEM text or DER bytes, exactly as received. */
  readonly csr: string | Uint8Array;
  /** The notification address; absent: the principal's own. */
  readonly email?: string;
  readonly profile: string;
  readonly comment?: string;
  readonly validityDays?: number;
}

export interface RenewInput {
  /** PEM text, as received. */
  readonly csr: string;
  /** If given, the renewed certificate's profile. */
  readonly profile?: string | undefined;
  /** The notification address; absent: the renewed certificate's. */
  readonly email?: string | undefined;
  readonly comment?: string | undefined;
  readonly validityDays?: number | undefined;
}

export interface ApiKeyView {
  /** Public id: the first 16 hex digits of the key's SHA-256. */
  readonly id: string;
  readonly role: Role;
  readonly label: string;
  /** The person the key acts for; null only on keys made before keys had owners. */
  readonly owner: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface ApiServices {
  /**
   * The principal a bearer credential names (an API key, or a person's access token from the
   * identity provider); undefined when it is unknown, revoked, expired or not valid.
   */
  authenticate(credential: string): Promise<Principal | undefined>;
  /** Nobody signed in, where submission is open. */
  anonymous(address: string): Principal;
  submit(
    input: SubmitInput,
    caller: Principal,
    idempotencyKey: string | undefined,
  ): Promise<{
    request: RequestView;
    created: boolean;
    /** The status page's link secret, for a new request only (it is stored hashed). */
    statusToken?: string | null;
  }>;
  /**
   * Renews certificate `serial` with a new CSR: a new request that renews it, answered like
   * submit's. CERT_NOT_FOUND (also for another requester's), RENEWAL_* refusals, and the
   * CSR and policy codes of a submission.
   */
  renew(
    serial: string,
    input: RenewInput,
    caller: Principal,
    idempotencyKey: string | undefined,
  ): Promise<{ request: RequestView; created: boolean; statusToken?: string | null }>;
  /** Undefined also when `viewer` may not read it (not theirs, no shared group). */
  getRequest(id: string, viewer: Principal): Promise<RequestView | undefined>;
  getCertificate(serial: string, viewer: Principal): Promise<CertificateView | undefined>;
  /**
   * A page of the certificates `viewer` may read, in notAfter order; `next` continues it (with
   * the same filters). PAGE_CURSOR_INVALID for a cursor not given out for these filters.
   */
  certificateInventory(
    query: InventoryQuery,
    viewer: Principal,
  ): Promise<{ readonly items: readonly InventoryRow[]; readonly next: string | null }>;
  /** Every certificate `viewer` may read that matches, in notAfter order, read lazily. */
  exportCertificateInventory(
    filter: InventoryFilter,
    viewer: Principal,
  ): AsyncIterable<InventoryRow>;
  /**
   * What the link's holder is asked to decide, also after the link was used or the request
   * moved on (`decided`, `status` say so). Throws APPROVAL_TOKEN_INVALID for a wrong token.
   */
  getApproval(requestId: string, token: string): Promise<ApprovalView>;
  decide(
    requestId: string,
    token: string,
    decision: "approve" | "reject",
    reason: string | undefined,
    /** Whoever is signed in while deciding: they must be the link's approver. */
    signedIn?: Principal,
  ): Promise<RequestView>;
  caChainPem(): Promise<string>;
  /**
   * Resends a pending request's approval mails (admin): a new link for every approver who has
   * not decided, their earlier links no longer valid. REQUEST_NOT_FOUND, APPROVAL_NOT_PENDING,
   * APPROVAL_ALREADY_DECIDED, APPROVAL_EXPIRED, REQUEST_STATE_CONFLICT (not mailed yet);
   * APPROVAL_RESEND_INCOMPLETE when links were replaced but a mail failed (resend again).
   */
  resendApprovalMails(
    requestId: string,
    caller: Principal,
  ): Promise<{
    readonly id: string;
    readonly status: string;
    readonly mailed: readonly string[];
    readonly decided: readonly string[];
    readonly deadline: string | null;
  }>;
  /**
   * Revokes a certificate (admin). Idempotent: again, it returns the first revocation with
   * `created: false`. CERT_NOT_FOUND, CERT_EXPIRED.
   */
  revokeCertificate(
    serial: string,
    reason: string,
    caller: Principal,
  ): Promise<RevocationView & { created: boolean }>;
  /**
   * The published CRL, DER, of the issuing CA (default) or of the root above it; undefined
   * before the first publication. For the root: CRL_ROOT_UNAVAILABLE when it has no CRL here
   * (a one-tier CA, a root kept elsewhere), CRL_NOT_PUBLISHED before its first.
   */
  crl(which?: CrlCa): Promise<Uint8Array | undefined>;
  crlStatus(which?: CrlCa): Promise<CrlStatusView | undefined>;
  /** A published object (CRL, CA certificate, trust store) by its bucket key. */
  publishedObject(key: string): Promise<PublishedObject | undefined>;
  /** Makes a key; the secret is returned here once and stored only hashed. */
  createApiKey(
    role: Role,
    label: string,
    owner: string,
  ): Promise<{ key: string; record: ApiKeyView }>;
  listApiKeys(): Promise<readonly ApiKeyView[]>;
  /** Idempotent; throws PkiError API_KEY_NOT_FOUND for an unknown id. */
  revokeApiKey(id: string): Promise<ApiKeyView>;
}
