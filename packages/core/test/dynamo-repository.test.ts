/**
 * The storage authority against dynalite (in-process, one server for the file, a fresh table
 * per test): the request lifecycle and its audit trail, page cursors, the submitting principal,
 * conditional transitions and races, idempotency keys, approval links, quorum and four eyes,
 * serial uniqueness, hashed API keys and their owners, status-page secrets, browser sessions
 * (a key's or a person's) and sent markers. Every refusal is asserted by its PkiError code.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { type ErrorCode, PkiError, TransientError } from "../src/errors.ts";
import {
  canTransition,
  isFinalStatus,
  type NewRequest,
  newRequestId,
  type RequestStatus,
  requestStatuses,
} from "../src/requests/request.ts";
import type { MessageClaim, RequestRepository } from "../src/store/request-repository.ts";
import { createTable } from "../src/store/table.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { rejectsWith } from "./support/pki-error.ts";
import {
  automaticApproval as automatic,
  FIXTURE_KEY_PRINCIPAL,
  FIXTURE_REQUESTER,
  newRequest as fixtureRequest,
  freshRepository,
  manualApproval,
} from "./support/request-fixtures.ts";

const REQUESTER = FIXTURE_REQUESTER;
const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const CAROL = "carol@example.com";
/** Who submits the fixtures' requests: an API key acting for REQUESTER. */
const KEY_PRINCIPAL = FIXTURE_KEY_PRINCIPAL;

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => {
  await dynamo.close();
});

/** A repository on a fresh table, with a clock the test moves. */
const setup = () => freshRepository(dynamo);

/** The fixtures' request: for the build farm, manual approval by two of Alice, Bob and Carol. */
const newRequest = (overrides: Partial<NewRequest> = {}) =>
  fixtureRequest({
    comment: "for the build farm",
    approval: manualApproval([ALICE, BOB, CAROL], 2, 7 * 86400),
    ...overrides,
  });

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Legal paths to every status, for putting a request where a test needs it. */
const pathTo: Record<RequestStatus, readonly RequestStatus[]> = {
  submitted: [],
  pending_approval: ["pending_approval"],
  approved: ["approved"],
  rejected: ["rejected"],
  expired: ["pending_approval", "expired"],
  issued: ["approved", "issued"],
  failed: ["failed"],
  revoked: ["approved", "issued", "revoked"],
};

async function requestIn(repo: RequestRepository, status: RequestStatus): Promise<string> {
  const { request } = await repo.createRequest(newRequest());
  let current: RequestStatus = "submitted";
  for (const next of pathTo[status]) {
    await repo.transition(request.id, { from: current, to: next, actor: "test" });
    current = next;
  }
  return request.id;
}

/** A request waiting for approval with links for the given approvers; returns their secrets. */
async function pendingWithLinks(
  repo: RequestRepository,
  clock: { now: Date },
  approvers: readonly string[],
  overrides: Partial<NewRequest> = {},
) {
  const { request } = await repo.createRequest(newRequest(overrides));
  await repo.transition(request.id, {
    from: "submitted",
    to: "pending_approval",
    actor: "workflow:StoreRequest",
  });
  const deadline = new Date(clock.now.getTime() + 3600_000).toISOString();
  const secrets = new Map(approvers.map((a) => [a, randomBytes(32).toString("base64url")]));
  await repo.openApproval(request.id, {
    taskToken: "task-token-1",
    deadline,
    links: approvers.map((approver) => ({
      approver,
      secretHash: sha256(secrets.get(approver)!),
      expiresAt: deadline,
    })),
  });
  const hashOf = (approver: string) => sha256(secrets.get(approver)!);
  return { id: request.id, secrets, hashOf, deadline };
}

describe("lifecycle table", () => {
  const allowed = new Set([
    "submitted→pending_approval",
    "submitted→approved",
    "submitted→rejected",
    "submitted→failed",
    "pending_approval→approved",
    "pending_approval→rejected",
    "pending_approval→expired",
    "pending_approval→failed",
    "approved→issued",
    "approved→failed",
    "issued→revoked",
  ]);

  test("allows exactly the documented transitions", () => {
    for (const from of requestStatuses) {
      for (const to of requestStatuses) {
        assert.equal(canTransition(from, to), allowed.has(`${from}→${to}`), `${from}→${to}`);
      }
    }
  });

  test("rejected, expired, failed and revoked are final", () => {
    assert.deepEqual(
      requestStatuses.filter((s) => isFinalStatus(s)),
      ["rejected", "expired", "failed", "revoked"],
    );
  });
});

