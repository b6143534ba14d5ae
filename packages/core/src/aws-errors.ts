/**
 * Telling a failed AWS SDK call that may pass on retry from one that never will. Each adapter
 * passes the error names its service documents as transient; the rest is common to all:
 * socket failures, the SDK's own retryable mark, and HTTP 5xx or 429.
 */

/** Node socket-level failures: the request may never have reached the service. */
export const networkErrorCodes: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
]);

/** The fields of an SDK (or Node) error that classification and error reports read. */
export interface AwsLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
}

export function isRetryableAwsError(error: unknown, transientNames: ReadonlySet<string>): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as AwsLikeError;
  if (typeof e.name === "string" && transientNames.has(e.name)) return true;
  if (typeof e.code === "string" && networkErrorCodes.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === "number" && (status >= 500 || status === 429);
}
