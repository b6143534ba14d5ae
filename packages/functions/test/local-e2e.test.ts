/**
 * End to end over HTTP against `npm start`'s runtime, run as its own process on a scratch data
 * folder: mail is read back from the SES stand-in, the approval link is followed, the
 * certificate is checked by OpenSSL against GET /v1/ca; and the process is killed while a
 * request waits for approval, restarted, and the approval still issues exactly once.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";

const root = new URL("../../../", import.meta.url).pathname;
const node = join(root, "node_modules/.bin/node");
const work = mkdtempSync(join(tmpdir(), "pki-e2e-"));
after(() => rmSync(work, { recursive: true, force: true }));

interface Running {
  readonly child: ChildProcess;
  readonly api: string;
  readonly mail: string;
  readonly key: string;
}

async function startService(dataDir: string): Promise<Running> {
  const child = spawn(
    node,
    [
      join(root, "packages/functions/src/local/main.ts"),
      "--data-dir",
      dataDir,
      "--port",
      "0",
      "--mail-port",
      "0",
      "--config",
      join(root, "pki.config.json"),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ready" within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("\nready")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`exited ${code}:\n${output}`)));
  });
  const info = JSON.parse(readFileSync(join(dataDir, "runtime.json"), "utf8"));
  return { child, api: info.api, mail: info.mail, key: info.adminKey };
}

async function stop(service: Running, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (service.child.exitCode !== null) return;
  const exited = new Promise((r) => service.child.once("exit", r));
  service.child.kill(signal);
  await exited;
}

const csr = (name: string) => ecCsrFor(work, name, "DER");

async function submit(s: Running, name: string, profile: string, email: string): Promise<string> {
  const res = await fetch(
    `${s.api}/v1/requests?email=${encodeURIComponent(email)}&profile=${profile}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/pkcs10" },
      body: csr(name),
    },
  );
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

interface StoredMail {
  destination: { to: string[] };
  subject: string;
  body: { text: string };
  attachments: { filename: string; content: string }[];
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function mails(s: Running): Promise<StoredMail[]> {
  return ((await (await fetch(`${s.mail}/store`)).json()) as { emails: StoredMail[] }).emails;
}

async function approvalToken(s: Running, approver: string, id: string): Promise<string> {
  return waitFor(`the approval mail to ${approver}`, async () => {
    const mail = (await mails(s)).find(
      (m) => m.destination.to.includes(approver) && m.body.text.includes(`/approvals/${id}?token=`),
    );
    return mail ? /\?token=([A-Za-z0-9_-]{43})/.exec(mail.body.text)![1] : undefined;
  });
}

async function requestView(s: Running, id: string) {
  const res = await fetch(`${s.api}/v1/requests/${id}`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  return (await res.json()) as {
    status: string;
    serial: string | null;
    history: { action: string }[];
  };
}

async function waitForStatus(s: Running, id: string, status: string) {
  return waitFor(`request ${id} to be ${status}`, async () => {
    const view = await requestView(s, id);
    return view.status === status ? view : undefined;
  });
}

describe("local service over HTTP", () => {
  test("approve by the emailed link: the requester gets a certificate OpenSSL accepts", async () => {
    const s = await startService(join(work, "data-approve"));
    try {
      const id = await submit(s, "web.example.com", "server", "dev@example.com");
      const token = await approvalToken(s, "security@example.com", id);
      const shown = await fetch(`${s.api}/v1/approvals/${id}?token=${token}`);
      assert.equal(shown.status, 200);
      assert.equal(((await shown.json()) as { status: string }).status, "pending_approval");
      const decided = await fetch(`${s.api}/v1/approvals/${id}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ decision: "approve", token, reason: "ok" }),
      });
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
      const replay = await fetch(`${s.api}/v1/approvals/${id}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ decision: "approve", token }),
      });
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
      const decided = await fetch(`${second.api}/v1/approvals/${id}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ decision: "approve", token }),
      });
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
