/**
 * The pages on the real registration authority, for HTTP-level tests through `app.request`:
 * dynalite (one fresh table per world), a data-folder CA made once per test file, an in-memory
 * object store, a recording event bus and a stub workflow engine that records the executions it
 * starts and the approval outcomes it is sent. The workflow's own steps are driven by hand:
 * `openApprovalLink` does what RequestApproval does (minus the mail), `issue` runs the real
 * SignCertificate and StoreCertificate steps. One clock serves the RA, the repository and the
 * steps; it starts at the wall clock and is only ever moved forward.
 *
 * `Browser` is a tiny cookie jar in front of `app.request`: it keeps what Set-Cookie gives it
 * and sends `Sec-Fetch-Site: same-origin` on its POSTs as a browser submitting our own form
 * would, unless told otherwise.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createEvent, type EventBus } from "@spca/core/events/bus";
import { principalOfKey } from "@spca/core/identity/principal";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { hashSecret, newLinkSecret } from "@spca/core/links/secrets";
import { MemoryMailer } from "@spca/core/notifications/memory-mailer";
import { loadConfig } from "@spca/core/policy/config";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { signInPerson } from "@spca/core/ra/sessions";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import { TaskTokenError, type WorkflowEngine } from "@spca/core/workflow/engine";
import type { StepDependencies } from "@spca/core/workflow/steps/dependencies";
import { signCertificate } from "@spca/core/workflow/steps/sign-certificate";
import { storeCertificate } from "@spca/core/workflow/steps/store-certificate";
import { type LocalDynamo, startDynalite } from "../../../core/test/support/dynamo.ts";
import { MemoryObjects } from "../../../core/test/support/memory-objects.ts";
import {
  ecCsrFor,
  openssl,
  opensslReq,
  writeOpensslConfig,
} from "../../../core/test/support/openssl.ts";
import { scratchDir } from "../../../core/test/support/scratch.ts";
import { shippedConfigPath, tempCa } from "../../../core/test/support/test-ca.ts";
import { createApi } from "../../../functions/src/api/app.ts";
import { createPages } from "../../src/pages.ts";

export const CLIENT_ADDRESS = "198.51.100.7";
export const HTTP_BASE = "http://127.0.0.1:8787";
export const HTTPS_BASE = "https://ca.example.com";

const config = loadConfig(shippedConfigPath);
const work = scratchDir("pages-test-");

let shared: Promise<{ dynamo: LocalDynamo; ca: ReturnType<typeof tempCa> }> | undefined;

/** dynalite and the CA, started on first use and shared by every world of the file. */
function sharedParts() {
  shared ??= (async () => {
    const dynamo = await startDynalite();
    const ca = tempCa();
    await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
    return { dynamo, ca };
  })();
  return shared;
}

/** Stops dynalite; call from the test file's `after`. */
export async function closeShared(): Promise<void> {
  if (shared) await (await shared).dynamo.close();
}

/** A CSR (PEM text, or DER bytes) for `name`, as CN and only DNS SAN, made once by OpenSSL. */
const csrs = new Map<string, Buffer>();
export function csrFor(name: string, format: "PEM" | "DER" = "PEM"): Buffer {
  const key = `${format}:${name}`;
  let csr = csrs.get(key);
  if (!csr) {
    csr = ecCsrFor(work, name, format);
    csrs.set(key, csr);
  }
  return csr;
}
export const csrPem = (name: string) => csrFor(name, "PEM").toString("utf8");

export interface TaskCall {
  readonly kind: "success" | "failure";
  readonly taskToken: string;
  readonly detail: unknown;
}

export interface WorldOptions {
  readonly publicBaseUrl?: string;
  readonly openSubmission?: boolean;
  /** The API's per-address limit; a very high one unless a test is about it. */
  readonly rateLimit?: { burst: number; perSecond: number };
}