describe("requests", () => {
  test("the happy path with a 2-of-3 quorum, and its audit trail", async () => {
    const { repo, clock, advance } = await setup();
    const input = newRequest();
    const created = await repo.createRequest(input);
    assert.equal(created.created, true);
    assert.equal(created.request.status, "submitted");
    assert.deepEqual(await repo.getRequest(input.id), created.request);
    // The stored request is plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(created.request)), created.request);

    advance(1);
    const stored = await repo.transition(input.id, {
      from: "submitted",
      to: "pending_approval",
      actor: "workflow:StoreRequest",
    });
    assert.equal(stored.changed, true);
    assert.equal(stored.request.status, "pending_approval");

    advance(1);
    const deadline = new Date(clock.now.getTime() + 7 * 86400_000).toISOString();
    const secret = { alice: randomBytes(32).toString("base64url"), bob: "b".repeat(43) };
    const state = await repo.openApproval(input.id, {
      taskToken: "token-abc",
      deadline,
      links: [
        { approver: ALICE, secretHash: sha256(secret.alice), expiresAt: deadline },
        { approver: BOB, secretHash: sha256(secret.bob), expiresAt: deadline },
      ],
    });
    assert.equal(state.taskToken, "token-abc");
    assert.equal(state.deadline, deadline);
    assert.equal(state.links.length, 2);

    advance(60);
    const first = await repo.recordDecision(input.id, {
      secretHash: sha256(secret.alice),
      decision: "approve",
      reason: "looks right",
    });
    assert.equal(first.outcome, "pending");
    assert.deepEqual(first.tally, { approvals: 1, quorum: 2, rejected: false });
    assert.equal(first.request.status, "pending_approval");
    assert.equal(first.approver, ALICE);

    advance(60);
    const second = await repo.recordDecision(input.id, {
      secretHash: sha256(secret.bob),
      decision: "approve",
    });
    assert.equal(second.outcome, "approved");
    assert.deepEqual(second.tally, { approvals: 2, quorum: 2, rejected: false });
    assert.equal(second.request.status, "approved");
    assert.equal(second.taskToken, "token-abc");
    assert.deepEqual(
      second.request.decisions.map((d) => [d.approver, d.decision, d.reason]),
      [
        [ALICE, "approve", "looks right"],
        [BOB, "approve", null],
      ],
    );

    advance(5);
    const cert = await repo.putCertificate({
      serial: "7f01",
      requestId: input.id,
      objectKey: "certificates/7f01.pem",
      subject: "CN=app.example.com",
      sans: [{ type: "dns", value: "app.example.com" }],
      profile: "server",
      notBefore: "2030-01-01T00:00:00.000Z",
      notAfter: "2030-04-01T00:00:00.000Z",
      requester: "dev@example.com",
      principal: input.principal,
      caId: "ca-1",
      renews: null,
    });
    assert.equal(cert.created, true);
    const issued = await repo.transition(input.id, {
      from: "approved",
      to: "issued",
      actor: "workflow:StoreCertificate",
      patch: { serial: "7f01" },
      details: { serial: "7f01" },
    });
    assert.equal(issued.request.status, "issued");
    assert.equal(issued.request.serial, "7f01");
    assert.equal(issued.request.updatedAt, clock.now.toISOString());
    assert.equal(issued.request.createdAt, "2030-01-01T00:00:00.000Z");

    const history = await repo.history(input.id);
    assert.deepEqual(
      history.map((e) => [e.seq, e.action, e.actor, e.from, e.to]),
      [
        [1, "submitted", `${REQUESTER} (${KEY_PRINCIPAL})`, null, "submitted"],
        [2, "pending_approval", "workflow:StoreRequest", "submitted", "pending_approval"],
        [3, "approval.opened", "workflow:RequestApproval", null, null],
        [4, "approval.approve", `approver:${ALICE}`, null, null],
        [5, "approval.approve", `approver:${BOB}`, null, null],
        [6, "approved", `approver:${BOB}`, "pending_approval", "approved"],
        [7, "issued", "workflow:StoreCertificate", "approved", "issued"],
      ],
    );
    // Who submitted (the principal's id) and where mails go (the notification address).
    assert.deepEqual(history[0]!.details, {
      principal: KEY_PRINCIPAL,
      notify: REQUESTER,
      profile: "server",
      csrSha256: input.csrSummary.sha256,
    });
    assert.deepEqual(history[3]!.details, { reason: "looks right", approvals: 1, quorum: 2 });
    assert.deepEqual(history[5]!.details, { approvers: [ALICE, BOB] });
    assert.deepEqual(history[6]!.details, { serial: "7f01" });
    const times = history.map((e) => e.at);
    assert.deepEqual([...times].sort(), times, "entries are in time order");
    assert.equal(history[1]!.at, "2030-01-01T00:00:01.000Z");
  });

  test("automatic approval goes straight from submitted to approved", async () => {
    const { repo } = await setup();
    const { request } = await repo.createRequest(newRequest({ approval: automatic }));
    const approved = await repo.transition(request.id, {
      from: "submitted",
      to: "approved",
      actor: "workflow:StoreRequest",
      action: "approved.automatic",
    });
    assert.equal(approved.request.status, "approved");
    const history = await repo.history(request.id);
    assert.equal(history.at(-1)!.action, "approved.automatic");
  });

  test("a second request with the same id is refused", async () => {
    const { repo } = await setup();
    const input = newRequest();
    await repo.createRequest(input);
    await rejectsWith(repo.createRequest({ ...input, comment: "other" }), "REQUEST_EXISTS");
    assert.equal((await repo.getRequest(input.id))!.comment, "for the build farm");
  });

  test("unknown requests are not found", async () => {
    const { repo } = await setup();
    assert.equal(await repo.getRequest(newRequestId()), undefined);
    assert.equal(await repo.getRequest("../../etc"), undefined);
    await rejectsWith(
      repo.transition(newRequestId(), { from: "submitted", to: "failed", actor: "test" }),
      "REQUEST_NOT_FOUND",
    );
    await rejectsWith(repo.history(newRequestId()), "REQUEST_NOT_FOUND");
  });

  test("every transition the lifecycle forbids is refused, whatever the request's status", async () => {
    const { repo } = await setup();
    let refused = 0;
    for (const from of requestStatuses) {
      const id = await requestIn(repo, from);
      const before = await repo.history(id);
      for (const to of requestStatuses) {
        if (canTransition(from, to)) continue;
        const error = await rejectsWith(
          repo.transition(id, { from, to, actor: "test" }),
          "REQUEST_TRANSITION_INVALID",
        );
        assert.deepEqual(error.details, { from, to });
        refused++;
      }
      assert.deepEqual(await repo.history(id), before, "nothing was written");
      assert.equal((await repo.getRequest(id))!.status, from);
    }
    assert.equal(refused, 64 - 11);
  });

  test("a request that moved elsewhere is a conflict, not a re-run", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "approved");
    const error = await rejectsWith(
      repo.transition(id, { from: "submitted", to: "pending_approval", actor: "test" }),
      "REQUEST_STATE_CONFLICT",
    );
    assert.deepEqual(error.details, {
      requestId: id,
      current: "approved",
      expected: ["submitted"],
      target: "pending_approval",
    });
    const expire = await rejectsWith(
      repo.transition(id, { from: "pending_approval", to: "expired", actor: "test" }),
      "REQUEST_STATE_CONFLICT",
    );
    assert.equal(expire.details?.current, "approved");
  });

  test("a re-run of a transition reports the target state already reached", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "pending_approval");
    const change = { from: "pending_approval", to: "expired", actor: "workflow:Expire" } as const;
    const first = await repo.transition(id, change);
    const second = await repo.transition(id, change);
    assert.equal(first.changed, true);
    assert.equal(second.changed, false);
    assert.deepEqual(second.request, first.request);
    assert.equal((await repo.history(id)).filter((e) => e.to === "expired").length, 1);
  });

  test("a transition from several statuses records the one actually left", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "pending_approval");
    const result = await repo.transition(id, {
      from: ["submitted", "pending_approval", "approved"],
      to: "failed",
      actor: "workflow:RecordFailure",
      patch: { reason: "The signer could not sign." },
    });
    assert.equal(result.request.status, "failed");
    assert.equal(result.request.reason, "The signer could not sign.");
    const last = (await repo.history(id)).at(-1)!;
    assert.equal(last.from, "pending_approval");
    assert.equal(last.to, "failed");
    const again = await repo.transition(id, {
      from: ["submitted", "pending_approval"],
      to: "failed",
      actor: "workflow:RecordFailure",
    });
    assert.equal(again.changed, false);
  });

  test("two different transitions from the same status at once: exactly one wins", async () => {
    const { repo } = await setup();
    for (let round = 0; round < 10; round++) {
      const id = await requestIn(repo, "pending_approval");
      const results = await Promise.allSettled([
        repo.transition(id, { from: "pending_approval", to: "approved", actor: "approver" }),
        repo.transition(id, { from: "pending_approval", to: "expired", actor: "timer" }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      assert.ok(isCode(lost[0]!.reason, "REQUEST_STATE_CONFLICT"));
      const winner = (won[0] as PromiseFulfilledResult<{ request: { status: string } }>).value;
      const stored = await repo.getRequest(id);
      assert.equal(stored!.status, winner.request.status);
      const changes = (await repo.history(id)).filter((e) => e.from === "pending_approval");
      assert.equal(changes.length, 1);
    }
  });

  test("the same transition five times at once changes the request once", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "approved");
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        repo.transition(id, {
          from: "approved",
          to: "issued",
          actor: "workflow:StoreCertificate",
          patch: { serial: "01" },
        }),
      ),
    );
    assert.equal(results.filter((r) => r.changed).length, 1);
    assert.equal((await repo.history(id)).filter((e) => e.to === "issued").length, 1);
  });

  test("the execution id is recorded once", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "submitted");
    assert.equal((await repo.attachExecution(id, "exec-1")).executionId, "exec-1");
    assert.equal((await repo.attachExecution(id, "exec-1")).executionId, "exec-1");
    await rejectsWith(repo.attachExecution(id, "exec-2"), "REQUEST_STATE_CONFLICT");
    await rejectsWith(repo.attachExecution(newRequestId(), "exec-1"), "REQUEST_NOT_FOUND");
  });

  test("requests are listed by status", async () => {
    const { repo } = await setup();
    const a = await requestIn(repo, "submitted");
    const b = await requestIn(repo, "submitted");
    const c = await requestIn(repo, "pending_approval");
    const submitted = await repo.listRequestsByStatus("submitted");
    assert.deepEqual(new Set(submitted.items.map((r) => r.id)), new Set([a, b]));
    assert.deepEqual(
      (await repo.listRequestsByStatus("pending_approval")).items.map((r) => r.id),
      [c],
    );
    const page1 = await repo.listRequestsByStatus("submitted", { limit: 1 });
    assert.equal(page1.items.length, 1);
    assert.ok(page1.next);
    const page2 = await repo.listRequestsByStatus("submitted", { limit: 1, cursor: page1.next });
    assert.equal(page2.items.length, 1);
    assert.notEqual(page2.items[0]!.id, page1.items[0]!.id);
  });

  test("newest first reverses the order by creation, and its cursors page through it", async () => {
    const { repo, advance } = await setup();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push(await requestIn(repo, "submitted"));
      advance(1);
    }
    const oldestFirst = await repo.listRequestsByStatus("submitted");
    assert.deepEqual(
      oldestFirst.items.map((r) => r.id),
      created,
    );
    assert.equal(oldestFirst.next, null);
    const newestFirst = await repo.listRequestsByStatus("submitted", { newestFirst: true });
    assert.deepEqual(
      newestFirst.items.map((r) => r.id),
      [...created].reverse(),
    );
    assert.equal(newestFirst.next, null);
    assert.deepEqual(
      (await repo.listRequestsByStatus("submitted", { newestFirst: false })).items.map((r) => r.id),
      created,
    );

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.listRequestsByStatus("submitted", {
        limit: 2,
        newestFirst: true,
        ...(cursor === undefined ? {} : { cursor }),
      });
      pages.push(page.items.map((r) => r.id));
      cursor = page.next ?? undefined;
    } while (cursor !== undefined && pages.length < 10);
    const reversed = [...created].reverse();
    assert.deepEqual(pages, [reversed.slice(0, 2), reversed.slice(2, 4), reversed.slice(4)]);
  });

  test("newest first means newest created, not most recently moved", async () => {
    const { repo, advance } = await setup();
    const older = await requestIn(repo, "submitted");
    advance(1);
    const newer = await requestIn(repo, "pending_approval");
    advance(60);
    // The older request reaches pending_approval last; it still sorts by its creation.
    await repo.transition(older, { from: "submitted", to: "pending_approval", actor: "test" });
    const page = await repo.listRequestsByStatus("pending_approval", { newestFirst: true });
    assert.deepEqual(
      page.items.map((r) => r.id),
      [newer, older],
    );
    assert.deepEqual(
      (await repo.listRequestsByStatus("submitted", { newestFirst: true })).items,
      [],
    );
  });

  test("a cursor the repository did not make is PAGE_CURSOR_INVALID, never a DynamoDB error", async () => {
    const { repo } = await setup();
    const a = await requestIn(repo, "submitted");
    await requestIn(repo, "submitted");
    await requestIn(repo, "pending_approval");
    const page1 = await repo.listRequestsByStatus("submitted", { limit: 1 });
    assert.ok(page1.next);
    const genuine = JSON.parse(Buffer.from(page1.next, "base64url").toString("utf8"));
    assert.deepEqual(Object.keys(genuine).sort(), ["gsi1pk", "gsi1sk", "pk", "sk"]);
    assert.equal(genuine.gsi1pk, "STATUS#submitted");
    const encode = (value: unknown) =>
      Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
    const other = newRequestId();
    const position = `2030-01-01T00:00:00.000Z#${a}`;
    const crafted: Record<string, unknown>[] = [
      // Well formed, the right index partition, but a key that does not fit.
      { ...genuine, pk: "REQ#other" },
      { ...genuine, pk: `REQ#${other}` },
      { ...genuine, pk: "" },
      { ...genuine, sk: "" },
      { ...genuine, sk: "SESSION" },
      { ...genuine, gsi1sk: "" },
      { ...genuine, gsi1sk: "x".repeat(2000) },
      { ...genuine, gsi1sk: `${"2".repeat(1990)}#${a}` },
      { ...genuine, gsi1sk: `not a time#${a}` },
      {
        ...genuine,
        gsi1sk: `2030-01-01T00:00:00.000Z#${"a".repeat(2000)}`,
        pk: `REQ#${"a".repeat(2000)}`,
      },
      { gsi1pk: "STATUS#submitted", gsi1sk: position, pk: `REQ#${other}`, sk: "REQUEST" },
      { ...genuine, gsi1sk: 7 },
      { ...genuine, pk: { S: `REQ#${a}` } },
      { ...genuine, pk: null },
      // Another index partition; a name missing or added.
      { ...genuine, gsi1pk: "STATUS#pending_approval" },
      { ...genuine, gsi1pk: "APIKEYS" },
      { pk: genuine.pk, sk: genuine.sk, gsi1pk: genuine.gsi1pk },
      { ...genuine, extra: "x" },
    ];
    const garbage = [
      "",
      "not base64!",
      Buffer.from("not json", "utf8").toString("base64url"),
      encode([genuine]),
      encode("text"),
      encode(null),
      page1.next.slice(0, -4),
    ];
    for (const cursor of [...crafted.map(encode), ...garbage]) {
      await rejectsWith(
        repo.listRequestsByStatus("submitted", { limit: 1, cursor }),
        "PAGE_CURSOR_INVALID",
      );
    }
    // A genuine cursor is not accepted for another status's listing either.
    await rejectsWith(
      repo.listRequestsByStatus("pending_approval", { cursor: page1.next }),
      "PAGE_CURSOR_INVALID",
    );
    // The genuine one still pages on.
    const page2 = await repo.listRequestsByStatus("submitted", { limit: 1, cursor: page1.next });
    assert.equal(page2.items.length, 1);
  });
});

