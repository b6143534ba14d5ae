/**
 * The HTTP layer alone: routing, validation, problem+json, auth, limits and content
 * negotiation, over a recording fake of ApiServices. The end-to-end tests run the same app
 * on the real services.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PkiError } from "@spca/core/errors";
import { anonymousPrincipal, principalOfKey } from "@spca/core/identity/principal";
import { createApi } from "../src/api/app.ts";
import { RateLimiter } from "../src/api/rate-limit.ts";
import { MAX_BODY_BYTES } from "../src/api/schemas.ts";
import type {
  ApiKeyView,
  ApiServices,
  CertificateView,
  Principal,
  RequestView,
  SubmitInput,
} from "../src/api/services.ts";

const KEYS: Record<string, Principal> = {
  requesterKey_0123456789abcdef: principalOfKey({
    id: "k-req",
    role: "requester",
    owner: "dev@example.com",
  }),
  adminKey_0123456789abcdefghij: principalOfKey({
    id: "k-adm",
    role: "admin",
    owner: "admin@example.com",
  }),
  auditorKey_0123456789abcdefgh: principalOfKey({
    id: "k-aud",
    role: "auditor",
    owner: "auditor@example.com",
  }),
};
const auth = { authorization: "Bearer requesterKey_0123456789abcdef" };

const view: RequestView = {
  id: "req1",
  status: "pending_approval",
  profile: "server",
  requester: "dev@example.com",
  requestedBy: "dev@example.com (api-key:k-req)",
  subject: "CN=a.example.com",
  sans: [{ type: "dns", value: "a.example.com" }],
  key: "EC P-256",
  createdAt: "2026-11-22T10:00:00.000Z",
  updatedAt: "2026-11-22T10:00:00.000Z",
  reason: null,
  serial: null,
  history: [],
};
const PEM = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
const CHAIN = "-----BEGIN CERTIFICATE-----\nMAMCAQI=\n-----END CERTIFICATE-----\n";
const cert: CertificateView = {
  serial: "0a1b",
  requestId: "req1",
  profile: "server",
  subject: "CN=a.example.com",
  sans: [{ type: "dns", value: "a.example.com" }],
  notBefore: "2026-11-22T10:00:00.000Z",
  notAfter: "2027-02-20T10:00:00.000Z",
  status: "valid",
  revocation: null,
  renews: null,
  renewedBy: null,
  renewal: {
    opensAt: "2027-01-20T10:00:00.000Z",
    closesAt: "2027-02-20T10:00:00.000Z",
    approval: "again",
  },
  pem: PEM,
  chainPem: CHAIN,
};

const apiKey: ApiKeyView = {
  id: "0123456789abcdef",
  role: "requester",
  label: "ci",
  owner: "dev@example.com",
  createdAt: "2026-11-22T10:00:00.000Z",
  revokedAt: null,
};

const CRL_DER = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x07);

function fake(options: Partial<Parameters<typeof createApi>[0]> & { crlPublished?: boolean } = {}) {
  const calls: {
    submit: { input: SubmitInput; caller: Principal; key: string | undefined }[];
    createApiKey: { role: string; label: string; owner: string }[];
    revoke: { serial: string; reason: string; caller: Principal }[];
    published: string[];
    resend: { id: string; caller: Principal }[];
  } = { submit: [], createApiKey: [], revoke: [], published: [], resend: [] };
  const services: ApiServices = {
    authenticate: async (raw) => KEYS[raw],
    anonymous: (address) => anonymousPrincipal(address),
    submit: async (input, caller, key) => {
      calls.submit.push({ input, caller, key });
      if (input.profile === "nope")
        throw new PkiError("PROFILE_UNKNOWN", `"nope" is not one of: server.`);
      const created = key !== "seen";
      return { request: view, created, statusToken: created ? "T".repeat(43) : null };
    },
    // Renewal is tested on the real services (renewal.test.ts, local-renew.test.ts).
    renew: async () => {
      throw new PkiError("RENEWAL_NOT_ALLOWED");
    },
    getRequest: async (id) => (id === "req1" ? view : undefined),
    getCertificate: async (serial) => (serial === "0a1b" ? cert : undefined),
    // The inventory's routes are tested on the real services (inventory-api.test.ts).
    certificateInventory: async () => ({ items: [], next: null }),
    exportCertificateInventory: async function* () {},
    getApproval: async (_id, token) => {
      if (token === "used") throw new PkiError("APPROVAL_ALREADY_DECIDED", "Decided at 10:00.");
      if (token === "old") throw new PkiError("APPROVAL_EXPIRED");
      throw new PkiError("APPROVAL_TOKEN_INVALID");
    },
    decide: async () => {
      throw new PkiError("APPROVAL_TOKEN_INVALID");
    },
    caChainPem: async () => PEM + CHAIN,
    resendApprovalMails: async (id, caller) => {
      calls.resend.push({ id, caller });
      if (id === "req1") {
        return {
          id,
          status: "pending_approval",
          mailed: ["security@example.com"],
          decided: [],
          deadline: "2026-11-29T10:00:00.000Z",
        };
      }
      if (id === "issued") throw new PkiError("APPROVAL_NOT_PENDING", "Request issued is issued.");
      if (id === "halfway")
        throw new PkiError("APPROVAL_RESEND_INCOMPLETE", "The mail to b@example.com was not sent.");
      throw new PkiError("REQUEST_NOT_FOUND", `No request ${id}.`);
    },
    createApiKey: async (role, label, owner) => {
      calls.createApiKey.push({ role, label, owner });
      return { key: "spca_new", record: { ...apiKey, role, label, owner } };
    },
    listApiKeys: async () => [apiKey],
    revokeApiKey: async (id) => {
      if (id !== apiKey.id) throw new PkiError("API_KEY_NOT_FOUND", `Key id ${id}.`);
      return { ...apiKey, revokedAt: "2026-11-22T11:00:00.000Z" };
    },
    revokeCertificate: async (serial, reason, caller) => {
      calls.revoke.push({ serial, reason, caller });
      if (serial === "dead") throw new PkiError("CERT_EXPIRED", "Certificate dead expired.");
      if (serial !== "0a1b") throw new PkiError("CERT_NOT_FOUND", `No ${serial}.`);
      return {
        serial,
        reason,
        revokedAt: "2026-11-22T11:00:00.000Z",
        revokedBy: caller.id,
        requestId: "req1",
        created: true,
      };
    },
    crl: async () => (options.crlPublished === false ? undefined : CRL_DER),
    crlStatus: async () =>
      options.crlPublished === false
        ? undefined
        : {
            caId: "0123456789abcdef",
            number: "7",
            thisUpdate: "2026-11-22T11:00:00.000Z",
            nextUpdate: "2026-11-29T11:00:00.000Z",
            entries: 1,
            size: CRL_DER.length,
            sha256: "00",
            publishedAt: "2026-11-22T11:00:01.000Z",
            trigger: "revocation",
            url: "http://127.0.0.1:8787/crl/0123456789abcdef.crl",
          },
    publishedObject: async (key) => {
      calls.published.push(key);
      return key === "crl/0123456789abcdef.crl"
        ? { body: CRL_DER, contentType: "application/pkix-crl", cacheControl: "public, max-age=60" }
        : undefined;
    },
  };
  const errors: unknown[] = [];
  const app = createApi({
    services,
    clientAddress: (c) => c.req.header("x-test-ip") ?? "198.51.100.7",
    rateLimit: { burst: 1000, perSecond: 1000 },
    onUnexpectedError: (e) => errors.push(e),
    ...options,
  });
  return { app, calls, errors };
}

async function problemOf(
  res: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  assert.equal(res.status, status, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.title, "string");
  return body;
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...auth, ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});
const submission = {
  csr: "-----BEGIN CERTIFICATE REQUEST-----…",
  email: "dev@example.com",
  profile: "server",
};

describe("POST /v1/requests", () => {
  test("JSON: 202 with id, status and links; the caller and Idempotency-Key reach the service", async () => {
    const { app, calls } = fake();
    const res = await app.request("/v1/requests", json(submission, { "idempotency-key": "abc-1" }));
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), {
      id: "req1",
      status: "pending_approval",
      links: { self: "/v1/requests/req1", page: `/requests/req1?token=${"T".repeat(43)}` },
    });
    assert.equal(res.headers.get("location"), "/v1/requests/req1");
    assert.equal(calls.submit[0]!.key, "abc-1");
    // The key's principal: its owner, on whose behalf it submits.
    assert.deepEqual(calls.submit[0]!.caller, KEYS.requesterKey_0123456789abcdef);
  });

  test("a replayed Idempotency-Key answers 200 with the first request", async () => {
    const { app } = fake();
    const res = await app.request("/v1/requests", json(submission, { "idempotency-key": "seen" }));
    assert.equal(res.status, 200);
    // The status page's secret was handed out once, with the first answer.
    assert.deepEqual(((await res.json()) as { links: unknown }).links, {
      self: "/v1/requests/req1",
    });
  });

  test("application/pkcs10: the raw body is the CSR, email and profile from the query", async () => {
    const { app, calls } = fake();
    const der = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00);
    const res = await app.request(
      "/v1/requests?email=dev%40example.com&profile=server&validityDays=30",
      {
        method: "POST",
        headers: { "content-type": "application/pkcs10", ...auth },
        body: der,
      },
    );
    assert.equal(res.status, 202);
    const { input } = calls.submit[0]!;
    assert.deepEqual([...(input.csr as Uint8Array)], [...der]);
    assert.equal(input.email, "dev@example.com");
    assert.equal(input.validityDays, 30);
  });

  test("hostile inputs get a precise 4xx problem, never a 5xx", async () => {
    const { app, errors } = fake();
    const cases: [RequestInit, number, string, RegExp?][] = [
      [
        { method: "POST", headers: { "content-type": "text/plain", ...auth }, body: "hi" },
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
      [{ method: "POST", headers: auth, body: "{}" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
      [json("{not json"), 400, "BODY_INVALID", /not JSON/],
      [json("[]"), 400, "BODY_INVALID"],
      [json({ ...submission, admin: true }), 400, "BODY_INVALID", /admin/],
      [json({ ...submission, email: "nobody" }), 400, "BODY_INVALID", /email/],
      [json({ ...submission, csr: "" }), 400, "BODY_INVALID", /csr must not be empty/],
      [json({ ...submission, validityDays: 1.5 }), 400, "BODY_INVALID", /validityDays/],
      [json({ ...submission, profile: "nope" }), 422, "PROFILE_UNKNOWN", /"nope" is not one of/],
      [
        json(submission, { "idempotency-key": "x".repeat(300) }),
        400,
        "IDEMPOTENCY_KEY_INVALID",
        /Idempotency-Key/,
      ],
      [json({ ...submission, csr: "A".repeat(MAX_BODY_BYTES) }), 413, "BODY_TOO_LARGE"],
    ];
    for (const [init, status, code, detail] of cases) {
      const body = await problemOf(await app.request("/v1/requests", init), status, code);
      if (detail) assert.match(String(body.detail), detail);
    }
    const raw = await app.request("/v1/requests?email=dev@example.com", {
      method: "POST",
      headers: { "content-type": "application/pkcs10", ...auth },
      body: "x",
    });
    assert.match(
      String((await problemOf(raw, 400, "QUERY_INVALID")).detail),
      /^profile is required$/,
    );
    assert.deepEqual(errors, []);
  });

  test("API keys: missing or invalid keys are 401", async () => {
    const { app } = fake();
    const { authorization: _, ...noAuth } = json(submission).headers;
    await problemOf(
      await app.request("/v1/requests", { ...json(submission), headers: noAuth }),
      401,
      "UNAUTHENTICATED",
    );
    for (const header of [
      "Bearer nope_but_long_enough_1234",
      "Basic dXNlcjpwYXNz",
      "Bearer",
      "bearer requesterKey_0123456789abcdef",
    ]) {
      const res = await app.request("/v1/requests", json(submission, { authorization: header }));
      await problemOf(res, 401, "UNAUTHENTICATED");
    }
  });

  test("open submission accepts no key, but never a bad one", async () => {
    const { app, calls } = fake({ openSubmission: true });
    const { authorization: _, ...noAuth } = json(submission).headers;
    const res = await app.request("/v1/requests", { ...json(submission), headers: noAuth });
    assert.equal(res.status, 202);
    assert.deepEqual(calls.submit[0]!.caller, anonymousPrincipal("198.51.100.7"));
    await problemOf(
      await app.request(
        "/v1/requests",
        json(submission, { authorization: "Bearer nope_but_long_enough_1234" }),
      ),
      401,
      "UNAUTHENTICATED",
    );
    // Reading requests still needs a key.
    await problemOf(await app.request("/v1/requests/req1"), 401, "UNAUTHENTICATED");
  });

  test("rate limits apply per client address and per key, with Retry-After", async () => {
    const { app } = fake({ rateLimit: { burst: 2, perSecond: 0.01 } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await app.request("/v1/requests/req1", { headers: auth })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const limited = await app.request("/v1/requests/req1", { headers: auth });
    await problemOf(limited, 429, "RATE_LIMITED");
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    // Another address with the same key is still limited by the key's bucket.
    const other = await app.request("/v1/requests/req1", {
      headers: { ...auth, "x-test-ip": "203.0.113.9" },
    });
    assert.equal(other.status, 429);
    // Another address without a key (open route) has its own bucket.
    assert.equal(
      (await app.request("/healthz", { headers: { "x-test-ip": "203.0.113.10" } })).status,
      200,
    );
  });

  test("relying parties fetching the published objects are never rate limited", async () => {
    // Many relying parties share one address (a NAT, a proxy): they fetch by the URLs in the
    // certificates they check, and a 429 would fail their checks.
    const { app } = fake({ rateLimit: { burst: 1, perSecond: 0.01 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 20; i++)
      statuses.add((await app.request("/crl/0123456789abcdef.crl")).status);
    assert.deepEqual([...statuses], [200]);
    // The API itself still is.
    await app.request("/v1/crl/status");
    assert.equal((await app.request("/v1/crl/status")).status, 429);
  });
});

describe("GET routes", () => {
  test("a request by id; unknown ids and malformed ids are 404 and 400", async () => {
    const { app } = fake();
    const res = await app.request("/v1/requests/req1", { headers: auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), view);
    await problemOf(await app.request("/v1/requests/req2", { headers: auth }), 404, "NOT_FOUND");
    await problemOf(
      await app.request("/v1/requests/a%20b", { headers: auth }),
      400,
      "QUERY_INVALID",
    );
  });

  test("a certificate as PEM, chain, DER or JSON by Accept and ?chain", async () => {
    const { app } = fake();
    const get = (path: string, accept?: string) =>
      app.request(path, { headers: { ...auth, ...(accept ? { accept } : {}) } });
    let res = await get("/v1/certificates/0A:1B");
    assert.equal(res.headers.get("content-type"), "application/x-pem-file");
    assert.equal(await res.text(), PEM);
    res = await get("/v1/certificates/0x0a1b?chain=true");
    assert.equal(res.headers.get("content-type"), "application/pem-certificate-chain");
    assert.equal(await res.text(), PEM + CHAIN);
    res = await get("/v1/certificates/a1b", "application/pkix-cert");
    assert.equal(res.headers.get("content-type"), "application/pkix-cert");
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [0x30, 0x03, 0x02, 0x01, 0x01]);
    res = await get("/v1/certificates/0a1b", "text/html;q=0.9, application/json");
    assert.deepEqual(await res.json(), cert);
    res = await get("/v1/certificates/0a1b", "*/*");
    assert.equal(await res.text(), PEM);
    await problemOf(await get("/v1/certificates/0a1b", "image/png"), 406, "NOT_ACCEPTABLE");
    await problemOf(await get("/v1/certificates/0a1b?chain=yes"), 400, "QUERY_INVALID");
    await problemOf(await get("/v1/certificates/ffff"), 404, "NOT_FOUND");
    await problemOf(await get("/v1/certificates/zz"), 400, "QUERY_INVALID");
  });

  test("the CA chain, health check and OpenAPI document are public", async () => {
    const { app } = fake();
    const ca = await app.request("/v1/ca");
    assert.equal(ca.headers.get("content-type"), "application/pem-certificate-chain");
    assert.equal(await ca.text(), PEM + CHAIN);
    assert.deepEqual(await (await app.request("/healthz")).json(), { status: "ok" });
    const doc = (await (await app.request("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: {
        schemas: { SubmitRequest: { required: string[]; additionalProperties: boolean } };
      };
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/v1/requests"] && doc.paths["/v1/approvals/{id}"]);
    // email is the notification address: the principal's own when absent.
    assert.deepEqual(doc.components.schemas.SubmitRequest.required.sort(), ["csr", "profile"]);
    assert.equal(doc.components.schemas.SubmitRequest.additionalProperties, false);
    // Every route the app serves is documented, under its OpenAPI path and method.
    const served = app.routes
      .filter((r) => r.method !== "ALL" && r.path !== "/openapi.json")
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method} ${path}`),
    );
    assert.deepEqual([...new Set(served)].sort(), documented.sort());
  });

  test("unknown paths are a 404 problem", async () => {
    const { app } = fake();
    await problemOf(await app.request("/v2/anything"), 404, "NOT_FOUND");
  });
});

describe("POST /v1/requests/{id}/approval-mails", () => {
  const admin = { authorization: "Bearer adminKey_0123456789abcdefghij" };
  const post = (app: ReturnType<typeof fake>["app"], id: string, headers = admin) =>
    app.request(`/v1/requests/${id}/approval-mails`, { method: "POST", headers });

  test("an admin resends: 200 with who was mailed; the admin reaches the service", async () => {
    const { app, calls } = fake();
    const res = await post(app, "req1");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      id: "req1",
      status: "pending_approval",
      mailed: ["security@example.com"],
      decided: [],
      deadline: "2026-11-29T10:00:00.000Z",
    });
    assert.equal(calls.resend[0]?.caller.id, "api-key:k-adm");
  });

  test("only admins: a requester or an auditor is a 403, nobody a 401; nothing is resent", async () => {
    const { app, calls } = fake();
    await problemOf(await post(app, "req1", auth), 403, "FORBIDDEN");
    await problemOf(
      await post(app, "req1", { authorization: "Bearer auditorKey_0123456789abcdefgh" }),
      403,
      "FORBIDDEN",
    );
    await problemOf(await post(app, "req1", {} as typeof admin), 401, "UNAUTHENTICATED");
    assert.deepEqual(calls.resend, []);
  });

  test("unknown 404, not pending 409, a mail not sent 503, each with its code and detail", async () => {
    const { app } = fake();
    const unknown = await problemOf(await post(app, "nope"), 404, "REQUEST_NOT_FOUND");
    assert.equal(unknown.detail, "No request nope.");
    await problemOf(await post(app, "issued"), 409, "APPROVAL_NOT_PENDING");
    const halfway = await problemOf(await post(app, "halfway"), 503, "APPROVAL_RESEND_INCOMPLETE");
    assert.match(String(halfway.detail), /b@example\.com was not sent/);
    await problemOf(await post(app, "not%20an%20id"), 400, "QUERY_INVALID");
  });
});

describe("approvals", () => {
  test("forged, used and expired tokens are 403, 409 and 410 problems", async () => {
    const { app } = fake();
    await problemOf(
      await app.request("/v1/approvals/req1?token=forged"),
      403,
      "APPROVAL_TOKEN_INVALID",
    );
    const used = await problemOf(
      await app.request("/v1/approvals/req1?token=used"),
      409,
      "APPROVAL_ALREADY_DECIDED",
    );
    assert.equal(used.detail, "Decided at 10:00.");
    await problemOf(await app.request("/v1/approvals/req1?token=old"), 410, "APPROVAL_EXPIRED");
    await problemOf(await app.request("/v1/approvals/req1"), 400, "QUERY_INVALID");
  });

  test("a decision is validated before it reaches the service", async () => {
    const { app } = fake();
    const post = (body: unknown, type = "application/json") =>
      app.request("/v1/approvals/req1", {
        method: "POST",
        headers: { "content-type": type },
        body: JSON.stringify(body),
      });
    await problemOf(
      await post({ decision: "approve", token: "t" }, "text/plain"),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await problemOf(await post({ decision: "maybe", token: "t" }), 400, "BODY_INVALID");
    await problemOf(await post({ decision: "approve" }), 400, "BODY_INVALID");
    await problemOf(await post({ decision: "approve", token: "t", extra: 1 }), 400, "BODY_INVALID");
    await problemOf(
      await post({ decision: "reject", token: "t", reason: "no" }),
      403,
      "APPROVAL_TOKEN_INVALID",
    );
  });
});

describe("roles", () => {
  test("each route admits the roles it names, and says which it needed", async () => {
    const { app, calls } = fake();
    const auditor = { authorization: "Bearer auditorKey_0123456789abcdefgh" };
    // Auditors read everything, keys included, and change nothing.
    assert.equal((await app.request("/v1/keys", { headers: auditor })).status, 200);
    assert.equal((await app.request("/v1/requests/req1", { headers: auditor })).status, 200);
    const create = await app.request("/v1/keys", {
      method: "POST",
      headers: { ...auditor, "content-type": "application/json" },
      body: JSON.stringify({ role: "admin", owner: "auditor@example.com" }),
    });
    const refused = await problemOf(create, 403, "FORBIDDEN");
    assert.equal(
      refused.detail,
      "This operation needs the role admin; auditor@example.com has auditor.",
    );
    const submit = await app.request("/v1/requests", json(submission, auditor));
    assert.match(
      String((await problemOf(submit, 403, "FORBIDDEN")).detail),
      /needs the role requester or admin; auditor@example\.com has auditor/,
    );
    assert.deepEqual(calls.createApiKey, []);
    assert.deepEqual(calls.submit, []);
  });
});

describe("API keys", () => {
  const admin = { authorization: "Bearer adminKey_0123456789abcdefghij" };

  test("admins create a key (secret shown once, not cached), list and revoke them", async () => {
    const { app, calls } = fake();
    const created = await app.request("/v1/keys", {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ role: "requester", label: "ci", owner: "dev@example.com" }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    assert.equal(created.headers.get("location"), `/v1/keys/${apiKey.id}`);
    assert.equal(created.headers.get("cache-control"), "no-store");
    assert.deepEqual(await created.json(), { ...apiKey, key: "spca_new" });
    assert.deepEqual(calls.createApiKey, [
      { role: "requester", label: "ci", owner: "dev@example.com" },
    ]);

    const listed = await app.request("/v1/keys", { headers: admin });
    assert.deepEqual(await listed.json(), { keys: [apiKey] });

    const revoked = await app.request(`/v1/keys/${apiKey.id}`, {
      method: "DELETE",
      headers: admin,
    });
    assert.equal(revoked.status, 200);
    assert.equal(((await revoked.json()) as ApiKeyView).revokedAt, "2026-11-22T11:00:00.000Z");
    await problemOf(
      await app.request("/v1/keys/fedcba9876543210", { method: "DELETE", headers: admin }),
      404,
      "API_KEY_NOT_FOUND",
    );
    await problemOf(
      await app.request("/v1/keys/not-an-id", { method: "DELETE", headers: admin }),
      400,
      "QUERY_INVALID",
    );
  });

  test("key management needs an admin key, even where submission is open", async () => {
    const { app, calls } = fake({ openSubmission: true });
    const body = JSON.stringify({ role: "admin" });
    const post = (headers: Record<string, string>) =>
      app.request("/v1/keys", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    await problemOf(await post({}), 401, "UNAUTHENTICATED");
    await problemOf(await post(auth), 403, "FORBIDDEN");
    await problemOf(await app.request("/v1/keys", { headers: auth }), 403, "FORBIDDEN");
    await problemOf(
      await app.request(`/v1/keys/${apiKey.id}`, { method: "DELETE", headers: auth }),
      403,
      "FORBIDDEN",
    );
    assert.equal(calls.createApiKey.length, 0);
  });

  test("a bad role, an unknown field or a long label is a 400 naming it", async () => {
    const { app, calls } = fake();
    const post = (body: unknown) =>
      app.request("/v1/keys", {
        method: "POST",
        headers: { ...admin, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const owner = "ops@example.com";
    const role = await problemOf(await post({ role: "root", owner }), 400, "BODY_INVALID");
    assert.match(
      String(role.detail),
      /^role: role must be one of requester, approver, admin, auditor$/,
    );
    const extra = await problemOf(
      await post({ role: "admin", owner, scope: "*" }),
      400,
      "BODY_INVALID",
    );
    assert.match(String(extra.detail), /scope/);
    const label = await problemOf(
      await post({ role: "admin", owner, label: "x".repeat(201) }),
      400,
      "BODY_INVALID",
    );
    assert.match(String(label.detail), /label is limited to 200 characters/);
    // Every key acts for someone: no owner, or one that is not an address, is refused.
    const missing = await problemOf(await post({ role: "requester" }), 400, "BODY_INVALID");
    assert.equal(missing.detail, "owner is required");
    const notMail = await problemOf(
      await post({ role: "requester", owner: "ops" }),
      400,
      "BODY_INVALID",
    );
    assert.match(String(notMail.detail), /owner must be an email address/);
    assert.equal(calls.createApiKey.length, 0);
  });
});

describe("revocation and publication", () => {
  const admin = { authorization: "Bearer adminKey_0123456789abcdefghij" };
  const revoke = (
    app: ReturnType<typeof fake>["app"],
    serial: string,
    body: unknown,
    headers: Record<string, string> = admin,
  ) =>
    app.request(`/v1/certificates/${serial}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("an admin revokes with an RFC 5280 reason; the serial is normalised first", async () => {
    const { app, calls } = fake();
    const res = await revoke(app, "0A:1B", { reason: "keyCompromise" });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { reason: string }).reason, "keyCompromise");
    assert.deepEqual(
      calls.revoke.map((c) => [c.serial, c.reason, c.caller.id]),
      [["0a1b", "keyCompromise", "api-key:k-adm"]],
    );
  });

  test("refusals: no key 401, requester key 403, bad reason 400, unknown 404, expired 409", async () => {
    const { app, calls } = fake();
    await problemOf(
      await revoke(app, "0a1b", { reason: "superseded" }, {}),
      401,
      "UNAUTHENTICATED",
    );
    await problemOf(await revoke(app, "0a1b", { reason: "superseded" }, auth), 403, "FORBIDDEN");
    for (const reason of ["certificateHold", "removeFromCRL", "KeyCompromise", 1]) {
      const p = await problemOf(await revoke(app, "0a1b", { reason }), 400, "BODY_INVALID");
      assert.match(
        String(p.detail),
        /reason must be one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn/,
      );
    }
    await problemOf(await revoke(app, "0a1b", {}), 400, "BODY_INVALID");
    await problemOf(
      await revoke(app, "0a1b", { reason: "superseded", why: "x" }),
      400,
      "BODY_INVALID",
    );
    await problemOf(await revoke(app, "0a1b", "{"), 400, "BODY_INVALID");
    await problemOf(await revoke(app, "zz", { reason: "superseded" }), 400, "QUERY_INVALID");
    const text = await app.request("/v1/certificates/0a1b/revoke", {
      method: "POST",
      headers: { "content-type": "text/plain", ...admin },
      body: "keyCompromise",
    });
    await problemOf(text, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert.equal(calls.revoke.length, 0, "nothing invalid reached the service");
    await problemOf(await revoke(app, "0bad", { reason: "superseded" }), 404, "CERT_NOT_FOUND");
    const expired = await problemOf(
      await revoke(app, "dead", { reason: "superseded" }),
      409,
      "CERT_EXPIRED",
    );
    assert.match(String(expired.detail), /expired/);
  });

  test("GET /v1/crl: DER by default, PEM on request, 406 otherwise; no key needed", async () => {
    const { app } = fake();
    const der = await app.request("/v1/crl");
    assert.equal(der.status, 200);
    assert.equal(der.headers.get("content-type"), "application/pkix-crl");
    assert.deepEqual(new Uint8Array(await der.arrayBuffer()), CRL_DER);
    const pem = await app.request("/v1/crl", { headers: { accept: "application/x-pem-file" } });
    assert.equal(pem.headers.get("content-type"), "application/x-pem-file");
    assert.match(
      await pem.text(),
      /^-----BEGIN X509 CRL-----\nMAMCAQc=\n-----END X509 CRL-----\n$/,
    );
    await problemOf(
      await app.request("/v1/crl", { headers: { accept: "text/html" } }),
      406,
      "NOT_ACCEPTABLE",
    );
  });

  test("before the first publication: 503 CRL_NOT_PUBLISHED for the CRL and its status", async () => {
    const { app } = fake({ crlPublished: false });
    await problemOf(await app.request("/v1/crl"), 503, "CRL_NOT_PUBLISHED");
    await problemOf(await app.request("/v1/crl/status"), 503, "CRL_NOT_PUBLISHED");
  });

  test("GET /v1/crl/status reports number, times, entries, size and publication time", async () => {
    const { app } = fake();
    const res = await app.request("/v1/crl/status");
    assert.equal(res.status, 200);
    const status = (await res.json()) as Record<string, unknown>;
    assert.equal(status.number, "7");
    assert.equal(status.entries, 1);
    assert.equal(status.size, 5);
    assert.equal(status.publishedAt, "2026-11-22T11:00:01.000Z");
  });

  test("published objects are served at their public paths; nothing else is", async () => {
    const { app, calls } = fake();
    const crl = await app.request("/crl/0123456789abcdef.crl");
    assert.equal(crl.status, 200);
    assert.equal(crl.headers.get("content-type"), "application/pkix-crl");
    // With the Cache-Control it was published with: caches keep it a minute at most.
    assert.equal(crl.headers.get("cache-control"), "public, max-age=60");
    await problemOf(await app.request("/crl/0123456789abcdee.crl"), 404, "NOT_FOUND");
    await problemOf(await app.request("/certificates/0a1b.pem"), 404, "NOT_FOUND");
    await problemOf(await app.request("/ca/..%2Fcertificates%2F0a1b.pem"), 404, "NOT_FOUND");
    assert.deepEqual(calls.published.slice(0, 2), [
      "crl/0123456789abcdef.crl",
      "crl/0123456789abcdee.crl",
    ]);
  });

  test("GET /v1/ca: the chain, or the issuing CA certificate as PEM or DER", async () => {
    const { app } = fake();
    const chain = await app.request("/v1/ca");
    assert.equal(chain.headers.get("content-type"), "application/pem-certificate-chain");
    assert.equal(await chain.text(), PEM + CHAIN);
    const one = await app.request("/v1/ca", { headers: { accept: "application/x-pem-file" } });
    assert.equal(await one.text(), PEM);
    const der = await app.request("/v1/ca", { headers: { accept: "application/pkix-cert" } });
    assert.deepEqual(
      new Uint8Array(await der.arrayBuffer()),
      Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01),
    );
  });
});

describe("RateLimiter", () => {
  test("a flood of new addresses does not evict (and so refill) a busy key's bucket", () => {
    const limiter = new RateLimiter({ burst: 2, perSecond: 0.001 }, () => 0);
    assert.equal(limiter.take("key:busy"), 0);
    assert.equal(limiter.take("key:busy"), 0);
    assert.ok(limiter.take("key:busy") > 0, "the burst is spent");
    // Between each new address the busy key keeps trying, as an attacker would.
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`ip:198.51.${i >> 8}.${i & 255}`);
      if (i % 1000 === 0) assert.ok(limiter.take("key:busy") > 0, `refilled after ${i}`);
    }
    assert.ok(limiter.take("key:busy") > 0, "still limited after 10,000 addresses");
  });
});
