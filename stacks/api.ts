/**
 * The REST API (Hono) and the pages, on the Router's origin. It starts workflow executions
 * (as does only the request sweeper, for requests whose start was lost: sweeper.ts) and alone
 * answers the approval wait (SendTaskSuccess/Failure).
 */
import { WEB_ASSETS_FOLDER } from "../packages/web/src/assets.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import type { Identity } from "./identity.ts";
import type { Web } from "./web.ts";

/** How long CloudFront waits for the API: longer than the function may run, so a slow call
 * ends with the function's own answer, not CloudFront's 504. */
export const API_TIMEOUT_SECONDS = 25;
export const ROUTER_READ_TIMEOUT_SECONDS = 30;

/** Variables Lambda keeps to itself, or that pkiFunction sets on every function. */
const RESERVED_VARIABLE = /^(AWS_|LAMBDA_|_|POWERTOOLS_)|^(PKI_CONFIG_FILE|TZ)$/;

/**
 * @param site the Router in public mode; undefined in private mode, where the private API
 *   (private-api.ts) invokes the function with the client's own headers and address.
 */
export function api(
  ctx: FunctionContext,
  site: Web | undefined,
  stateMachineArn: $util.Input<string>,
  identity: Identity,
) {
  const own = {
    PKI_STATE_MACHINE_ARN: stateMachineArn,
    // The client's Authorization and address arrive in the Router's x-pki-* headers (web.ts).
    ...(site ? { PKI_VIEWER_HEADERS: "cloudfront" } : {}),
  };
  // The sign-in settings (identity.ts); an `identity.oidc.clientSecret.env` naming a variable
  // the stack already sets would silently replace it (or be refused by Lambda).
  const taken = new Set(
    [ctx.environment, ctx.mailEnvironment, own].flatMap((variables) => Object.keys(variables)),
  );
  for (const name of Object.keys(identity.environment)) {
    if (taken.has(name) || RESERVED_VARIABLE.test(name)) {
      throw new Error(
        `identity.oidc.clientSecret.env: the API function already uses ${name}; name another variable.`,
      );
    }
  }
  return pkiFunction(ctx, "Api", {
    handler: lambdaHandler("api"),
    // Above a KMS-bound request's worst case.
    timeout: `${API_TIMEOUT_SECONDS} seconds`,
    environment: { ...own, ...identity.environment },
    ...(site
      ? {
          url: {
            // No browser calls the function URL from another origin: all is on the Router's.
            cors: false,
            router: {
              instance: site.router,
              readTimeout: `${ROUTER_READ_TIMEOUT_SECONDS} seconds`,
            },
          },
        }
      : {}),
    // The pages' stylesheet and script, read by the API at start (packages/web/src/assets.ts).
    copyFiles: [{ from: "packages/web/assets", to: WEB_ASSETS_FOLDER }],
  });
}