export async function setUp(options: WorldOptions = {}) {
  const { dynamo, ca } = await sharedParts();
  const clock = { now: new Date() };
  const now = () => clock.now;
  const tableName = await dynamo.freshTable();
  const repository = new DynamoRequestRepository({ client: dynamo.client, tableName, now });
  const revocations = new DynamoRevocationStore({ client: dynamo.client, tableName });
  const started: string[] = [];
  const tasks: TaskCall[] = [];
  const finished = new Set<string>();
  const finish = (taskToken: string) => {
    // As Step Functions does: a token completes its task once.
    if (finished.has(taskToken)) throw new TaskTokenError("not-found");
    finished.add(taskToken);
  };
  const engine: WorkflowEngine = {
    async startExecution(requestId) {
      const alreadyStarted = started.includes(requestId);
      if (!alreadyStarted) started.push(requestId);
      return { executionId: `exec-${requestId}`, alreadyStarted };
    },
    async sendTaskSuccess(taskToken, output) {
      tasks.push({ kind: "success", taskToken, detail: output });
      finish(taskToken);
    },
    async sendTaskFailure(taskToken, error, cause) {
      tasks.push({ kind: "failure", taskToken, detail: { error, cause } });
      finish(taskToken);
    },
  };
  const published: { type: string; detail: unknown }[] = [];
  const bus: EventBus = {
    async publish(type, detail) {
      published.push({ type, detail });
      return createEvent(type, detail);
    },
  };
  const objects = new MemoryObjects();
  // The approval step's mails and an admin's resent ones.
  const mailer = new MemoryMailer();
  const ra = new RegistrationAuthority({
    repository,
    inventory: new DynamoCertificateInventory({ client: dynamo.client, tableName }),
    engine,
    bus,
    config,
    ca,
    objects,
    revocations,
    mailer,
    now,
  });
  const stepDeps: StepDependencies = {
    repository,
    config,
    ca,
    objects,
    mailer,
    bus,
    now,
  };
  const publicBaseUrl = options.publicBaseUrl ?? HTTP_BASE;
  const errors: unknown[] = [];
  const pages = createPages({
    services: ra,
    publicBaseUrl,
    openSubmission: options.openSubmission ?? false,
    onUnexpectedError: (error) => errors.push(error),
  });
  const app = createApi({
    services: ra,
    clientAddress: () => CLIENT_ADDRESS,
    // The pages pay the API's per-address limit; these tests make many requests from one.
    rateLimit: options.rateLimit ?? { burst: 100_000, perSecond: 100_000 },
    onUnexpectedError: (error) => errors.push(error),
    pages,
  });
  const advance = (seconds: number) => {
    clock.now = new Date(clock.now.getTime() + seconds * 1000);
  };
  return {
    app,
    pages,
    ra,
    repository,
    revocations,
    objects,
    ca,
    config,
    mailer,
    stepDeps,
    clock,
    advance,
    started,
    tasks,
    published,
    errors,
    publicBaseUrl,
  };
}

export type World = Awaited<ReturnType<typeof setUp>>;

/** A request submitted through the RA (not the page), one second after the last. */
export async function submitted(
  world: World,
  name: string,
  options: { email?: string; profile?: string; comment?: string } = {},
) {
  world.advance(1);
  return world.ra.submit(
    {
      csr: csrPem(name),
      email: options.email ?? "dev@example.com",
      profile: options.profile ?? "client",
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    },
    principalOfKey({
      id: "0123456789abcdef",
      role: "requester",
      owner: options.email ?? "dev@example.com",
    }),
    undefined,
  );
}

/** An admin, for reads and revocations the tests make around the pages. */
export const operator = principalOfKey({
  id: "fedcba9876543210",
  role: "admin",
  owner: "admin@example.com",
});

/**
 * What the workflow's RequestApproval step stores, without the mail: the request moves to
 * pending_approval and every approver (or those given) gets a link whose secret is returned.
 */
export async function openApprovalLink(
  world: World,
  requestId: string,
  options: { expiresAt?: string; approvers?: readonly string[]; taskToken?: string } = {},
): Promise<{ secrets: Record<string, string>; taskToken: string; expiresAt: string }> {
  const request = (await world.repository.getRequest(requestId))!;
  if (request.status === "submitted") {
    await world.repository.transition(requestId, {
      from: "submitted",
      to: "pending_approval",
      actor: "workflow",
    });
  }
  const expiresAt =
    options.expiresAt ??
    new Date(world.clock.now.getTime() + request.approval.timeoutSeconds * 1000).toISOString();
  const taskToken = options.taskToken ?? `task-${requestId}`;
  const secrets: Record<string, string> = {};
  for (const approver of options.approvers ?? request.approval.approvers) {
    secrets[approver] = newLinkSecret();
  }
  await world.repository.openApproval(requestId, {
    taskToken,
    deadline: expiresAt,
    links: Object.entries(secrets).map(([approver, secret]) => ({
      approver,
      secretHash: hashSecret(secret),
      expiresAt,
    })),
    actor: "workflow",
  });
  return { secrets, taskToken, expiresAt };
}

/**
 * Issues an automatically approved (or approved) request as the workflow would: approved,
 * then the real SignCertificate and StoreCertificate steps with the test CA. The serial.
 */
export async function issue(world: World, requestId: string): Promise<string> {
  const request = (await world.repository.getRequest(requestId))!;
  if (request.status === "submitted") {
    await world.repository.transition(requestId, {
      from: "submitted",
      to: "approved",
      actor: "workflow",
    });
  }
  const { serial } = await signCertificate({ requestId }, world.stepDeps);
  const { status } = await storeCertificate({ requestId, serial }, world.stepDeps);
  assert.equal(status, "issued");
  return serial;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface FormFields {
  readonly [name: string]: string | Blob | undefined;
}

export interface RequestOptions {
  readonly headers?: Record<string, string>;
  /** Sec-Fetch-Site for a POST (default same-origin); null sends none. */
  readonly site?: string | null;
  /** How a POST's fields are sent (default urlencoded; multipart when a field is a Blob). */
  readonly encoding?: "urlencoded" | "multipart";
  /** Send no cookies with this one request. */
  readonly withoutCookies?: boolean;
}

/** A parsed Set-Cookie header. */
export interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly attributes: ReadonlyMap<string, string | true>;
  readonly raw: string;
}

