/**
 * Lambda entry point for the REST API: the same Hono app as local mode, behind a Function URL or
 * API Gateway (hono/aws-lambda reads v1, v2 and ALB events). The client address for the rate
 * limit is the source IP AWS saw, not a header the client could forge; behind the Router, the
 * address and Authorization the Router's edge function saw (viewer-headers.ts).
 */

import { createPages } from "@spca/web/pages";
import type { Context } from "hono";
import { getConnInfo, handle } from "hono/aws-lambda";
import { createApi } from "../api/app.ts";
import type { AwsServices } from "./aws-services.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { s3Adapters } from "./clients/s3.ts";
import { sesAdapters } from "./clients/ses.ts";
import { sfnAdapters } from "./clients/sfn.ts";
import { containerServices } from "./container.ts";
import { logger, observed, stringField } from "./observability.ts";
import { withViewerHeaders } from "./viewer-headers.ts";

export const EXPORT_LIMIT_BYTES = 5 * 1024 * 1024;

export function apiLambda(services: () => AwsServices) {
  // Built on the first invocation, when the environment has been checked.
  const build = () => {
    const { registrationAuthority, settings } = services();
    const onUnexpectedError = (error: unknown, c: Context) =>
      logger.error(`${c.req.method} ${c.req.path} failed`, error as Error);
    const app = createApi({
      services: registrationAuthority,
      openSubmission: settings.openSubmission,
      rateLimit: settings.config.api.rateLimit,
      clientAddress: (c) => getConnInfo(c).remote.address ?? "unknown",
      onUnexpectedError,
      // A buffered Lambda response is at most 6 MB; headers and the rest fit in what is left.
      exportLimitBytes: EXPORT_LIMIT_BYTES,
      pages: createPages({
        services: registrationAuthority,
        publicBaseUrl: settings.config.publicBaseUrl,
        openSubmission: settings.openSubmission,
        clientAddress: (c) => getConnInfo(c).remote.address ?? "unknown",
        ...(settings.webAssetsDir ? { assetsDir: settings.webAssetsDir } : {}),
        onUnexpectedError,
      }),
    });
    return handle(app, { isContentTypeBinary });
  };
  type Handler = ReturnType<typeof handle>;
  let handler: Handler | undefined;
  return observed(
    "api",
    (event: Parameters<Handler>[0], context?: Parameters<Handler>[1]) => {
      handler ??= build();
      const behindRouter = services().settings.viewerHeaders === "cloudfront";
      return handler(behindRouter ? withViewerHeaders(event) : event, context);
    },
    // API Gateway's own request id, to find the request in its access logs.
    { keys: (event) => ({ apiRequestId: stringField(event, "requestContext", "requestId") }) },
  );
}

/** PEM, JSON, JSON Lines and CSV go out as text; DER (application/pkix-cert, pkix-crl) as base64. */
function isContentTypeBinary(contentType: string): boolean {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return !(
    type.startsWith("text/") ||
    type.endsWith("json") ||
    type === "application/jsonl" ||
    type === "application/x-pem-file" ||
    type === "application/pem-certificate-chain"
  );
}

export const handler = apiLambda(
  containerServices("Api", {
    ...dynamodbAdapters(),
    ...s3Adapters(),
    ...eventBridgeAdapters(),
    ...sfnAdapters(),
    // An admin's resend of approval mails.
    ...sesAdapters(),
  }),
);
