/**
 * The OpenAPI 3.1 document served at /openapi.json. Request schemas are generated from the
 * same valibot schemas the routes validate with, so the document cannot drift from them.
 */
import { crlCas } from "@spca/core/crl/ca-choice";
import { InventoryQuerySchema } from "@spca/core/inventory/filter";
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { ExportQuery } from "./inventory-routes.ts";
import { apiErrorCodes } from "./problem.ts";
import { RenewBody } from "./renewal-routes.ts";
import { CreateApiKeyBody, DecisionBody, RevokeBody, SubmitRequestBody } from "./schemas.ts";

// Transforms (trim) have no JSON Schema form; the document describes the accepted input.
const schema = (s: v.GenericSchema) =>
  toJsonSchema(s, { errorMode: "ignore", target: "draft-2020-12" });

const problemResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

/** ?ca= on the CRL routes: both CRLs make `openssl verify -crl_check_all` pass. */
const crlCaParameter = {
  name: "ca",
  in: "query",
  description:
    "Whose CRL: the issuing CA's (default), or the root's above it, which checking the whole chain needs too",
  schema: { type: "string", enum: [...crlCas], default: "issuing" },
};

const crlCaProblems = {
  "400": problemResponse('QUERY_INVALID: ca is not "issuing" or "root"'),
  "404": problemResponse(
    "CRL_ROOT_UNAVAILABLE (ca=root): a one-tier CA, or a root kept elsewhere, which publishes its own CRL",
  ),
  "503": problemResponse("CRL_NOT_PUBLISHED: no CRL has been published yet"),
};

const inventoryWords: Readonly<Record<string, string>> = {
  status: "valid (not expired, not revoked), revoked, or expired",
  requester: "The requester's address (case and +tags ignored) or a principal id",
  ca: "The issuing CA's id",
  q: "Text within the subject or a SAN, case ignored",
  expiresBefore: "notAfter before this date or instant (ISO 8601, with its offset)",
  expiresAfter: "notAfter at or after this date or instant (ISO 8601, with its offset)",
  limit: "Certificates per page, 1 to 500 (default 50)",
  cursor: "The previous page's next, with the same filters",
  format: "csv (RFC 4180, a header line first) or jsonl (one JSON object per line)",
};

/** Query parameters from the schema the route parses with; each may be given once. */
function queryParameters(s: v.GenericSchema) {
  const json = schema(s) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    ...(inventoryWords[name] ? { description: inventoryWords[name] } : {}),
    schema: property,
  }));
}

const inventoryProblems = {
  "400": problemResponse(
    "QUERY_INVALID: an unknown, repeated or malformed parameter (the detail names it); PAGE_CURSOR_INVALID: a cursor not given out for these filters",
  ),
  "401": problemResponse("Missing or invalid API key or access token"),
  "403": problemResponse("The caller has no role"),
};

let cached: unknown;

