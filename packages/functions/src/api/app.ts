/**
 * The REST API as one Hono app, the same on Lambda (hono/aws-lambda) and locally
 * (@hono/node-server). Routes only translate HTTP: validation with valibot, errors as
 * problem+json, the work itself done by ApiServices.
 */
import { normaliseSerial } from "@spca/core/certificate/serial";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { PkiError } from "@spca/core/errors";
import { requestPagePath } from "@spca/core/notifications/messages";
import { DEFAULT_API_RATE_LIMIT } from "@spca/core/policy/config";
import { apiKeyRoles } from "@spca/core/store/request-repository";
import { issueMessages } from "@spca/core/validation";
import { PAGE_PATHS, type Pages } from "@spca/web/pages";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { openApiDocument } from "./openapi.ts";
import { problem, problemResponse, toProblem } from "./problem.ts";
import { type RateLimit, RateLimiter } from "./rate-limit.ts";
import {
  ApiKeyId,
  CreateApiKeyBody,
  CrlQuery,
  DecisionBody,
  MAX_BODY_BYTES,
  RequestId,
  RevokeBody,
  SerialParam,
  SubmitRequestBody,
  SubmitRequestQuery,
} from "./schemas.ts";
import type { ApiServices, Principal, Role } from "./services.ts";

export interface ApiOptions {
  readonly services: ApiServices;
  /** Accept submissions without an API key (private-network deployments only). */
  readonly openSubmission?: boolean;
  readonly rateLimit?: RateLimit;
  /** The client's address as the platform reports it. */
  readonly clientAddress: (c: Context) => string;
  /** Called with every unexpected error (the response is a bare 500 problem). */
  readonly onUnexpectedError?: (error: unknown, c: Context) => void;
  /** The browser pages (packages/web), served on this origin beside the API. */
  readonly pages?: Pages;
}

type Env = { Variables: { caller: Principal | undefined } };

/**
 * What a route needs of its caller: a principal with one of these roles; any principal with a
 * role (what it may read is then decided per request); anyone where submission is open; or
 * nobody, though a credential that is sent is still checked.
 */
type Need = readonly Role[] | "signed-in" | "open-submission" | "none";