describe("principals", () => {
  test("a request keeps who submitted it apart from where its mails go", async () => {
    const { repo } = await setup();
    const principal = { id: "oidc:sam", email: "sam@example.com", groups: ["team-platform"] };
    const input = newRequest({
      requester: "pki-team@example.com",
      principal,
      submittedBy: "oidc:sam",
    });
    const { request } = await repo.createRequest(input);
    assert.deepEqual(request.principal, principal);
    assert.equal(request.requester, "pki-team@example.com");
    assert.equal(request.submittedBy, "oidc:sam");
    assert.deepEqual(await repo.getRequest(input.id), request);
    const [submitted] = await repo.history(input.id);
    assert.equal(submitted!.actor, "sam@example.com (oidc:sam)");
    assert.deepEqual(submitted!.details, {
      principal: "oidc:sam",
      notify: "pki-team@example.com",
      profile: "server",
      csrSha256: input.csrSummary.sha256,
    });
    // Nobody signed in: the principal is the client's address, and so is the actor.
    const open = newRequest({
      principal: { id: "anonymous:10.0.0.7", email: null, groups: [] },
      submittedBy: "anonymous:10.0.0.7",
    });
    await repo.createRequest(open);
    assert.equal((await repo.history(open.id))[0]!.actor, "anonymous:10.0.0.7");
  });

  test("a request stored before principals were recorded reads with the key and address it had", async () => {
    const { repo, clock, tableName } = await setup();
    // Then, a key (submittedBy was its bare id) typed Carol's address.
    const input = newRequest({
      requester: CAROL,
      submittedBy: "0123456789abcdef",
      approval: { ...newRequest().approval, approvers: [ALICE, BOB, CAROL], quorum: 1 },
    });
    await repo.createRequest(input);
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `REQ#${input.id}` }, sk: { S: "REQUEST" } },
        UpdateExpression: "REMOVE #principal",
        ExpressionAttributeNames: { "#principal": "principal" },
      }),
    );
    const legacy = await repo.getRequest(input.id);
    // The typed address stands in for the submitter's email; no groups share it.
    assert.equal(legacy!.principal.email, CAROL);
    assert.deepEqual(legacy!.principal.groups, []);
    assert.ok(legacy!.principal.id.endsWith("0123456789abcdef"), legacy!.principal.id);
    // Four eyes then goes by the address typed at the time.
    await repo.transition(input.id, { from: "submitted", to: "pending_approval", actor: "t" });
    const deadline = new Date(clock.now.getTime() + 3600_000).toISOString();
    await rejectsWith(
      repo.openApproval(input.id, {
        taskToken: "t",
        deadline,
        links: [{ approver: CAROL, secretHash: sha256("c"), expiresAt: deadline }],
      }),
      "APPROVAL_SELF",
    );
  });
});

describe("idempotency keys", () => {
  const scope = "api-key:0123456789abcdef";

  test("a retried POST with the same key returns the first request", async () => {
    const { repo, tableName } = await setup();
    const body = newRequest();
    const first = await repo.createRequest(body, { idempotency: { scope, key: "k-1" } });
    // The retry generates a fresh id, as the API would.
    const retry = await repo.createRequest(
      { ...body, id: newRequestId() },
      { idempotency: { scope, key: "k-1" } },
    );
    assert.equal(first.created, true);
    assert.equal(retry.created, false);
    assert.deepEqual(retry.request, first.request);
    assert.equal(await countRequests(tableName), 1);
  });

  test("the same key with a different body is refused", async () => {
    const { repo } = await setup();
    const body = newRequest();
    const first = await repo.createRequest(body, { idempotency: { scope, key: "k-1" } });
    const error = await rejectsWith(
      repo.createRequest(
        { ...body, id: newRequestId(), comment: "changed" },
        { idempotency: { scope, key: "k-1" } },
      ),
      "IDEMPOTENCY_KEY_REUSED",
    );
    assert.equal(error.details?.requestId, first.request.id);
  });

  test("keys are scoped to the caller and expire after a day", async () => {
    const { repo, advance, tableName } = await setup();
    const body = newRequest();
    const a = await repo.createRequest(body, { idempotency: { scope, key: "k" } });
    const b = await repo.createRequest(
      { ...body, id: newRequestId() },
      { idempotency: { scope: "client:10.0.0.7", key: "k" } },
    );
    assert.equal(b.created, true);
    assert.notEqual(b.request.id, a.request.id);
    advance(24 * 3600 + 1);
    const c = await repo.createRequest(
      { ...body, id: newRequestId() },
      { idempotency: { scope, key: "k" } },
    );
    assert.equal(c.created, true);
    assert.equal(await countRequests(tableName), 3);
  });

  test("malformed keys are refused", async () => {
    const { repo } = await setup();
    for (const key of ["", "has space", "x".repeat(256), "naïve"]) {
      await rejectsWith(
        repo.createRequest(newRequest(), { idempotency: { scope, key } }),
        "IDEMPOTENCY_KEY_INVALID",
      );
    }
  });

  test("concurrent POSTs with one key create one request", async () => {
    const { repo, tableName } = await setup();
    const body = newRequest();
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        repo.createRequest({ ...body, id: newRequestId() }, { idempotency: { scope, key: "k" } }),
      ),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.request.id)).size, 1);
    assert.equal(await countRequests(tableName), 1);
  });
});

describe("audit trail", () => {
  test("extra entries are appended in order, once per event id", async () => {
    const { repo, advance } = await setup();
    const id = await requestIn(repo, "pending_approval");
    advance(10);
    assert.equal(
      await repo.appendAudit(id, {
        actor: "workflow:NotifyRequester",
        action: "email.sent",
        details: { kind: "received" },
        eventId: "evt-1",
      }),
      true,
    );
    assert.equal(
      await repo.appendAudit(id, { actor: "x", action: "email.sent", eventId: "evt-1" }),
      false,
    );
    assert.equal(await repo.appendAudit(id, { actor: "operator", action: "note" }), true);
    const history = await repo.history(id);
    assert.deepEqual(
      history.map((e) => [e.seq, e.action]),
      [
        [1, "submitted"],
        [2, "pending_approval"],
        [3, "email.sent"],
        [4, "note"],
      ],
    );
    assert.deepEqual(history[2], {
      seq: 3,
      at: "2030-01-01T00:00:10.000Z",
      actor: "workflow:NotifyRequester",
      action: "email.sent",
      from: null,
      to: null,
      details: { kind: "received" },
    });
    await rejectsWith(
      repo.appendAudit(newRequestId(), { actor: "x", action: "y" }),
      "REQUEST_NOT_FOUND",
    );
  });
});

