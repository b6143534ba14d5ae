/**
 * End to end over HTTP against `npm start`'s runtime, run as its own process on a scratch data
 * folder: mail is read back from the SES stand-in, the approval link is followed, the
 * certificate is checked by OpenSSL against GET /v1/ca; and the process is killed while a
 * request waits for approval, restarted, and the approval still issues exactly once.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import {
  approvalToken,
  decide,
  mails,
  node,
  type Running,
  requestView,
  root,
  startService,
  stop,
  submit as submitCsr,
  waitFor,
  waitForStatus,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-e2e-"));
after(() => rmSync(work, { recursive: true, force: true }));

const csr = (name: string) => ecCsrFor(work, name, "DER");
const submit = (s: Running, name: string, profile: string, email: string) =>
  submitCsr(s, csr(name), profile, email);

describe("local service over HTTP", () => {
  test("approve by the emailed link: the requester gets a certificate OpenSSL accepts", async () => {
    const s = await startService(join(work, "data-approve"));
    try {
      const id = await submit(s, "web.example.com", "server", "dev@example.com");
      const token = await approvalToken(s, "security@example.com", id);
      const shown = await fetch(`${s.api}/v1/approvals/${id}?token=${token}`);
      assert.equal(shown.status, 200);
      assert.equal(((await shown.json()) as { status: string }).status, "pending_approval");
      const decided = await decide(s, id, { decision: "approve", token, reason: "ok" });
      assert.equal(decided.status, 200, await decided.clone().text());
      const view = await waitForStatus(s, id, "issued");
      const issuedMail = await waitFor("the issued mail", async () =>
        (await mails(s)).find(
          (m) => m.destination.to.includes("dev@example.com") && m.attachments.length === 2,
        ),
      );
      const leaf = Buffer.from(
        issuedMail.attachments.find((a) => a.filename === `${view.serial}.pem`)!.content,
        "base64",
      );
      writeFileSync(join(work, "leaf.pem"), leaf);
      writeFileSync(join(work, "ca.pem"), await (await fetch(`${s.api}/v1/ca`)).text());
      execFileSync("openssl", [
        "verify",
        "-x509_strict",
        "-purpose",
        "sslserver",
        "-CAfile",
        join(work, "ca.pem"),
        join(work, "leaf.pem"),
      ]);
      const replay = await decide(s, id, { decision: "approve", token });
      assert.equal(replay.status, 409);
      assert.equal(replay.headers.get("content-type"), "application/problem+json");
    } finally {
      await stop(s);
    }
  });

  test("killed while waiting for approval, restarted: the approval still issues, once", async () => {
    const dataDir = join(work, "data-restart");
    const first = await startService(dataDir);
    let id: string;
    let token: string;
    try {
      id = await submit(first, "api.example.com", "server", "dev@example.com");
      token = await approvalToken(first, "security@example.com", id);
    } finally {
      await stop(first, "SIGKILL");
    }
    const second = await startService(dataDir);
    try {
      assert.equal((await requestView(second, id)).status, "pending_approval");
      const decided = await decide(second, id, { decision: "approve", token });
      assert.equal(decided.status, 200, await decided.clone().text());
      const view = await waitForStatus(second, id, "issued");
      assert.equal(view.history.filter((h) => h.action === "issued").length, 1);
      // No approval mail was sent again after the restart.
      assert.equal(
        (await mails(second)).filter((m) => m.destination.to.includes("security@example.com"))
          .length,
        0,
      );
    } finally {
      await stop(second);
    }
  });

  test("while the service runs, pki refuses to change the data folder and still reads it", async () => {
    const dataDir = join(work, "data-cli");
    const s = await startService(dataDir);
    try {
      const cli = (...args: string[]) =>
        spawnSync(node, [join(root, "bin/pki.mjs"), ...args, "--data-dir", dataDir], {
          encoding: "utf8",
        });
      const csrFile = join(work, "cli.csr");
      writeFileSync(csrFile, csr("cli.example.internal"));
      const issue = cli("issue", "--csr", csrFile, "--profile", "client");
      assert.equal(issue.status, 1);
      assert.equal(issue.stdout, "");
      assert.match(
        issue.stderr,
        /RUNTIME_RUNNING: .*runs the local service on .*"pki issue" would change state under it/,
      );
      assert.equal(cli("ca", "init").status, 1);
      const show = cli("ca", "show");
      assert.equal(show.status, 0, show.stderr);
      assert.equal(show.stdout, await (await fetch(`${s.api}/v1/ca`)).text());
    } finally {
      await stop(s);
    }
    // Stopped, the folder is the CLI's again.
    const stopped = spawnSync(node, [join(root, "bin/pki.mjs"), "crl", "--data-dir", dataDir], {
      encoding: "utf8",
    });
    assert.equal(stopped.status, 0, stopped.stderr);
  });
});
