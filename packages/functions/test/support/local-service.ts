/**
 * Drives `npm start`'s runtime as its own process on a scratch data folder, for end-to-end
 * tests over HTTP: start and stop it, submit CSRs, read mail back from the SES stand-in and
 * follow the approval links it carries. For tests that start it as a user would (through npm
 * or a shell), a watched process and a free pair of ports.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { CrlStatusView } from "@spca/core/ra/views";

export const root = new URL("../../../../", import.meta.url).pathname;
export const node = join(root, "node_modules/.bin/node");

export interface Running {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly api: string;
  readonly mail: string;
  /** The admin key the runtime created on first start. */
  readonly key: string;
  /** What the service printed so far, stdout and stderr. */
  output(): string;
}

export interface StartOptions {
  /** Defaults to the repository's pki.config.json. */
  readonly configPath?: string;
  readonly env?: Record<string, string>;
  /** The API's port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Start it under this umask (octal text, e.g. "000") through /bin/sh. */
  readonly umask?: string;
}

export async function startService(dataDir: string, options: StartOptions = {}): Promise<Running> {
  const args = [
    join(root, "packages/functions/src/local/main.ts"),
    "--data-dir",
    dataDir,
    "--port",
    String(options.port ?? 0),
    "--mail-port",
    "0",
    "--config",
    options.configPath ?? join(root, "pki.config.json"),
  ];
  const [command, commandArgs] = options.umask
    ? ["/bin/sh", ["-c", `umask ${options.umask} && exec "$0" "$@"`, node, ...args]]
    : [node, args];
  const child = spawn(command, commandArgs, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let output = "";
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ready" within 30 s:\n${output}`)), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("\nready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`exited ${code}:\n${output}`)));
  });
  try {
    await started;
  } catch (error) {
    // A service that never said "ready" must not outlive the test.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    throw error;
  }
  const info = JSON.parse(readFileSync(join(dataDir, "runtime.json"), "utf8"));
  return {
    child,
    dataDir,
    api: info.api,
    mail: info.mail,
    key: info.adminKey,
    output: () => output,
  };
}

/** A process whose stdout and stderr are gathered together as they come. */
export interface Watched {
  readonly child: ChildProcess;
  /** What it printed so far, stdout and stderr. */
  output(): string;
  /** Its exit code once it ends (null: a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Starts `command args` in `cwd` with exactly `env`, and watches it. */
export function spawnWatched(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): Watched {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  return { child, output: () => output, exited };
}

/** Whether nothing listens on `port` of 127.0.0.1. */
export const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/**
 * A free port whose successor is free too (npm start's mail viewer takes port + 1), from 20000
 * up: never the service's default (8787).
 */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await isFree(port)) && (await isFree(port + 1))) return port;
  }
  throw new Error("no two free ports in a row");
}

export async function stop(service: Running, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  const exited = new Promise((r) => service.child.once("exit", r));
  service.child.kill(signal);
  await exited;
}