describe("approvals", () => {
  test("a link is single use", async () => {
    const { repo, clock } = await setup();
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB]);
    await repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" });
    const replay = await rejectsWith(
      repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" }),
      "APPROVAL_ALREADY_DECIDED",
    );
    assert.equal(replay.details?.decision, "approve");
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "reject" }),
      "APPROVAL_ALREADY_DECIDED",
    );
    const request = await repo.getRequest(p.id);
    assert.equal(request!.decisions.length, 1);
    assert.equal(request!.status, "pending_approval");
  });

  test("wrong tokens, unknown requests and expired links are refused", async () => {
    const { repo, clock, advance } = await setup();
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB]);
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: sha256("guess"), decision: "approve" }),
      "APPROVAL_TOKEN_INVALID",
    );
    await rejectsWith(
      repo.recordDecision(newRequestId(), { secretHash: p.hashOf(ALICE), decision: "approve" }),
      "APPROVAL_TOKEN_INVALID",
    );
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: "not-a-hash", decision: "approve" }),
      "APPROVAL_TOKEN_INVALID",
    );
    assert.equal(await repo.findApprovalLink(p.id, sha256("guess")), undefined);
    advance(3600);
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" }),
      "APPROVAL_EXPIRED",
    );
    assert.equal((await repo.getRequest(p.id))!.decisions.length, 0);
  });

  test("the quorum needs distinct approvers, and the N-th approval approves", async () => {
    const { repo, clock } = await setup();
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB, CAROL]);
    const a = await repo.recordDecision(p.id, {
      secretHash: p.hashOf(ALICE),
      decision: "approve",
    });
    assert.equal(a.outcome, "pending");
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" }),
      "APPROVAL_ALREADY_DECIDED",
    );
    assert.equal((await repo.getRequest(p.id))!.status, "pending_approval");
    const b = await repo.recordDecision(p.id, { secretHash: p.hashOf(BOB), decision: "approve" });
    assert.equal(b.outcome, "approved");
    assert.deepEqual(b.tally, { approvals: 2, quorum: 2, rejected: false });
    // The third approver comes too late.
    const late = await rejectsWith(
      repo.recordDecision(p.id, { secretHash: p.hashOf(CAROL), decision: "approve" }),
      "APPROVAL_NOT_PENDING",
    );
    assert.equal(late.details?.status, "approved");
  });

  test("two approvers deciding at once are both counted, and the quorum is reached once", async () => {
    const { repo, clock } = await setup();
    for (let round = 0; round < 5; round++) {
      const p = await pendingWithLinks(repo, clock, [ALICE, BOB, CAROL]);
      const results = await Promise.all([
        repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" }),
        repo.recordDecision(p.id, { secretHash: p.hashOf(BOB), decision: "approve" }),
      ]);
      assert.deepEqual(results.map((r) => r.outcome).sort(), ["approved", "pending"]);
      const request = await repo.getRequest(p.id);
      assert.equal(request!.status, "approved");
      assert.equal(request!.decisions.length, 2);
      const history = await repo.history(p.id);
      assert.equal(history.filter((e) => e.to === "approved").length, 1);
    }
  });

  test("one rejection ends the approval", async () => {
    const { repo, clock } = await setup();
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB, CAROL]);
    await repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" });
    const rejected = await repo.recordDecision(p.id, {
      secretHash: p.hashOf(BOB),
      decision: "reject",
      reason: "wrong team",
    });
    assert.equal(rejected.outcome, "rejected");
    assert.deepEqual(rejected.tally, { approvals: 1, quorum: 2, rejected: true });
    assert.equal(rejected.request.status, "rejected");
    assert.equal(rejected.request.reason, "wrong team");
    assert.equal(rejected.taskToken, "task-token-1");
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: p.hashOf(CAROL), decision: "approve" }),
      "APPROVAL_NOT_PENDING",
    );
    const last = (await repo.history(p.id)).at(-1)!;
    assert.deepEqual(
      [last.action, last.actor, last.from, last.to],
      ["rejected", `approver:${BOB}`, "pending_approval", "rejected"],
    );
    assert.deepEqual(last.details, { reason: "wrong team" });
    // The workflow's RecordRejection step then finds its work done.
    const rerun = await repo.transition(p.id, {
      from: ["submitted", "pending_approval"],
      to: "rejected",
      actor: "workflow:RecordOutcome",
    });
    assert.equal(rerun.changed, false);
  });

  test("links are only for listed approvers other than the requester", async () => {
    const { repo, clock } = await setup();
    const { request } = await repo.createRequest(
      newRequest({
        approval: { ...newRequest().approval, approvers: [ALICE, BOB], quorum: 1 },
      }),
    );
    const deadline = new Date(clock.now.getTime() + 3600_000).toISOString();
    const link = (approver: string) => ({
      approver,
      secretHash: sha256(approver),
      expiresAt: deadline,
    });
    await rejectsWith(
      repo.openApproval(request.id, { taskToken: "t", deadline, links: [link(ALICE)] }),
      "APPROVAL_NOT_PENDING",
    );
    await repo.transition(request.id, { from: "submitted", to: "pending_approval", actor: "t" });
    await rejectsWith(
      repo.openApproval(request.id, { taskToken: "t", deadline, links: [link(REQUESTER)] }),
      "APPROVAL_SELF",
    );
    await rejectsWith(
      repo.openApproval(request.id, { taskToken: "t", deadline, links: [link(CAROL)] }),
      "APPROVER_NOT_LISTED",
    );
    await assert.rejects(
      repo.openApproval(request.id, {
        taskToken: "t",
        deadline,
        links: [link(ALICE), { ...link("ALICE@example.com"), secretHash: sha256("x") }],
      }),
      TypeError,
    );
    // Addresses compare case-insensitively.
    const state = await repo.openApproval(request.id, {
      taskToken: "t",
      deadline,
      links: [link("Alice@Example.com")],
    });
    assert.equal(state.links.length, 1);
  });

  test("four eyes goes by the principal's mailbox: case and +tag do not make another person", async () => {
    const { repo, clock, tableName } = await setup();
    const SECURITY = "security@example.com";
    const deadline = new Date(clock.now.getTime() + 3600_000).toISOString();
    const link = (approver: string) => ({
      approver,
      secretHash: sha256(approver),
      expiresAt: deadline,
    });
    const { request } = await repo.createRequest(
      newRequest({
        // Submitted by Sam himself under an alias; his mails go to the team list.
        requester: "pki-team@example.com",
        principal: { id: "oidc:sam", email: "Security+me@Example.com", groups: [] },
        submittedBy: "oidc:sam",
        approval: { ...newRequest().approval, approvers: [SECURITY, ALICE], quorum: 1 },
      }),
    );
    await repo.transition(request.id, { from: "submitted", to: "pending_approval", actor: "t" });
    await rejectsWith(
      repo.openApproval(request.id, { taskToken: "t", deadline, links: [link(SECURITY)] }),
      "APPROVAL_SELF",
    );
    await rejectsWith(
      repo.openApproval(request.id, {
        taskToken: "t",
        deadline,
        links: [link(ALICE), link("SECURITY@example.com")],
      }),
      "APPROVAL_SELF",
    );
    assert.deepEqual((await repo.getApproval(request.id))!.links, [], "nothing was written");

    // recordDecision checks again: a link for Sam stored while the request named someone else
    // (say, before four eyes knew about aliases) still cannot decide it.
    const { request: other } = await repo.createRequest(
      newRequest({
        approval: { ...newRequest().approval, approvers: [SECURITY, ALICE], quorum: 1 },
      }),
    );
    await repo.transition(other.id, { from: "submitted", to: "pending_approval", actor: "t" });
    await repo.openApproval(other.id, { taskToken: "t", deadline, links: [link(SECURITY)] });
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `REQ#${other.id}` }, sk: { S: "REQUEST" } },
        UpdateExpression: "SET #principal.#email = :email",
        ExpressionAttributeNames: { "#principal": "principal", "#email": "email" },
        ExpressionAttributeValues: { ":email": { S: "Security+me@Example.com" } },
      }),
    );
    await rejectsWith(
      repo.recordDecision(other.id, { secretHash: sha256(SECURITY), decision: "approve" }),
      "APPROVAL_SELF",
    );
    const after = await repo.getRequest(other.id);
    assert.equal(after!.status, "pending_approval");
    assert.deepEqual(after!.decisions, []);
  });

  test("the typed address counts for four eyes only when the principal has no email", async () => {
    const { repo, clock } = await setup();
    const deadline = new Date(clock.now.getTime() + 3600_000).toISOString();
    const link = (approver: string) => ({
      approver,
      secretHash: sha256(approver),
      expiresAt: deadline,
    });
    const approval = { ...newRequest().approval, approvers: [ALICE, BOB], quorum: 1 };
    // A key acting for REQUESTER, whose mails go to Alice: Alice did not ask, so she may decide.
    const { request: keyed } = await repo.createRequest(newRequest({ requester: ALICE, approval }));
    await repo.transition(keyed.id, { from: "submitted", to: "pending_approval", actor: "t" });
    const state = await repo.openApproval(keyed.id, {
      taskToken: "t",
      deadline,
      links: [link(ALICE)],
    });
    assert.deepEqual(
      state.links.map((l) => l.approver),
      [ALICE],
    );
    // Alice decides signed in: the audit trail names her as she signed in.
    const decided = await repo.recordDecision(keyed.id, {
      secretHash: sha256(ALICE),
      decision: "approve",
      actor: `${ALICE} (oidc:alice)`,
    });
    assert.equal(decided.outcome, "approved");
    assert.deepEqual(
      (await repo.history(keyed.id)).slice(-2).map((e) => [e.action, e.actor]),
      [
        ["approval.approve", `${ALICE} (oidc:alice)`],
        ["approved", `${ALICE} (oidc:alice)`],
      ],
    );

    // Nobody signed in: the address given is all there is to go on.
    const { request: open } = await repo.createRequest(
      newRequest({
        requester: ALICE,
        principal: { id: "anonymous:10.0.0.7", email: null, groups: [] },
        submittedBy: "anonymous:10.0.0.7",
        approval,
      }),
    );
    await repo.transition(open.id, { from: "submitted", to: "pending_approval", actor: "t" });
    for (const self of [ALICE, "Alice+pki@Example.com"]) {
      await rejectsWith(
        repo.openApproval(open.id, { taskToken: "t", deadline, links: [link(self)] }),
        "APPROVAL_SELF",
      );
    }
    await repo.openApproval(open.id, { taskToken: "t", deadline, links: [link(BOB)] });
  });

  test("a retried approval step replaces the token and unused links, never used ones", async () => {
    const { repo, clock } = await setup();
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB]);
    await repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" });
    const newBob = sha256("new bob secret");
    const state = await repo.openApproval(p.id, {
      taskToken: "task-token-2",
      deadline: p.deadline,
      links: [{ approver: BOB, secretHash: newBob, expiresAt: p.deadline }],
    });
    assert.equal(state.taskToken, "task-token-2");
    await rejectsWith(
      repo.openApproval(p.id, {
        taskToken: "task-token-3",
        deadline: p.deadline,
        links: [{ approver: ALICE, secretHash: sha256("new alice"), expiresAt: p.deadline }],
      }),
      "APPROVAL_ALREADY_DECIDED",
    );
    // Bob's old link still works (the mail it went out in may have been cut short after SES
    // took it), so does his new one, they are one link: one decision, with the newest token.
    const view = await repo.findApprovalLink(p.id, p.hashOf(BOB));
    assert.equal(view?.link.approver, BOB);
    assert.equal((await repo.findApprovalLink(p.id, newBob))?.link.approver, BOB);
    const result = await repo.recordDecision(p.id, {
      secretHash: p.hashOf(BOB),
      decision: "approve",
    });
    assert.equal(result.outcome, "approved");
    assert.equal(result.taskToken, "task-token-2");
    await rejectsWith(
      repo.recordDecision(p.id, { secretHash: newBob, decision: "approve" }),
      "APPROVAL_ALREADY_DECIDED",
    );
  });

  test("an approver's view never exposes hashes, and a GET changes nothing", async () => {
    const { repo, clock } = await setup();
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB]);
    const before = await repo.getRequest(p.id);
    const view = await repo.findApprovalLink(p.id, p.hashOf(BOB));
    assert.equal(view!.link.approver, BOB);
    assert.equal(view!.link.usedAt, null);
    assert.equal(view!.request.csrSummary.key, "EC P-256");
    assert.deepEqual(await repo.getRequest(p.id), before);
    const state = await repo.getApproval(p.id);
    const text = JSON.stringify([view, state]);
    for (const approver of [ALICE, BOB]) {
      assert.ok(!text.includes(p.hashOf(approver)));
      assert.ok(!text.includes(p.secrets.get(approver)!));
    }
    assert.deepEqual(state!.links.map((l) => l.approver).sort(), [ALICE, BOB]);
  });
});

