/**
 * The items this repository keeps on the one table (docs/dynamodb.md), with no I/O: their keys,
 * the request item (the Request with its audit history, approval links, task token and
 * `version`, all in one item so that one UpdateItem changes them together), and the mapping from
 * stored items to the port's models. The modules that read and write the table share these, so
 * every one of them names and reads an item the same way.
 */
import { createHash } from "node:crypto";
import type { RequestPrincipal } from "../identity/principal.ts";
import type { AuditEntry, Decision, Request, RequestStatus } from "../requests/request.ts";
import type { Item } from "./dynamo-access.ts";
import type { StatusSecretAttributes } from "./dynamo-status-secrets.ts";
import type { ApiKeyRecord, ApprovalLink, ApprovalState } from "./request-repository.ts";

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Stored approval link: the hash of its secret, never the secret. */
export interface LinkItem {
  readonly approver: string;
  readonly secretHash: string;
  /**
   * Hashes of links this approver was sent before this one, still valid: a re-run sends a new
   * link when the last mail was not recorded as sent, but a mail cut short by a crash may
   * have gone out all the same, and its link must keep working.
   */
  readonly earlierSecretHashes?: readonly string[];
  readonly expiresAt: string;
  readonly usedAt: string | null;
  readonly decision: Decision["decision"] | null;
}

export type StoredAuditEntry = Omit<AuditEntry, "seq">;

export interface RequestItem extends Omit<Request, "principal" | "renews">, StatusSecretAttributes {
  /** Absent on requests stored before principals were recorded. */
  readonly principal?: RequestPrincipal;
  readonly renews?: string | null;
  readonly pk: string;
  readonly sk: string;
  readonly gsi1pk: string;
  readonly gsi1sk: string;
  readonly version: number;
  readonly history: readonly StoredAuditEntry[];
  readonly taskToken: string | null;
  readonly links: Readonly<Record<string, LinkItem>>;
  /** Absent on requests created without a status link. */
  readonly statusSecretHash?: string;
}

export const key = {
  request: (id: string) => ({ pk: `REQ#${id}`, sk: "REQUEST" }),
  message: (id: string, kind: string) => ({ pk: `REQ#${id}`, sk: `MSG#${kind}` }),
  idempotency: (scope: string, idempotencyKey: string) => ({
    pk: `IDEM#${sha256Hex(JSON.stringify([scope, idempotencyKey]))}`,
    sk: "IDEMPOTENCY",
  }),
  certificate: (serial: string) => ({ pk: `CERT#${serial}`, sk: "CERTIFICATE" }),
  apiKey: (id: string) => ({ pk: `APIKEY#${id}`, sk: "APIKEY" }),
  session: (secretHash: string) => ({ pk: `SESSION#${secretHash}`, sk: "SESSION" }),
};

export const statusIndexKey = (status: RequestStatus) => `STATUS#${status}`;
export const API_KEYS_INDEX_KEY = "APIKEYS";

export function toRequest(item: RequestItem): Request {
  return {
    id: item.id,
    status: item.status,
    requester: item.requester,
    principal: item.principal ?? legacyPrincipal(item),
    profile: item.profile,
    comment: item.comment,
    csr: item.csr,
    csrSummary: item.csrSummary,
    validityDays: item.validityDays,
    approval: item.approval,
    decisions: item.decisions,
    reason: item.reason,
    serial: item.serial,
    executionId: item.executionId,
    submittedBy: item.submittedBy,
    // Absent on requests stored before renewals.
    renews: item.renews ?? null,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

export function toApprovalLink(link: LinkItem): ApprovalLink {
  return {
    approver: link.approver,
    expiresAt: link.expiresAt,
    usedAt: link.usedAt,
    decision: link.decision,
  };
}

export function toApprovalState(item: RequestItem): ApprovalState {
  return {
    requestId: item.id,
    status: item.status,
    taskToken: item.taskToken,
    deadline: item.approval.deadline,
    quorum: item.approval.quorum,
    links: Object.values(item.links).map(toApprovalLink),
  };
}

export function toApiKey(item: Item): ApiKeyRecord {
  return {
    id: item.id,
    role: item.role,
    label: item.label,
    owner: item.owner ?? null,
    createdAt: item.createdAt,
    revokedAt: item.revokedAt ?? null,
  };
}

/**
 * Requests stored before principals were recorded: the key that submitted (then stored as its
 * bare id), and the address typed then (all four eyes had to go on).
 */
function legacyPrincipal(item: RequestItem): RequestPrincipal {
  const by = item.submittedBy;
  const id = by && /^[0-9a-f]{16}$/.test(by) ? `api-key:${by}` : `anonymous:${by ?? "unknown"}`;
  return { id, email: item.requester, groups: [] };
}

/** Whose approval would be their own: the submitter's address, typed if nobody signed in. */
export function submitterEmail(item: RequestItem): string {
  const principal = item.principal ?? legacyPrincipal(item);
  return principal.email ?? item.requester;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function requireSha256(value: string, what: string): void {
  if (!SHA256_HEX.test(value)) throw new TypeError(`${what} is not a lowercase hex SHA-256`);
}
