/**
 * What the pages need from the domain, as one narrow port. The registration authority in
 * @spca/core implements it (the same object the REST API uses); page tests can give a fake.
 */
import type { CrlStatus } from "@spca/core/crl/publisher";
import type { CertificateRow, RequestRow, SearchResult } from "@spca/core/ra/listing";
import type { CsrPreview } from "@spca/core/ra/registration-authority";
import type { SignedIn } from "@spca/core/ra/sessions";
import type {
  ApprovalView,
  CertificateView,
  RequestView,
  RevocationView,
} from "@spca/core/ra/views";
import type { RequestStatus } from "@spca/core/requests/request";
import type { Page, PageInput, SessionRecord } from "@spca/core/store/request-repository";

export interface WebServices {
  profiles(): readonly { readonly name: string; readonly description: string }[];
  previewCsr(
    csr: string | Uint8Array,
    profile: string | undefined,
    email: string | undefined,
  ): CsrPreview;
  submit(
    input: {
      readonly csr: string | Uint8Array;
      readonly email: string;
      readonly profile: string;
      readonly comment?: string;
    },
    caller: { readonly keyId: string },
    idempotencyKey: undefined,
  ): Promise<{ request: RequestView; created: boolean; statusToken: string | null }>;
  getRequest(id: string): Promise<RequestView | undefined>;
  getRequestByStatusToken(id: string, token: string): Promise<RequestView | undefined>;
  getCertificate(serial: string): Promise<CertificateView | undefined>;
  getApproval(requestId: string, token: string): Promise<ApprovalView>;
  decide(
    requestId: string,
    token: string,
    decision: "approve" | "reject",
    reason: string | undefined,
  ): Promise<RequestView>;
  signIn(rawKey: string): Promise<SignedIn | undefined>;
  session(secret: string): Promise<SessionRecord | undefined>;
  signOut(secret: string): Promise<void>;
  listRequests(status: RequestStatus, page: PageInput): Promise<Page<RequestRow>>;
  listCertificates(status: "issued" | "revoked", page: PageInput): Promise<Page<CertificateRow>>;
  searchRequests(text: string): Promise<SearchResult>;
  revokeCertificate(
    serial: string,
    reason: string,
    caller: { readonly keyId: string },
  ): Promise<RevocationView & { created: boolean }>;
  crlStatus(): Promise<CrlStatus | undefined>;
}
