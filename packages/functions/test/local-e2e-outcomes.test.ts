/**
 * End to end over HTTP against `npm start`'s runtime, run as its own process on a scratch data
 * folder per test, for the outcomes local-e2e.test.ts does not reach: an approver's rejection,
 * an approval window that runs out, a 2-of-2 quorum, and automatic approval. Mail is read back
 * from the SES stand-in; certificates are checked by OpenSSL against GET /v1/ca.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor, opensslVerifyPem } from "../../core/test/support/openssl.ts";

import {
  approvalToken,
  attachmentText,
  decide,
  expectProblem,
  mails,
  mailsTo,
  type RequestView,
  type Running,
  requestView,
  type StoredMail,
  startService,
  stop,
  submit as submitCsr,
  waitFor,
  waitForStatus,
  writeConfig,
} from "./support/local-service.ts";

type Purpose = Parameters<typeof opensslVerifyPem>[3];

const work = mkdtempSync(join(tmpdir(), "pki-e2e-outcomes-"));
after(() => rmSync(work, { recursive: true, force: true }));

const REQUESTER = "dev@example.com";
const SECURITY = "security@example.com";
const PLATFORM = "platform@example.com";

/** A scratch folder of its own for one test. */
function scratch(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const submit = (s: Running, dir: string, name: string, profile: string) =>
  submitCsr(s, ecCsrFor(dir, name, "DER"), profile, REQUESTER);

/** The requester's mail whose subject starts with `prefix`, once it has arrived. */
const requesterMail = (s: Running, prefix: string, timeoutMs?: number) =>
  waitFor(
    `the "${prefix}" mail to ${REQUESTER}`,
    async () => mailsTo(await mails(s), REQUESTER).find((m) => m.subject.startsWith(prefix)),
    timeoutMs,
  );

/** GET /v1/approvals/{id}?token=…: what the approval page shows. */
async function approvalPage(s: Running, id: string, token: string) {
  const res = await fetch(`${s.api}/v1/approvals/${id}?token=${token}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as {
    requestId: string;
    approver: string;
    status: string;
    decided: boolean;
    approvals: number;
    approvalsRequired: number;
  };
}

/**
 * Checks the issued mail's attachments: the certificate equals GET /v1/certificates/{serial},
 * the chain equals GET /v1/ca, and OpenSSL verifies the certificate against GET /v1/ca for each
 * purpose in `purposes` (and refuses it for each in `refused`). Returns the certificate PEM.
 */
async function checkIssued(
  s: Running,
  dir: string,
  view: RequestView,
  mail: StoredMail,
  purposes: readonly Purpose[],
  refused: readonly Purpose[] = [],
): Promise<string> {
  assert.ok(view.serial, "an issued request names its serial");
  assert.match(mail.subject, new RegExp(`\\(serial ${view.serial}\\)`));
  assert.deepEqual(mail.attachments.map((a) => a.filename).sort(), [
    `${view.serial}-chain.pem`,
    `${view.serial}.pem`,
  ]);
  const leaf = attachmentText(mail, `${view.serial}.pem`);
  const chain = attachmentText(mail, `${view.serial}-chain.pem`);
  assert.equal(leaf.match(/-----BEGIN CERTIFICATE-----/g)?.length, 1);

  const ca = await (await fetch(`${s.api}/v1/ca`)).text();
  assert.match(ca, /-----BEGIN CERTIFICATE-----/);
  assert.equal(chain, ca, "the attached chain is the CA chain GET /v1/ca serves");

  const served = await fetch(`${s.api}/v1/certificates/${view.serial}`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  assert.equal(served.status, 200, await served.clone().text());
  assert.equal(served.headers.get("content-type"), "application/x-pem-file");
  assert.equal(await served.text(), leaf, "GET /v1/certificates/{serial} serves the mailed PEM");

  for (const purpose of purposes) {
    const verdict = opensslVerifyPem(dir, ca, leaf, purpose);
    assert.ok(verdict.ok, `openssl verify -purpose ${purpose}: ${verdict.output}`);
    assert.match(verdict.output, /: OK\n$/);
  }
  for (const purpose of refused) {
    const verdict = opensslVerifyPem(dir, ca, leaf, purpose);
    assert.ok(!verdict.ok, `openssl verify -purpose ${purpose} should refuse it`);
    assert.match(verdict.output, /error 26 at 0 depth .*unsuitable certificate purpose/);
  }
  return leaf;
}

describe("local service over HTTP: request outcomes", () => {
  test("rejected by the approver: reason recorded and mailed, no certificate, the link is spent", async () => {
    const dir = scratch("reject");
    const s = await startService(join(dir, "data"));
    try {
      const id = await submit(s, dir, "reject.example.com", "server");
      const token = await approvalToken(s, SECURITY, id);
      const reason = "No such service in the inventory; ask the platform team first.";

      const decided = await decide(s, id, { decision: "reject", token, reason });
      assert.equal(decided.status, 200, await decided.clone().text());
      assert.deepEqual(await decided.json(), { id, status: "rejected" });

      const rejectedMail = await requesterMail(s, "Certificate request rejected:");
      const view = await waitForStatus(s, id, "rejected");
      assert.equal(view.reason, reason);
      assert.equal(view.serial, null);

      const decision = view.history.find((h) => h.action === "approval.reject");
      assert.ok(decision, `an approval.reject entry: ${JSON.stringify(view.history)}`);
      assert.equal(decision.actor, `approver:${SECURITY}`);
      assert.equal(decision.details?.reason, reason);
      const outcome = view.history.find((h) => h.action === "rejected");
      assert.ok(outcome, `a rejected entry: ${JSON.stringify(view.history)}`);
      assert.equal(outcome.actor, `approver:${SECURITY}`);
      assert.equal(outcome.details?.reason, reason);
      assert.equal(view.history.filter((h) => h.action === "rejected").length, 1);
      assert.equal(
        view.history.filter((h) => /approved|issued|expired|failed/.test(h.action)).length,
        0,
        JSON.stringify(view.history),
      );

      assert.ok(rejectedMail.body.text.includes(reason), rejectedMail.body.text);
      assert.ok(rejectedMail.body.text.includes(id));
      assert.match(rejectedMail.body.text, new RegExp(`Rejected by:?\\s+${SECURITY}`));
      assert.equal(rejectedMail.attachments.length, 0);

      const all = mailsTo(await mails(s), REQUESTER);
      assert.deepEqual(all.map((m) => m.subject.replace(/:.*/, "")).sort(), [
        "Certificate request received",
        "Certificate request rejected",
      ]);
      assert.equal(all.filter((m) => m.attachments.length > 0).length, 0, "no certificate mail");

      // The link is spent: neither a second rejection nor a change of mind goes through.
      for (const again of ["reject", "approve"] as const) {
        const replay = await expectProblem(await decide(s, id, { decision: again, token }), 409);
        assert.equal(replay.code, "APPROVAL_ALREADY_DECIDED");
        assert.match(replay.detail ?? "", new RegExp(`${SECURITY} decided "reject" at `));
      }
      const page = await approvalPage(s, id, token);
      assert.equal(page.status, "rejected");
      assert.equal(page.decided, true);
      assert.equal((await requestView(s, id)).status, "rejected");
    } finally {
      await stop(s);
    }
  });

  test("nobody decides within the profile's timeout: the request expires and its link is dead", async () => {
    const dir = scratch("expire");
    const configPath = writeConfig(join(dir, "pki.config.json"), (config) => {
      config.profiles.server!.approval.timeoutHours = 0.001; // 3.6 s, rounded to 4 s
    });
    const s = await startService(join(dir, "data"), { configPath });
    try {
      const submittedAt = Date.now();
      const id = await submit(s, dir, "expire.example.com", "server");
      const token = await approvalToken(s, SECURITY, id);
      const waiting = await approvalPage(s, id, token);
      assert.equal(waiting.status, "pending_approval");
      assert.equal(waiting.decided, false);

      // Wait on the mail store (no rate limit) rather than polling the API.
      const expiredMail = await requesterMail(s, "Certificate request expired:", 15_000);
      const elapsed = Date.now() - submittedAt;
      assert.ok(elapsed >= 3_500, `expired after ${elapsed} ms; the window is 4 s`);

      const view = await requestView(s, id);
      assert.equal(view.status, "expired");
      assert.equal(view.serial, null);
      const deadline = /^No decision before (\S+)\.$/.exec(view.reason ?? "")?.[1];
      assert.ok(deadline, `the reason names the deadline: ${view.reason}`);
      const window = Date.parse(deadline) - Date.parse(view.createdAt!);
      assert.ok(window >= 3_500 && window <= 6_000, `deadline ${window} ms after submission`);
      const expiry = view.history.filter((h) => h.action === "expired");
      assert.equal(expiry.length, 1, JSON.stringify(view.history));
      assert.equal(expiry[0]!.actor, "workflow");

      assert.ok(expiredMail.body.text.includes(id));
      assert.match(expiredMail.body.text, /has expired and no certificate was issued/);
      assert.equal(expiredMail.attachments.length, 0);
      assert.equal(
        mailsTo(await mails(s), REQUESTER).filter((m) => m.attachments.length > 0).length,
        0,
        "no certificate mail",
      );

      // The old link: 409, since the request is no longer waiting (checked before the link's
      // own expiry), and the detail says what it is now.
      const late = await expectProblem(await decide(s, id, { decision: "approve", token }), 409);
      assert.equal(late.code, "APPROVAL_NOT_PENDING");
      assert.equal(late.detail, `Request ${id} is expired.`);
      const page = await approvalPage(s, id, token);
      assert.equal(page.status, "expired");
      assert.equal(page.decided, false);
      assert.equal((await requestView(s, id)).status, "expired");
    } finally {
      await stop(s);
    }
  });

  test("2-of-2 quorum: one approval waits, a repeated one does not count, the second issues", async () => {
    const dir = scratch("quorum");
    const s = await startService(join(dir, "data"));
    try {
      const id = await submit(s, dir, "mesh.example.internal", "server-client");
      const first = await approvalToken(s, SECURITY, id);
      const second = await approvalToken(s, PLATFORM, id);
      assert.notEqual(first, second);

      const one = await decide(s, id, { decision: "approve", token: first, reason: "ok by me" });
      assert.equal(one.status, 200, await one.clone().text());
      assert.deepEqual(await one.json(), { id, status: "pending_approval" });
      let view = await requestView(s, id);
      assert.equal(view.status, "pending_approval");
      const progress = view.history.filter((h) => h.action === "approval.approve");
      assert.equal(progress.length, 1);
      assert.equal(progress[0]!.actor, `approver:${SECURITY}`);
      assert.equal(progress[0]!.details?.approvals, 1);
      assert.equal(progress[0]!.details?.quorum, 2);

      const secondPage = await approvalPage(s, id, second);
      assert.equal(secondPage.approver, PLATFORM);
      assert.equal(secondPage.status, "pending_approval");
      assert.equal(secondPage.decided, false);
      assert.equal(secondPage.approvals, 1);
      assert.equal(secondPage.approvalsRequired, 2);
      const firstPage = await approvalPage(s, id, first);
      assert.equal(firstPage.approver, SECURITY);
      assert.equal(firstPage.decided, true);

      // The first approver again: refused, and the request still waits for the second.
      const twice = await expectProblem(
        await decide(s, id, { decision: "approve", token: first }),
        409,
      );
      assert.equal(twice.code, "APPROVAL_ALREADY_DECIDED");
      assert.match(twice.detail ?? "", new RegExp(`${SECURITY} decided "approve" at `));
      view = await requestView(s, id);
      assert.equal(view.status, "pending_approval");
      assert.equal(view.history.filter((h) => h.action === "approval.approve").length, 1);

      const two = await decide(s, id, { decision: "approve", token: second });
      assert.equal(two.status, 200, await two.clone().text());
      assert.equal(((await two.json()) as { status: string }).status, "approved");

      const issuedMail = await requesterMail(s, "Certificate issued:");
      view = await waitForStatus(s, id, "issued");
      await checkIssued(s, dir, view, issuedMail, ["sslserver", "sslclient"]);

      const approvals = view.history.filter((h) => h.action === "approval.approve");
      assert.deepEqual(
        approvals.map((h) => h.actor),
        [`approver:${SECURITY}`, `approver:${PLATFORM}`],
      );
      assert.deepEqual(
        approvals.map((h) => h.details?.approvals),
        [1, 2],
      );
      const approved = view.history.filter((h) => h.action === "approved");
      assert.equal(approved.length, 1, JSON.stringify(view.history));
      assert.equal(approved[0]!.actor, `approver:${PLATFORM}`);
      assert.deepEqual(approved[0]!.details?.approvers, [SECURITY, PLATFORM]);
      assert.equal(view.history.filter((h) => h.action === "issued").length, 1);
      assert.equal(
        mailsTo(await mails(s), REQUESTER).filter((m) => m.attachments.length > 0).length,
        1,
        "one certificate mail",
      );

      // Each approver was told that one approval is not enough (checked last so that the
      // workflow's outcome above is checked whatever the wording).
      const approverMails = (await mails(s)).filter((m) => m.subject.startsWith("Approval needed"));
      assert.deepEqual(approverMails.map((m) => m.destination.to).sort(), [[PLATFORM], [SECURITY]]);
      for (const m of approverMails)
        assert.match(m.body.text, /It needs 2 approvals from different approvers\./);
    } finally {
      await stop(s);
    }
  });

  test("automatic approval: no approver is mailed, the certificate is issued at once", async () => {
    const dir = scratch("automatic");
    const s = await startService(join(dir, "data"));
    try {
      const id = await submit(s, dir, "svc.example.internal", "client");
      const issuedMail = await requesterMail(s, "Certificate issued:");
      const view = await waitForStatus(s, id, "issued");
      await checkIssued(s, dir, view, issuedMail, ["sslclient"], ["sslserver"]);

      const all = await mails(s);
      assert.deepEqual(
        all.filter((m) => !(m.destination.to.length === 1 && m.destination.to[0] === REQUESTER)),
        [],
        "only the requester is mailed",
      );
      assert.ok(
        all.every(
          (m) => !m.subject.startsWith("Approval needed") && !/\/approvals\//.test(m.body.text),
        ),
        "no approval mail",
      );
      assert.deepEqual(all.map((m) => m.subject.replace(/:.*/, "")).sort(), [
        "Certificate issued",
        "Certificate request received",
      ]);
      assert.equal(
        view.history.filter((h) => h.action.startsWith("approval.")).length,
        0,
        JSON.stringify(view.history),
      );
      assert.equal(view.history.filter((h) => h.action === "issued").length, 1);
    } finally {
      await stop(s);
    }
  });
});
