/**
 * A request's approval, kept in the request's own item: opening it (each approver's link as the
 * hash of its secret, the task token, the deadline), reading it and finding a link by its
 * secret's hash, recording a decision (using up the link and, at quorum or on a rejection,
 * moving the status in the same write), and replacing the undecided links when the mails are
 * resent. Every write is an optimistic one (dynamo-request-context.ts); the planning of links
 * that needs no I/O is approval-links.ts.
 */
import { PkiError } from "../errors.ts";
import { isSamePerson } from "../identity/principal.ts";
import { approversOf, type Decision, isRequestId } from "../requests/request.ts";
import { findLinkByApprover, noLinkError, planLinkReplacement } from "./approval-links.ts";
import { Expression } from "./dynamo-access.ts";
import {
  getRequestItem,
  optimisticUpdate,
  type RequestTableContext,
} from "./dynamo-request-context.ts";
import {
  type LinkItem,
  type RequestItem,
  requireSha256,
  SHA256_HEX,
  type StoredAuditEntry,
  statusIndexKey,
  submitterEmail,
  toApprovalLink,
  toApprovalState,
  toRequest,
} from "./dynamo-request-items.ts";
import type {
  ApprovalLinkView,
  ApprovalState,
  DecisionInput,
  DecisionResult,
  OpenApprovalInput,
  ReplaceApprovalLinksInput,
  ReplaceApprovalLinksResult,
} from "./request-repository.ts";

export async function openApproval(
  ctx: RequestTableContext,
  requestId: string,
  input: OpenApprovalInput,
): Promise<ApprovalState> {
  const seen = new Set<string>();
  for (const link of input.links) {
    requireSha256(link.secretHash, "secretHash");
    const mailbox = mailboxKey(link.approver);
    if (seen.has(mailbox)) throw new TypeError(`two links for ${link.approver}`);
    seen.add(mailbox);
  }
  if (new Set(input.links.map((l) => l.secretHash)).size !== input.links.length)
    throw new TypeError("two links share a secret");

  return optimisticUpdate(ctx, requestId, async (item) => {
    if (item.status !== "pending_approval") {
      throw new PkiError("APPROVAL_NOT_PENDING", `Request ${requestId} is ${item.status}.`, {
        status: item.status,
      });
    }
    const links: Record<string, LinkItem> = { ...item.links };
    for (const link of input.links) {
      if (isSamePerson(link.approver, submitterEmail(item))) {
        throw new PkiError("APPROVAL_SELF", `${link.approver} submitted request ${requestId}.`);
      }
      if (!item.approval.approvers.some((a) => mailboxKey(a) === mailboxKey(link.approver))) {
        throw new PkiError("APPROVER_NOT_LISTED", `${link.approver}, request ${requestId}.`);
      }
      const existing = links[mailboxKey(link.approver)];
      if (existing?.usedAt) {
        throw new PkiError("APPROVAL_ALREADY_DECIDED", `${link.approver} has decided.`);
      }
      const earlier = existing
        ? [...(existing.earlierSecretHashes ?? []), existing.secretHash]
        : [];
      links[mailboxKey(link.approver)] = {
        approver: link.approver,
        secretHash: link.secretHash,
        ...(earlier.length > 0
          ? { earlierSecretHashes: earlier.filter((h) => h !== link.secretHash) }
          : {}),
        expiresAt: link.expiresAt,
        usedAt: null,
        decision: null,
      };
    }
    const otherHashes = Object.values(links).flatMap((l) => [
      l.secretHash,
      ...(l.earlierSecretHashes ?? []),
    ]);
    if (new Set(otherHashes).size !== otherHashes.length)
      throw new TypeError("a link secret is already in use");
    const at = ctx.clock().toISOString();
    const approval = { ...item.approval, deadline: input.deadline };
    const entry: StoredAuditEntry = {
      at,
      actor: input.actor ?? "workflow:RequestApproval",
      action: "approval.opened",
      from: null,
      to: null,
      details: { approvers: input.links.map((l) => l.approver), deadline: input.deadline },
    };
    const x = new Expression();
    return {
      x,
      update: [
        `${x.name("links")} = ${x.value(links)}`,
        `${x.name("taskToken")} = ${x.value(input.taskToken)}`,
        `${x.name("approval")} = ${x.value(approval)}`,
        `${x.name("updatedAt")} = ${x.value(at)}`,
        `${x.name("history")} = list_append(${x.name("history")}, ${x.value([entry])})`,
      ],
      condition: `${x.name("status")} = ${x.value("pending_approval")}`,
      result: (updated: RequestItem) => toApprovalState(updated),
    };
  });
}

