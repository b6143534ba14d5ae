/**
 * The registration authority's views: the JSON the REST API returns and what the pages render.
 * Plain data, derived from the stored request and certificate records.
 */
import type { CrlStatus } from "../crl/publisher.ts";

export interface HistoryEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly details?: Record<string, unknown>;
}

export interface RequestView {
  readonly id: string;
  readonly status: string;
  readonly profile: string;
  /** The notification address. */
  readonly requester: string;
  /** Who submitted it, as authenticated: "alice@example.com (oidc:…)", "… (api-key:…)". */
  readonly requestedBy: string;
  readonly subject: string;
  readonly sans: readonly { readonly type: string; readonly value: string }[];
  /** Key type and size in words, e.g. "EC P-256". */
  readonly key: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly reason: string | null;
  readonly serial: string | null;
  readonly history: readonly HistoryEntry[];
}

export interface CertificateView {
  readonly serial: string;
  readonly requestId: string;
  readonly profile: string;
  readonly subject: string;
  readonly sans: readonly { readonly type: string; readonly value: string }[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** valid, expired or revoked. */
  readonly status: string;
  readonly revocation: RevocationView | null;
  /** The serial this certificate renews; null for a first issuance. */
  readonly renews: string | null;
  /** The serial of its successor, once renewed; then renew that one. */
  readonly renewedBy: string | null;
  /** When it may be renewed and how (null where its profile is no longer configured). */
  readonly renewal: RenewalView | null;
  readonly pem: string;
  /** Issuing CA first, root last. */
  readonly chainPem: string;
}

export interface RenewalView {
  readonly opensAt: string;
  readonly closesAt: string;
  /** "again": the renewal waits for approvers; "inherit": the original approval stands. */
  readonly approval: "again" | "inherit";
}

export interface RevocationView {
  readonly serial: string;
  readonly reason: string;
  readonly revokedAt: string;
  /** The API key id that revoked it, or "cli". */
  readonly revokedBy: string;
  readonly requestId: string | null;
}

/** The CRL's number, times, entries, size and publication (crl/publisher.ts CrlStatus). */
export type CrlStatusView = CrlStatus;

export interface PublishedObject {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  /** How long caches may keep it (crl/publication-cache.ts). */
  readonly cacheControl?: string | undefined;
}

export interface ApprovalView {
  readonly requestId: string;
  readonly approver: string;
  readonly status: string;
  /** The notification address. */
  readonly requester: string;
  /** Who submitted it, as authenticated: "alice@example.com (oidc:…)", "… (api-key:…)". */
  readonly requestedBy: string;
  readonly profile: string;
  readonly comment: string | null;
  readonly subject: string;
  readonly sans: readonly { readonly type: string; readonly value: string }[];
  readonly key: string;
  readonly csrSha256: string;
  readonly checks: readonly string[];
  readonly expiresAt: string;
  readonly decided: boolean;
  /** Whether the link is past its expiry, by the authority's clock. */
  readonly expired: boolean;
  /** This link's decision once used; null while unused. */
  readonly decision: "approve" | "reject" | null;
  /** Approvals recorded so far, and how many the request needs. */
  readonly approvals: number;
  readonly approvalsRequired: number;
}
