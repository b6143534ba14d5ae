/**
 * Errors as RFC 9457 problem details (`application/problem+json`). Every failure the API
 * returns goes through here: a stable `code` (the PkiError catalogue's, or an API one), a
 * `title` that is the code's fixed meaning, and a `detail` naming this request's problem.
 */
import { type ErrorCode, errorCodes, isPkiError } from "@spca/core/errors";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const apiErrorCodes = {
  NOT_FOUND: "No such resource.",
  METHOD_NOT_ALLOWED: "The method is not allowed on this resource.",
  UNSUPPORTED_MEDIA_TYPE: "The request body's media type is not accepted here.",
  NOT_ACCEPTABLE: "None of the accepted media types can be produced.",
  BODY_TOO_LARGE: "The request body is larger than the limit.",
  EXPORT_TOO_LARGE: "The export is larger than one response may be here.",
  BODY_INVALID: "The request body is not valid.",
  QUERY_INVALID: "The query parameters are not valid.",
  UNAUTHENTICATED: "A valid API key or access token is required.",
  FORBIDDEN: "The caller's role does not allow this operation.",
  RATE_LIMITED: "Too many requests; slow down.",
  INTERNAL: "The server failed to handle the request.",
} as const;

export type ApiErrorCode = keyof typeof apiErrorCodes;

export interface Problem {
  readonly status: ContentfulStatusCode;
  readonly code: ApiErrorCode | ErrorCode;
  readonly detail?: string;
  readonly extra?: Record<string, unknown>;
}

/** An error a handler throws to answer with a problem. */
export class ProblemError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.code);
    this.problem = problem;
  }
}

export function problem(
  status: ContentfulStatusCode,
  code: ApiErrorCode,
  detail?: string,
  extra?: Record<string, unknown>,
): ProblemError {
  return new ProblemError({
    status,
    code,
    ...(detail ? { detail } : {}),
    ...(extra ? { extra } : {}),
  });
}

/** HTTP status for each PkiError code family the API can meet. */
export function statusForPkiError(code: ErrorCode): ContentfulStatusCode {
  if (code === "CERT_NOT_FOUND" || code === "REQUEST_NOT_FOUND" || code === "API_KEY_NOT_FOUND")
    return 404;
  // A one-tier CA, or a root kept elsewhere (which publishes its own CRL): not here.
  if (code === "CRL_ROOT_UNAVAILABLE") return 404;
  if (code === "API_KEY_LABEL_INVALID" || code === "API_KEY_OWNER_INVALID") return 400;
  if (code === "PAGE_CURSOR_INVALID") return 400;
  if (code === "SIGN_IN_FAILED") return 401;
  if (code === "IDENTITY_PROVIDER_UNAVAILABLE") return 503;
  if (code === "IDEMPOTENCY_KEY_INVALID") return 400;
  if (code === "REQUEST_STATE_CONFLICT") return 409;
  // A link that is not (or no longer) valid: the holder is not authorised to decide.
  if (
    code === "APPROVAL_TOKEN_INVALID" ||
    code === "APPROVAL_SELF" ||
    code === "APPROVAL_WRONG_APPROVER"
  )
    return 403;
  if (code === "APPROVAL_EXPIRED") return 410;
  if (code === "APPROVAL_ALREADY_DECIDED" || code === "APPROVAL_NOT_PENDING") return 409;
  if (code === "CERT_EXPIRED") return 409;
  if (code === "INVENTORY_FORBIDDEN" || code === "RENEWAL_NOT_ALLOWED") return 403;
  // The certificate's state, not the renewal's content, stands in the way.
  if (
    code === "RENEWAL_OUTSIDE_WINDOW" ||
    code === "RENEWAL_CERT_REVOKED" ||
    code === "RENEWAL_SUPERSEDED"
  )
    return 409;
  if (code === "REVOCATION_REASON_INVALID") return 400;
  // The first publication follows the start within seconds: try again shortly.
  if (code === "CRL_NOT_PUBLISHED") return 503;
  // Recorded, not yet relayed: the same request again completes it.
  if (code === "APPROVAL_DELIVERY_FAILED") return 503;
  // Links replaced, a mail not sent (or no mailer): resending again mends it.
  if (code === "APPROVAL_RESEND_INCOMPLETE" || code === "EMAIL_SEND_FAILED") return 503;
  if (code === "APPROVAL_PERSON_REQUIRED") return 403;
  if (code === "CSR_TOO_LARGE") return 413;
  if (code.startsWith("CA_") || code.startsWith("SIGNER_") || code === "SELF_CHECK_FAILED")
    return 503;
  // CSR, key, policy and approval-plan rejections: well-formed requests the CA will not take.
  return 422;
}

export function toProblem(error: unknown): Problem {
  if (error instanceof ProblemError) return error.problem;
  if (isPkiError(error)) {
    const title = errorCodes[error.code];
    const detail = error.message.startsWith(title)
      ? error.message.slice(title.length).trim() || title
      : error.message;
    return { status: statusForPkiError(error.code), code: error.code, detail };
  }
  if (error instanceof HTTPException) {
    return {
      status: error.status,
      code: error.status === 413 ? "BODY_TOO_LARGE" : "BODY_INVALID",
      detail: error.message,
    };
  }
  return { status: 500, code: "INTERNAL" };
}

export function problemResponse(c: Context, p: Problem): Response {
  const title =
    (apiErrorCodes as Record<string, string>)[p.code] ??
    (errorCodes as Record<string, string>)[p.code];
  const body = {
    type: `urn:serverless-private-ca:problem:${p.code}`,
    title,
    status: p.status,
    code: p.code,
    ...(p.detail ? { detail: p.detail } : {}),
    instance: c.req.path,
    ...p.extra,
  };
  return c.newResponse(JSON.stringify(body), p.status, {
    "Content-Type": "application/problem+json",
    // RFC 9110 §15.5.2: a 401 must say how to authenticate (RFC 6750 bearer keys).
    ...(p.status === 401 ? { "WWW-Authenticate": "Bearer" } : {}),
  });
}