describe("certificates", () => {
  const record = (requestId: string) => ({
    serial: "0a1b2c",
    requestId,
    objectKey: "certificates/0a1b2c.pem",
    subject: "CN=app.example.com",
    sans: [{ type: "dns" as const, value: "app.example.com" }],
    profile: "server",
    notBefore: "2030-01-01T00:00:00.000Z",
    notAfter: "2030-04-01T00:00:00.000Z",
    requester: "dev@example.com",
    principal: { id: "api-key:0123456789abcdef", email: "dev@example.com", groups: [] },
    caId: "ca-1",
    renews: null,
  });

  test("a serial is stored once", async () => {
    const { repo } = await setup();
    const first = await repo.putCertificate(record("req-1"));
    assert.equal(first.created, true);
    const error = await rejectsWith(repo.putCertificate(record("req-2")), "CERT_SERIAL_EXISTS");
    assert.equal(error.details?.requestId, "req-1");
    const again = await repo.putCertificate(record("req-1"));
    assert.equal(again.created, false);
    assert.deepEqual(again.record, first.record);
    assert.deepEqual(await repo.getCertificate("0A:1B:2C"), first.record);
    assert.deepEqual(await repo.getCertificate("0x0a1b2c"), first.record);
    assert.equal(await repo.getCertificate("0a1b2d"), undefined);
    assert.equal(await repo.getCertificate("not hex"), undefined);
    await assert.rejects(repo.putCertificate({ ...record("r"), serial: "0A1B" }), RangeError);
  });
});

describe("API keys", () => {
  test("keys are stored hashed, found by hash, listed and revoked", async () => {
    const { repo, tableName } = await setup();
    const raw = `spca_${randomBytes(32).toString("base64url")}`;
    const keyHash = sha256(raw);
    const created = await repo.createApiKey({
      keyHash,
      role: "admin",
      label: "bootstrap",
      owner: "admin@example.com",
    });
    assert.equal(created.id, keyHash.slice(0, 16));
    assert.equal(created.revokedAt, null);
    assert.deepEqual(await repo.findActiveApiKey(keyHash), created);
    assert.equal(await repo.findActiveApiKey(sha256(`${raw}x`)), undefined);
    // Same id prefix, different hash: not a match.
    assert.equal(
      await repo.findActiveApiKey(`${keyHash.slice(0, 16)}${"0".repeat(48)}`),
      undefined,
    );
    assert.equal(await repo.findActiveApiKey(raw), undefined);
    await rejectsWith(
      repo.createApiKey({ keyHash, role: "requester", label: "dup", owner: ALICE }),
      "API_KEY_EXISTS",
    );

    const other = await repo.createApiKey({
      keyHash: sha256("second key"),
      role: "requester",
      label: "ci",
      owner: ALICE,
    });
    assert.deepEqual(
      (await repo.listApiKeys()).map((k) => k.id).sort(),
      [created.id, other.id].sort(),
    );

    const revoked = await repo.revokeApiKey(created.id);
    assert.ok(revoked.revokedAt);
    assert.equal(await repo.findActiveApiKey(keyHash), undefined);
    assert.deepEqual(await repo.revokeApiKey(created.id), revoked);
    assert.ok((await repo.listApiKeys()).some((k) => k.id === created.id && k.revokedAt));
    await rejectsWith(repo.revokeApiKey("ffffffffffffffff"), "API_KEY_NOT_FOUND");
    assert.deepEqual(await repo.findActiveApiKey(sha256("second key")), other);

    const items = await scanAll(tableName);
    const dump = JSON.stringify(items);
    assert.ok(dump.includes(keyHash));
    assert.ok(!dump.includes(raw), "the raw key is never stored");
    assert.ok(!dump.includes(raw.slice(5)), "nor its secret part");
  });

  test("a key is stored with its owner, and found and listed with it", async () => {
    const { repo, tableName } = await setup();
    const keyHash = sha256("alice's build key");
    const created = await repo.createApiKey({
      keyHash,
      role: "requester",
      label: "alice's build farm",
      owner: ALICE,
    });
    assert.deepEqual(created, {
      id: keyHash.slice(0, 16),
      role: "requester",
      label: "alice's build farm",
      owner: ALICE,
      createdAt: "2030-01-01T00:00:00.000Z",
      revokedAt: null,
    });
    assert.deepEqual(await repo.findActiveApiKey(keyHash), created);
    assert.deepEqual(await repo.listApiKeys(), [created]);
    const item = (await scanAll(tableName)).find((i) => i.pk?.S === `APIKEY#${created.id}`);
    assert.equal(item?.owner?.S, ALICE);
    // Revoking keeps the owner.
    assert.equal((await repo.revokeApiKey(created.id)).owner, ALICE);
    assert.equal((await repo.listApiKeys())[0]!.owner, ALICE);
  });

  test("a key stored before keys had owners reads with owner null", async () => {
    const { repo, tableName } = await setup();
    const keyHash = sha256("an old key");
    const created = await repo.createApiKey({
      keyHash,
      role: "admin",
      label: "old",
      owner: "admin@example.com",
    });
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `APIKEY#${created.id}` }, sk: { S: "APIKEY" } },
        UpdateExpression: "REMOVE #owner",
        ExpressionAttributeNames: { "#owner": "owner" },
      }),
    );
    assert.deepEqual(await repo.findActiveApiKey(keyHash), { ...created, owner: null });
    assert.deepEqual(await repo.listApiKeys(), [{ ...created, owner: null }]);
  });
});

