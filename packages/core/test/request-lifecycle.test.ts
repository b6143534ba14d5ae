/**
 * The request lifecycle with every real part but HTTP: the registration authority, the ASL
 * document on the local engine, the step handlers, DynamoDB (dynalite), S3 (s3rver), the
 * in-process bus with the requester-mail and audit subscribers, and a data-folder CA. Mail is
 * caught in memory so the approval link can be followed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isPkiError, TransientError } from "../src/errors.ts";
import { principalOfKey } from "../src/identity/principal.ts";
import type { WorkflowEngine } from "../src/workflow/engine.ts";
import type { LocalWorkflowEngine } from "../src/workflow/local-engine.ts";
import { createStepHandlers } from "../src/workflow/steps/index.ts";
import { ecCsrFor } from "./support/openssl.ts";
import { approvalToken, setUp } from "./support/world.ts";

const work = mkdtempSync(join(tmpdir(), "lifecycle-"));
after(() => rmSync(work, { recursive: true, force: true }));

const csr = (name: string) => ecCsrFor(work, name).toString("utf8");

/** Who submits: a build machine's API key, acting for Alice. */
const alice = principalOfKey({
  id: "0123456789abcdef",
  role: "requester",
  owner: "alice@example.com",
});

describe("request lifecycle", () => {
  let world: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    world = await setUp();
  });
  after(async () => {
    await world.close();
  });

  const caller = alice;

  test("automatic approval: issued, the requester mailed the certificate, history recorded", async () => {
    const { ra, engine, mailer, bus, ca } = world;
    const { request, created } = await ra.submit(
      { csr: csr("api.example.internal"), email: "dev@example.com", profile: "client" },
      caller,
      undefined,
    );
    assert.equal(created, true);
    const done = await engine.waitForExecution(request.id);
    assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
    await bus.drain();
    const view = (await ra.getRequest(request.id, caller))!;
    assert.equal(view.status, "issued");
    assert.match(view.serial!, /^[0-9a-f]+$/);
    assert.equal(view.requester, "dev@example.com");
    assert.equal(view.requestedBy, "alice@example.com (api-key:0123456789abcdef)");
    const cert = (await ra.getCertificate(view.serial!, caller))!;
    // Another requester sees neither; the request's own page (ofRequest) sees the certificate.
    const bob = principalOfKey({
      id: "fedcba9876543210",
      role: "requester",
      owner: "bob@example.com",
    });
    assert.equal(await ra.getRequest(request.id, bob), undefined);
    assert.equal(await ra.getCertificate(view.serial!, bob), undefined);
    assert.equal((await ra.getCertificate(view.serial!, { ofRequest: request.id }))!.pem, cert.pem);
    assert.equal(
      await ra.getCertificate(view.serial!, { ofRequest: "another-request" }),
      undefined,
    );
    const mails = mailer.to("dev@example.com");
    const issued = mails.find((m) => m.attachments?.length);
    assert.ok(issued, `no mail with attachments among: ${mails.map((m) => m.subject).join(" | ")}`);
    assert.equal(mails.length, 2, "received + issued");
    const attached = Buffer.from(issued.attachments![0]!.content as string | Uint8Array).toString();
    assert.equal(attached, cert.pem);
    // OpenSSL accepts the mailed certificate against the CA chain.
    const chainFile = join(work, "chain.pem");
    const leafFile = join(work, "leaf.pem");
    writeFileSync(chainFile, await ca.chainPem());
    writeFileSync(leafFile, cert.pem);
    execFileSync("openssl", ["verify", "-x509_strict", "-CAfile", chainFile, leafFile]);
    const actions = view.history.map((h) => h.action);
    assert.ok(
      actions.includes("approved automatically") && actions.includes("issued"),
      actions.join(", "),
    );
  });

  test("manual approval through the mailed link, once; a replayed link is refused", async () => {
    const { ra, engine, mailer, bus } = world;
    const { request } = await ra.submit(
      {
        csr: csr("web.example.com"),
        email: "dev2@example.com",
        profile: "server",
        comment: "<b>hi</b>",
      },
      caller,
      undefined,
    );
    const token = await approvalToken(mailer, "security@example.com", request.id);
    const summary = await ra.getApproval(request.id, token);
    assert.equal(summary.status, "pending_approval");
    assert.equal(summary.comment, "<b>hi</b>");
    assert.equal(
      (await ra.getRequest(request.id, caller))!.status,
      "pending_approval",
      "a GET changes nothing",
    );
    await ra.decide(request.id, token, "approve", "looks right");
    const done = await engine.waitForExecution(request.id);
    assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
    await bus.drain();
    assert.equal((await ra.getRequest(request.id, caller))!.status, "issued");
    await assert.rejects(ra.decide(request.id, token, "approve", undefined), (e) =>
      isPkiError(e, "APPROVAL_ALREADY_DECIDED"),
    );
    await assert.rejects(ra.getApproval(request.id, "A".repeat(43)), (e) =>
      isPkiError(e, "APPROVAL_TOKEN_INVALID"),
    );
    assert.equal(
      mailer.to("security@example.com").filter((m) => m.text.includes(request.id)).length,
      1,
    );
  });

  test("a rejection ends the request, and the requester hears why", async () => {
    const { ra, engine, mailer, bus } = world;
    const { request } = await ra.submit(
      { csr: csr("db.example.com"), email: "dev3@example.com", profile: "server" },
      caller,
      undefined,
    );
    const token = await approvalToken(mailer, "security@example.com", request.id);
    await ra.decide(request.id, token, "reject", "not this host");
    assert.equal((await engine.waitForExecution(request.id)).status, "SUCCEEDED");
    await bus.drain();
    const view = (await ra.getRequest(request.id, caller))!;
    assert.equal(view.status, "rejected");
    const last = mailer.to("dev3@example.com").at(-1)!;
    assert.match(last.text, /not this host/);
  });

  test("each step run twice gives one certificate and one email", async () => {
    const { ra, engine, mailer, bus, deps, repository } = world;
    const { request } = await ra.submit(
      { csr: csr("twice.example.internal"), email: "dev4@example.com", profile: "client" },
      caller,
      undefined,
    );
    await engine.waitForExecution(request.id);
    await bus.drain();
    const before = (await repository.getRequest(request.id))!;
    const mailsBefore = mailer.sent.length;
    const steps = createStepHandlers(deps);
    assert.deepEqual(await steps.SignCertificate({ requestId: request.id }), {
      serial: before.serial,
    });
    assert.deepEqual(
      await steps.StoreCertificate({ requestId: request.id, serial: before.serial! }),
      { status: "issued" },
    );
    await steps.NotifyRequester({ requestId: request.id, outcome: "issued" });
    await steps.StoreRequest({ requestId: request.id });
    await bus.drain();
    assert.equal(mailer.sent.length, mailsBefore, "no second email");
    assert.equal((await repository.getRequest(request.id))!.serial, before.serial);
  });

  test("submission refuses a bad CSR, an unknown profile and an unreachable quorum at once", async () => {
    const { ra } = world;
    await assert.rejects(
      ra.submit(
        { csr: "not a csr", email: "dev@example.com", profile: "server" },
        caller,
        undefined,
      ),
      (e) => isPkiError(e) && e.code.startsWith("CSR_"),
    );
    await assert.rejects(
      ra.submit(
        { csr: csr("x.example.com"), email: "dev@example.com", profile: "nope" },
        caller,
        undefined,
      ),
      (e) => isPkiError(e, "PROFILE_UNKNOWN"),
    );
    // server-client needs both its approvers; one of them asking leaves too few. Four eyes
    // goes by who asks (here platform@'s own key), not by the address typed for the mails.
    const platform = principalOfKey({
      id: "00112233445566ff",
      role: "requester",
      owner: "platform@example.com",
    });
    await assert.rejects(
      ra.submit(
        { csr: csr("y.example.com"), email: "platform-team@example.com", profile: "server-client" },
        platform,
        undefined,
      ),
      (e) => isPkiError(e, "APPROVAL_QUORUM_UNREACHABLE"),
    );
    await assert.rejects(
      ra.submit({ csr: csr("y.example.com"), profile: "server-client" }, platform, undefined),
      (e) => isPkiError(e, "APPROVAL_QUORUM_UNREACHABLE"),
    );
  });
});

