/**
 * Issue 18 end to end, on `npm start`'s runtime in its own process: a request waits for the
 * `server` profile's approver (security@example.com), the service restarts on the same data
 * folder, and an admin resends the approval mail, through the API and through
 * `pki requests resend ID` (which goes through the running service). Each resend's mail carries
 * a new link; every earlier link is refused (its page is the 404 "not valid" page, the API
 * says APPROVAL_TOKEN_INVALID); the newest link approves and the request is issued. Stopped,
 * `pki requests resend` says to start the service. Tokens are read from the mails, never from
 * the host and port in the links.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { pkiAsync } from "./support/cli.ts";
import {
  approvalToken,
  decide,
  expectProblem,
  type Running,
  requestView,
  startService,
  stop,
  submit,
  waitForStatus,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-resend-"));
after(() => rmSync(work, { recursive: true, force: true }));

const APPROVER = "security@example.com";

/** The link is refused everywhere: its page is "not valid" (404), the API's answer 403. */
async function assertRefused(s: Running, id: string, token: string, what: string): Promise<void> {
  const pageResponse = await fetch(`${s.api}/approvals/${id}?token=${token}`, {
    headers: { accept: "text/html" },
  });
  assert.equal(pageResponse.status, 404, what);
  assert.match(await pageResponse.text(), /This approval link is not valid/, what);
  const shown = await fetch(`${s.api}/v1/approvals/${id}?token=${token}`);
  assert.equal((await expectProblem(shown, 403)).code, "APPROVAL_TOKEN_INVALID", what);
  const decided = await decide(s, id, { decision: "approve", token });
  assert.equal((await expectProblem(decided, 403)).code, "APPROVAL_TOKEN_INVALID", what);
}

describe("resending approval mails on the local service", () => {
  test("after a restart: resend through the API and through pki; only the newest link approves", async () => {
    const dataDir = join(work, "data");
    const cli = (...args: string[]) => pkiAsync([...args, "--data-dir", dataDir]);
    const first = await startService(dataDir);
    let id: string;
    let original: string;
    try {
      id = await submit(
        first,
        ecCsrFor(work, "resend.example.internal", "DER"),
        "server",
        "dev@example.com",
      );
      original = await approvalToken(first, APPROVER, id);
    } finally {
      await stop(first);
    }

    const s = await startService(dataDir);
    try {
      assert.equal((await requestView(s, id)).status, "pending_approval");
      // Only an admin resends.
      const anonymous = await fetch(`${s.api}/v1/requests/${id}/approval-mails`, {
        method: "POST",
      });
      assert.equal((await expectProblem(anonymous, 401)).code, "UNAUTHENTICATED");

      // Through the API.
      const resent = await fetch(`${s.api}/v1/requests/${id}/approval-mails`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}` },
      });
      assert.equal(resent.status, 200, await resent.clone().text());
      const answer = (await resent.json()) as { mailed: string[]; status: string };
      assert.deepEqual(answer.mailed, [APPROVER]);
      assert.equal(answer.status, "pending_approval");
      const viaApi = await approvalToken(s, APPROVER, id, 2);
      assert.notEqual(viaApi, original);
      await assertRefused(s, id, original, "the link mailed before the restart");

      // Through pki, which goes through the running service.
      const viaCli = await cli("requests", "resend", id);
      assert.equal(viaCli.status, 0, viaCli.stderr);
      assert.match(
        viaCli.stdout,
        new RegExp(
          `Approval mails resent for request ${id} to ${APPROVER}; their earlier links no longer work`,
        ),
      );
      const newest = await approvalToken(s, APPROVER, id, 3);
      assert.ok(newest !== viaApi && newest !== original);
      await assertRefused(s, id, viaApi, "the link of the API's resend");

      const approved = await decide(s, id, { decision: "approve", token: newest });
      assert.equal(approved.status, 200, await approved.clone().text());
      const issued = await waitForStatus(s, id, "issued", 20_000);
      assert.ok(issued.serial);
      const resends = issued.history.filter((h) => h.action === "approval.resent");
      assert.equal(resends.length, 2);
      assert.ok(resends.every((h) => /\(api-key:[0-9a-f]{16}\)$/.test(h.actor ?? "")));

      // Issued: nothing is left to resend, and pki says why with a non-zero status.
      const late = await cli("requests", "resend", id);
      assert.equal(late.status, 1);
      assert.match(late.stderr, /409 APPROVAL_NOT_PENDING: .*is issued/);
      const unknown = await cli("requests", "resend", "no-such-request");
      assert.equal(unknown.status, 1);
      assert.match(unknown.stderr, /404 REQUEST_NOT_FOUND/);
    } finally {
      await stop(s);
    }

    // Stopped: pki cannot resend without the service, and says to start it.
    const stopped = await cli("requests", "resend", id);
    assert.equal(stopped.status, 1);
    assert.equal(stopped.stdout, "");
    assert.match(
      stopped.stderr,
      /^pki: RUNTIME_NOT_RUNNING: .*pki requests resend goes through the local service.*start it on .* \(npm start\)/,
    );
    const usage = await cli("requests", "resend");
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: pki requests resend ID/);
  });
});
