/**
 * Hostile input against the real local runtime (`npm start` as its own process): wrong media
 * types, oversized and mis-framed bodies, broken JSON, unknown and invalid fields, bad CSRs,
 * forged, misdirected, replayed and expired approval tokens, bad API keys, odd paths and
 * Idempotency-Key misuse. Each must get its precise 4xx as application/problem+json, never a
 * 5xx, and the service must still work afterwards. (A GET of a spent or expired approval link
 * is the approval page: it shows the request's state and lets nothing happen.) A second
 * runtime, whose "server" profile gives approvers about four seconds, lets links expire.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { MAX_BODY_BYTES } from "../src/api/schemas.ts";
import { approvalToken, type Running, root, startService, stop } from "./support/local-service.ts";

const MAX_CSR_BYTES = 64 * 1024;
const DEV = "dev@example.com";
const APPROVER = "security@example.com";

const work = mkdtempSync(join(tmpdir(), "pki-hostile-"));
let s: Running;
/** Same configuration, but "server" approval links expire after about four seconds. */
let short: Running;
let requesterKey: string;
const stderr = new Map<Running, string>();
const answered: { what: string; status: number }[] = [];

before(async () => {
  const config = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8"));
  config.profiles.server.approval.timeoutHours = 0.001;
  const shortConfig = join(work, "short.config.json");
  writeFileSync(shortConfig, JSON.stringify(config, null, 2));
  const started = await Promise.allSettled([
    startService(join(work, "data")),
    startService(join(work, "data-short"), { configPath: shortConfig }),
  ]);
  if (started[0].status === "fulfilled") s = started[0].value;
  if (started[1].status === "fulfilled") short = started[1].value;
  for (const result of started) if (result.status === "rejected") throw result.reason;
  for (const r of [s, short]) {
    stderr.set(r, "");
    r.child.stderr!.on("data", (chunk: Buffer) => stderr.set(r, stderr.get(r) + chunk.toString()));
  }
  const created = await call(s, "/v1/keys", {
    method: "POST",
    headers: { ...admin(s), "content-type": "application/json" },
    body: JSON.stringify({ role: "requester", label: "hostile tests", owner: "dev@example.com" }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  requesterKey = ((await created.json()) as { key: string }).key;
});

after(async () => {
  await Promise.all([s && stop(s), short && stop(short)]);
  rmSync(work, { recursive: true, force: true });
});

// ---- Helpers --------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The runtime allows a burst of 60 and then 10 requests per second per client address and per
 * key; every test request here comes from 127.0.0.1, so they are paced below that.
 */
const pacing = new Map<Running, { tokens: number; at: number }>();
async function pace(r: Running): Promise<void> {
  const bucket = pacing.get(r) ?? { tokens: 40, at: Date.now() };
  pacing.set(r, bucket);
  for (;;) {
    const now = Date.now();
    bucket.tokens = Math.min(40, bucket.tokens + ((now - bucket.at) / 1000) * 8);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    await sleep(((1 - bucket.tokens) / 8) * 1000);
  }
}

async function call(r: Running, path: string, init: RequestInit = {}): Promise<Response> {
  await pace(r);
  const res = await fetch(`${r.api}${path}`, init);
  answered.push({ what: `${init.method ?? "GET"} ${path.slice(0, 120)}`, status: res.status });
  return res;
}

const admin = (r: Running = s) => ({ authorization: `Bearer ${r.key}` });
const requester = () => ({ authorization: `Bearer ${requesterKey}` });
const jsonHeaders = (r: Running = s) => ({ ...admin(r), "content-type": "application/json" });
const pkcs10Headers = (r: Running = s) => ({ ...admin(r), "content-type": "application/pkcs10" });

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
}

/** Asserts an RFC 9457 problem with exactly this status and code, and a detail matching `detail`. */
async function problemOf(
  res: Response,
  status: number,
  code: string,
  detail: RegExp,
  label = "",
): Promise<Problem> {
  const text = await res.text();
  const where = `${label} -> ${res.status} ${text}`;
  assert.equal(res.status, status, where);
  assert.equal(res.headers.get("content-type"), "application/problem+json", where);
  const body = JSON.parse(text) as Problem;
  assert.equal(body.type, `urn:serverless-private-ca:problem:${code}`, where);
  assert.equal(body.code, code, where);
  assert.equal(body.status, status, where);
  assert.ok(typeof body.title === "string" && body.title.length > 0, where);
  assert.equal(typeof body.detail, "string", where);
  assert.match(body.detail, detail, where);
  assert.ok(typeof body.instance === "string" && body.instance.startsWith("/"), where);
  return body;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const exactly = (text: string) => new RegExp(`^${escapeRegExp(text)}$`);

let names = 0;
/** A fresh OpenSSL P-256 CSR for a unique name under example.com. */
function csr(format: "DER" | "PEM" = "DER", prefix = "h"): Buffer {
  return ecCsrFor(work, `${prefix}${++names}.example.com`, format);
}

async function submitDer(
  r: Running,
  der: Uint8Array,
  profile: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return call(r, `/v1/requests?email=${encodeURIComponent(DEV)}&profile=${profile}`, {
    method: "POST",
    headers: { ...pkcs10Headers(r), ...headers },
    body: der,
  });
}

async function submitted(res: Response): Promise<string> {
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/** Polls the request (paced) until it has `status`. */
async function waitStatus(r: Running, id: string, status: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const res = await call(r, `/v1/requests/${id}`, { headers: admin(r) });
    assert.equal(res.status, 200, await res.clone().text());
    const view = (await res.json()) as { status: string; serial: string | null };
    if (view.status === status) return view;
    last = view.status;
    await sleep(250);
  }
  throw new Error(`request ${id} is still ${last}, not ${status}`);
}

const post = (body: string | Uint8Array, headers: Record<string, string>): RequestInit => ({
  method: "POST",
  headers,
  body,
});

/** A body streamed in chunks: no Content-Length, Transfer-Encoding: chunked. */
function chunked(body: Uint8Array, headers: Record<string, string>): RequestInit {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < body.length; i += 16 * 1024)
        controller.enqueue(body.subarray(i, i + 16 * 1024));
      controller.close();
    },
  });
  return { method: "POST", headers, body: stream, duplex: "half" } as RequestInit;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  for (;;) {
    const headEnd = rest.indexOf("\r\n\r\n");
    if (headEnd < 0) return out;
    const [statusLine = "", ...lines] = rest.slice(0, headEnd).split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const body = rest.slice(headEnd + 4);
    let length = body.length;
    if (headers["content-length"] !== undefined) {
      length = Number(headers["content-length"]);
      if (body.length < length) return out;
    } else if (headers["transfer-encoding"] === "chunked") {
      const end = body.indexOf("0\r\n\r\n");
      if (end < 0) return out;
      length = end + 5;
    }
    out.push({ status: Number(statusLine.split(" ")[1]), headers, body: body.slice(0, length) });
    rest = body.slice(length);
  }
}