describe("status-page secrets", () => {
  test("a request is found by the hash of its status secret, and by nothing else", async () => {
    const { repo, tableName } = await setup();
    const secret = randomBytes(32).toString("base64url");
    const hash = sha256(secret);
    const { request } = await repo.createRequest(newRequest({ statusSecretHash: hash }));
    const found = await repo.findRequestByStatusSecret(request.id, hash);
    assert.deepEqual(found, await repo.getRequest(request.id));
    assert.deepEqual(found, request);
    // The hash stays beside the request, never in it.
    assert.ok(!Object.hasOwn(found!, "statusSecretHash"));
    assert.ok(!JSON.stringify(await repo.getRequest(request.id)).includes(hash));

    assert.equal(await repo.findRequestByStatusSecret(request.id, sha256(`${secret}x`)), undefined);
    assert.equal(await repo.findRequestByStatusSecret(request.id, "0".repeat(64)), undefined);
    for (const malformed of [secret, hash.toUpperCase(), hash.slice(1), `${hash}0`, "", "x"]) {
      assert.equal(await repo.findRequestByStatusSecret(request.id, malformed), undefined);
    }
    assert.equal(await repo.findRequestByStatusSecret(newRequestId(), hash), undefined);
    assert.equal(await repo.findRequestByStatusSecret("../../etc", hash), undefined);
    assert.equal(await repo.findRequestByStatusSecret("", hash), undefined);

    // Another request's secret does not open this one.
    const otherSecret = randomBytes(32).toString("base64url");
    const other = await repo.createRequest(newRequest({ statusSecretHash: sha256(otherSecret) }));
    assert.equal(await repo.findRequestByStatusSecret(request.id, sha256(otherSecret)), undefined);
    assert.equal(await repo.findRequestByStatusSecret(other.request.id, hash), undefined);
    assert.equal(
      (await repo.findRequestByStatusSecret(other.request.id, sha256(otherSecret)))!.id,
      other.request.id,
    );

    // The hash is stored, the secret nowhere.
    const items = await scanAll(tableName);
    const stored = items.find((i) => i.pk?.S === `REQ#${request.id}` && i.sk?.S === "REQUEST");
    assert.equal(stored?.statusSecretHash?.S, hash);
    const dump = JSON.stringify(items);
    assert.ok(!dump.includes(secret), "the status secret is never stored");
    assert.ok(!dump.includes(otherSecret), "the status secret is never stored");
  });

  test("a request created without a status secret has no status link", async () => {
    const { repo, tableName } = await setup();
    const { request } = await repo.createRequest(newRequest());
    for (const hash of [sha256(""), sha256("anything"), "0".repeat(64)]) {
      assert.equal(await repo.findRequestByStatusSecret(request.id, hash), undefined);
    }
    const stored = (await scanAll(tableName)).find((i) => i.pk?.S === `REQ#${request.id}`);
    assert.ok(stored);
    assert.ok(!("statusSecretHash" in stored), "no attribute, not even NULL");
  });

  test("the secret keeps working through status changes", async () => {
    const { repo, advance, clock } = await setup();
    const hash = sha256("status secret");
    const { request } = await repo.createRequest(newRequest({ statusSecretHash: hash }));
    advance(5);
    await repo.transition(request.id, { from: "submitted", to: "pending_approval", actor: "t" });
    await repo.attachExecution(request.id, "exec-1");
    await repo.appendAudit(request.id, { actor: "t", action: "note" });
    await repo.transition(request.id, { from: "pending_approval", to: "rejected", actor: "t" });
    const found = await repo.findRequestByStatusSecret(request.id, hash);
    assert.equal(found!.status, "rejected");
    assert.equal(found!.executionId, "exec-1");
    assert.deepEqual(found, await repo.getRequest(request.id));

    // And through the approval writes (links, decisions), which rewrite parts of the item.
    const p = await pendingWithLinks(repo, clock, [ALICE, BOB], { statusSecretHash: sha256("p") });
    await repo.recordDecision(p.id, { secretHash: p.hashOf(ALICE), decision: "approve" });
    await repo.recordDecision(p.id, { secretHash: p.hashOf(BOB), decision: "approve" });
    const approved = await repo.findRequestByStatusSecret(p.id, sha256("p"));
    assert.equal(approved!.status, "approved");
    assert.equal(approved!.decisions.length, 2);
    // An approval link's hash is not a status secret.
    assert.equal(await repo.findRequestByStatusSecret(p.id, p.hashOf(ALICE)), undefined);
  });

  test("an idempotent replay keeps the first request's secret", async () => {
    const { repo } = await setup();
    const scope = "api-key:0123456789abcdef";
    const body = newRequest({ statusSecretHash: sha256("first") });
    const first = await repo.createRequest(body, { idempotency: { scope, key: "k" } });
    const replay = await repo.createRequest(
      { ...body, id: newRequestId(), statusSecretHash: sha256("second") },
      { idempotency: { scope, key: "k" } },
    );
    assert.equal(replay.created, false);
    assert.equal(replay.request.id, first.request.id);
    assert.ok(await repo.findRequestByStatusSecret(first.request.id, sha256("first")));
    assert.equal(
      await repo.findRequestByStatusSecret(first.request.id, sha256("second")),
      undefined,
    );
  });

  test("a malformed hash is refused before anything is written", async () => {
    const { repo } = await setup();
    for (const statusSecretHash of ["not-a-hash", sha256("x").toUpperCase(), ""]) {
      const input = newRequest({ statusSecretHash });
      await assert.rejects(repo.createRequest(input), TypeError);
      assert.equal(await repo.getRequest(input.id), undefined);
    }
  });
});

