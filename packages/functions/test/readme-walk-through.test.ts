/**
 * The README's local-mode walk-through, run as written: its shell blocks are read from
 * README.md itself (between the walk-through markers), so the README cannot drift from what
 * works. The first block starts the service; it runs on a free port instead of the default
 * (the one substitution made) in a fresh folder that links to this repository, as a clone
 * would be. The rest run in order in one bash, with `set -euo pipefail`. Then every link in
 * every mail is opened without a key or a session, before and after a restart.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  freePortPair,
  mails,
  root,
  type StoredMail,
  spawnWatched,
  waitFor,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-readme-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** The shell blocks between `<!-- walk-through` and `<!-- /walk-through -->`, in order. */
function walkThroughBlocks(readme: string): string[] {
  const start = readme.indexOf("<!-- walk-through");
  const end = readme.indexOf("<!-- /walk-through -->");
  assert.ok(start >= 0 && end > start, "README.md has no walk-through markers");
  return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * `command` in bash in `cwd`, as in a user's shell: no CI's PKI_* settings, no inherited data
 * folder.
 */
const run = (command: string, cwd: string) =>
  spawnWatched("bash", ["-c", command], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" },
  });

interface Service {
  readonly stop: () => Promise<void>;
  readonly api: string;
  readonly mail: string;
}

async function startAsWritten(command: string, folder: string): Promise<Service> {
  const started = run(command, folder);
  await waitFor(
    "the service to say ready",
    async () => {
      if (started.child.exitCode !== null) throw new Error(`exited:\n${started.output()}`);
      return started.output().includes("\nready") ? true : undefined;
    },
    60_000,
  );
  const info = JSON.parse(readFileSync(join(folder, ".pki-data", "runtime.json"), "utf8"));
  return {
    api: info.api,
    mail: info.mail,
    stop: async () => {
      process.kill(info.pid, "SIGTERM");
      assert.equal(await started.exited, 0, started.output());
    },
  };
}

/** Every http(s) link in the mails' text, with the subject of the mail it came from. */
function mailLinks(mails: readonly StoredMail[]): { subject: string; url: string }[] {
  return mails.flatMap((m) =>
    [...m.body.text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((l) => ({
      subject: m.subject,
      url: l[0],
    })),
  );
}

/** Opens each link as a browser would, signed out and with no key: each must be a page or a file. */
async function assertLinksOpen(links: { subject: string; url: string }[]): Promise<void> {
  for (const { subject, url } of links) {
    const res = await fetch(url, { headers: { accept: "text/html,*/*" } });
    const body = await res.text();
    assert.equal(
      res.status,
      200,
      `"${subject}": ${url} answered ${res.status}: ${body.slice(0, 300)}`,
    );
    if (/\.pem(\?|$)/.test(new URL(url).pathname + new URL(url).search)) {
      assert.match(body, /^-----BEGIN CERTIFICATE-----/, `${url} is not a PEM certificate`);
    }
  }
}

test("the README's walk-through works as written, on another port; every mailed link opens, also after a restart", async () => {
  const blocks = walkThroughBlocks(readFileSync(join(root, "README.md"), "utf8"));
  assert.ok(blocks.length >= 5, `walk-through blocks: ${blocks.length}`);
  const [startBlock, ...steps] = blocks;
  assert.equal(
    startBlock!.trim(),
    "npm start -- --port 8787",
    "the walk-through starts the service",
  );
  const port = await freePortPair();
  const startCommand = startBlock!.trim().replace("--port 8787", `--port ${port}`);

  // A fresh folder that looks like a clone: the repository's files, no data folder yet.
  const folder = join(work, "clone");
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  for (const name of ["package.json", "node_modules", "packages", "bin", "pki.config.json"]) {
    symlinkSync(join(root, name), join(folder, name));
  }

  let service = await startAsWritten(startCommand, folder);
  try {
    assert.equal(service.api, `http://127.0.0.1:${port}`);
    const script = [
      "set -euo pipefail",
      ...steps.map((block, i) => `echo; echo "=== step ${i + 1}"\n${block}`),
    ].join("\n");
    const walk = run(script, folder);
    const timer = setTimeout(() => walk.child.kill("SIGKILL"), 120_000);
    const code = await walk.exited;
    clearTimeout(timer);
    const output = walk.output();
    assert.equal(code, 0, output);
    // Before the revocation the chain and both CRLs check out; after it, OpenSSL refuses.
    assert.match(output, /app\.pem: OK/, output);
    assert.match(output, /certificate revoked/, output);
    assert.match(output, /refused: revoked/, output);
    assert.equal(output.match(/app\.pem: OK/g)!.length, 1, output);

    const before = await mails(service);
    const subjects = before.map((m) => m.subject).join(" | ");
    for (const kind of [/received/i, /approval needed/i, /issued/i, /revoked/i]) {
      assert.ok(
        before.some((m) => kind.test(m.subject)),
        `no mail like ${kind}: ${subjects}`,
      );
    }
    const links = mailLinks(before);
    assert.ok(links.length >= 6, `links: ${links.map((l) => l.url).join("\n")}`);
    for (const { url } of links) assert.ok(url.startsWith(`${service.api}/`), url);
    await assertLinksOpen(links);

    // After a restart the mails are still there, and every link still opens.
    await service.stop();
    service = await startAsWritten(startCommand, folder);
    const afterRestart = await mails(service);
    assert.deepEqual(
      afterRestart.map((m) => m.subject),
      before.map((m) => m.subject),
    );
    await assertLinksOpen(mailLinks(afterRestart));
  } finally {
    await service.stop().catch(() => undefined);
  }
});