/**
 * Writes `request` byte for byte on a new connection (what fetch refuses to send) and returns
 * the responses once `expect` of them arrived or the server closed the connection.
 */
async function rawHttp(r: Running, request: string, expect: number): Promise<RawResponse[]> {
  await pace(r);
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(r.api).port), "127.0.0.1");
    let data = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const responses = parseResponses(data);
      for (const res of responses) answered.push({ what: "raw", status: res.status });
      resolve(responses);
    };
    const timer = setTimeout(finish, 5000);
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("latin1");
      if (parseResponses(data).length >= expect) finish();
    });
    socket.on("close", finish);
    socket.on("error", finish);
    socket.write(request);
  });
}

function rawProblem(res: RawResponse | undefined, status: number, code: string, detail: RegExp) {
  assert.ok(res, "no response");
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers["content-type"], "application/problem+json", res.body);
  const body = JSON.parse(res.body) as Problem;
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.match(body.detail, detail);
}

/** A GET from another loopback address, so that its rate-limit bucket is not 127.0.0.1's. */
function getFrom(
  r: Running,
  localAddress: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: new URL(r.api).port, path, localAddress, headers, agent: false },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => {
          answered.push({ what: `GET ${path} from ${localAddress}`, status: res.statusCode! });
          resolve({ status: res.statusCode!, headers: res.headers, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Lines the runtime logs for an unexpected error (a 5xx): "METHOD /path: stack". */
function unexpectedErrors(r: Running): string[] {
  return (stderr.get(r) ?? "")
    .split("\n")
    .filter((line) => /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S*: /.test(line));
}

const validJson = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ csr: "x", email: DEV, profile: "client", ...overrides });

// ---- Media types ----------------------------------------------------------------------------

describe("media types", () => {
  test("POST /v1/requests takes application/json or application/pkcs10 only: the rest is 415", async () => {
    const body = JSON.stringify({ csr: csr("PEM").toString(), email: DEV, profile: "client" });
    const form = new FormData();
    form.set("csr", new Blob([csr("PEM")]), "app.csr");
    form.set("email", DEV);
    form.set("profile", "client");
    const cases: [string, RequestInit][] = [
      ["text/plain", post(body, { ...admin(), "content-type": "text/plain" })],
      [
        "form-urlencoded",
        {
          method: "POST",
          headers: admin(),
          body: new URLSearchParams({ csr: "x", email: DEV, profile: "client" }),
        },
      ],
      ["no content-type", post(new TextEncoder().encode(body), admin())],
      ["multipart", { method: "POST", headers: admin(), body: form }],
      ["application/xml", post("<csr/>", { ...admin(), "content-type": "application/xml" })],
      [
        "a JSON-like type",
        post(body, { ...admin(), "content-type": "application/json-patch+json" }),
      ],
      [
        "application/pkix-cert",
        post(csr(), { ...admin(), "content-type": "application/pkix-cert" }),
      ],
    ];
    for (const [label, init] of cases) {
      await problemOf(
        await call(s, "/v1/requests", init),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        exactly("Send application/json or application/pkcs10."),
        label,
      );
    }
    // Case and parameters of the media type do not matter.
    const ok = await call(
      s,
      "/v1/requests",
      post(body, { ...admin(), "content-type": "Application/JSON; charset=UTF-8" }),
    );
    assert.equal(ok.status, 202, await ok.text());
  });

  test("POST /v1/approvals/{id} and POST /v1/keys take application/json only: the rest is 415", async () => {
    const decision = JSON.stringify({ decision: "approve", token: "A".repeat(43) });
    const form = new FormData();
    form.set("decision", "approve");
    const cases: [string, RequestInit][] = [
      ["text/plain", post(decision, { "content-type": "text/plain" })],
      [
        "form-urlencoded",
        { method: "POST", body: new URLSearchParams({ decision: "approve", token: "x" }) },
      ],
      ["no content-type", post(new TextEncoder().encode(decision), {})],
      ["multipart", { method: "POST", body: form }],
      ["application/pkcs10", post(csr(), { "content-type": "application/pkcs10" })],
    ];
    for (const [label, init] of cases) {
      await problemOf(
        await call(s, `/v1/approvals/${randomUUID()}`, init),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        exactly("Send application/json."),
        label,
      );
      const headers = { ...admin(), ...(init.headers as Record<string, string> | undefined) };
      await problemOf(
        await call(s, "/v1/keys", { ...init, headers }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        exactly("Send application/json."),
        `keys, ${label}`,
      );
    }
  });
});

// ---- Body size and framing ------------------------------------------------------------------

describe("body limits and framing", () => {
  const tooLarge = exactly(`The limit is ${MAX_BODY_BYTES} bytes.`);
  /** A submission whose JSON text is exactly `size` bytes. */
  const jsonOfSize = (size: number) => {
    const head = `{"email":"${DEV}","profile":"client","csr":"`;
    return `${head}${"A".repeat(size - head.length - 2)}"}`;
  };

  test("one byte over the limit is 413, as JSON or application/pkcs10, before authentication", async () => {
    const json = jsonOfSize(MAX_BODY_BYTES + 1);
    assert.equal(Buffer.byteLength(json), MAX_BODY_BYTES + 1);
    await problemOf(
      await call(s, "/v1/requests", post(json, jsonHeaders())),
      413,
      "BODY_TOO_LARGE",
      tooLarge,
      "JSON",
    );
    const der = new Uint8Array(MAX_BODY_BYTES + 1).fill(0x41);
    await problemOf(await submitDer(s, der, "client"), 413, "BODY_TOO_LARGE", tooLarge, "pkcs10");
    await problemOf(
      await call(s, "/v1/requests", post(json, { "content-type": "application/json" })),
      413,
      "BODY_TOO_LARGE",
      tooLarge,
      "no key",
    );
    await problemOf(
      await call(
        s,
        `/v1/approvals/${randomUUID()}`,
        post(json, { "content-type": "application/json" }),
      ),
      413,
      "BODY_TOO_LARGE",
      tooLarge,
      "approval",
    );
  });

  test("at the body limit the CSR's own 64 KiB limit answers, also 413, with the sizes", async () => {
    const json = jsonOfSize(MAX_BODY_BYTES);
    const csrBytes = MAX_BODY_BYTES - `{"email":"${DEV}","profile":"client","csr":"`.length - 2;
    await problemOf(
      await call(s, "/v1/requests", post(json, jsonHeaders())),
      413,
      "CSR_TOO_LARGE",
      exactly(`It is ${csrBytes} bytes; the limit is ${MAX_CSR_BYTES}.`),
    );
    const der = new Uint8Array(MAX_CSR_BYTES + 1).fill(0x30);
    await problemOf(
      await submitDer(s, der, "client"),
      413,
      "CSR_TOO_LARGE",
      exactly(`It is ${MAX_CSR_BYTES + 1} bytes; the limit is ${MAX_CSR_BYTES}.`),
    );
  });

  test("chunked bodies without Content-Length are counted as they arrive: over the limit is 413", async () => {
    const big = new Uint8Array(MAX_BODY_BYTES + 1).fill(0x41);
    await problemOf(
      await call(s, "/v1/requests", chunked(big, jsonHeaders())),
      413,
      "BODY_TOO_LARGE",
      tooLarge,
      "JSON",
    );
    await problemOf(
      await call(
        s,
        `/v1/requests?email=${DEV}&profile=client`,
        chunked(big, { ...pkcs10Headers() }),
      ),
      413,
      "BODY_TOO_LARGE",
      tooLarge,
      "pkcs10",
    );
    await problemOf(
      await call(
        s,
        `/v1/approvals/${randomUUID()}`,
        chunked(big, { "content-type": "application/json" }),
      ),
      413,
      "BODY_TOO_LARGE",
      tooLarge,
      "approval",
    );
    // A chunked body under the limit is read whole.
    const ok = await call(
      s,
      `/v1/requests?email=${DEV}&profile=client`,
      chunked(csr(), pkcs10Headers()),
    );
    assert.equal(ok.status, 202, await ok.text());
  });

  test("a lying Content-Length: too large is 413 at once; too small cuts the body; with chunked it is refused", async () => {
    const head = (length: number | null, extra = "") =>
      `POST /v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.key}\r\n` +
      `Content-Type: application/json\r\n${length === null ? "" : `Content-Length: ${length}\r\n`}${extra}\r\n`;
    // Declared over the limit, seven bytes sent: refused without waiting for the rest.
    const [declared] = await rawHttp(s, `${head(MAX_BODY_BYTES + 1)}{"a":1}`, 1);
    rawProblem(declared, 413, "BODY_TOO_LARGE", tooLarge);
    // Declared too small: the body is cut there (not JSON), and the bytes left over are not a
    // request. Node's HTTP parser answers those with a bare 400 and closes the connection,
    // usually before the API's own 400 for the cut body is written; either way, only 400s.
    const cut = await rawHttp(s, `${head(5)}${validJson()}`, 2);
    assert.ok(cut.length >= 1, "no response");
    for (const res of cut) {
      assert.equal(res.status, 400, res.body);
      if (res.headers["content-type"] !== undefined)
        rawProblem(res, 400, "BODY_INVALID", /^The body is not JSON: /);
    }
    // Content-Length with Transfer-Encoding (request smuggling) and broken chunk framing are
    // refused by the HTTP parser before the API sees them.
    const [smuggled] = await rawHttp(
      s,
      `${head(5, "Transfer-Encoding: chunked\r\n")}5\r\n{"a":\r\n0\r\n\r\n`,
      1,
    );
    assert.equal(smuggled?.status, 400);
    const [badChunk] = await rawHttp(
      s,
      `${head(null, "Transfer-Encoding: chunked\r\n")}zz\r\n{"a":1}\r\n0\r\n\r\n`,
      1,
    );
    assert.equal(badChunk?.status, 400);
    const [negative] = await rawHttp(s, `${head(-1)}{}`, 1);
    assert.equal(negative?.status, 400);
  });
});

// ---- JSON -----------------------------------------------------------------------------------

describe("JSON bodies", () => {
  test("invalid JSON and non-objects are 400 saying what the body is", async () => {
    const targets: [string, Record<string, string>][] = [
      ["/v1/requests", jsonHeaders()],
      [`/v1/approvals/${randomUUID()}`, { "content-type": "application/json" }],
      ["/v1/keys", jsonHeaders()],
    ];
    for (const [path, headers] of targets) {
      const cases: [string, string, RegExp][] = [
        ["truncated", '{"csr":"abc', /^The body is not JSON: Unterminated string in JSON/],
        [
          "truncated object",
          '{"decision":',
          /^The body is not JSON: Unexpected end of JSON input\.$/,
        ],
        ["empty", "", exactly("The body is not JSON: Unexpected end of JSON input.")],
        [
          "not JSON",
          "csr=abc",
          /^The body is not JSON: Unexpected token 'c', "csr=abc" is not valid JSON\.$/,
        ],
        ["a number", "42", exactly("The body must be a JSON object, not 42.")],
        ["null", "null", exactly("The body must be a JSON object, not null.")],
        ["a string", '"csr"', exactly("The body must be a JSON object, not a string.")],
        ["true", "true", exactly("The body must be a JSON object, not true.")],
        ["an array", "[]", exactly("The body must be a JSON object, not an array.")],
      ];
      for (const [label, body, detail] of cases) {
        await problemOf(
          await call(s, path, post(body, headers)),
          400,
          "BODY_INVALID",
          detail,
          `${path} ${label}`,
        );
      }
    }
    // Nesting deep enough to threaten a recursive parser: still a 400 about the body.
    const deep = `${'{"a":'.repeat(16_000)}1${"}".repeat(16_000)}`;
    await problemOf(
      await call(s, "/v1/requests", post(deep, jsonHeaders())),
      400,
      "BODY_INVALID",
      /^(The body is not JSON: Maximum call stack size exceeded\.|.*\bunknown field "a": .*)$/,
      "deep nesting",
    );
  });

  test("unknown fields are 400 naming the field, including prototype keys", async () => {
    const cases: [string, string, Record<string, string>, string, string, RegExp][] = [
      [
        "admin flag",
        "/v1/requests",
        jsonHeaders(),
        validJson({ admin: true }),
        "BODY_INVALID",
        exactly(
          'unknown field "admin": allowed fields are csr, email, profile, comment, validityDays',
        ),
      ],
      [
        "__proto__",
        "/v1/requests",
        jsonHeaders(),
        validJson().replace(/^\{/, '{"__proto__":{"role":"admin"},'),
        "BODY_INVALID",
        exactly(
          'unknown field "__proto__": allowed fields are csr, email, profile, comment, validityDays',
        ),
      ],
      [
        "constructor",
        "/v1/requests",
        jsonHeaders(),
        validJson({ constructor: { prototype: { admin: true } } }),
        "BODY_INVALID",
        exactly(
          'unknown field "constructor": allowed fields are csr, email, profile, comment, validityDays',
        ),
      ],
      [
        "a differently cased duplicate",
        "/v1/requests",
        jsonHeaders(),
        validJson({ Email: "other@example.com" }),
        "BODY_INVALID",
        exactly(
          'unknown field "Email": allowed fields are csr, email, profile, comment, validityDays',
        ),
      ],
      [
        "approver on a decision",
        `/v1/approvals/${randomUUID()}`,
        { "content-type": "application/json" },
        JSON.stringify({ decision: "approve", token: "A".repeat(43), approver: APPROVER }),
        "BODY_INVALID",
        exactly('unknown field "approver": allowed fields are decision, token, reason'),
      ],
      [
        "id on a new key",
        "/v1/keys",
        jsonHeaders(),
        JSON.stringify({ role: "requester", owner: "dev@example.com", id: "0000000000000000" }),
        "BODY_INVALID",
        exactly('unknown field "id": allowed fields are role, owner, label'),
      ],
    ];
    for (const [label, path, headers, body, code, detail] of cases) {
      const res = await call(s, path, post(body, headers));
      const problem = await problemOf(res, 400, code, detail, label);
      assert.ok(Array.isArray((problem as unknown as { problems: unknown }).problems), label);
    }
    // The same for query parameters of a raw submission.
    await problemOf(
      await call(
        s,
        `/v1/requests?email=${DEV}&profile=client&role=admin`,
        post(csr(), pkcs10Headers()),
      ),
      400,
      "QUERY_INVALID",
      exactly(
        'unknown query parameter "role": allowed query parameters are email, profile, comment, validityDays',
      ),
    );
  });
});

// ---- Submission fields and CSRs -------------------------------------------------------------

describe("submission fields", () => {
  test("missing and invalid fields are 400 naming the field", async () => {
    const cases: [string, string, RegExp][] = [
      [
        "nothing",
        "{}",
        exactly(
          // email is optional: the principal's own address when absent.
          "csr is required; profile is required",
        ),
      ],
      [
        "a bad email",
        validJson({ email: "nobody" }),
        exactly("email: email must be an email address"),
      ],
      [
        "a header injection in the email",
        validJson({ email: `${DEV}\r\nBcc: victim@example.net` }),
        exactly("email: email must be an email address"),
      ],
      [
        "an email as a number",
        validJson({ email: 5 }),
        exactly("email: email must be an email address"),
      ],
      ["an empty CSR", validJson({ csr: "" }), exactly("csr: csr must not be empty")],
      [
        "a CSR as an object",
        validJson({ csr: { der: "MII" } }),
        exactly("csr: Invalid type: Expected string but received Object"),
      ],
      [
        "a long comment",
        validJson({ comment: "x".repeat(1001) }),
        exactly("comment: comment is limited to 1000 characters"),
      ],
      [
        "zero days",
        validJson({ validityDays: 0 }),
        /^validityDays: Invalid value: Expected >=1 but received 0$/,
      ],
      [
        "fractional days",
        validJson({ validityDays: 1.5 }),
        /^validityDays: Invalid integer: Received 1\.5$/,
      ],
      [
        "days as text",
        validJson({ validityDays: "30" }),
        exactly('validityDays: Invalid type: Expected number but received "30"'),
      ],
      [
        "an empty profile",
        validJson({ profile: "" }),
        exactly("profile: Invalid length: Expected >=1 but received 0"),
      ],
      [
        "a long profile",
        validJson({ profile: "p".repeat(64) }),
        exactly("profile: Invalid length: Expected <=63 but received 64"),
      ],
    ];
    for (const [label, body, detail] of cases) {
      await problemOf(
        await call(s, "/v1/requests", post(body, jsonHeaders())),
        400,
        "BODY_INVALID",
        detail,
        label,
      );
    }
    const queries: [string, string, RegExp][] = [
      [
        "a bad email",
        "email=nobody&profile=client",
        exactly("email: email must be an email address"),
      ],
      ["no profile", `email=${DEV}`, exactly("profile is required")],
      ["days as words", `email=${DEV}&profile=client&validityDays=ten`, /^validityDays: /],
      ["zero days", `email=${DEV}&profile=client&validityDays=0`, /^validityDays: /],
      ["negative days", `email=${DEV}&profile=client&validityDays=-5`, /^validityDays: /],
    ];
    for (const [label, query, detail] of queries) {
      await problemOf(
        await call(s, `/v1/requests?${query}`, post(csr(), pkcs10Headers())),
        400,
        "QUERY_INVALID",
        detail,
        label,
      );
    }
  });

  test("CSRs that are garbage, mislabelled, tampered with or padded are 422 naming the fault", async () => {
    const good = csr();
    const pem = csr("PEM").toString();
    const badSignature = Uint8Array.from(good);
    badSignature[badSignature.length - 1]! ^= 0x01;
    const trailing = Buffer.concat([good, Buffer.of(0)]);
    const relabelled = pem.replaceAll("CERTIFICATE REQUEST", "CERTIFICATE");
    const privateKey = readFileSync(join(work, `h${names}.example.com.key`), "utf8");
    const chain = await (await call(s, "/v1/ca")).text();
    const raw: [string, Uint8Array | string, string, RegExp][] = [
      ["empty", new Uint8Array(0), "CSR_EMPTY", exactly("The CSR is empty.")],
      ["whitespace", " \r\n\t ", "CSR_EMPTY", exactly("The CSR is empty.")],
      [
        "text",
        "garbage",
        "CSR_DER_MALFORMED",
        exactly("The input is neither PEM text nor a DER SEQUENCE."),
      ],
      [
        "a DER INTEGER",
        Uint8Array.of(0x02, 0x01, 0x00),
        "CSR_DER_MALFORMED",
        exactly("The input is neither PEM text nor a DER SEQUENCE."),
      ],
      [
        "a SEQUENCE claiming more than it has",
        Uint8Array.of(0x30, 0x7f, 0x02, 0x01, 0x00),
        "CSR_DER_MALFORMED",
        /^CertificationRequest: /,
      ],
      [
        "half a CSR",
        good.subarray(0, good.length >> 1),
        "CSR_DER_MALFORMED",
        /^CertificationRequest: /,
      ],
      [
        "a flipped signature byte",
        badSignature,
        "CSR_SIGNATURE_INVALID",
        exactly("The request was not signed by the private key of the public key it contains."),
      ],
      [
        "a byte after the CSR",
        trailing,
        "CSR_TRAILING_DATA",
        exactly(`1 bytes follow the CSR's ${good.length}.`),
      ],
      ["a PEM CERTIFICATE", relabelled, "CSR_PEM_INVALID", exactly("The block is a CERTIFICATE.")],
      ["a private key", privateKey, "CSR_PEM_INVALID", exactly("The block is a PRIVATE KEY.")],
      ["the CA chain", chain, "CSR_PEM_INVALID", exactly("Found 2 PEM blocks; send exactly one.")],
      [
        "PEM without its END line",
        pem.slice(0, pem.indexOf("-----END")),
        "CSR_PEM_INVALID",
        exactly("The CERTIFICATE REQUEST block has no END line."),
      ],
    ];
    for (const [label, body, code, detail] of raw) {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      await problemOf(await submitDer(s, bytes, "client"), 422, code, detail, `pkcs10 ${label}`);
      if (typeof body === "string" && body.trim() !== "") {
        // As the csr field of a JSON body, text is always read as PEM.
        const json = validJson({ csr: body });
        const res = await call(s, "/v1/requests", post(json, jsonHeaders()));
        const expected = body.includes("-----BEGIN")
          ? detail
          : exactly(`Unexpected text outside a PEM block: "${body.trim().slice(0, 40)}".`);
        await problemOf(
          res,
          422,
          body.includes("-----BEGIN") ? code : "CSR_PEM_INVALID",
          expected,
          `JSON ${label}`,
        );
      }
    }
    await problemOf(
      await call(s, "/v1/requests", post(validJson({ csr: " \n " }), jsonHeaders())),
      422,
      "CSR_EMPTY",
      exactly("The CSR is empty."),
      "JSON whitespace",
    );
  });

  test("policy: a name outside the profile, too many days, and the approver as requester are 422", async () => {
    const outside = ecCsrFor(work, "evil.attacker.net", "DER");
    await problemOf(
      await submitDer(s, outside, "client"),
      422,
      "POLICY_DNS_NOT_ALLOWED",
      /evil\.attacker\.net/,
    );
    await problemOf(
      await call(
        s,
        `/v1/requests?email=${DEV}&profile=client&validityDays=91`,
        post(csr(), pkcs10Headers()),
      ),
      422,
      "POLICY_VALIDITY_TOO_LONG",
      /91/,
    );
    // The only approver of "server" cannot approve their own request: who submits is the key's
    // owner (addresses compare case-insensitively), whatever address the mails go to.
    const created = await call(
      s,
      "/v1/keys",
      post(JSON.stringify({ role: "requester", owner: "Security@Example.com" }), jsonHeaders()),
    );
    assert.equal(created.status, 201, await created.clone().text());
    const ownKey = ((await created.json()) as { key: string }).key;
    await problemOf(
      await call(
        s,
        `/v1/requests?email=${DEV}&profile=server`,
        post(csr(), { authorization: `Bearer ${ownKey}`, "content-type": "application/pkcs10" }),
      ),
      422,
      "APPROVAL_QUORUM_UNREACHABLE",
      exactly(
        "Profile server needs 1 approval(s) from others, and only 0 approver(s) other than Security@Example.com are configured.",
      ),
    );
  });

  test("an unknown profile is 422 naming it and the profiles there are", async () => {
    for (const name of ["nope", "SERVER", "__proto__", "constructor", "toString", "server "]) {
      const detail = exactly(`"${name}" is not one of: server, client, server-client.`);
      await problemOf(
        await call(
          s,
          "/v1/requests",
          post(validJson({ csr: csr("PEM").toString(), profile: name }), jsonHeaders()),
        ),
        422,
        "PROFILE_UNKNOWN",
        detail,
        `JSON ${name}`,
      );
      await problemOf(
        await submitDer(s, csr(), encodeURIComponent(name)),
        422,
        "PROFILE_UNKNOWN",
        detail,
        `pkcs10 ${name}`,
      );
    }
  });
});

// ---- Idempotency-Key ------------------------------------------------------------------------

describe("Idempotency-Key", () => {
  test("malformed keys are 400; a key reused for a different request is 422; a replay is 200", async () => {
    for (const [label, key] of [
      ["too long", "k".repeat(256)],
      ["with a space", "two words"],
      ["empty", ""],
    ] as const) {
      await problemOf(
        await submitDer(s, csr(), "client", { "idempotency-key": key }),
        400,
        "IDEMPOTENCY_KEY_INVALID",
        exactly("The Idempotency-Key must be 1 to 255 printable ASCII characters."),
        label,
      );
    }
    const key = `hostile-${randomUUID()}`.padEnd(255, "x");
    const der = csr();
    const first = await submitted(await submitDer(s, der, "client", { "idempotency-key": key }));
    // The same request again: 200 with the first request.
    const replay = await submitDer(s, der, "client", { "idempotency-key": key });
    assert.equal(replay.status, 200);
    assert.equal(((await replay.json()) as { id: string }).id, first);
    // A different CSR, or the same CSR for another profile, under the same key: 422.
    const reused = exactly(`It was first used for request ${first}.`);
    await problemOf(
      await submitDer(s, csr(), "client", { "idempotency-key": key }),
      422,
      "IDEMPOTENCY_KEY_REUSED",
      reused,
      "other CSR",
    );
    await problemOf(
      await call(
        s,
        `/v1/requests?email=${DEV}&profile=client&comment=changed`,
        post(der, { ...pkcs10Headers(), "idempotency-key": key }),
      ),
      422,
      "IDEMPOTENCY_KEY_REUSED",
      reused,
      "other comment",
    );
    // Keys are scoped to the API key: another caller's same key is a new request.
    const other = await submitDer(s, der, "client", {
      ...requester(),
      "idempotency-key": key,
    });
    assert.notEqual(await submitted(other), first);
  });
});

// ---- Approval tokens ------------------------------------------------------------------------

describe("approval tokens", () => {
  let a: string;
  let b: string;
  let tokenA: string;
  let tokenB: string;

  before(async () => {
    a = await submitted(await submitDer(s, csr("DER", "appr-a"), "server"));
    b = await submitted(await submitDer(s, csr("DER", "appr-b"), "server"));
    tokenA = await approvalToken(s, APPROVER, a);
    tokenB = await approvalToken(s, APPROVER, b);
  });

  const show = (id: string, token: string) =>
    call(s, `/v1/approvals/${id}?token=${encodeURIComponent(token)}`);
  const decideRaw = (id: string, body: unknown) =>
    call(
      s,
      `/v1/approvals/${id}`,
      post(JSON.stringify(body), { "content-type": "application/json" }),
    );

  test("forged, malformed and misdirected tokens are 403 on GET and POST and change nothing", async () => {
    const invalid = /^(The approval link is not valid for this request|Request [0-9a-f-]{36})\.$/;
    const unknownId = randomUUID();
    const cases: [string, string, string][] = [
      ["forged", b, randomBytes(32).toString("base64url")],
      ["too short", b, "abc"],
      ["wrong alphabet", b, `${"+/".repeat(21)}=`],
      ["one character longer", b, `${tokenB}A`],
      ["one character shorter", b, tokenB.slice(0, 42)],
      ["one character changed", b, `${tokenB.slice(0, 42)}${tokenB.endsWith("A") ? "B" : "A"}`],
      ["a NUL", b, `${tokenB.slice(0, 42)}\u0000`],
      ["another request's token", b, tokenA],
      ["an unknown request", unknownId, tokenA],
    ];
    for (const [label, id, token] of cases) {
      await problemOf(
        await show(id, token),
        403,
        "APPROVAL_TOKEN_INVALID",
        invalid,
        `GET ${label}`,
      );
      for (const decision of ["approve", "reject"]) {
        await problemOf(
          await decideRaw(id, { decision, token, reason: "hostile" }),
          403,
          "APPROVAL_TOKEN_INVALID",
          invalid,
          `POST ${decision} ${label}`,
        );
      }
    }
    // Nothing was decided: both requests still wait and their real links still open.
    for (const [id, token] of [
      [a, tokenA],
      [b, tokenB],
    ] as const) {
      const res = await show(id, token);
      assert.equal(res.status, 200, await res.clone().text());
      const view = (await res.json()) as { status: string; decided: boolean };
      assert.deepEqual([view.status, view.decided], ["pending_approval", false]);
    }
  });

  test("tokens and decisions outside the schema are 400 naming the field", async () => {
    const cases: [string, unknown, RegExp][] = [
      [
        "a long token",
        { decision: "approve", token: "A".repeat(129) },
        exactly("token: Invalid length: Expected <=128 but received 129"),
      ],
      ["an empty token", { decision: "approve", token: "" }, exactly("token: token is required")],
      ["no token", { decision: "approve" }, exactly("token is required")],
      [
        "a numeric token",
        { decision: "approve", token: 43 },
        exactly("token: Invalid type: Expected string but received 43"),
      ],
      [
        "a token array",
        { decision: "approve", token: [tokenB] },
        /^token: Invalid type: Expected string but received Array$/,
      ],
      [
        "maybe",
        { decision: "maybe", token: tokenB },
        exactly('decision: decision must be "approve" or "reject"'),
      ],
      [
        "APPROVE",
        { decision: "APPROVE", token: tokenB },
        exactly('decision: decision must be "approve" or "reject"'),
      ],
      [
        "a long reason",
        { decision: "reject", token: tokenB, reason: "r".repeat(1001) },
        exactly("reason: Invalid length: Expected <=1000 but received 1001"),
      ],
    ];
    for (const [label, body, detail] of cases) {
      await problemOf(await decideRaw(b, body), 400, "BODY_INVALID", detail, label);
    }
    await problemOf(
      await call(s, `/v1/approvals/${b}`),
      400,
      "QUERY_INVALID",
      exactly("token is required."),
      "GET no token",
    );
    await problemOf(
      await call(s, `/v1/approvals/${b}?token=`),
      400,
      "QUERY_INVALID",
      exactly("token is required."),
      "GET empty token",
    );
    for (const id of ["a".repeat(65), "..%2F..%2Fv1%2Fkeys", "a%20b", "%00", "%E0%A4%A"]) {
      await problemOf(
        await show(id, tokenB),
        400,
        "QUERY_INVALID",
        exactly("not a request id"),
        `GET ${id}`,
      );
      await problemOf(
        await decideRaw(id, { decision: "approve", token: tokenB }),
        400,
        "QUERY_INVALID",
        exactly("not a request id"),
        `POST ${id}`,
      );
    }
  });

  test("a used token is refused on POST with 409, whatever the decision", async () => {
    const approved = await decideRaw(a, { decision: "approve", token: tokenA });
    assert.equal(approved.status, 200, await approved.clone().text());
    assert.deepEqual(await approved.json(), { id: a, status: "approved" });
    const used = new RegExp(
      `^${escapeRegExp(APPROVER)} decided "approve" at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\.$`,
    );
    for (const decision of ["approve", "reject"]) {
      await problemOf(
        await decideRaw(a, { decision, token: tokenA, reason: "again" }),
        409,
        "APPROVAL_ALREADY_DECIDED",
        used,
        decision,
      );
    }
    const view = await waitStatus(s, a, "issued");
    assert.ok(view.serial);
  });

  test("a used token on GET only shows the request as decided (the approval page)", async () => {
    // A GET never changes anything; it shows what the link decided (local-e2e-outcomes).
    const res = await show(a, tokenA);
    assert.equal(res.status, 200, await res.clone().text());
    const page = (await res.json()) as { requestId: string; status: string; decided: boolean };
    assert.deepEqual([page.requestId, page.status, page.decided], [a, "issued", true]);
  });

  describe("an expired link (second runtime: server approvals time out after ~4 s)", () => {
    let id: string;
    let token: string;

    before(async () => {
      id = await submitted(await submitDer(short, csr("DER", "expiring"), "server"));
      token = await approvalToken(short, APPROVER, id);
      await waitStatus(short, id, "expired");
    });

    test("POST is 409: the request no longer waits, because it expired", async () => {
      for (const decision of ["approve", "reject"]) {
        await problemOf(
          await call(
            short,
            `/v1/approvals/${id}`,
            post(JSON.stringify({ decision, token }), { "content-type": "application/json" }),
          ),
          409,
          "APPROVAL_NOT_PENDING",
          exactly(`Request ${id} is expired.`),
          decision,
        );
      }
      assert.equal((await waitStatus(short, id, "expired")).serial, null);
    });

    test("GET only shows the request as expired, with the link's deadline", async () => {
      const res = await call(short, `/v1/approvals/${id}?token=${token}`);
      assert.equal(res.status, 200, await res.clone().text());
      const page = (await res.json()) as { status: string; decided: boolean; expiresAt: string };
      assert.deepEqual([page.status, page.decided], ["expired", false]);
      assert.ok(Date.parse(page.expiresAt) <= Date.now(), page.expiresAt);
    });
  });
});

// ---- API keys -------------------------------------------------------------------------------

describe("API keys", () => {
  const keyed: [string, string, () => RequestInit][] = [
    ["POST", "/v1/requests", () => post(validJson(), { "content-type": "application/json" })],
    ["GET", `/v1/requests/${randomUUID()}`, () => ({})],
    ["GET", "/v1/certificates/0a1b", () => ({})],
    ["GET", "/v1/keys", () => ({})],
    [
      "POST",
      "/v1/keys",
      () => post(JSON.stringify({ role: "admin" }), { "content-type": "application/json" }),
    ],
    ["DELETE", "/v1/keys/0123456789abcdef", () => ({ method: "DELETE" })],
  ];

  test("no Authorization is 401 with WWW-Authenticate on every keyed route", async () => {
    for (const [method, path, init] of keyed) {
      const res = await call(s, path, init());
      assert.equal(res.headers.get("www-authenticate"), "Bearer", `${method} ${path}`);
      await problemOf(
        res,
        401,
        "UNAUTHENTICATED",
        exactly("Send Authorization: Bearer <API key or access token>."),
        `${method} ${path}`,
      );
    }
  });

  test("a wrong scheme, an empty, unknown, malformed or revoked key is 401", async () => {
    const created = await call(
      s,
      "/v1/keys",
      post(JSON.stringify({ role: "requester", owner: "dev@example.com" }), jsonHeaders()),
    );
    assert.equal(created.status, 201);
    const revoked = (await created.json()) as { id: string; key: string };
    const revoke = await call(s, `/v1/keys/${revoked.id}`, { method: "DELETE", headers: admin() });
    assert.equal(revoke.status, 200, await revoke.clone().text());
    const headers = [
      ["Basic", "Basic dXNlcjpwYXNz"],
      ["Basic with the key", `Basic ${Buffer.from(`${s.key}:`).toString("base64")}`],
      ["another scheme", `Token ${s.key}`],
      ["no key", "Bearer"],
      ["an empty key", "Bearer  "],
      ["unknown, well-formed", `Bearer spca_${randomBytes(24).toString("base64url")}`],
      ["too short", "Bearer spca_abc"],
      ["too long", `Bearer ${"A".repeat(129)}`],
      ["path traversal", "Bearer ../../../../etc/passwd"],
      ["quotes", `Bearer "${s.key}"`],
      ["two keys", `Bearer ${s.key}, Bearer ${s.key}`],
      ["a trailing word", `Bearer ${s.key} admin`],
      ["revoked", `Bearer ${revoked.key}`],
    ];
    for (const [label, authorization] of headers) {
      for (const [method, path, init] of [keyed[0]!, keyed[1]!, keyed[3]!]) {
        const base = init();
        const res = await call(s, path, {
          ...base,
          headers: { ...(base.headers as Record<string, string>), authorization: authorization! },
        });
        assert.equal(res.headers.get("www-authenticate"), "Bearer", `${label}: ${method} ${path}`);
        await problemOf(
          res,
          401,
          "UNAUTHENTICATED",
          /^The credential is not valid: an unknown or revoked API key, or an access token/,
          `${label}: ${method} ${path}`,
        );
      }
    }
  });

  test("a requester key on the admin-only key routes is 403 and changes nothing", async () => {
    const adminKeyId = createHash("sha256").update(s.key).digest("hex").slice(0, 16);
    const attempts: [string, string, RequestInit][] = [
      ["GET", "/v1/keys", { headers: requester() }],
      [
        "POST",
        "/v1/keys",
        post(JSON.stringify({ role: "admin", label: "mine now", owner: "dev@example.com" }), {
          ...requester(),
          "content-type": "application/json",
        }),
      ],
      ["DELETE", `/v1/keys/${adminKeyId}`, { method: "DELETE", headers: requester() }],
    ];
    for (const [method, path, init] of attempts) {
      await problemOf(
        await call(s, path, init),
        403,
        "FORBIDDEN",
        /^This operation needs the role admin( or auditor)?; dev@example\.com has requester\.$/,
        `${method} ${path}`,
      );
    }
    const keys = await call(s, "/v1/keys", { headers: admin() });
    assert.equal(keys.status, 200);
    const list = (
      (await keys.json()) as { keys: { id: string; role: string; revokedAt: string | null }[] }
    ).keys;
    assert.equal(list.find((k) => k.id === adminKeyId)?.revokedAt, null);
    assert.equal(list.filter((k) => k.role === "admin").length, 1);
    // The requester key still does what it may.
    const unknown = randomUUID();
    await problemOf(
      await call(s, `/v1/requests/${unknown}`, { headers: requester() }),
      404,
      "NOT_FOUND",
      exactly(`No request ${unknown}.`),
    );
  });

  test("admin key routes validate their input", async () => {
    await problemOf(
      await call(
        s,
        "/v1/keys",
        post(JSON.stringify({ role: "root", owner: "dev@example.com" }), jsonHeaders()),
      ),
      400,
      "BODY_INVALID",
      exactly("role: role must be one of requester, approver, admin, auditor"),
    );
    await problemOf(
      await call(
        s,
        "/v1/keys",
        post(
          JSON.stringify({ role: "requester", owner: "dev@example.com", label: "l".repeat(201) }),
          jsonHeaders(),
        ),
      ),
      400,
      "BODY_INVALID",
      exactly("label: label is limited to 200 characters"),
    );
    for (const id of ["ZZ", "0123456789ABCDEF", "0".repeat(17), "..%2F..%2Fetc"]) {
      await problemOf(
        await call(s, `/v1/keys/${id}`, { method: "DELETE", headers: admin() }),
        400,
        "QUERY_INVALID",
        exactly("not an API key id (16 lowercase hex digits)"),
        id,
      );
    }
    await problemOf(
      await call(s, "/v1/keys/0000000000000000", { method: "DELETE", headers: admin() }),
      404,
      "API_KEY_NOT_FOUND",
      exactly("Key id 0000000000000000."),
    );
  });
});

// ---- Paths and methods ----------------------------------------------------------------------

describe("paths and methods", () => {
  test("unknown routes and unsupported methods are 404 problems naming the method and path", async () => {
    const cases: [string, string][] = [
      ["GET", "/nothing-here"],
      ["GET", "/v2/anything"],
      ["GET", "/v1"],
      ["GET", "/v1/requests"],
      ["GET", "/v1/requests/a/b"],
      ["POST", "/v1/request"],
      ["GET", "/v1/approvals"],
      ["DELETE", "/v1/requests"],
      ["PUT", `/v1/requests/${randomUUID()}`],
      ["PATCH", `/v1/approvals/${randomUUID()}`],
      ["POST", "/v1/ca"],
      ["DELETE", "/healthz"],
      ["PUT", "/v1/keys"],
      ["OPTIONS", "/v1/requests"],
    ];
    for (const [method, path] of cases) {
      await problemOf(
        await call(s, path, { method, headers: admin() }),
        404,
        "NOT_FOUND",
        exactly(`${method} ${path}`),
        `${method} ${path}`,
      );
    }
    // Dot segments are resolved before routing; they never reach a file or another route.
    const [traversal] = await rawHttp(
      s,
      "GET /v1/requests/../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
      1,
    );
    rawProblem(traversal, 404, "NOT_FOUND", exactly("GET /etc/passwd"));
    const [star] = await rawHttp(s, "GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1);
    assert.equal(star?.status, 400);
  });

  test("request ids and serials in bad formats are 400, unknown ones 404", async () => {
    for (const id of [
      "a".repeat(65),
      "..%2F..%2Fetc%2Fpasswd",
      "a%20b",
      "%00",
      "%E0%A4%A",
      "a.b",
      "%3Cscript%3E",
    ]) {
      await problemOf(
        await call(s, `/v1/requests/${id}`, { headers: requester() }),
        400,
        "QUERY_INVALID",
        exactly("not a request id"),
        id,
      );
    }
    const unknown = randomUUID();
    await problemOf(
      await call(s, `/v1/requests/${unknown}`, { headers: requester() }),
      404,
      "NOT_FOUND",
      exactly(`No request ${unknown}.`),
    );
    const serials: [string, RegExp][] = [
      ["zz", exactly("not a hexadecimal serial number")],
      ["0x", exactly("not a hexadecimal serial number")],
      ["-1", exactly("not a hexadecimal serial number")],
      ["f".repeat(65), exactly("not a hexadecimal serial number")],
      ["..%2F..%2Fetc%2Fpasswd", exactly("not a hexadecimal serial number")],
      ["%00", exactly("not a hexadecimal serial number")],
      ["f".repeat(41), exactly(`"${"f".repeat(41)}" is not a serial number.`)],
      ["00", exactly('"00" is not a serial number.')],
      [":::", exactly('":::" is not a serial number.')],
    ];
    for (const [serial, detail] of serials) {
      await problemOf(
        await call(s, `/v1/certificates/${serial}`, { headers: requester() }),
        400,
        "QUERY_INVALID",
        detail,
        serial,
      );
    }
    await problemOf(
      await call(s, "/v1/certificates/0x0A:1B", { headers: requester() }),
      404,
      "NOT_FOUND",
      exactly("No certificate with serial 0a1b."),
    );
  });

  test("a real certificate with a bad ?chain or an Accept nothing matches is 400 or 406", async () => {
    const id = await submitted(await submitDer(s, csr(), "client"));
    const { serial } = await waitStatus(s, id, "issued");
    assert.ok(serial);
    // Submitted with the admin key: the admin reads it (a requester key sees only its own).
    const get = (query: string, accept?: string) =>
      call(s, `/v1/certificates/${serial}${query}`, {
        headers: { ...admin(), ...(accept ? { accept } : {}) },
      });
    await problemOf(
      await get("?chain=yes"),
      400,
      "QUERY_INVALID",
      exactly('chain must be "true" or "false".'),
    );
    await problemOf(
      await get("?chain="),
      400,
      "QUERY_INVALID",
      exactly('chain must be "true" or "false".'),
    );
    const notAcceptable = exactly(
      "Accept application/x-pem-file, application/pem-certificate-chain, application/pkix-cert or application/json.",
    );
    for (const accept of ["image/png", "text/html", "application/json;q=0", "*/*;q=0"]) {
      await problemOf(await get("", accept), 406, "NOT_ACCEPTABLE", notAcceptable, accept);
    }
    const ok = await get("", "application/json;q=0.5, garbage;;q=x, */*;q=0.1");
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("content-type"), "application/json");
  });
});

// ---- Rate limits ----------------------------------------------------------------------------

describe("rate limits", () => {
  test("a flood from one address is 429 with Retry-After; other addresses are unaffected", async () => {
    const path = `/v1/approvals/${randomUUID()}?token=${randomBytes(32).toString("base64url")}`;
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof getFrom>> | undefined;
    for (let i = 0; i < 200 && !limited; i++) {
      const res = await getFrom(s, "127.0.0.2", path);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, `never limited: ${statuses.join(",")}`);
    assert.ok(
      statuses.slice(0, -1).every((status) => status === 403),
      statuses.join(","),
    );
    assert.ok(statuses.length > 60, `limited after ${statuses.length - 1}`);
    assert.equal(limited.headers["content-type"], "application/problem+json");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    const body = JSON.parse(limited.body) as Problem;
    assert.equal(body.code, "RATE_LIMITED");
    assert.match(body.detail, /^Retry in \d+ s\.$/);
    // The tests' own address is not limited by that.
    await problemOf(await call(s, path), 403, "APPROVAL_TOKEN_INVALID", /not valid/);
  });

  test("requests with invalid API keys count against the address's limit too", async () => {
    // Otherwise every guess costs a key lookup and none is ever refused for rate.
    const statuses: number[] = [];
    const bad = `Bearer spca_${randomBytes(24).toString("base64url")}`;
    for (let i = 0; i < 150 && !statuses.includes(429); i++) {
      statuses.push(
        (await getFrom(s, "127.0.0.3", `/v1/requests/${randomUUID()}`, { authorization: bad }))
          .status,
      );
    }
    assert.ok(statuses.includes(429), `${statuses.length} guesses, none limited`);
  });
});

// ---- Afterwards -----------------------------------------------------------------------------

describe("afterwards", () => {
  test("no hostile request got a 5xx or logged an unexpected error", () => {
    assert.ok(answered.length > 300, `only ${answered.length} requests`);
    assert.deepEqual(
      answered.filter((a) => a.status >= 500),
      [],
    );
    // A connection the client (or Node's HTTP parser, after a lying Content-Length) cut while
    // the body was unread is logged as "Error: aborted": the last test's subject.
    const logged = (r: Running) =>
      unexpectedErrors(r).filter((line) => !line.endsWith(": Error: aborted"));
    assert.deepEqual(logged(s), []);
    assert.deepEqual(logged(short), []);
  });

  test("the service still works: a valid submission is 202 and is issued", async () => {
    const res = await call(
      s,
      "/v1/requests",
      post(
        JSON.stringify({ csr: csr("PEM").toString(), email: DEV, profile: "client" }),
        jsonHeaders(),
      ),
    );
    const id = await submitted(res);
    const { serial } = await waitStatus(s, id, "issued");
    const cert = await call(s, `/v1/certificates/${serial}`, { headers: admin() });
    assert.equal(cert.status, 200);
    assert.match(await cert.text(), /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await call(short, "/healthz")).status, 200);
  });

  test("a client that drops the connection mid-body is not logged as a server error", async () => {
    const id = randomUUID();
    await pace(s);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(new URL(s.api).port), "127.0.0.1", () => {
        socket.write(
          `POST /v1/approvals/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`,
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 300);
      });
    });
    await sleep(500);
    assert.deepEqual(
      unexpectedErrors(s).filter((line) => line.includes(id)),
      [],
    );
    const after = await call(s, `/v1/approvals/${id}?token=x`);
    assert.equal(after.status, 403);
    await after.body?.cancel();
  });
});