/** The approval token in the newest mail to `approver` about `requestId`, waiting for it. */
/** An engine whose SendTaskSuccess/SendTaskFailure fail (SFN throttled) `failures` times. */
function failingDelivery(failures: number) {
  return (engine: LocalWorkflowEngine): WorkflowEngine => {
    let left = failures;
    const failOnce = () => {
      if (left <= 0) return false;
      left--;
      return true;
    };
    return {
      startExecution: (id) => engine.startExecution(id),
      async sendTaskSuccess(token, output) {
        if (failOnce()) throw new TransientError("ThrottlingException: Rate exceeded");
        return engine.sendTaskSuccess(token, output);
      },
      async sendTaskFailure(token, error, cause) {
        if (failOnce()) throw new TransientError("ThrottlingException: Rate exceeded");
        return engine.sendTaskFailure(token, error, cause);
      },
    };
  };
}

describe("a decision that does not reach the workflow at first", () => {
  const caller = alice;

  test("the approver is told to send it again; the resend delivers it and issues once", async () => {
    const world = await setUp({ raEngine: failingDelivery(1) });
    try {
      const { ra, engine, mailer, bus } = world;
      const { request } = await ra.submit(
        { csr: csr("retry.example.com"), email: "dev@example.com", profile: "server" },
        caller,
        undefined,
      );
      const token = await approvalToken(mailer, "security@example.com", request.id);
      await assert.rejects(
        ra.decide(request.id, token, "approve", undefined),
        (e) =>
          isPkiError(e, "APPROVAL_DELIVERY_FAILED") &&
          /is recorded, but passing it on failed \(ThrottlingException: Rate exceeded\)\. Send the same decision again/.test(
            e.message,
          ),
      );
      assert.equal((await ra.getRequest(request.id, caller))!.status, "approved");
      // The same decision again: refused as a second decision, but it delivers the first.
      await assert.rejects(ra.decide(request.id, token, "approve", undefined), (e) =>
        isPkiError(e, "APPROVAL_ALREADY_DECIDED"),
      );
      assert.equal((await engine.waitForExecution(request.id)).status, "SUCCEEDED");
      await bus.drain();
      const view = (await ra.getRequest(request.id, caller))!;
      assert.equal(view.status, "issued");
      assert.equal(view.history.filter((h) => h.action === "issued").length, 1);
      assert.equal(view.history.filter((h) => h.action === "approval.approve").length, 1);
      // Once delivered, a further replay changes nothing.
      await assert.rejects(ra.decide(request.id, token, "approve", undefined), (e) =>
        isPkiError(e, "APPROVAL_ALREADY_DECIDED"),
      );
      assert.equal((await ra.getRequest(request.id, caller))!.history.length, view.history.length);
    } finally {
      await world.close();
    }
  });

  test("nobody resends: when the wait times out, the recorded approval is followed", async () => {
    const world = await setUp({ raEngine: failingDelivery(Infinity), serverTimeoutHours: 0.0005 });
    try {
      const { ra, engine, mailer, bus } = world;
      const { request } = await ra.submit(
        { csr: csr("late.example.com"), email: "dev@example.com", profile: "server" },
        caller,
        undefined,
      );
      const token = await approvalToken(mailer, "security@example.com", request.id);
      await assert.rejects(ra.decide(request.id, token, "approve", "fine"), (e) =>
        isPkiError(e, "APPROVAL_DELIVERY_FAILED"),
      );
      const done = await engine.waitForExecution(request.id);
      assert.equal(done.status, "SUCCEEDED", JSON.stringify(done));
      await bus.drain();
      const view = (await ra.getRequest(request.id, caller))!;
      assert.equal(view.status, "issued");
      const actions = view.history.map((h) => h.action);
      assert.ok(!actions.includes("expired"), actions.join(", "));
      assert.ok(mailer.to("dev@example.com").some((m) => m.attachments?.length === 2));
    } finally {
      await world.close();
    }
  });

  test("nobody resends a rejection: when the wait times out, the requester hears it", async () => {
    const world = await setUp({ raEngine: failingDelivery(Infinity), serverTimeoutHours: 0.0005 });
    try {
      const { ra, engine, mailer, bus } = world;
      const { request } = await ra.submit(
        { csr: csr("no.example.com"), email: "dev@example.com", profile: "server" },
        caller,
        undefined,
      );
      const token = await approvalToken(mailer, "security@example.com", request.id);
      await assert.rejects(ra.decide(request.id, token, "reject", "wrong team"), (e) =>
        isPkiError(e, "APPROVAL_DELIVERY_FAILED"),
      );
      assert.equal((await engine.waitForExecution(request.id)).status, "SUCCEEDED");
      await bus.drain();
      const view = (await ra.getRequest(request.id, caller))!;
      assert.equal(view.status, "rejected");
      assert.equal(view.reason, "wrong team");
      const mails = mailer.to("dev@example.com");
      assert.ok(
        mails.some((m) => m.text.includes("wrong team")),
        mails.map((m) => m.subject).join(" | "),
      );
    } finally {
      await world.close();
    }
  });
});
