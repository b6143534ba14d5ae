/**
 * Runs the `pki` command the way an operator does: `node bin/pki.mjs ...` in a child process,
 * with the project's Node 24, and gives back its exit status, stdout and stderr. Each test gets
 * its own scratch folder (removed when the test ends) for its data folder and files.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
export const nodeBin = join(repoRoot, "node_modules", ".bin", "node");
export const pkiBin = join(repoRoot, "bin", "pki.mjs");

export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout as bytes (for `pki crl --der`). */
  readonly stdoutBytes: Buffer;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Working directory; the repository root (which holds pki.config.json) by default. */
  readonly cwd?: string;
  /** Variables added to the environment; undefined removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Run under this umask (octal text, e.g. "000") through /bin/sh. */
  readonly umask?: string;
  readonly input?: string | Uint8Array;
}

function cliEnvironment(options: CliOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== "PKI_DATA_DIR" && k !== "PKI_CONFIG") env[k] = v;
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** `pki ...args`. PKI_DATA_DIR and PKI_CONFIG from the test's own environment are dropped. */
export function pki(args: readonly string[], options: CliOptions = {}): CliResult {
  const env = cliEnvironment(options);
  const [command, commandArgs] = options.umask
    ? ["/bin/sh", ["-c", `umask ${options.umask} && exec "$0" "$@"`, nodeBin, pkiBin, ...args]]
    : [nodeBin, [pkiBin, ...args]];
  const result = spawnSync(command, commandArgs, {
    cwd: options.cwd ?? repoRoot,
    env,
    input: options.input,
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    signal: result.signal,
    stdoutBytes: result.stdout,
    stdout: result.stdout.toString("utf8"),
    stderr: result.stderr.toString("utf8"),
  };
}

/**
 * `pki ...args` without blocking this process, for runs that talk to a stand-in served by the
 * test itself (s3rver). No stdin, no umask.
 */
export function pkiAsync(
  args: readonly string[],
  options: Omit<CliOptions, "umask" | "input"> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      nodeBin,
      [pkiBin, ...args],
      {
        cwd: options.cwd ?? repoRoot,
        env: cliEnvironment(options),
        timeout: 30_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: "buffer",
      },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : null) : 0;
        if (error && status === null && !error.signal) {
          reject(error);
          return;
        }
        resolve({
          status,
          signal: (error?.signal as NodeJS.Signals | undefined) ?? null,
          stdoutBytes: stdout,
          stdout: stdout.toString("utf8"),
          stderr: stderr.toString("utf8"),
        });
      },
    );
  });
}

function describeRun(r: CliResult): string {
  return `status ${r.status}${r.signal ? ` (signal ${r.signal})` : ""}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Exit 0; returns stdout. */
export function assertOk(r: CliResult): string {
  assert.equal(r.status, 0, `expected success, got ${describeRun(r)}`);
  return r.stdout;
}

/** No JavaScript stack trace leaked to the operator. */
export function assertNoStackTrace(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /^\s+at .+\(.*:\d+:\d+\)$/m, `stack trace on stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/);
}

/** Exit 2 (usage error): a message on stderr matching `message`, nothing on stdout. */
export function assertUsageError(r: CliResult, message: RegExp): void {
  assert.equal(r.status, 2, `expected a usage error (2), got ${describeRun(r)}`);
  assert.equal(r.stdout, "", "a usage error printed to stdout");
  assert.match(r.stderr, /^pki: /);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /Run "pki --help" for usage\./);
  assertNoStackTrace(r);
}

/** Exit 1 with "pki: CODE: message" on stderr and nothing on stdout. */
export function assertPkiError(r: CliResult, code: string, message?: RegExp): void {
  assert.equal(r.status, 1, `expected ${code} (exit 1), got ${describeRun(r)}`);
  assert.equal(r.stdout, "", `a failed command printed to stdout:\n${r.stdout}`);
  assert.ok(
    r.stderr.startsWith(`pki: ${code}: `),
    `expected "pki: ${code}: ..." on stderr, got:\n${r.stderr}`,
  );
  if (message) assert.match(r.stderr, message);
  assertNoStackTrace(r);
}

/** Exit 1 with `message` on stderr (whole), nothing on stdout, no stack trace. */
export function assertCliFailure(r: CliResult, message: RegExp): void {
  assert.equal(r.status, 1, `expected exit 1, got ${describeRun(r)}`);
  assert.equal(r.stdout, "", `a failed command printed to stdout:\n${r.stdout}`);
  assert.match(r.stderr, message);
  assertNoStackTrace(r);
}

/** A scratch folder removed when the test ends. */
export function scratch(t: TestContext, prefix = "pki-cli-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeFile(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The PEM blocks in `text`, each re-joined as its own PEM string. */
export function pemBlocks(text: string, label = "CERTIFICATE"): string[] {
  const re = new RegExp(
    `-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n`,
    "g",
  );
  return text.match(re) ?? [];
}
