/**
 * What the HTTP API needs from the domain, as one narrow interface. The registration authority
 * in @spca/core implements it over the repository, the workflow engine and the CA; tests can
 * give a fake. Views are the JSON the API returns, so routes only translate HTTP.
 */
import type {
  ApprovalView,
  CertificateView,
  CrlStatusView,
  PublishedObject,
  RequestView,
  RevocationView,
} from "@spca/core/ra/views";

export type {
  ApprovalView,
  CertificateView,
  CrlStatusView,
  HistoryEntry,
  PublishedObject,
  RequestView,
  RevocationView,
} from "@spca/core/ra/views";

export type Role = "requester" | "admin";

export interface Caller {
  /** API key id, or "anonymous" where submission is open. */
  readonly keyId: string;
  readonly role: Role | "anonymous";
  readonly address: string;
}

export interface SubmitInput {
  /** PEM text or DER bytes, exactly as received. */
  readonly csr: string | Uint8Array;
  readonly email: string;
  readonly profile: string;
  readonly comment?: string;
  readonly validityDays?: number;
}

export interface ApiKeyView {
  /** Public id: the first 16 hex digits of the key's SHA-256. */
  readonly id: string;
  readonly role: Role;
  readonly label: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface ApiServices {
  /** The key's id and role for a raw bearer key, or undefined when it is unknown or revoked. */
  authenticate(rawKey: string): Promise<{ keyId: string; role: Role } | undefined>;
  submit(
    input: SubmitInput,
    caller: Caller,
    idempotencyKey: string | undefined,
  ): Promise<{
    request: RequestView;
    created: boolean;
    /** The status page's link secret, for a new request only (it is stored hashed). */
    statusToken?: string | null;
  }>;
  getRequest(id: string): Promise<RequestView | undefined>;
  getCertificate(serial: string): Promise<CertificateView | undefined>;
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
  ): Promise<RequestView>;
  caChainPem(): Promise<string>;
  /**
   * Revokes a certificate (admin). Idempotent: again, it returns the first revocation with
   * `created: false`. CERT_NOT_FOUND, CERT_EXPIRED.
   */
  revokeCertificate(
    serial: string,
    reason: string,
    caller: Caller,
  ): Promise<RevocationView & { created: boolean }>;
  /** The published CRL, DER; undefined before the first publication. */
  crl(): Promise<Uint8Array | undefined>;
  crlStatus(): Promise<CrlStatusView | undefined>;
  /** A published object (CRL, CA certificate, trust store) by its bucket key. */
  publishedObject(key: string): Promise<PublishedObject | undefined>;
  /** Makes a key; the secret is returned here once and stored only hashed. */
  createApiKey(role: Role, label: string): Promise<{ key: string; record: ApiKeyView }>;
  listApiKeys(): Promise<readonly ApiKeyView[]>;
  /** Idempotent; throws PkiError API_KEY_NOT_FOUND for an unknown id. */
  revokeApiKey(id: string): Promise<ApiKeyView>;
}