export function createApi(options: ApiOptions) {
  const { services } = options;
  const limiter = new RateLimiter(options.rateLimit ?? DEFAULT_API_RATE_LIMIT);
  const app = new Hono<Env>();

  app.onError((error, c) => {
    // The client hung up mid-body: its fault, not ours, and nobody is left to read the answer.
    if (c.req.raw.signal.aborted) {
      return problemResponse(c, {
        status: 400,
        code: "BODY_INVALID",
        detail: "The client closed the connection before the whole body arrived.",
      });
    }
    const p = toProblem(error);
    if (p.status >= 500) options.onUnexpectedError?.(error, c);
    return problemResponse(c, p);
  });
  app.notFound((c) =>
    options.pages && wantsHtml(c)
      ? options.pages.errorPage(c, 404, `Nothing is at ${c.req.path}.`)
      : problemResponse(c, {
          status: 404,
          code: "NOT_FOUND",
          detail: `${c.req.method} ${c.req.path}`,
        }),
  );

  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        options.pages && wantsHtml(c)
          ? options.pages.errorPage(
              c,
              413,
              `The form sent more than ${MAX_BODY_BYTES} bytes; a CSR file is far smaller. Go back and choose the CSR file itself.`,
            )
          : problemResponse(c, {
              status: 413,
              code: "BODY_TOO_LARGE",
              detail: `The limit is ${MAX_BODY_BYTES} bytes.`,
            }),
    }),
  );

  /** Authenticates (when a credential is sent or required) and applies the rate limits. */
  const caller = (required: Need) => async (c: Context<Env>, next: () => Promise<void>) => {
    const address = options.clientAddress(c);
    const limited = (bucket: string) => {
      const wait = limiter.take(bucket);
      if (wait <= 0) return undefined;
      const res = problemResponse(c, {
        status: 429,
        code: "RATE_LIMITED",
        detail: `Retry in ${wait} s.`,
      });
      res.headers.set("Retry-After", String(wait));
      return res;
    };
    // The address pays before the key is looked up, so guessing keys is not free.
    const byAddress = limited(`ip:${address}`);
    if (byAddress) return byAddress;
    const header = c.req.header("authorization");
    let who: Principal | undefined;
    if (header !== undefined) {
      // An API key or a JWT access token; the bound keeps a header from costing a parse.
      const match = /^Bearer ([A-Za-z0-9_.-]{16,16384})$/.exec(header);
      who = match ? await services.authenticate(match[1]!) : undefined;
      if (!who) {
        throw problem(
          401,
          "UNAUTHENTICATED",
          "The credential is not valid: an unknown or revoked API key, or an access token that is expired, not signed by the identity provider, or issued for another audience.",
        );
      }
    }
    const open = required === "none" || (required === "open-submission" && options.openSubmission);
    if (!who && !open) {
      throw problem(
        401,
        "UNAUTHENTICATED",
        "Send Authorization: Bearer <API key or access token>.",
      );
    }
    if (who && required !== "none") {
      const wanted: readonly Role[] =
        required === "open-submission"
          ? ["requester", "admin"]
          : required === "signed-in"
            ? apiKeyRoles
            : required;
      if (!who.roles.some((role) => wanted.includes(role))) {
        throw problem(
          403,
          "FORBIDDEN",
          who.roles.length === 0
            ? `${who.email ?? who.id} has no role here: no group of theirs is mapped to one (identity.roleGroups).`
            : `This operation needs the role ${wanted.join(" or ")}; ${who.email ?? who.id} has ${who.roles.join(", ")}.`,
        );
      }
    }
    if (who) {
      const byPrincipal = limited(`principal:${who.id}`);
      if (byPrincipal) return byPrincipal;
    }
    c.set("caller", who);
    await next();
  };

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  app.get("/v1/ca", caller("none"), async (c) => {
    const chainPem = await services.caChainPem();
    switch (
      negotiate(c.req.header("accept"), [
        "application/pem-certificate-chain",
        "application/x-pem-file",
        "application/pkix-cert",
      ])
    ) {
      case "application/pem-certificate-chain":
        return c.body(chainPem, 200, { "Content-Type": "application/pem-certificate-chain" });
      case "application/x-pem-file":
        return c.body(encodePem("CERTIFICATE", decodePemBlocks(chainPem)[0]!.der), 200, {
          "Content-Type": "application/x-pem-file",
        });
      case "application/pkix-cert":
        return c.body(decodePemBlocks(chainPem)[0]!.der.slice(), 200, {
          "Content-Type": "application/pkix-cert",
        });
      default:
        throw problem(
          406,
          "NOT_ACCEPTABLE",
          "Accept application/pem-certificate-chain (the chain), application/x-pem-file or application/pkix-cert (the issuing CA certificate).",
        );
    }
  });

  // The CRL is public: relying parties fetch it without a key.
  app.get("/v1/crl", caller("none"), async (c) => {
    const ca = crlCa(c);
    const type = negotiate(c.req.header("accept"), [
      "application/pkix-crl",
      "application/x-pem-file",
    ]);
    if (!type) {
      throw problem(
        406,
        "NOT_ACCEPTABLE",
        "Accept application/pkix-crl (DER) or application/x-pem-file (PEM).",
      );
    }
    const der = await services.crl(ca);
    if (!der) throw notPublished();
    return type === "application/pkix-crl"
      ? c.body(der.slice(), 200, { "Content-Type": "application/pkix-crl" })
      : c.body(encodePem("X509 CRL", der), 200, { "Content-Type": "application/x-pem-file" });
  });

  app.get("/v1/crl/status", caller("none"), async (c) => {
    const status = await services.crlStatus(crlCa(c));
    if (!status) throw notPublished();
    return c.json(status);
  });

  const publishedObject = async (c: Context, key: string) => {
    const object = await services.publishedObject(key);
    if (!object) throw problem(404, "NOT_FOUND", `Nothing is published at /${key}.`);
    return c.body(object.body.slice(), 200, {
      "Content-Type": object.contentType ?? "application/octet-stream",
      ...(object.cacheControl ? { "Cache-Control": object.cacheControl } : {}),
    });
  };

  // The published objects at the paths certificates name (CRL distribution point, AIA), for
  // when the public base URL is this API (local mode; on AWS the Router serves them from the
  // bucket). Only publication keys are served, and with no rate limit: relying parties behind
  // one address (a NAT, a proxy) fetch them by the URLs in the certificates they check.
  app.get("/crl/:file", async (c) => publishedObject(c, `crl/${c.req.param("file")}`));
  app.get("/ca/:file", async (c) => publishedObject(c, `ca/${c.req.param("file")}`));
  app.get("/truststore.pem", async (c) => publishedObject(c, "truststore.pem"));

  app.post("/v1/requests", caller("open-submission"), async (c) => {
    const submitter = c.get("caller") ?? services.anonymous(options.clientAddress(c));
    const type = mediaType(c.req.header("content-type"));
    let input: v.InferOutput<typeof SubmitRequestBody>;
    let csr: string | Uint8Array;
    if (type === "application/json") {
      input = parse(SubmitRequestBody, await jsonBody(c), "BODY_INVALID");
      csr = input.csr;
    } else if (type === "application/pkcs10") {
      const query = parse(SubmitRequestQuery, c.req.query(), "QUERY_INVALID");
      csr = new Uint8Array(await c.req.arrayBuffer());
      input = { ...query, csr: "" };
    } else {
      throw problem(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json or application/pkcs10.");
    }
    const idempotencyKey = c.req.header("idempotency-key");
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new PkiError("IDEMPOTENCY_KEY_INVALID");
    }
    const { request, created, statusToken } = await services.submit(
      {
        csr,
        ...(input.email !== undefined ? { email: input.email } : {}),
        profile: input.profile,
        ...(input.comment !== undefined ? { comment: input.comment } : {}),
        ...(input.validityDays !== undefined ? { validityDays: input.validityDays } : {}),
      },
      submitter,
      idempotencyKey,
    );
    // `page`: the browser status page, which opens without an API key (new requests only).
    const links = {
      self: `/v1/requests/${request.id}`,
      ...(statusToken ? { page: requestPagePath(request.id, statusToken) } : {}),
    };
    c.header("Location", links.self);
    return c.json({ id: request.id, status: request.status, links }, created ? 202 : 200);
  });

  // Someone else's request is not found, as if it did not exist: no probing for ids.
  app.get("/v1/requests/:id", caller("signed-in"), async (c) => {
    const id = parse(RequestId, c.req.param("id"), "QUERY_INVALID");
    const request = await services.getRequest(id, c.get("caller")!);
    if (!request) throw problem(404, "NOT_FOUND", `No request ${id}.`);
    return c.json(request);
  });

  // An admin resends a pending request's approval mails: new links for every approver yet to
  // decide; the earlier links stop working. Not idempotent: each call mails new links.
  app.post("/v1/requests/:id/approval-mails", caller(["admin"]), async (c) => {
    const id = parse(RequestId, c.req.param("id"), "QUERY_INVALID");
    return c.json(await services.resendApprovalMails(id, c.get("caller")!));
  });

  app.get("/v1/certificates/:serial", caller("signed-in"), async (c) => {
    const serial = serialParam(c);
    const cert = await services.getCertificate(serial, c.get("caller")!);
    if (!cert) throw problem(404, "NOT_FOUND", `No certificate with serial ${serial}.`);
    const chain = c.req.query("chain");
    if (chain !== undefined && chain !== "true" && chain !== "false") {
      throw problem(400, "QUERY_INVALID", 'chain must be "true" or "false".');
    }
    switch (
      negotiate(c.req.header("accept"), [
        "application/x-pem-file",
        "application/pem-certificate-chain",
        "application/pkix-cert",
        "application/json",
      ])
    ) {
      case "application/pkix-cert":
        return c.body(decodePemBlocks(cert.pem)[0]!.der.slice(), 200, {
          "Content-Type": "application/pkix-cert",
        });
      case "application/json":
        return c.json(cert);
      case "application/pem-certificate-chain":
        return c.body(cert.pem + cert.chainPem, 200, {
          "Content-Type": "application/pem-certificate-chain",
        });
      case "application/x-pem-file":
        return chain === "true"
          ? c.body(cert.pem + cert.chainPem, 200, {
              "Content-Type": "application/pem-certificate-chain",
            })
          : c.body(cert.pem, 200, { "Content-Type": "application/x-pem-file" });
      default:
        throw problem(
          406,
          "NOT_ACCEPTABLE",
          "Accept application/x-pem-file, application/pem-certificate-chain, application/pkix-cert or application/json.",
        );
    }
  });

  app.post("/v1/certificates/:serial/revoke", caller(["admin"]), async (c) => {
    const serial = serialParam(c);
    requireJson(c);
    const body = parse(RevokeBody, await jsonBody(c), "BODY_INVALID");
    return c.json(await services.revokeCertificate(serial, body.reason, c.get("caller")!));
  });

  // API keys: admins make and revoke them (auditors may list), never open. The secret
  // appears once, in the creation response.
  app.post("/v1/keys", caller(["admin"]), async (c) => {
    requireJson(c);
    const body = parse(CreateApiKeyBody, await jsonBody(c), "BODY_INVALID");
    const { key, record } = await services.createApiKey(body.role, body.label, body.owner);
    c.header("Location", `/v1/keys/${record.id}`);
    c.header("Cache-Control", "no-store");
    return c.json({ ...record, key }, 201);
  });

  app.get("/v1/keys", caller(["admin", "auditor"]), async (c) =>
    c.json({ keys: await services.listApiKeys() }),
  );

  app.delete("/v1/keys/:id", caller(["admin"]), async (c) => {
    const id = parse(ApiKeyId, c.req.param("id"), "QUERY_INVALID");
    return c.json(await services.revokeApiKey(id));
  });

  // Approvals carry their own secret; no API key. A GET never changes anything. Whoever is
  // signed in while deciding must be the approver the link was sent to.
  app.get("/v1/approvals/:id", caller("none"), async (c) => {
    const id = parse(RequestId, c.req.param("id"), "QUERY_INVALID");
    const token = c.req.query("token");
    if (!token) throw problem(400, "QUERY_INVALID", "token is required.");
    return c.json(await services.getApproval(id, token));
  });

  app.post("/v1/approvals/:id", caller("none"), async (c) => {
    const id = parse(RequestId, c.req.param("id"), "QUERY_INVALID");
    requireJson(c);
    const body = parse(DecisionBody, await jsonBody(c), "BODY_INVALID");
    const request = await services.decide(
      id,
      body.token,
      body.decision,
      body.reason,
      c.get("caller"),
    );
    return c.json({ id: request.id, status: request.status });
  });

  if (options.pages) {
    // Pages pay the same per-address rate limit as the API; their versioned assets do not.
    const pageLimit = async (c: Context, next: () => Promise<void>) => {
      if (c.req.path.startsWith("/assets/")) return next();
      const wait = limiter.take(`ip:${options.clientAddress(c)}`);
      if (wait <= 0) return next();
      const res = await options.pages!.errorPage(c, 429, `Try again in ${wait} s.`);
      res.headers.set("Retry-After", String(wait));
      return res;
    };
    for (const path of PAGE_PATHS) app.use(path, pageLimit);
    app.route("/", options.pages.app);
  }

  return app;
}

