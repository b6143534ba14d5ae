/**
 * End to end over HTTP against `npm start`'s runtime, run as its own process on a scratch data
 * folder: mail is read back from the SES stand-in, the approval link is followed, the
 * certificate is checked by OpenSSL against GET /v1/ca; and the process is killed while a
 * request waits for approval, restarted, and the approval still issues exactly once.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor, opensslVerifyPem } from "../../core/test/support/openssl.ts";
import { pkiAsync } from "./support/cli.ts";
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
      const ca = await (await fetch(`${s.api}/v1/ca`)).text();
      const verdict = opensslVerifyPem(work, ca, leaf.toString("utf8"), "sslserver");
      assert.ok(verdict.ok, verdict.output);
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
      // The mail viewer kept the approval mail across the crash (it lives in the data folder).
      // Killed between SES accepting it and its being recorded as sent, it is sent once more
      // with a new link; the first link works all the same (above).
      const asked = (await mails(second)).filter((m) =>
        m.destination.to.includes("security@example.com"),
      ).length;
      assert.ok(asked === 1 || asked === 2, `${asked} approval mails`);
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
        /REGISTRY_CONFLICT: .*pki issue: .* belongs to the local service, .*submit the CSR to its API/,
      );
      assert.equal(cli("ca", "init").status, 1);
      const show = cli("ca", "show");
      assert.equal(show.status, 0, show.stderr);
      assert.equal(show.stdout, await (await fetch(`${s.api}/v1/ca`)).text());
    } finally {
      await stop(s);
    }
    // Stopped, the CA commands work on the folder again, but its CRL stays the service's.
    const pkiStopped = (...args: string[]) =>
      spawnSync(node, [join(root, "bin/pki.mjs"), ...args, "--data-dir", dataDir], {
        encoding: "utf8",
      });
    const show = pkiStopped("ca", "show");
    assert.equal(show.status, 0, show.stderr);
    const crl = pkiStopped("crl");
    assert.equal(crl.status, 1);
    assert.match(crl.stderr, /RUNTIME_NOT_RUNNING: .*the service is stopped: start it/);
  });

  test("pki keys: on the stopped data folder directly, through the service while it runs", async () => {
    const dataDir = join(work, "data-keys");
    // Not spawnSync: this process's event loop keeps running while pki does, so the
    // connections it keeps alive to the service are let go in time.
    const cli = (...args: string[]) => pkiAsync([...args, "--data-dir", dataDir]);
    const offline = await cli(
      "keys",
      "create",
      "--role",
      "requester",
      "--owner",
      "dev@example.com",
      "--label",
      "before start",
    );
    assert.equal(offline.status, 0, offline.stderr);
    const offlineKey = offline.stdout.trim();
    assert.match(offlineKey, /^spca_[A-Za-z0-9_-]{32}$/);
    assert.match(
      offline.stderr,
      new RegExp(`Created requester key [0-9a-f]{16} for dev@example.com in ${dataDir}`),
    );

    const s = await startService(dataDir);
    const withKey = (key: string, path: string, init: RequestInit = {}) =>
      fetch(`${s.api}${path}`, {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${key}` },
      });
    let onlineId: string;
    try {
      // The key made on the stopped folder is in the service's table.
      const submitted = await withKey(
        offlineKey,
        `/v1/requests?email=dev@example.com&profile=client`,
        {
          method: "POST",
          headers: { "content-type": "application/pkcs10" },
          body: csr("keys.example.internal"),
        },
      );
      assert.equal(submitted.status, 202, await submitted.clone().text());
      // A requester key cannot manage keys.
      assert.equal((await withKey(offlineKey, "/v1/keys")).status, 403);

      const online = await cli(
        "keys",
        "create",
        "--role",
        "admin",
        "--owner",
        "ops@example.com",
        "--label",
        "while running",
      );
      assert.equal(online.status, 0, online.stderr);
      assert.match(
        online.stderr,
        new RegExp(`Created admin key [0-9a-f]{16} for ops@example.com in ${s.api}`),
      );
      const onlineKey = online.stdout.trim();
      onlineId = /key ([0-9a-f]{16})/.exec(online.stderr)![1]!;
      assert.equal((await withKey(onlineKey, "/v1/keys")).status, 200);

      const revoked = await cli("keys", "revoke", onlineId);
      assert.equal(revoked.status, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`Key ${onlineId} \\(admin\\) revoked at `));
      assert.equal((await withKey(onlineKey, "/v1/keys")).status, 401);
      const listed = await cli("keys", "list");
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /before start/);
    } finally {
      await stop(s);
    }
    // Stopped again: the folder's table has all three keys, the revocation included.
    const listed = await cli("keys", "list");
    assert.equal(listed.status, 0, listed.stderr);
    const rows = listed.stdout.trim().split("\n").slice(1);
    assert.equal(rows.length, 3, listed.stdout);
    assert.match(
      rows.find((r) => r.startsWith(onlineId))!,
      /admin\s+ops@example\.com\s+\S+\s+20\d\d-\S+Z\s+while running/,
    );
    assert.ok(rows.some((r) => /requester .* - +before start$/.test(r)));
  });
});
