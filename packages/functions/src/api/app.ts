import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { PkiError } from "@spca/core/errors";
import { requestPagePath } from "@spca/core/notifications/messages";
import { DEFAULT_API_RATE_LIMIT } from "@spca/core/policy/config";
import { PAGE_PATHS, type Pages } from "@spca/web/pages";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type * as v from "valibot";
import { type ApiEnv, callerCheck } from "./caller.ts";
import { expiryRoutes, type RunExpiryReminders } from "./expiry-routes.ts";
import {
  crlCa,
  jsonBody,
  mediaType,
  negotiate,
  notPublished,
  parse,
  requireJson,
  serialParam,
  wantsHtml,
} from "./http.ts";
import { inventoryRoutes } from "./inventory-routes.ts";
import { openApiDocument } from "./openapi.ts";
import { problem, problemResponse, toProblem } from "./problem.ts";
import { type RateLimit, RateLimiter } from "./rate-limit.ts";
import { renewalRoutes } from "./renewal-routes.ts";
import {
  ApiKeyId,
  CreateApiKeyBody,
  DecisionBody,
  MAX_BODY_BYTES,
  RequestId,
  RevokeBody,
  SubmitRequestBody,
  SubmitRequestQuery,
} from "./schemas.ts";
import type { ApiServices } from "./services.ts";

export interface ApiOptions {
  readonly services: ApiServices;
  /** Accept submissions without an API key (private-network deployments only). */
  readonly openSubmission?: boolean;
  readonly rateLimit?: RateLimit;
  /** The client's address as the platform reports it. */
  readonly clientAddress: (c: Context) => string;
  /** Called with every unexpected error (the response is a bare 500 problem). */
  readonly onUnexpectedError?: (error: unknown, c: Context) => void;
  /** Where responses are buffered whole (Lambda), the most an export may hold. */
  readonly exportLimitBytes?: number;
  /** The browser pages (packages/web), served on this origin beside the API. */
  readonly pages?: Pages;
  /** Runs the expiry reminders now (local service; on AWS they have their own schedule). */
  readonly expiryReminders?: RunExpiryReminders;
}

export function createApi(options: ApiOptions) {
  const { services } = options;
  const limiter = new RateLimiter(options.rateLimit ?? DEFAULT_API_RATE_LIMIT);
  const app = new Hono<ApiEnv>();

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

  const caller = callerCheck({ ...options, limiter });

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

  inventoryRoutes(app, services, caller, { exportLimitBytes: options.exportLimitBytes });
  expiryRoutes(app, options.expiryReminders, caller);

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

  renewalRoutes(app, services, caller);

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