describe("browser sessions", () => {
  const HOUR = 3600;

  async function withKey(role: "requester" | "admin" = "requester") {
    const context = await setup();
    const key = await context.repo.createApiKey({
      keyHash: sha256(randomBytes(32).toString("base64url")),
      role,
      label: "operator",
      owner: ALICE,
    });
    const expiresIn = (seconds: number) =>
      new Date(context.clock.now.getTime() + seconds * 1000).toISOString();
    return { ...context, key, expiresIn };
  }

  const newSecret = () => randomBytes(32).toString("base64url");

  test("a session is stored under its hash and resolves to its key's current role", async () => {
    const { repo, key, expiresIn, advance, tableName } = await withKey();
    const secret = newSecret();
    const secretHash = sha256(secret);
    const expiresAt = expiresIn(8 * HOUR);
    await repo.createSession({ secretHash, holder: { keyId: key.id }, expiresAt });
    advance(10);
    assert.deepEqual(await repo.findSession(secretHash), {
      holder: { key },
      createdAt: "2030-01-01T00:00:00.000Z",
      expiresAt,
    });
    assert.equal(key.role, "requester");

    // The role is read from the key at each lookup, not copied at sign-in.
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: `APIKEY#${key.id}` }, sk: { S: "APIKEY" } },
        UpdateExpression: "SET #role = :role",
        ExpressionAttributeNames: { "#role": "role" },
        ExpressionAttributeValues: { ":role": { S: "admin" } },
      }),
    );
    assert.deepEqual(await repo.findSession(secretHash), {
      holder: { key: { ...key, role: "admin" } },
      createdAt: "2030-01-01T00:00:00.000Z",
      expiresAt,
    });

    const items = await scanAll(tableName);
    const item = items.find((i) => i.sk?.S === "SESSION");
    assert.deepEqual(item, {
      pk: { S: `SESSION#${secretHash}` },
      sk: { S: "SESSION" },
      type: { S: "session" },
      keyId: { S: key.id },
      createdAt: { S: "2030-01-01T00:00:00.000Z" },
      expiresAt: { S: expiresAt },
      purgeAt: { N: String(Date.parse(expiresAt) / 1000 + HOUR) },
    });
    assert.ok(!JSON.stringify(items).includes(secret), "the session secret is never stored");
  });

  test("a person's session keeps the person as signed in, until it expires", async () => {
    // No key at all: a person signs in through the identity provider.
    const { repo, clock, advance, tableName } = await setup();
    const person = {
      sub: "00u1a2b3c4d5e6f7g8h9",
      email: "sam@example.com",
      name: "Sam Security",
      groups: ["pki-approvers", "team-platform"],
    };
    const secret = newSecret();
    const secretHash = sha256(secret);
    const expiresAt = new Date(clock.now.getTime() + 8 * HOUR * 1000).toISOString();
    await repo.createSession({ secretHash, holder: { person }, expiresAt });
    advance(10);
    assert.deepEqual(await repo.findSession(secretHash), {
      holder: { person },
      createdAt: "2030-01-01T00:00:00.000Z",
      expiresAt,
    });
    // A person without a name from the provider.
    const nameless = sha256(newSecret());
    const rita = { sub: "u-2", email: "rita@example.com", name: null, groups: [] };
    await repo.createSession({ secretHash: nameless, holder: { person: rita }, expiresAt });
    assert.deepEqual((await repo.findSession(nameless))?.holder, { person: rita });

    const item = (await scanAll(tableName)).find((i) => i.pk?.S === `SESSION#${secretHash}`);
    assert.ok(item && !("keyId" in item), "a person's session names no key");
    assert.ok(!JSON.stringify(await scanAll(tableName)).includes(secret));

    advance(8 * HOUR - 11);
    assert.ok(await repo.findSession(secretHash), "still valid a second before expiry");
    advance(1);
    assert.equal(await repo.findSession(secretHash), undefined, "expired at expiresAt");
    assert.equal(await repo.findSession(nameless), undefined);
    await repo.deleteSession(secretHash);
    assert.ok(!(await scanAll(tableName)).some((i) => i.pk?.S === `SESSION#${secretHash}`));
  });

  test("a session ends at its expiry; TTL is only housekeeping", async () => {
    const { repo, key, expiresIn, advance, tableName } = await withKey("admin");
    const secretHash = sha256(newSecret());
    await repo.createSession({
      secretHash,
      holder: { keyId: key.id },
      expiresAt: expiresIn(HOUR),
    });
    advance(HOUR - 1);
    assert.deepEqual((await repo.findSession(secretHash))!.holder, { key });
    assert.equal(key.role, "admin");
    advance(1);
    assert.equal(await repo.findSession(secretHash), undefined, "expired at expiresAt");
    advance(2 * HOUR);
    assert.equal(await repo.findSession(secretHash), undefined);
    // dynalite never deletes by TTL: the item is still there and still refused.
    assert.ok((await scanAll(tableName)).some((i) => i.pk?.S === `SESSION#${secretHash}`));
  });

  test("revoking the key ends every session of that key at once, and only those", async () => {
    const { repo, key, expiresIn } = await withKey();
    const other = await repo.createApiKey({
      keyHash: sha256("another key"),
      role: "admin",
      label: "other",
      owner: "admin@example.com",
    });
    const a = sha256(newSecret());
    const b = sha256(newSecret());
    const c = sha256(newSecret());
    const d = sha256(newSecret());
    const expiresAt = expiresIn(HOUR);
    const person = { sub: "alice", email: ALICE, name: "Alice", groups: [] };
    await repo.createSession({ secretHash: a, holder: { keyId: key.id }, expiresAt });
    await repo.createSession({ secretHash: b, holder: { keyId: key.id }, expiresAt });
    await repo.createSession({ secretHash: c, holder: { keyId: other.id }, expiresAt });
    // The key's owner signed in herself: revoking her key does not sign her out.
    await repo.createSession({ secretHash: d, holder: { person }, expiresAt });
    assert.deepEqual((await repo.findSession(a))?.holder, { key });
    assert.deepEqual((await repo.findSession(b))?.holder, { key });
    await repo.revokeApiKey(key.id);
    assert.equal(await repo.findSession(a), undefined);
    assert.equal(await repo.findSession(b), undefined);
    assert.deepEqual((await repo.findSession(c))?.holder, { key: other });
    assert.deepEqual((await repo.findSession(d))?.holder, { person });
  });

  test("a session whose key does not exist resolves to nothing", async () => {
    const { repo, expiresIn } = await withKey();
    const secretHash = sha256(newSecret());
    await repo.createSession({
      secretHash,
      holder: { keyId: "ffffffffffffffff" },
      expiresAt: expiresIn(HOUR),
    });
    assert.equal(await repo.findSession(secretHash), undefined);
  });

  test("deleteSession ends a session; unknown, ended and malformed ones are fine", async () => {
    const { repo, key, expiresIn } = await withKey();
    const keep = sha256(newSecret());
    const end = sha256(newSecret());
    const holder = { keyId: key.id };
    await repo.createSession({ secretHash: keep, holder, expiresAt: expiresIn(HOUR) });
    await repo.createSession({ secretHash: end, holder, expiresAt: expiresIn(HOUR) });
    await repo.deleteSession(end);
    assert.equal(await repo.findSession(end), undefined);
    assert.ok(await repo.findSession(keep), "other sessions of the key go on");
    await repo.deleteSession(end);
    await repo.deleteSession(sha256("never created"));
    await repo.deleteSession("not-a-hash");
    await repo.deleteSession("");
    assert.ok(await repo.findSession(keep));
  });

  test("lookups with unknown or malformed hashes find nothing", async () => {
    const { repo, key, expiresIn } = await withKey();
    const secret = newSecret();
    const secretHash = sha256(secret);
    await repo.createSession({
      secretHash,
      holder: { keyId: key.id },
      expiresAt: expiresIn(HOUR),
    });
    for (const probe of [
      sha256(`${secret}x`),
      secret,
      secretHash.toUpperCase(),
      secretHash.slice(1),
      `${secretHash}0`,
      "",
    ]) {
      assert.equal(await repo.findSession(probe), undefined, probe);
    }
  });

  test("a hash makes one session: creating it twice fails and keeps the first", async () => {
    const { repo, key, expiresIn } = await withKey();
    const other = await repo.createApiKey({
      keyHash: sha256("another key"),
      role: "admin",
      label: "other",
      owner: "admin@example.com",
    });
    const secretHash = sha256(newSecret());
    const expiresAt = expiresIn(HOUR);
    await repo.createSession({ secretHash, holder: { keyId: key.id }, expiresAt });
    await assert.rejects(
      repo.createSession({
        secretHash,
        holder: { keyId: other.id },
        expiresAt: expiresIn(2 * HOUR),
      }),
      TransientError,
    );
    await assert.rejects(
      repo.createSession({
        secretHash,
        holder: { person: { sub: "x", email: BOB, name: null, groups: [] } },
        expiresAt: expiresIn(2 * HOUR),
      }),
      TransientError,
    );
    assert.deepEqual(await repo.findSession(secretHash), {
      holder: { key },
      createdAt: "2030-01-01T00:00:00.000Z",
      expiresAt,
    });
    assert.equal(key.role, "requester");
  });

  test("a malformed hash is refused, and nothing is stored", async () => {
    const { repo, key, expiresIn, tableName } = await withKey();
    for (const secretHash of ["", "abc", newSecret(), sha256("x").toUpperCase()]) {
      await assert.rejects(
        repo.createSession({ secretHash, holder: { keyId: key.id }, expiresAt: expiresIn(HOUR) }),
        TypeError,
      );
    }
    assert.ok(!(await scanAll(tableName)).some((i) => i.sk?.S === "SESSION"));
  });
});

