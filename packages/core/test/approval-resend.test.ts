/**
 * Issue 18: a lost approval link. In the store (dynalite): replacing approval links (every
 * earlier hash of a replaced link stops working, decided links and the task token stay, one
 * audit entry) and recording a decision found by the approver instead of a link's secret. In
 * the registration authority with the real workflow: an admin's resend mails new links that
 * decide where the old ones are refused, a mail that fails is said and audited and a second
 * resend mends it, and an approver signed in in person decides without the link, with every
 * refusal in the audit trail.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ErrorCode } from "../src/errors.ts";
import { principalOfKey, principalOfPerson } from "../src/identity/principal.ts";
import type { Mailer } from "../src/notifications/mailer.ts";
import { RegistrationAuthority } from "../src/ra/registration-authority.ts";
import { newRequestId } from "../src/requests/request.ts";
import type { DynamoRequestRepository } from "../src/store/dynamo-request-repository.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { ecCsrFor } from "./support/openssl.ts";
import { rejectsWith } from "./support/pki-error.ts";
import { freshRepository, manualApproval, newRequest } from "./support/request-fixtures.ts";
import { approvalToken, setUp } from "./support/world.ts";

const ALICE = "alice@example.com";
const BOB = "bob@example.com";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("the store", () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => {
    await dynamo.close();
  });

  const setup = () => freshRepository(dynamo);

  /** Pending approval with one link per approver, opened as the approval step does. */
  async function pending(
    repo: DynamoRequestRepository,
    clock: { now: Date },
    approvers: readonly string[],
    quorum = approvers.length,
  ) {
    const { request } = await repo.createRequest(
      newRequest({ approval: manualApproval(approvers, quorum, 3600) }),
    );
    await repo.transition(request.id, { from: "submitted", to: "pending_approval", actor: "t" });
    const deadline = new Date(clock.now.getTime() + 3600_000).toISOString();
    const open = (approver: string, secret: string) =>
      repo.openApproval(request.id, {
        taskToken: "task-token-1",
        deadline,
        links: [{ approver, secretHash: sha256(secret), expiresAt: deadline }],
      });
    for (const approver of approvers) await open(approver, `${approver} first`);
    return { id: request.id, deadline, open };
  }

  test("a resend drops every earlier hash of a replaced link; only the new one opens it", async () => {
    const { repo, clock } = await setup();
    const p = await pending(repo, clock, [ALICE, BOB]);
    // A retried approval step left Alice two valid links (the first kept as an earlier hash).
    await p.open(ALICE, "alice second");
    assert.ok(await repo.findApprovalLink(p.id, sha256(`${ALICE} first`)));
    assert.ok(await repo.findApprovalLink(p.id, sha256("alice second")));

    const result = await repo.replaceApprovalLinks(p.id, {
      links: [
        { approver: ALICE, secretHash: sha256("alice resent") },
        { approver: BOB, secretHash: sha256("bob resent") },
      ],
      actor: "admin@example.com (api-key:fedcba9876543210)",
    });
    assert.deepEqual(result.replaced, [ALICE, BOB]);
    assert.deepEqual(result.decided, []);
    // The task token and the deadline are the workflow's: kept.
    assert.equal(result.state.taskToken, "task-token-1");
    assert.equal(result.state.deadline, p.deadline);
    assert.deepEqual(
      result.state.links.map((l) => [l.approver, l.expiresAt, l.usedAt]),
      [
        [ALICE, p.deadline, null],
        [BOB, p.deadline, null],
      ],
    );
    for (const old of [`${ALICE} first`, "alice second", `${BOB} first`]) {
      assert.equal(await repo.findApprovalLink(p.id, sha256(old)), undefined, old);
      await rejectsWith(
        repo.recordDecision(p.id, { secretHash: sha256(old), decision: "approve" }),
        "APPROVAL_TOKEN_INVALID",
      );
    }
    assert.equal((await repo.findApprovalLink(p.id, sha256("bob resent")))?.link.approver, BOB);
    const decided = await repo.recordDecision(p.id, {
      secretHash: sha256("alice resent"),
      decision: "approve",
    });
    assert.equal(decided.approver, ALICE);
    assert.equal(decided.taskToken, "task-token-1");

    const history = await repo.history(p.id);
    const resent = history.find((h) => h.action === "approval.resent")!;
    assert.equal(resent.actor, "admin@example.com (api-key:fedcba9876543210)");
    assert.deepEqual(resent.details, { approvers: [ALICE, BOB] });
  });

  test("a decided approver's link is left exactly as it was; only undecided ones are replaced", async () => {
    const { repo, clock } = await setup();
    const p = await pending(repo, clock, [ALICE, BOB]);
    await repo.recordDecision(p.id, { secretHash: sha256(`${ALICE} first`), decision: "approve" });
    const before = (await repo.getApproval(p.id))!.links.find((l) => l.approver === ALICE);
    const result = await repo.replaceApprovalLinks(p.id, {
      links: [
        { approver: ALICE, secretHash: sha256("alice resent") },
        { approver: BOB, secretHash: sha256("bob resent") },
      ],
      actor: "admin",
    });
    assert.deepEqual(result.replaced, [BOB]);
    assert.deepEqual(result.decided, [ALICE]);
    assert.deepEqual(
      result.state.links.find((l) => l.approver === ALICE),
      before,
    );
    // Alice's own link still says what she decided; the resent hash opens nothing.
    const view = await repo.findApprovalLink(p.id, sha256(`${ALICE} first`));
    assert.equal(view?.link.decision, "approve");
    assert.equal(await repo.findApprovalLink(p.id, sha256("alice resent")), undefined);
    const entry = (await repo.history(p.id)).find((h) => h.action === "approval.resent")!;
    assert.deepEqual(entry.details, { approvers: [BOB], decided: [ALICE] });
  });

  test("refusals: unknown, not pending, everyone decided, past the deadline, not an approver", async () => {
    const { repo, clock, advance } = await setup();
    const links = [{ approver: ALICE, secretHash: sha256("x") }];
    await rejectsWith(
      repo.replaceApprovalLinks(newRequestId(), { links, actor: "admin" }),
      "REQUEST_NOT_FOUND",
    );
    const p = await pending(repo, clock, [ALICE]);
    await rejectsWith(
      repo.replaceApprovalLinks(p.id, {
        links: [{ approver: "mallory@example.com", secretHash: sha256("m") }],
        actor: "admin",
      }),
      "APPROVER_NOT_LISTED",
    );
    advance(3600);
    await rejectsWith(
      repo.replaceApprovalLinks(p.id, { links, actor: "admin" }),
      "APPROVAL_EXPIRED",
    );

    const q = await pending(repo, clock, [ALICE, BOB], 2);
    await repo.recordDecision(q.id, { secretHash: sha256(`${ALICE} first`), decision: "approve" });
    const before = await repo.history(q.id);
    await rejectsWith(
      repo.replaceApprovalLinks(q.id, {
        links: [{ approver: ALICE, secretHash: sha256("again") }],
        actor: "admin",
      }),
      "APPROVAL_ALREADY_DECIDED",
    );
    assert.equal((await repo.history(q.id)).length, before.length, "nothing written");
    await repo.recordDecision(q.id, { secretHash: sha256(`${BOB} first`), decision: "reject" });
    const notPending = await rejectsWith(
      repo.replaceApprovalLinks(q.id, { links, actor: "admin" }),
      "APPROVAL_NOT_PENDING",
    );
    assert.deepEqual(notPending.details, { status: "rejected" });
    await assert.rejects(
      repo.replaceApprovalLinks(q.id, {
        links: [{ approver: ALICE, secretHash: "x" }],
        actor: "a",
      }),
      TypeError,
    );
  });

  test("a decision by the approver signed in: their link, by mailbox, once; audited as made there", async () => {
    const { repo, clock } = await setup();
    const p = await pending(repo, clock, [ALICE, BOB], 2);
    const first = await repo.recordDecision(p.id, {
      approver: "Alice+ops@Example.com",
      decision: "approve",
      actor: "alice@example.com (oidc:alice)",
      via: "operators-page",
    });
    assert.equal(first.approver, ALICE);
    assert.equal(first.outcome, "pending");
    // Her mailed link is used up by it.
    const view = await repo.findApprovalLink(p.id, sha256(`${ALICE} first`));
    assert.equal(view?.link.decision, "approve");
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: sha256(`${ALICE} first`), decision: "approve" }),
      "APPROVAL_ALREADY_DECIDED",
    );
    await rejectsWith(
      repo.recordDecision(p.id, { approver: ALICE, decision: "reject", reason: "no" }),
      "APPROVAL_ALREADY_DECIDED",
    );
    const second = await repo.recordDecision(p.id, { approver: BOB, decision: "approve" });
    assert.equal(second.outcome, "approved");
    assert.equal(second.taskToken, "task-token-1");
    assert.deepEqual(second.tally, { approvals: 2, quorum: 2, rejected: false });
    const entries = (await repo.history(p.id)).filter((h) => h.action === "approval.approve");
    assert.equal(entries[0]!.actor, "alice@example.com (oidc:alice)");
    assert.deepEqual(entries[0]!.details, {
      reason: null,
      approvals: 1,
      quorum: 2,
      via: "operators-page",
    });
    assert.equal(entries[1]!.details?.via, undefined);
  });

  test("by approver: the submitter, a stranger, an unknown request, too late, not pending", async () => {
    const { repo, clock, advance } = await setup();
    const p = await pending(repo, clock, [ALICE]);
    const self = await rejectsWith(
      repo.recordDecision(p.id, { approver: "Requester+x@example.com", decision: "approve" }),
      "APPROVAL_SELF",
    );
    assert.match(self.message, /submitted request/);
    const stranger = await rejectsWith(
      repo.recordDecision(p.id, { approver: "mallory@example.com", decision: "approve" }),
      "APPROVER_NOT_LISTED",
    );
    assert.match(stranger.message, /its approvers are alice@example\.com/);
    await rejectsWith(
      repo.recordDecision(newRequestId(), { approver: ALICE, decision: "approve" }),
      "REQUEST_NOT_FOUND",
    );
    advance(3600);
    await rejectsWith(
      repo.recordDecision(p.id, { approver: ALICE, decision: "approve" }),
      "APPROVAL_EXPIRED",
    );
    await repo.transition(p.id, { from: "pending_approval", to: "expired", actor: "t" });
    await rejectsWith(
      repo.recordDecision(p.id, { approver: ALICE, decision: "approve" }),
      "APPROVAL_NOT_PENDING",
    );
    assert.equal((await repo.getRequest(p.id))!.decisions.length, 0);
  });
});

