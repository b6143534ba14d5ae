/**
 * Our side of the `local` bench: `npm start`'s runtime as a child process on a scratch data
 * folder, one end-to-end issuance through its API (submit, poll until issued, fetch), and an
 * audit of what the runtime recorded (executions, stored certificates, mails) against what
 * the client was given.
 */
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { decodePemBlocks } from "@spca/core/encoding/pem";
import {
  mails,
  type Running,
  startService,
  stop,
  writeConfig,
} from "../packages/functions/test/support/local-service.ts";
import type { Leaf } from "./local-leaf.ts";

/** How often a client asks whether its request is issued. */
export const POLL_MS = 10;
const ISSUE_TIMEOUT_MS = 30_000;
const EMAIL = "bench@example.com";
/** High enough that the limiter, not the service, is never what gets measured. */
const UNLIMITED = { burst: 1_000_000, perSecond: 1_000_000 };

export interface Ours {
  readonly service: Running;
  /** The issuing CA, first in GET /v1/ca. */
  readonly issuer: X509Certificate;
  /** With the shipped rate limit, a 429 is waited out (Retry-After); without, it is an error. */
  readonly rateLimited: boolean;
  /** What the runtime wrote to stderr while measured. */
  readonly stderr: string[];
  /** Requests the API accepted (202), whatever became of them. */
  submitted: number;
  /** Answers 429 that were waited out. */
  throttled: number;
  polls: number;
  /** Serials of the certificates fetched. */
  readonly serials: Set<string>;
}

export interface Issued {
  readonly serial: string;
  readonly pem: string;
  /** From the request's history: submitted to issued, inside the service. */
  readonly serviceMs: number;
}

export async function startOurs(dataDir: string, rateLimited: boolean): Promise<Ours> {
  // Unlimited runs get the shipped configuration with the API's rate limit lifted.
  const configPath = rateLimited
    ? undefined
    : writeConfig(join(dataDir, "..", `${basename(dataDir)}.config.json`), (config) => {
        config.api = { rateLimit: UNLIMITED };
      });
  const service = await startService(dataDir, configPath ? { configPath } : {});
  const stderr: string[] = [];
  service.child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const chain = await (await fetch(`${service.api}/v1/ca`)).text();
  const issuer = new X509Certificate(decodePemBlocks(chain)[0]!.der);
  return {
    service,
    issuer,
    rateLimited,
    stderr,
    submitted: 0,
    throttled: 0,
    polls: 0,
    serials: new Set(),
  };
}

/** One issuance: submit the CSR, poll until issued, fetch the certificate. */
export async function issueOurs(ours: Ours, leaf: Leaf): Promise<Issued> {
  const submitted = await call(
    ours,
    `/v1/requests?email=${encodeURIComponent(EMAIL)}&profile=client`,
    { method: "POST", headers: { "content-type": "application/pkcs10" }, body: leaf.csrDer },
    202,
  );
  const { id } = (await submitted.json()) as { id: string };
  ours.submitted++;
  const deadline = performance.now() + ISSUE_TIMEOUT_MS;
  let view: RequestView;
  for (;;) {
    await sleep(POLL_MS);
    ours.polls++;
    view = (await (await call(ours, `/v1/requests/${id}`, {}, 200)).json()) as RequestView;
    if (view.status === "issued") break;
    if (["rejected", "expired", "failed"].includes(view.status))
      throw new Error(`request ${id} is ${view.status}: ${view.reason}`);
    if (performance.now() > deadline)
      throw new Error(`request ${id} is still ${view.status} after ${ISSUE_TIMEOUT_MS} ms`);
  }
  const serial = view.serial!;
  const pem = await (await call(ours, `/v1/certificates/${serial}`, {}, 200)).text();
  ours.serials.add(serial);
  const at = (action: string) => Date.parse(view.history.find((h) => h.action === action)!.at);
  return { serial, pem, serviceMs: at("issued") - at("submitted") };
}

interface RequestView {
  status: string;
  serial: string | null;
  reason: string | null;
  history: { at: string; action: string }[];
}

async function call(ours: Ours, path: string, init: RequestInit, expected: number) {
  const headers = {
    ...(init.headers as Record<string, string>),
    authorization: `Bearer ${ours.service.key}`,
  };
  for (;;) {
    const res = await fetch(`${ours.service.api}${path}`, { ...init, headers });
    if (res.status === 429 && ours.rateLimited) {
      await res.arrayBuffer();
      ours.throttled++;
      await sleep(Number(res.headers.get("retry-after") ?? "1") * 1000);
      continue;
    }
    if (res.status !== expected)
      throw new Error(
        `${init.method ?? "GET"} ${path.split("?")[0]}: ${res.status} ${await res.text()}`,
      );
    return res;
  }
}

export interface Audit {
  readonly summary: string;
  readonly problems: readonly string[];
}

/**
 * Stops the runtime, then checks that every accepted request ran its workflow to the end, and
 * that the certificates stored and mailed are exactly the ones the client fetched.
 */
export async function auditOurs(ours: Ours): Promise<Audit> {
  const { service } = ours;
  const expected = ours.submitted;
  // The issued mail goes out after the request is marked issued, so it may trail the client.
  const mailedSerials = new Set<string>();
  let mailed = 0;
  const until = performance.now() + 10_000;
  while (performance.now() < until) {
    const issuedMails = (await mails(service)).filter((m) =>
      m.subject.startsWith("Certificate issued:"),
    );
    mailed = issuedMails.length;
    for (const m of issuedMails)
      mailedSerials.add(/\(serial ([0-9a-f]+)\)/.exec(m.subject)?.[1] ?? m.subject);
    if (mailed >= expected) break;
    await sleep(200);
  }
  await stop(service);

  const executions = new Map<string, number>();
  const folder = join(service.dataDir, "executions");
  for (const file of readdirSync(folder).filter((f) => f.endsWith(".json"))) {
    const { status } = JSON.parse(readFileSync(join(folder, file), "utf8")) as { status: string };
    executions.set(status, (executions.get(status) ?? 0) + 1);
  }
  const stored = storedSerials(service.dataDir);
  const problems: string[] = [];
  const executionCount = [...executions.values()].reduce((a, b) => a + b, 0);
  if (executionCount !== expected || executions.get("SUCCEEDED") !== expected)
    problems.push(
      `${expected} requests accepted but executions are ${JSON.stringify(Object.fromEntries(executions))}`,
    );
  if (stored.size !== expected || !sameSet(stored, ours.serials))
    problems.push(
      `${stored.size} certificates stored, ${ours.serials.size} fetched, for ${expected} requests`,
    );
  if (mailed !== expected || !sameSet(mailedSerials, ours.serials))
    problems.push(`${mailed} "Certificate issued" mails for ${expected} requests`);
  const errors = ours.stderr.join("").trim();
  if (errors) problems.push(`the runtime wrote to stderr: ${errors.slice(0, 500)}`);
  const summary =
    `${expected} requests accepted, ${executions.get("SUCCEEDED") ?? 0} executions succeeded, ` +
    `${stored.size} certificates stored, ${mailed} issued mails${errors ? "" : ", stderr empty"}`;
  return { summary, problems };
}

/** The serials under certificates/ in s3rver's folder (`<key>._S3rver_object` files). */
function storedSerials(dataDir: string): Set<string> {
  const folder = join(dataDir, "s3", "certificates", "certificates");
  const serials = new Set<string>();
  for (const file of readdirSync(folder)) {
    const serial = /^([0-9a-f]+)\.pem\._S3rver_object$/.exec(file)?.[1];
    if (serial) serials.add(serial);
  }
  return serials;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