/** A browser navigating (Accept lists text/html), not an API client. */
function wantsHtml(c: Context): boolean {
  return c.req.header("accept")?.includes("text/html") ?? false;
}

/** The :serial path parameter, normalised (lowercase hex, no colons or leading zeros). */
function serialParam(c: Context): string {
  const text = parse(SerialParam, c.req.param("serial"), "QUERY_INVALID");
  const serial = normaliseSerial(text);
  if (!serial) throw problem(400, "QUERY_INVALID", `"${text}" is not a serial number.`);
  return serial;
}

/** ?ca= on the CRL routes, once at most. */
function crlCa(c: Context) {
  if ((c.req.queries("ca")?.length ?? 0) > 1) {
    throw problem(400, "QUERY_INVALID", 'ca is given more than once; give "issuing" or "root".');
  }
  return parse(CrlQuery, { ca: c.req.query("ca") }, "QUERY_INVALID").ca;
}

function notPublished() {
  return new PkiError(
    "CRL_NOT_PUBLISHED",
    "The first CRL is published moments after the service starts; try again shortly.",
  );
}

/** Routes that only take JSON refuse anything else with a 415. */
function requireJson(c: Context): void {
  if (mediaType(c.req.header("content-type")) !== "application/json") {
    throw problem(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.");
  }
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(";")[0]?.trim().toLowerCase();
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw problem(400, "BODY_INVALID", `The body is not JSON: ${(e as Error).message}.`);
  }
}