export async function getApproval(
  ctx: RequestTableContext,
  requestId: string,
): Promise<ApprovalState | undefined> {
  const item = await getRequestItem(ctx, requestId);
  return item && toApprovalState(item);
}

export async function findApprovalLink(
  ctx: RequestTableContext,
  requestId: string,
  secretHash: string,
): Promise<ApprovalLinkView | undefined> {
  if (!SHA256_HEX.test(secretHash) || !isRequestId(requestId)) return undefined;
  const item = await getRequestItem(ctx, requestId);
  const link = item && findLink(item, secretHash);
  return item && link ? { request: toRequest(item), link: toApprovalLink(link[1]) } : undefined;
}

export async function recordDecision(
  ctx: RequestTableContext,
  requestId: string,
  input: DecisionInput,
): Promise<DecisionResult> {
  // Through a link (its secret's hash), or by the signed-in approver (approval-links.ts).
  const { approver, secretHash } = input;
  const invalid = () =>
    approver === undefined
      ? new PkiError("APPROVAL_TOKEN_INVALID", `Request ${requestId}.`, { requestId })
      : new PkiError("REQUEST_NOT_FOUND", `Request ${requestId}.`);
  if (!isRequestId(requestId) || (approver === undefined && !SHA256_HEX.test(secretHash)))
    throw invalid();
  let decided: Pick<DecisionResult, "approver" | "tally" | "outcome"> | undefined;
  const request = await optimisticUpdate(
    ctx,
    requestId,
    async (item) => {
      const found =
        approver === undefined
          ? findLink(item, secretHash)
          : findLinkByApprover(item.links, approver);
      if (!found && approver !== undefined)
        throw noLinkError(requestId, approver, submitterEmail(item), item.approval.approvers);
      if (!found) throw invalid();
      const [linkKey, link] = found;
      if (link.usedAt !== null) {
        throw new PkiError(
          "APPROVAL_ALREADY_DECIDED",
          `${link.approver} decided "${link.decision}" at ${link.usedAt}.`,
          { decision: link.decision, usedAt: link.usedAt },
        );
      }
      if (item.status !== "pending_approval") {
        throw new PkiError("APPROVAL_NOT_PENDING", `Request ${requestId} is ${item.status}.`, {
          status: item.status,
        });
      }
      const now = ctx.clock();
      if (now.getTime() >= Date.parse(link.expiresAt)) {
        throw new PkiError("APPROVAL_EXPIRED", `The link expired at ${link.expiresAt}.`, {
          expiresAt: link.expiresAt,
        });
      }
      if (isSamePerson(link.approver, submitterEmail(item))) {
        throw new PkiError("APPROVAL_SELF", `${link.approver} submitted request ${requestId}.`);
      }
      const at = now.toISOString();
      const reason = input.reason ?? null;
      const decisions: Decision[] = [
        ...item.decisions,
        { approver: link.approver, decision: input.decision, reason, at },
      ];
      const tally = tallyOf(decisions, item.approval.quorum);
      const outcome = tally.rejected
        ? "rejected"
        : tally.approvals >= tally.quorum
          ? "approved"
          : "pending";
      decided = { approver: link.approver, tally, outcome };
      const actor = input.actor ?? `approver:${link.approver}`;
      const entries: StoredAuditEntry[] = [
        {
          at,
          actor,
          action: `approval.${input.decision}`,
          from: null,
          to: null,
          details: {
            reason,
            approvals: tally.approvals,
            quorum: tally.quorum,
            ...(input.via === undefined ? {} : { via: input.via }),
          },
        },
      ];
      const x = new Expression();
      const update = [
        `${x.name("links")}.${x.name(linkKey)}.${x.name("usedAt")} = ${x.value(at)}`,
        `${x.name("links")}.${x.name(linkKey)}.${x.name("decision")} = ${x.value(input.decision)}`,
        `${x.name("decisions")} = ${x.value(decisions)}`,
        `${x.name("updatedAt")} = ${x.value(at)}`,
      ];
      if (outcome !== "pending") {
        entries.push({
          at,
          actor,
          action: outcome,
          from: "pending_approval",
          to: outcome,
          details: outcome === "approved" ? { approvers: approversOf(decisions) } : { reason },
        });
        update.push(
          `${x.name("status")} = ${x.value(outcome)}`,
          `${x.name("gsi1pk")} = ${x.value(statusIndexKey(outcome))}`,
        );
        if (outcome === "rejected")
          update.push(
            `${x.name("reason")} = ${x.value(reason ?? `Rejected by ${link.approver}.`)}`,
          );
      }
      update.push(`${x.name("history")} = list_append(${x.name("history")}, ${x.value(entries)})`);
      const linkPath = `${x.name("links")}.${x.name(linkKey)}`;
      return {
        x,
        update,
        condition: [
          `${x.name("status")} = ${x.value("pending_approval")}`,
          // The link as read (the version condition holds the rest of the item still).
          `${linkPath}.${x.name("secretHash")} = ${x.value(link.secretHash)}`,
          `attribute_type(${linkPath}.${x.name("usedAt")}, ${x.value("NULL")})`,
        ].join(" AND "),
        result: (updated: RequestItem) => updated,
      };
    },
    () => invalid(),
  );
  const done = decided!;
  return {
    request: toRequest(request),
    approver: done.approver,
    tally: done.tally,
    outcome: done.outcome,
    taskToken: request.taskToken,
  };
}