export function openApiDocument(): unknown {
  cached ??= {
    openapi: "3.1.0",
    info: { title: "Serverless private CA", version: "1" },
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description:
            "An API key (spca_…), acting for its owner, or an access token (a JWT) from the deployment's OpenID provider, checked against its JWKS for issuer, audience and expiry (docs/identity.md).",
        },
      },
      schemas: {
        SubmitRequest: schema(SubmitRequestBody),
        Decision: schema(DecisionBody),
        CreateApiKey: schema(CreateApiKeyBody),
        Revoke: schema(RevokeBody),
        Renew: schema(RenewBody),
        Problem: {
          type: "object",
          required: ["type", "title", "status", "code"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            code: { type: "string", examples: Object.keys(apiErrorCodes) },
            detail: { type: "string" },
            instance: { type: "string" },
          },
        },
      },
    },
    paths: {
      "/v1/requests": {
        post: {
          summary: "Submit a CSR",
          security: [{ apiKey: [] }],
          parameters: [
            { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 } },
            {
              name: "email",
              in: "query",
              description: "With application/pkcs10",
              schema: { type: "string" },
            },
            {
              name: "profile",
              in: "query",
              description: "With application/pkcs10",
              schema: { type: "string" },
            },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/SubmitRequest" } },
              "application/pkcs10": { schema: { type: "string", format: "binary" } },
            },
          },
          responses: {
            "202": {
              description:
                "Accepted: { id, status, links: { self, page } } (page: the browser status page, with its secret)",
            },
            "200": { description: "Replay of an Idempotency-Key: the first request" },
            "400": problemResponse("Invalid body or query"),
            "401": problemResponse("Missing or invalid API key or access token"),
            "413": problemResponse("Body too large"),
            "415": problemResponse("Unsupported media type"),
            "422": problemResponse("CSR or policy rejected the request"),
            "429": problemResponse("Rate limited"),
          },
        },
      },
      "/v1/requests/{id}": {
        get: {
          summary: "A request's status, history, reasons and serial",
          security: [{ apiKey: [] }],
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": { description: "The request" },
            "403": problemResponse("The caller has no role"),
            "404": problemResponse("Unknown request, or another requester's"),
          },
        },
      },
      "/v1/requests/{id}/approval-mails": {
        post: {
          summary:
            "Resend a pending request's approval mails (admin): every approver who has not decided gets a new link, and their earlier links stop working; decided approvers, the task token and the deadline are left as they are. Not idempotent: each call mails new links.",
          security: [{ apiKey: [] }],
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description:
                "{ id, status, mailed: [approvers mailed a new link], decided: [approvers left alone], deadline }",
            },
            "400": problemResponse("Malformed id"),
            "401": problemResponse("Missing or invalid API key or access token"),
            "403": problemResponse("The caller is not an admin"),
            "404": problemResponse("Unknown request (REQUEST_NOT_FOUND)"),
            "409": problemResponse(
              "Not waiting for approval (APPROVAL_NOT_PENDING), every approver has decided (APPROVAL_ALREADY_DECIDED), or the first mails are not sent yet (REQUEST_STATE_CONFLICT)",
            ),
            "410": problemResponse("The approval deadline has passed (APPROVAL_EXPIRED)"),
            "503": problemResponse(
              "APPROVAL_RESEND_INCOMPLETE: the links were replaced but a mail was not sent; the detail names who got theirs and who did not. Resend again.",
            ),
          },
        },
      },
      "/v1/expiry-reminders/run": {
        post: {
          summary:
            "Run the expiry-reminder job now (admin; pki expiry run): mails the reminder due for each certificate near or just past expiry that was neither renewed nor revoked, to the requester and the profile's owners, and announces certificate.expiring / certificate.expired. Safe to repeat: every reminder is sent once, whoever runs the job. The local service serves it; on AWS the job runs on its daily schedule and this answers 404.",
          security: [{ apiKey: [] }],
          responses: {
            "200": {
              description:
                '{ ranAt, checked, due, mailed: [{ serial, requestId, reminder, to }], alreadySent, inProgress: [...], published: [...], failed: [{ ..., error }] }; reminder is the threshold in days or "expired"',
            },
            "401": problemResponse("Missing or invalid API key or access token"),
            "403": problemResponse("The caller is not an admin"),
            "404": problemResponse("The job is not run through this API (AWS: its own schedule)"),
          },
        },
      },
      "/v1/certificates": {
        get: {
          summary:
            "The certificate inventory, soonest to expire first: requesters see their own and their shared groups', approvers, auditors and admins everyone's. A page may hold fewer than limit; follow next until it is null.",
          security: [{ apiKey: [] }],
          parameters: queryParameters(InventoryQuerySchema),
          responses: {
            "200": {
              description:
                "{ items: [{ serial, status, subject, sans, profile, requester, requestedBy, caId, notBefore, notAfter, issuedAt, requestId, renews, renewedBy, revokedAt, revocationReason }], next }",
            },
            ...inventoryProblems,
          },
        },
      },
      "/v1/certificates/export": {
        get: {
          summary:
            "Every certificate of the inventory that matches the filters, streamed as CSV or JSON Lines (the fields of a listing's items)",
          security: [{ apiKey: [] }],
          parameters: queryParameters(ExportQuery),
          responses: {
            "200": {
              description: "An attachment: certificates-<date>.csv or .jsonl",
              content: { "text/csv": {}, "application/jsonl": {} },
            },
            ...inventoryProblems,
          },
        },
      },
      "/v1/certificates/{serial}": {
        get: {
          summary: "A certificate: PEM, chain (?chain=true), DER or JSON by Accept",
          security: [{ apiKey: [] }],
          parameters: [
            { name: "serial", in: "path", required: true, schema: { type: "string" } },
            { name: "chain", in: "query", schema: { type: "boolean" } },
          ],
          responses: {
            "200": {
              description: "The certificate",
              content: {
                "application/x-pem-file": {},
                "application/pem-certificate-chain": {},
                "application/pkix-cert": {},
                "application/json": {},
              },
            },
            "404": problemResponse("Unknown serial, or another requester's certificate"),
            "406": problemResponse("No acceptable media type"),
          },
        },
      },
      "/v1/approvals/{id}": {
        get: {
          summary: "What an approver is asked to decide (changes nothing)",
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "string" } },
            { name: "token", in: "query", required: true, schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description:
                "The request summary, quorum progress, and whether this link has decided",
            },
            "400": problemResponse("Missing token or malformed id"),
            "403": problemResponse("A token that does not belong to this request"),
          },
        },
        post: {
          summary: "Approve or reject",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Decision" } } },
          },
          responses: {
            "200": { description: "Recorded" },
            "400": problemResponse("Invalid body"),
            "403": problemResponse("A token that does not belong to this request"),
            "409": problemResponse("The link was used already, or the request no longer waits"),
            "410": problemResponse("The link has expired"),
            "413": problemResponse("Body too large"),
            "415": problemResponse("Unsupported media type"),
            "503": problemResponse("Recorded but not yet passed on: send the same decision again"),
          },
        },
      },
      "/v1/keys": {
        post: {
          summary: "Create an API key (admin); the response holds the secret, once",
          security: [{ apiKey: [] }],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/CreateApiKey" } },
            },
          },
          responses: {
            "201": { description: "{ id, role, label, createdAt, revokedAt, key }" },
            "400": problemResponse("Invalid body"),
            "401": problemResponse("Missing or invalid API key or access token"),
            "403": problemResponse("The caller's role does not allow this"),
          },
        },
        get: {
          summary: "List API keys (admin), revoked ones included, without secrets",
          security: [{ apiKey: [] }],
          responses: { "200": { description: "{ keys: [...] }" } },
        },
      },
      "/v1/keys/{id}": {
        delete: {
          summary: "Revoke an API key (admin); idempotent",
          security: [{ apiKey: [] }],
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": { description: "The revoked key" },
            "404": problemResponse("Unknown key id"),
          },
        },
      },
      "/v1/certificates/{serial}/renew": {
        post: {
          summary:
            "Renew a certificate (its requester or an admin): a new CSR for the same profile and a subset of its names, within the profile's renewal window (the certificate's JSON gives renewal.opensAt and closesAt). Under renewal.approval inherit the original approval stands; under again the approvers decide anew. The new certificate records the serial it renews.",
          security: [{ apiKey: [] }],
          parameters: [
            { name: "serial", in: "path", required: true, schema: { type: "string" } },
            { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 } },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Renew" } } },
          },
          responses: {
            "202": { description: "Accepted: { id, status, renews, links: { self, page } }" },
            "200": { description: "Replay of an Idempotency-Key: the first renewal's request" },
            "400": problemResponse("Invalid serial or body"),
            "401": problemResponse("Missing or invalid API key or access token"),
            "403": problemResponse(
              "RENEWAL_NOT_ALLOWED: the caller is neither the certificate's requester nor an admin",
            ),
            "404": problemResponse("Unknown serial, or a certificate the caller may not read"),
            "409": problemResponse(
              "RENEWAL_OUTSIDE_WINDOW (the detail names the window), RENEWAL_CERT_REVOKED, RENEWAL_SUPERSEDED (renew the successor)",
            ),
            "415": problemResponse("Unsupported media type"),
            "422": problemResponse(
              "RENEWAL_NAMES_WIDENED (the detail names the extra names), RENEWAL_PROFILE_MISMATCH, RENEWAL_KEY_REUSED, or the CSR and policy codes of a submission",
            ),
          },
        },
      },
      "/v1/certificates/{serial}/revoke": {
        post: {
          summary:
            "Revoke a certificate (admin). Idempotent: again, the first revocation is returned.",
          security: [{ apiKey: [] }],
          parameters: [{ name: "serial", in: "path", required: true, schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/Revoke" } } },
          },
          responses: {
            "200": {
              description: "{ serial, reason, revokedAt, revokedBy, requestId, created }",
            },
            "400": problemResponse("Invalid serial, body or reason"),
            "401": problemResponse("Missing or invalid API key or access token"),
            "403": problemResponse("The caller's role does not allow this"),
            "404": problemResponse("Unknown serial, or another requester's certificate"),
            "409": problemResponse("The certificate has expired"),
            "415": problemResponse("Unsupported media type"),
          },
        },
      },
      "/v1/ca": {
        get: {
          summary: "The CA chain (PEM), or the issuing CA certificate (PEM or DER) by Accept",
          responses: {
            "200": {
              description: "The chain or the certificate",
              content: {
                "application/pem-certificate-chain": {},
                "application/x-pem-file": {},
                "application/pkix-cert": {},
              },
            },
            "406": problemResponse("No acceptable media type"),
          },
        },
      },
      "/v1/crl": {
        get: {
          summary:
            "The current CRL of the issuing CA or (?ca=root) of the root above it: DER, or PEM with Accept: application/x-pem-file",
          parameters: [crlCaParameter],
          responses: {
            "200": {
              description: "The CRL",
              content: { "application/pkix-crl": {}, "application/x-pem-file": {} },
            },
            ...crlCaProblems,
            "406": problemResponse("No acceptable media type"),
          },
        },
      },
      "/v1/crl/status": {
        get: {
          summary:
            "The current CRL's number, thisUpdate, nextUpdate, entries, size, publication (?ca= as for /v1/crl)",
          parameters: [crlCaParameter],
          responses: {
            "200": {
              description:
                "{ caId, number, thisUpdate, nextUpdate, entries, size, sha256, publishedAt, trigger, url }",
            },
            ...crlCaProblems,
          },
        },
      },
      "/crl/{file}": {
        get: {
          summary:
            "Published CRLs: <ca-id>.crl (DER, the CRL distribution point) and <ca-id>.crl.pem",
          parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": { description: "The object" },
            "404": problemResponse("Not published"),
          },
        },
      },
      "/ca/{file}": {
        get: {
          summary: "Published CA certificates: <ca-id>.cer (DER, AIA caIssuers) and <ca-id>.pem",
          parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": { description: "The object" },
            "404": problemResponse("Not published"),
          },
        },
      },
      "/truststore.pem": {
        get: {
          summary: "Every CA certificate, PEM: for ALB trust stores and API Gateway mTLS",
          responses: {
            "200": { description: "PEM bundle" },
            "404": problemResponse("Not published"),
          },
        },
      },
      "/healthz": { get: { summary: "Health check", responses: { "200": { description: "OK" } } } },
    },
  };
  return cached;
}
