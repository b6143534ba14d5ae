/**
 * The data folder is its owner's alone: runtime.json holds the admin key in clear, and the
 * table (dynalite's LevelDB), the bucket (s3rver), the executions and the CA hold the state.
 * `npm start`'s runtime, run as its own process under the most permissive umask, must leave the
 * folder 0700, runtime.json 0600, and nothing under it that group or others can read or enter;
 * a folder an older version left open is closed at the next start; and the CLI commands that
 * write to a stopped folder keep it closed too.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { pki } from "./support/cli.ts";
import { issueThrough, type Running, startService, stop } from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-modes-"));
const running = new Set<Running>();
after(async () => {
  await Promise.all([...running].map((s) => stop(s, "SIGKILL")));
  rmSync(work, { recursive: true, force: true });
});

/** Starts the service under umask 000 and stops it when the test file ends, whatever happens. */
async function start(dataDir: string): Promise<Running> {
  const s = await startService(dataDir, { umask: "000" });
  running.add(s);
  return s;
}

async function stopped(s: Running): Promise<void> {
  await stop(s);
  running.delete(s);
}

const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * Every file and folder under `dir` (symbolic links are listed, not followed). The service may
 * still be writing: a temporary file renamed into place between the listing and its lstat is
 * gone, and skipped (the walk after the service stops sees what it became).
 */
function walk(dir: string): { path: string; mode: number; kind: "file" | "dir" | "link" }[] {
  const out: ReturnType<typeof walk> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    const kind = st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : "file";
    out.push({ path, mode: st.mode & 0o777, kind });
    if (kind === "dir") out.push(...walk(path));
  }
  return out;
}

/** Asserts the folder is 0700 and nothing in it is open to group or others. */
function assertPrivate(dataDir: string): void {
  assert.equal(mode(dataDir).toString(8), "700", "the data folder");
  const open = walk(dataDir)
    .filter((e) => e.kind !== "link" && (e.mode & 0o077) !== 0)
    .map((e) => `${relative(dataDir, e.path)} ${e.mode.toString(8)}`);
  assert.deepEqual(open, [], "open to group or others");
}

describe("the data folder's modes", () => {
  test("a new data folder: 0700, runtime.json 0600, and nothing in it open to others", async () => {
    const dataDir = join(work, "fresh");
    const s = await start(dataDir);
    try {
      // Something in each part of the folder: an issued request leaves an execution, table
      // items and the certificate in the bucket.
      await issueThrough(
        s,
        ecCsrFor(work, "modes.example.internal", "DER"),
        "client",
        "dev@example.com",
      );
      assert.equal(mode(join(dataDir, "runtime.json")).toString(8), "600");
      const entries = walk(dataDir).map((e) => relative(dataDir, e.path));
      for (const part of ["dynamodb", "s3", "executions", "keys", "ca.json", "runtime.json"]) {
        assert.ok(entries.includes(part), `${part} is in the data folder: ${entries.join(", ")}`);
      }
      assert.ok(
        entries.some((e) => e.startsWith("dynamodb/")),
        "the table has files",
      );
      assertPrivate(dataDir);
    } finally {
      await stopped(s);
    }
    assertPrivate(dataDir);
  });

  test("a folder an older version left open (0755, runtime.json 0644) is closed at start", async () => {
    const dataDir = join(work, "old");
    await stopped(await start(dataDir));
    // What an older version left under umask 022: everything readable by all.
    for (const e of walk(dataDir)) {
      if (e.kind !== "link") chmodSync(e.path, e.kind === "dir" ? 0o755 : 0o644);
    }
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, "notes"), { mode: 0o755 });
    writeFileSync(join(dataDir, "notes", "readme.txt"), "kept\n", { mode: 0o644 });
    chmodSync(join(dataDir, "notes"), 0o755);
    chmodSync(join(dataDir, "notes", "readme.txt"), 0o644);
    // A link to a file outside: the link is not followed, the file outside keeps its mode.
    const outside = join(work, "outside.txt");
    writeFileSync(outside, "not ours\n");
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dataDir, "notes", "outside-link"));
    assert.equal(mode(join(dataDir, "runtime.json")).toString(8), "644");

    const s = await start(dataDir);
    try {
      assertPrivate(dataDir);
      assert.equal(mode(join(dataDir, "runtime.json")).toString(8), "600");
      assert.equal(mode(join(dataDir, "notes", "readme.txt")).toString(8), "600");
      assert.equal(mode(outside).toString(8), "644", "the link's target is left alone");
    } finally {
      await stopped(s);
    }
  });
});

describe("the CLI on a stopped data folder", () => {
  test("pki ca init and pki keys create under umask 000 leave the folder private", () => {
    const dataDir = join(work, "cli");
    const init = pki(["ca", "init", "--data-dir", dataDir], { umask: "000" });
    assert.equal(init.status, 0, init.stderr);
    const key = pki(
      [
        "keys",
        "create",
        "--role",
        "requester",
        "--owner",
        "dev@example.com",
        "--data-dir",
        dataDir,
      ],
      {
        umask: "000",
      },
    );
    assert.equal(key.status, 0, key.stderr);
    assertPrivate(dataDir);
  });

  test("pki ca init tightens a data folder left open", () => {
    const dataDir = join(work, "cli-open");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, "left.txt"), "x", { mode: 0o644 });
    chmodSync(join(dataDir, "left.txt"), 0o644);
    const init = pki(["ca", "init", "--data-dir", dataDir]);
    assert.equal(init.status, 0, init.stderr);
    assertPrivate(dataDir);
  });
});