export async function replaceApprovalLinks(
  ctx: RequestTableContext,
  requestId: string,
  input: ReplaceApprovalLinksInput,
): Promise<ReplaceApprovalLinksResult> {
  for (const link of input.links) requireSha256(link.secretHash, "secretHash");
  let plan: { replaced: readonly string[]; decided: readonly string[] } | undefined;
  const state = await optimisticUpdate(ctx, requestId, async (item) => {
    if (item.status !== "pending_approval") {
      throw new PkiError("APPROVAL_NOT_PENDING", `Request ${requestId} is ${item.status}.`, {
        status: item.status,
      });
    }
    const now = ctx.clock();
    const { links, replaced, decided } = planLinkReplacement(
      requestId,
      item.links,
      input.links,
      now,
    );
    plan = { replaced, decided };
    const at = now.toISOString();
    const entry: StoredAuditEntry = {
      at,
      actor: input.actor,
      action: "approval.resent",
      from: null,
      to: null,
      details: {
        approvers: [...replaced],
        ...(decided.length > 0 ? { decided: [...decided] } : {}),
      },
    };
    const x = new Expression();
    return {
      x,
      update: [
        `${x.name("links")} = ${x.value(links)}`,
        `${x.name("updatedAt")} = ${x.value(at)}`,
        `${x.name("history")} = list_append(${x.name("history")}, ${x.value([entry])})`,
      ],
      condition: `${x.name("status")} = ${x.value("pending_approval")}`,
      result: (updated: RequestItem) => toApprovalState(updated),
    };
  });
  return { state, replaced: plan!.replaced, decided: plan!.decided };
}

function findLink(item: RequestItem, secretHash: string): [string, LinkItem] | undefined {
  return Object.entries(item.links).find(
    ([, link]) =>
      link.secretHash === secretHash || (link.earlierSecretHashes ?? []).includes(secretHash),
  );
}

function tallyOf(decisions: readonly Decision[], quorum: number): DecisionResult["tally"] {
  const approvers = new Set(
    decisions.filter((d) => d.decision === "approve").map((d) => mailboxKey(d.approver)),
  );
  return {
    approvals: approvers.size,
    quorum,
    rejected: decisions.some((d) => d.decision === "reject"),
  };
}

/** Approvers compare case-insensitively, as the configuration's approver list does. */
function mailboxKey(email: string): string {
  return email.toLowerCase();
}