describe("the registration authority, with the workflow", () => {
  const work = mkdtempSync(join(tmpdir(), "resend-"));
  let world: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    world = await setUp();
  });
  after(async () => {
    await world.bus.drain();
    await world.close();
    rmSync(work, { recursive: true, force: true });
  });

  const alice = principalOfKey({ id: "0123456789abcdef", role: "requester", owner: ALICE });
  const admin = principalOfKey({
    id: "fedcba9876543210",
    role: "admin",
    owner: "admin@example.com",
  });
  const person = (email: string, groups = ["pki-approvers"]) =>
    principalOfPerson(
      { sub: email.split("@")[0]!, email, groups },
      world.deps.config.identity.roleGroups,
    );

  const submit = async (name: string, profile = "server", by = alice) => {
    const { request } = await world.ra.submit(
      { csr: ecCsrFor(work, name).toString("utf8"), email: "dev@example.com", profile },
      by,
      undefined,
    );
    return request.id;
  };
  /** The newest approval mail's token to `approver` about `id`, once `count` have come. */
  const newestToken = async (approver: string, id: string, count: number) => {
    for (let i = 0; i < 200; i++) {
      const mails = world.mailer
        .to(approver)
        .filter((m) => m.text.includes(`/approvals/${id}?token=`));
      if (mails.length >= count) return /\?token=([A-Za-z0-9_-]{43})/.exec(mails.at(-1)!.text)![1]!;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`fewer than ${count} approval mails to ${approver} about ${id}`);
  };
  const actions = async (id: string) => (await world.repository.history(id)).map((h) => h.action);

  test("resend: the new link decides and the old one is refused; the request is issued", async () => {
    const id = await submit("resend.example.internal");
    const old = await approvalToken(world.mailer, "security@example.com", id);
    const taskToken = (await world.repository.getApproval(id))!.taskToken;
    const resent = await world.ra.resendApprovalMails(id, admin);
    assert.deepEqual(resent.mailed, ["security@example.com"]);
    assert.equal(resent.status, "pending_approval");
    const fresh = await newestToken("security@example.com", id, 2);
    assert.notEqual(fresh, old);
    assert.equal((await world.repository.getApproval(id))!.taskToken, taskToken);
    await rejectsWith(world.ra.getApproval(id, old), "APPROVAL_TOKEN_INVALID");
    await rejectsWith(world.ra.decide(id, old, "approve", undefined), "APPROVAL_TOKEN_INVALID");
    await world.ra.decide(id, fresh, "approve", undefined);
    const done = await world.engine.waitForExecution(id);
    assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
    assert.equal((await world.repository.getRequest(id))!.status, "issued");
    const entry = (await world.repository.history(id)).find((h) => h.action === "approval.resent")!;
    assert.equal(entry.actor, "admin@example.com (api-key:fedcba9876543210)");
    assert.deepEqual(entry.details, { approvers: ["security@example.com"] });
    // Issued now: nothing to resend.
    const notPending = await rejectsWith(
      world.ra.resendApprovalMails(id, admin),
      "APPROVAL_NOT_PENDING",
    );
    assert.match(notPending.message, /is issued/);
    await rejectsWith(world.ra.resendApprovalMails(newRequestId(), admin), "REQUEST_NOT_FOUND");
  });

  test("a mail that fails after the links were replaced is said and audited; a second resend mends it", async () => {
    const id = await submit("partial.example.internal", "server-client");
    const security = "security@example.com";
    const platform = "platform@example.com";
    const oldPlatform = await approvalToken(world.mailer, platform, id);
    await approvalToken(world.mailer, security, id);
    // Platform's mailbox refuses the next mail; security's goes through.
    let refused = false;
    const flaky: Mailer = {
      send: async (mail) => {
        if (mail.to.includes(platform) && !refused) {
          refused = true;
          throw new Error("SES is throttling");
        }
        return world.mailer.send(mail);
      },
    };
    const ra = new RegistrationAuthority({
      ...world.deps,
      inventory: world.inventory,
      engine: world.engine,
      revocations: world.revocations,
      mailer: flaky,
    });
    const incomplete = await rejectsWith(
      ra.resendApprovalMails(id, admin),
      "APPROVAL_RESEND_INCOMPLETE",
    );
    assert.match(incomplete.message, /the mail to platform@example\.com \(SES is throttling\)/);
    assert.match(incomplete.message, /security@example\.com got theirs/);
    assert.match(incomplete.message, /Resend again/);
    assert.deepEqual(incomplete.details, { mailed: [security], failed: [platform] });
    const failedEntry = (await world.repository.history(id)).find(
      (h) => h.action === "approval.resend-failed",
    )!;
    assert.deepEqual(failedEntry.details?.mailed, [security]);
    // Platform's old link is gone with the replacement: the failure is not silent.
    await rejectsWith(world.ra.getApproval(id, oldPlatform), "APPROVAL_TOKEN_INVALID");

    const again = await ra.resendApprovalMails(id, admin);
    assert.deepEqual([...again.mailed].sort(), [platform, security]);
    await world.ra.decide(id, await newestToken(security, id, 3), "approve", undefined);
    await world.ra.decide(id, await newestToken(platform, id, 2), "approve", undefined);
    const done = await world.engine.waitForExecution(id);
    assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
    assert.deepEqual(
      (await actions(id)).filter((a) => a.startsWith("approval.")),
      [
        "approval.opened",
        "approval.resent",
        "approval.resend-failed",
        "approval.resent",
        "approval.approve",
        "approval.approve",
      ],
    );
  });

  test("an approver signed in decides without the link; the workflow goes on", async () => {
    const id = await submit("signed-in.example.internal");
    const link = await approvalToken(world.mailer, "security@example.com", id);
    const security = person("security@example.com");
    const progress = (await world.ra.approvalProgress(id, security))!;
    assert.deepEqual(progress.viewer, { mayDecide: true, approver: "security@example.com" });
    assert.equal(progress.resendable, true);
    const view = await world.ra.decideSignedIn(id, "approve", "looks right", security);
    assert.equal(view.status, "approved");
    const done = await world.engine.waitForExecution(id);
    assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
    const entry = (await world.repository.history(id)).find(
      (h) => h.action === "approval.approve",
    )!;
    assert.equal(entry.actor, "security@example.com (oidc:security)");
    assert.equal(entry.details?.via, "operators-page");
    // The mailed link was used up by it.
    assert.equal((await world.ra.getApproval(id, link)).decided, true);
    const again = await rejectsWith(
      world.ra.decideSignedIn(id, "approve", undefined, security),
      "APPROVAL_NOT_PENDING",
    );
    assert.match(again.message, /is issued/);
  });

  test("signed-in refusals, each in the audit trail: key, submitter, stranger, decided twice", async () => {
    const id = await submit("refusals.example.internal", "server-client");
    await approvalToken(world.mailer, "security@example.com", id);
    await approvalToken(world.mailer, "platform@example.com", id);
    const refusals: [ErrorCode, ReturnType<typeof person>][] = [
      [
        "APPROVAL_PERSON_REQUIRED",
        principalOfKey({ id: "5555555555555555", role: "approver", owner: "security@example.com" }),
      ],
      // Alice submitted it; an approver or not, she may not decide it.
      ["APPROVAL_SELF", person("Alice+x@example.com")],
      ["APPROVER_NOT_LISTED", person("mallory@example.com")],
    ];
    for (const [code, who] of refusals) {
      await rejectsWith(world.ra.decideSignedIn(id, "approve", undefined, who), code);
      assert.equal((await world.ra.approvalProgress(id, who))!.viewer.mayDecide, false);
    }
    const security = person("security@example.com");
    await world.ra.decideSignedIn(id, "approve", undefined, security);
    const twice = await rejectsWith(
      world.ra.decideSignedIn(id, "reject", "changed my mind", security),
      "APPROVAL_ALREADY_DECIDED",
    );
    assert.match(twice.message, /security@example\.com decided "approve"/);
    const refused = (await world.repository.history(id)).filter(
      (h) => h.action === "approval.refused",
    );
    assert.deepEqual(
      refused.map((h) => [h.details?.code, h.details?.link, h.details?.via]),
      [
        ["APPROVAL_PERSON_REQUIRED", "security@example.com", "operators-page"],
        ["APPROVAL_SELF", null, "operators-page"],
        ["APPROVER_NOT_LISTED", null, "operators-page"],
        ["APPROVAL_ALREADY_DECIDED", "security@example.com", "operators-page"],
      ],
    );
    assert.equal(refused[1]!.actor, "Alice+x@example.com (oidc:Alice+x)");
    // One approval of two: still waiting; the other approver decides through their link.
    assert.equal((await world.repository.getRequest(id))!.status, "pending_approval");
    const platformToken = await approvalToken(world.mailer, "platform@example.com", id);
    await world.ra.decide(id, platformToken, "approve", undefined);
    assert.equal((await world.engine.waitForExecution(id)).status, "SUCCEEDED");
  });
});