/** Submits a DER CSR as application/pkcs10 with the admin key; returns the request id. */
export async function submit(
  s: Running,
  csrDer: Uint8Array,
  profile: string,
  email: string,
): Promise<string> {
  const res = await fetch(
    `${s.api}/v1/requests?email=${encodeURIComponent(email)}&profile=${encodeURIComponent(profile)}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/pkcs10" },
      body: csrDer,
    },
  );
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/**
 * Submits a DER CSR and waits until it is issued (a profile that approves automatically, or
 * an approval given meanwhile); returns the request id, the serial and the certificate PEM.
 */
export async function issueThrough(
  s: Running,
  csrDer: Uint8Array,
  profile: string,
  email: string,
): Promise<{ id: string; serial: string; pem: string }> {
  const id = await submit(s, csrDer, profile, email);
  const { serial } = await waitForStatus(s, id, "issued", 20_000);
  assert.ok(serial, `request ${id} is issued without a serial`);
  const res = await fetch(`${s.api}/v1/certificates/${serial}`, {
    headers: { authorization: `Bearer ${s.key}`, accept: "application/x-pem-file" },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return { id, serial, pem: await res.text() };
}

export interface StoredMail {
  destination: { to: string[] };
  subject: string;
  body: { text: string; html?: string };
  attachments: { filename: string; content: string }[];
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every mail the SES stand-in holds. */
export async function mails(s: Pick<Running, "mail">): Promise<StoredMail[]> {
  return ((await (await fetch(`${s.mail}/store`)).json()) as { emails: StoredMail[] }).emails;
}

export function mailsTo(all: readonly StoredMail[], address: string): StoredMail[] {
  return all.filter((m) => m.destination.to.includes(address));
}

/**
 * Waits for the `nth` approval mail to `approver` about request `id` (the first unless a resend
 * sent more); returns its link's token.
 */
export async function approvalToken(
  s: Running,
  approver: string,
  id: string,
  nth = 1,
): Promise<string> {
  return waitFor(`approval mail ${nth} to ${approver} about ${id}`, async () => {
    const asked = mailsTo(await mails(s), approver).filter((m) =>
      m.body.text.includes(`/approvals/${id}?token=`),
    );
    const mail = asked[nth - 1];
    return mail ? /\?token=([A-Za-z0-9_-]{43})/.exec(mail.body.text)![1] : undefined;
  });
}

export async function decide(
  s: Running,
  id: string,
  body: { decision: "approve" | "reject"; token: string; reason?: string },
): Promise<Response> {
  return fetch(`${s.api}/v1/approvals/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

export interface RequestView {
  status: string;
  serial: string | null;
  reason?: string | null;
  createdAt?: string;
  history: { action: string; actor?: string; reason?: string; details?: Record<string, unknown> }[];
}

export async function requestView(s: Running, id: string): Promise<RequestView> {
  const res = await fetch(`${s.api}/v1/requests/${id}`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as RequestView;
}

export async function waitForStatus(
  s: Running,
  id: string,
  status: string,
  timeoutMs?: number,
): Promise<RequestView> {
  return waitFor(
    `request ${id} to be ${status}`,
    async () => {
      const view = await requestView(s, id);
      return view.status === status ? view : undefined;
    },
    timeoutMs,
  );
}

/** POST /v1/certificates/{serial}/revoke with the admin key; the answer, unread. */
export function revoke(s: Running, serial: string, reason: string): Promise<Response> {
  return fetch(`${s.api}/v1/certificates/${serial}/revoke`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
    body: JSON.stringify({ reason }),
  });
}

/** GET /v1/crl/status: the last CRL publication of the issuing CA, or of `ca` ("root"). */
export async function crlStatus(s: Running, ca?: string): Promise<CrlStatusView> {
  const res = await fetch(`${s.api}/v1/crl/status${ca ? `?ca=${ca}` : ""}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as CrlStatusView;
}

/** An RFC 9457 problem as the API sends it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
}

/** Asserts `res` is a problem+json with `status` and returns its body. */
export async function expectProblem(res: Response, status: number): Promise<ProblemBody> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = JSON.parse(text) as ProblemBody;
  assert.equal(body.status, status);
  return body;
}

/** pki.config.json as JSON, typed just enough to edit a profile. */
export type EditableConfig = Record<string, unknown> & {
  profiles: Record<string, Record<string, unknown> & { approval: Record<string, unknown> }>;
};

/**
 * Writes a copy of the repository's pki.config.json to `path`, changed by `edit`, and returns
 * `path` (for `startService(dataDir, { configPath })`).
 */
export function writeConfig(path: string, edit: (config: EditableConfig) => void): string {
  const config = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8"));
  edit(config);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A mail attachment's content as text (the SES stand-in keeps it base64). */
export function attachmentText(mail: StoredMail, filename: string): string {
  const attachment = mail.attachments.find((a) => a.filename === filename);
  assert.ok(
    attachment,
    `no attachment ${filename} in "${mail.subject}" (has ${mail.attachments.map((a) => a.filename).join(", ")})`,
  );
  return Buffer.from(attachment.content, "base64").toString("utf8");
}
