/**
 * The REST API (Hono) and the pages, on the Router's origin. Only this function starts
 * workflow executions and answers the approval wait (SendTaskSuccess/Failure).
 */
import { WEB_ASSETS_FOLDER } from "../packages/web/src/assets.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import type { Web } from "./web.ts";

export function api(ctx: FunctionContext, site: Web, stateMachineArn: $util.Input<string>) {
  return pkiFunction(ctx, "Api", {
    handler: lambdaHandler("api"),
    // Below CloudFront's 30 s origin timeout, above a KMS-bound request's worst case.
    timeout: "25 seconds",
    environment: { PKI_STATE_MACHINE_ARN: stateMachineArn },
    url: { router: { instance: site.router } },
    // The pages' stylesheet and script, read by the API at start (packages/web/src/assets.ts).
    copyFiles: [{ from: "packages/web/assets", to: WEB_ASSETS_FOLDER }],
  });
}