export function setCookies(response: Response): SetCookie[] {
  return response.headers.getSetCookie().map((raw) => {
    const [pair = "", ...rest] = raw.split(/;\s*/);
    const eq = pair.indexOf("=");
    const attributes = new Map<string, string | true>();
    for (const part of rest) {
      const at = part.indexOf("=");
      if (at < 0) attributes.set(part.toLowerCase(), true);
      else attributes.set(part.slice(0, at).toLowerCase(), part.slice(at + 1));
    }
    return {
      name: pair.slice(0, eq),
      value: decodeURIComponent(pair.slice(eq + 1)),
      attributes,
      raw,
    };
  });
}

export function setCookie(response: Response, name: string): SetCookie | undefined {
  return setCookies(response).find((c) => c.name === name);
}

/** A browser's cookie jar in front of the app, on one origin. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly world: World;
  readonly origin: string;

  constructor(world: World, origin = world.publicBaseUrl) {
    this.world = world;
    this.origin = origin;
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private remember(response: Response): void {
    for (const cookie of setCookies(response)) {
      const maxAge = cookie.attributes.get("max-age");
      if (cookie.value === "" || maxAge === "0") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }

  async request(path: string, init: RequestInit, options: RequestOptions = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    if (!options.withoutCookies && this.cookies.size > 0 && !headers.has("cookie"))
      headers.set("cookie", this.cookieHeader());
    const response = await this.world.app.request(new URL(path, this.origin).href, {
      ...init,
      headers,
    });
    this.remember(response);
    return response;
  }

  get(path: string, options: RequestOptions = {}): Promise<Response> {
    return this.request(
      path,
      { method: "GET", headers: { accept: "text/html,application/xhtml+xml" } },
      options,
    );
  }

  post(path: string, fields: FormFields, options: RequestOptions = {}): Promise<Response> {
    const multipart =
      options.encoding === "multipart" ||
      Object.values(fields).some((v) => v !== undefined && typeof v !== "string");
    let body: FormData | URLSearchParams;
    if (multipart) {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        if (typeof v === "string") form.append(k, v);
        else form.append(k, v, "request.csr");
      }
      body = form;
    } else {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(fields)) if (typeof v === "string") form.append(k, v);
      body = form;
    }
    const headers: Record<string, string> = { accept: "text/html" };
    const site = options.site === undefined ? "same-origin" : options.site;
    if (site !== null) headers["sec-fetch-site"] = site;
    return this.request(path, { method: "POST", headers, body }, options);
  }

  /** The CSRF token the page's forms carry, after GETting `path` (default /sign-in). */
  async csrf(path = "/sign-in"): Promise<string> {
    const response = await this.get(path);
    const html = await response.text();
    const token = csrfField(html);
    assert.ok(token, `no csrf field on ${path} (${response.status})`);
    return token;
  }

  /** Signs in with `key` through the form; the response (303 when it worked). */
  async signIn(key: string, next?: string): Promise<Response> {
    const csrf = await this.csrf();
    return this.post("/sign-in", { csrf, key, ...(next !== undefined ? { next } : {}) });
  }
}

/** The value of the hidden csrf input in a page, if any. */
export function csrfField(html: string): string | undefined {
  return /<input type="hidden" name="csrf" value="([^"]*)">/.exec(html)?.[1];
}

/** A new API key of `role` and a browser signed in with it. */
export async function signedIn(
  world: World,
  role: "admin" | "requester" | "approver" | "auditor",
  label: string = role,
  owner = `${label}@example.com`,
) {
  const { key, record } = await world.ra.createApiKey(role, label, owner);
  const browser = new Browser(world);
  const response = await browser.signIn(key);
  assert.equal(response.status, 303, await response.clone().text());
  return { browser, key, record };
}

/**
 * A browser signed in as a person the identity provider vouched for (`email`, verified, in
 * `groups`), as the OpenID sign-in leaves it: the session is stored and its cookie set.
 */
export async function signedInPerson(
  world: World,
  email: string,
  groups: readonly string[] = ["pki-approvers"],
) {
  const { secret, principal } = await signInPerson(
    world.repository,
    { sub: `sub-${email}`, email, name: null, groups: [...groups] },
    world.config.identity.roleGroups,
    world.clock.now,
  );
  const browser = new Browser(world);
  browser.cookies.set(
    world.publicBaseUrl.startsWith("https:") ? "__Host-session" : "session",
    secret,
  );
  return { browser, principal };
}

/** A P-256 CSR with this -subj and SAN extension value, for names ecCsrFor cannot take. */
export function csrWithSubject(
  subject: string,
  san = "DNS:odd.example.internal",
  options: { utf8?: boolean } = {},
): string {
  const key = join(work, `key-${csrs.size}-${Date.now()}.pem`);
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  return opensslReq({
    config: writeOpensslConfig(work),
    key,
    subject,
    ...(options.utf8 ? { utf8: true } : {}),
    addext: [`subjectAltName=${san}`],
    digest: "sha256",
    format: "PEM",
  }).toString("utf8");
}
