/**
 * Lambda entry point for the REST API: the same Hono app as local mode, behind a Function URL or
 * API Gateway (hono/aws-lambda reads v1, v2 and ALB events). The client address for the rate
 * limit is the source IP AWS saw, not a header the client could forge.
 */

import { getConnInfo, handle } from "hono/aws-lambda";
import { createApi } from "../api/app.ts";
import type { AwsServices } from "./aws-services.ts";
import { containerServices } from "./container.ts";

export function apiLambda(services: () => AwsServices = containerServices) {
  // Built on the first invocation, when the environment has been checked.
  const build = () => {
    const { registrationAuthority, settings } = services();
    const app = createApi({
      services: registrationAuthority,
      openSubmission: settings.openSubmission,
      rateLimit: settings.config.api.rateLimit,
      clientAddress: (c) => getConnInfo(c).remote.address ?? "unknown",
      onUnexpectedError: (error, c) =>
        console.error(
          JSON.stringify({
            level: "ERROR",
            message: `${c.req.method} ${c.req.path} failed`,
            error: (error as Error).stack ?? String(error),
          }),
        ),
    });
    return handle(app, { isContentTypeBinary });
  };
  let handler: ReturnType<typeof handle> | undefined;
  return (...args: Parameters<ReturnType<typeof handle>>) => {
    handler ??= build();
    return handler(...args);
  };
}

/** PEM and JSON go out as text; DER (application/pkix-cert, pkix-crl) as base64. */
function isContentTypeBinary(contentType: string): boolean {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return !(
    type.startsWith("text/") ||
    type.endsWith("json") ||
    type === "application/x-pem-file" ||
    type === "application/pem-certificate-chain"
  );
}

export const handler = apiLambda();