describe("sent markers", () => {
  test("a message is claimed once and, once sent, never again", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "submitted");
    const first = await repo.claimMessage(id, "received");
    assert.equal(first.state, "claimed");
    const second = await repo.claimMessage(id, "received");
    assert.equal(second.state, "in-progress");
    assert.equal((await repo.claimMessage(id, "approval-needed:alice")).state, "claimed");
    await repo.markMessageSent(id, "received", (first as { claimId: string }).claimId, {
      messageId: "m-1",
    });
    // Marking twice is harmless.
    await repo.markMessageSent(id, "received", (first as { claimId: string }).claimId);
    const third = await repo.claimMessage(id, "received");
    assert.equal(third.state, "sent");
  });

  test("concurrent senders: exactly one claims", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "submitted");
    const claims = await Promise.all(
      Array.from({ length: 6 }, () => repo.claimMessage(id, "issued")),
    );
    assert.equal(claims.filter((c) => c.state === "claimed").length, 1);
  });

  test("a released claim can be retried at once, an abandoned one after its lease", async () => {
    const { repo, advance } = await setup();
    const id = await requestIn(repo, "submitted");
    const a = await repo.claimMessage(id, "expired", { leaseSeconds: 60 });
    assert.equal(a.state, "claimed");
    await repo.releaseMessage(id, "expired", (a as { claimId: string }).claimId);
    const b = await repo.claimMessage(id, "expired", { leaseSeconds: 60 });
    assert.equal(b.state, "claimed");
    // b's sender crashes; after the lease another takes over and b can no longer mark it.
    advance(30);
    assert.equal((await repo.claimMessage(id, "expired")).state, "in-progress");
    advance(31);
    const c = await repo.claimMessage(id, "expired");
    assert.equal(c.state, "claimed");
    await rejectsWith(
      repo.markMessageSent(id, "expired", (b as { claimId: string }).claimId),
      "MESSAGE_CLAIM_LOST",
    );
    await repo.releaseMessage(id, "expired", (b as { claimId: string }).claimId);
    await repo.markMessageSent(id, "expired", (c as { claimId: string }).claimId);
    assert.equal((await repo.claimMessage(id, "expired")).state, "sent");
  });

  test("a claim held by the same owner is taken over at once; the earlier attempt's claim is lost", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "approved");
    const crashed = claimIdOf(
      await repo.claimMessage(id, "step:sign", { leaseSeconds: 60, owner: "exec-1" }),
    );
    // The same execution again (resumed after a crash): no waiting for the lease.
    const rerun = claimIdOf(
      await repo.claimMessage(id, "step:sign", { leaseSeconds: 60, owner: "exec-1" }),
    );
    assert.notEqual(rerun, crashed);
    await rejectsWith(repo.markMessageSent(id, "step:sign", crashed), "MESSAGE_CLAIM_LOST");
    // Releasing the lost claim gives nothing back: the re-run still holds it.
    await repo.releaseMessage(id, "step:sign", crashed);
    const other = await repo.claimMessage(id, "step:sign", { owner: "exec-2" });
    assert.equal(other.state, "in-progress");
    await repo.markMessageSent(id, "step:sign", rerun, { result: { serial: "0a" } });
    assert.deepEqual(await repo.sentMessage(id, "step:sign"), {
      sentAt: "2030-01-01T00:00:00.000Z",
      result: { serial: "0a" },
    });
  });

  test("a claim held by another owner, or by no owner, is in progress until its lease runs out", async () => {
    const { repo, advance } = await setup();
    const id = await requestIn(repo, "approved");
    const held = claimIdOf(
      await repo.claimMessage(id, "step:sign", { leaseSeconds: 60, owner: "exec-1" }),
    );
    for (const options of [{ owner: "exec-2" }, {}]) {
      assert.deepEqual(await repo.claimMessage(id, "step:sign", options), {
        state: "in-progress",
        leaseUntil: "2030-01-01T00:01:00.000Z",
      });
    }
    // An ownerless claim is never taken over early, not even by a claimer that names an owner.
    const kind = "issued";
    const ownerless = claimIdOf(await repo.claimMessage(id, kind, { leaseSeconds: 60 }));
    assert.equal((await repo.claimMessage(id, kind, { owner: "exec-1" })).state, "in-progress");
    advance(59);
    assert.equal(
      (await repo.claimMessage(id, "step:sign", { owner: "exec-2" })).state,
      "in-progress",
    );
    advance(2);
    const taken = claimIdOf(await repo.claimMessage(id, "step:sign", { owner: "exec-2" }));
    await rejectsWith(repo.markMessageSent(id, "step:sign", held), "MESSAGE_CLAIM_LOST");
    await repo.markMessageSent(id, "step:sign", taken);
    assert.equal((await repo.claimMessage(id, kind, { owner: "exec-1" })).state, "claimed");
    await rejectsWith(repo.markMessageSent(id, kind, ownerless), "MESSAGE_CLAIM_LOST");
  });

  test("the result recorded with a sent message is returned to every later claim and by sentMessage", async () => {
    const { repo, advance } = await setup();
    const id = await requestIn(repo, "approved");
    assert.equal(await repo.sentMessage(id, "step:sign"), undefined, "never claimed");
    const claim = claimIdOf(await repo.claimMessage(id, "step:sign", { owner: "exec-1" }));
    assert.equal(await repo.sentMessage(id, "step:sign"), undefined, "claimed, not sent");
    const result = {
      serial: "7f3a01",
      pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      sans: [{ type: "dns", value: "app.example.com" }],
      notAfter: "2030-04-01T00:00:00.000Z",
    };
    advance(5);
    await repo.markMessageSent(id, "step:sign", claim, { result });
    const sent = { state: "sent", sentAt: "2030-01-01T00:00:05.000Z", result };
    advance(3600);
    // Whoever claims later, the same owner or another, gets the recorded result.
    assert.deepEqual(await repo.claimMessage(id, "step:sign", { owner: "exec-1" }), sent);
    assert.deepEqual(await repo.claimMessage(id, "step:sign", { owner: "exec-2" }), sent);
    assert.deepEqual(await repo.claimMessage(id, "step:sign"), sent);
    assert.deepEqual(await repo.sentMessage(id, "step:sign"), {
      sentAt: "2030-01-01T00:00:05.000Z",
      result,
    });
    // A message sent without a result reads back as null.
    const mail = claimIdOf(await repo.claimMessage(id, "issued"));
    await repo.markMessageSent(id, "issued", mail, { messageId: "m-1" });
    assert.deepEqual(await repo.claimMessage(id, "issued"), {
      state: "sent",
      sentAt: "2030-01-01T01:00:05.000Z",
      result: null,
    });
    assert.deepEqual(await repo.sentMessage(id, "issued"), {
      sentAt: "2030-01-01T01:00:05.000Z",
      result: null,
    });
    assert.equal(await repo.sentMessage(id, "received"), undefined, "another kind");
  });

  test("a holder whose claim was taken over cannot record its result, before or after the new holder", async () => {
    const { repo } = await setup();
    const id = await requestIn(repo, "approved");
    // Taken over, and the old holder finishes first: refused; then the new holder records.
    const a = claimIdOf(await repo.claimMessage(id, "step:sign", { owner: "exec-1" }));
    const b = claimIdOf(await repo.claimMessage(id, "step:sign", { owner: "exec-1" }));
    await rejectsWith(
      repo.markMessageSent(id, "step:sign", a, { result: { serial: "aa" } }),
      "MESSAGE_CLAIM_LOST",
    );
    assert.equal(await repo.sentMessage(id, "step:sign"), undefined);
    await repo.markMessageSent(id, "step:sign", b, { result: { serial: "bb" } });
    // The old holder finishes after the new one: refused too, and the result stays.
    await rejectsWith(
      repo.markMessageSent(id, "step:sign", a, { result: { serial: "aa" } }),
      "MESSAGE_CLAIM_LOST",
    );
    // The recorded holder marking again (a retried write) changes nothing either.
    await repo.markMessageSent(id, "step:sign", b, { result: { serial: "cc" } });
    assert.deepEqual((await repo.sentMessage(id, "step:sign"))?.result, { serial: "bb" });
    assert.deepEqual(await repo.claimMessage(id, "step:sign", { owner: "exec-1" }), {
      state: "sent",
      sentAt: "2030-01-01T00:00:00.000Z",
      result: { serial: "bb" },
    });
  });

  test("releaseAbandonedClaims gives back every claim still held, whoever holds it, and leaves sent ones sent", async () => {
    const { repo, tableName } = await setup();
    const first = await requestIn(repo, "approved");
    const second = await requestIn(repo, "pending_approval");
    const leases = { leaseSeconds: 3600 };
    const held = [
      {
        id: first,
        kind: "step:sign",
        claim: await repo.claimMessage(first, "step:sign", { ...leases, owner: "exec-1" }),
      },
      { id: first, kind: "received", claim: await repo.claimMessage(first, "received", leases) },
      {
        id: second,
        kind: "approval-needed:alice@example.com",
        claim: await repo.claimMessage(second, "approval-needed:alice@example.com", leases),
      },
    ];
    const sentClaim = claimIdOf(await repo.claimMessage(second, "step:sign", { owner: "exec-2" }));
    await repo.markMessageSent(second, "step:sign", sentClaim, { result: { serial: "5e" } });
    const itemsBefore = await scanAll(tableName);

    assert.equal(await repo.releaseAbandonedClaims(), 3);

    for (const { id, kind, claim } of held) {
      // Free at once for anyone (no lease to wait out), and the old holder's claim is gone.
      assert.equal(
        (await repo.claimMessage(id, kind, { owner: "someone-else" })).state,
        "claimed",
        kind,
      );
      await rejectsWith(repo.markMessageSent(id, kind, claimIdOf(claim)), "MESSAGE_CLAIM_LOST");
    }
    assert.deepEqual(await repo.claimMessage(second, "step:sign", { owner: "someone-else" }), {
      state: "sent",
      sentAt: "2030-01-01T00:00:00.000Z",
      result: { serial: "5e" },
    });
    // Nothing but the three claims changed: requests and the sent marker are as they were.
    const itemsAfter = await scanAll(tableName);
    const others = (items: typeof itemsBefore) =>
      items
        .filter((i) => !(i.state?.S === "sending"))
        .map((i) => JSON.stringify(i))
        .sort();
    assert.deepEqual(others(itemsAfter), others(itemsBefore));
    // The claims just made are held again, so a second sweep releases them, and only them.
    assert.equal(await repo.releaseAbandonedClaims(), 3);
    assert.equal(await repo.releaseAbandonedClaims(), 0);
    assert.equal((await repo.getRequest(first))?.status, "approved");
  });
});

describe("table", () => {
  test("createTable leaves an existing table alone", async () => {
    const { repo, tableName } = await setup();
    const id = await requestIn(repo, "submitted");
    await createTable(dynamo.client, tableName);
    assert.ok(await repo.getRequest(id));
  });
});

function claimIdOf(claim: MessageClaim): string {
  assert.equal(claim.state, "claimed", JSON.stringify(claim));
  return (claim as { claimId: string }).claimId;
}

function isCode(error: unknown, code: ErrorCode): boolean {
  return error instanceof PkiError && error.code === code;
}

async function scanAll(tableName: string) {
  const result = await dynamo.client.send(new ScanCommand({ TableName: tableName }));
  return result.Items ?? [];
}

async function countRequests(tableName: string): Promise<number> {
  return (await scanAll(tableName)).filter((i) => i.sk?.S === "REQUEST").length;
}
