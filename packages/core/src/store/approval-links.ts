/**
 * Approval links inside a request, as pure functions the repository's writes plan with:
 * finding an approver's link by who they are (a decision made signed in, without the link's
 * secret), and replacing the undecided links when an admin resends the approval mails, so that
 * every earlier secret of a replaced link stops working. No I/O here: the DynamoDB repository
 * reads the item, plans with these, and writes on the condition that nothing changed meanwhile.
 */
import { PkiError } from "../errors.ts";
import { isSamePerson } from "../identity/principal.ts";

/** What these functions need of a link; the stored link has these fields and its hashes. */
export interface LinkState {
  readonly approver: string;
  readonly expiresAt: string;
  readonly usedAt: string | null;
}

/** A stored link: the hash of its secret (and of secrets it was sent with before), never a secret. */
export interface StoredLink extends LinkState {
  readonly secretHash: string;
  readonly earlierSecretHashes?: readonly string[];
  readonly decision: "approve" | "reject" | null;
}

/**
 * The link of the person `approver` names (case and "+tag" ignored, as four eyes compares),
 * with its key in `links`. When configuration lists one person under two aliases, a decided
 * link wins, so nobody decides twice by being asked twice.
 */
export function findLinkByApprover<L extends LinkState>(
  links: Readonly<Record<string, L>>,
  approver: string,
): [string, L] | undefined {
  const mine = Object.entries(links).filter(([, link]) => isSamePerson(link.approver, approver));
  return (
    mine.find(([, link]) => link.usedAt !== null) ??
    mine.find(([, link]) => link.approver.toLowerCase() === approver.toLowerCase()) ??
    mine[0]
  );
}

/**
 * Why `approver` has no link on the request: they submitted it (four eyes left them out) or
 * they are not one of its approvers.
 */
export function noLinkError(
  requestId: string,
  approver: string,
  submitter: string | null,
  listed: readonly string[],
): PkiError {
  if (isSamePerson(approver, submitter)) {
    return new PkiError("APPROVAL_SELF", `${approver} submitted request ${requestId}.`);
  }
  return new PkiError(
    "APPROVER_NOT_LISTED",
    `${approver} is not an approver of request ${requestId}; its approvers are ${listed.join(", ") || "nobody"}.`,
    { approvers: [...listed] },
  );
}

export interface LinkReplacementPlan<L extends StoredLink> {
  /** Every link of the request, the replaced ones with their new hash only. */
  readonly links: Record<string, L | StoredLink>;
  /** Approvers whose links were replaced, in the order given. */
  readonly replaced: readonly string[];
  /** Approvers given who have decided: their links are left as they are. */
  readonly decided: readonly string[];
}

/**
 * Replaces the link of each approver given with a new secret's hash, dropping the link's
 * current and earlier hashes, so only the newest mail's link opens it; its expiry stays. An
 * approver who has decided keeps their link (and is reported in `decided`). Errors:
 * APPROVER_NOT_LISTED (no link for an approver given), APPROVAL_EXPIRED (past a link's expiry),
 * APPROVAL_ALREADY_DECIDED (everyone given has decided: nothing to replace).
 */
export function planLinkReplacement<L extends StoredLink>(
  requestId: string,
  current: Readonly<Record<string, L>>,
  replacements: readonly { readonly approver: string; readonly secretHash: string }[],
  now: Date,
): LinkReplacementPlan<L> {
  const links: Record<string, L | StoredLink> = { ...current };
  const replaced: string[] = [];
  const decided: string[] = [];
  for (const { approver, secretHash } of replacements) {
    const key = approver.toLowerCase();
    const link = current[key];
    if (!link) {
      throw new PkiError(
        "APPROVER_NOT_LISTED",
        `${approver} has no approval link on request ${requestId}.`,
      );
    }
    if (link.usedAt !== null) {
      decided.push(link.approver);
      continue;
    }
    if (now.getTime() >= Date.parse(link.expiresAt)) {
      throw new PkiError("APPROVAL_EXPIRED", `The links expired at ${link.expiresAt}.`, {
        expiresAt: link.expiresAt,
      });
    }
    links[key] = {
      approver: link.approver,
      secretHash,
      expiresAt: link.expiresAt,
      usedAt: null,
      decision: null,
    };
    replaced.push(link.approver);
  }
  if (replaced.length === 0) {
    throw new PkiError(
      "APPROVAL_ALREADY_DECIDED",
      `Every approver asked about request ${requestId} has decided; no link is left to replace.`,
    );
  }
  const hashes = Object.values(links).flatMap((l) => [
    l.secretHash,
    ...(l.earlierSecretHashes ?? []),
  ]);
  if (new Set(hashes).size !== hashes.length)
    throw new TypeError("a link secret is already in use");
  return { links, replaced, decided };
}