function parse<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  code: "BODY_INVALID" | "QUERY_INVALID",
): v.InferOutput<S> {
  if (
    code === "BODY_INVALID" &&
    (typeof value !== "object" || value === null || Array.isArray(value))
  ) {
    const found = Array.isArray(value)
      ? "an array"
      : typeof value === "string"
        ? "a string"
        : JSON.stringify(value);
    throw problem(400, code, `The body must be a JSON object, not ${found}.`);
  }
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const key = code === "QUERY_INVALID" ? "query parameter" : "field";
  const problems = issueMessages(result.issues, { schema, key });
  throw problem(400, code, problems.join("; "), { problems });
}

/** The first offered type the Accept header admits (q=0 excluded); the first offer when absent. */
function negotiate(accept: string | undefined, offers: readonly string[]): string | undefined {
  if (!accept || accept.trim() === "") return offers[0];
  const ranges = accept
    .split(",")
    .map((part) => {
      const [range, ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return { range: range!.trim(), q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { range } of ranges) {
    if (range === "*/*") return offers[0];
    const exact = offers.find((o) => o === range);
    if (exact) return exact;
    if (range.endsWith("/*")) {
      const prefix = range.slice(0, -1);
      const match = offers.find((o) => o.startsWith(prefix));
      if (match) return match;
    }
  }
  return undefined;
}
