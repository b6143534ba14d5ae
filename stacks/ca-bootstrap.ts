/**
 * The CA bootstrap, run by every deploy with no manual step: a Lambda invoked by the
 * deployment itself (aws.lambda.Invocation). It creates the CA certificate for the KMS key
 * once, never replaces it, and publishes the first CRL; with `aws.ca.bootstrap: "external"`
 * it only reports that the CA awaits `pki ca import --aws`. A failure fails the deploy with
 * the function's error message.
 */
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";

export function caBootstrap(ctx: FunctionContext, key: aws.kms.Key) {
  const fn = pkiFunction(ctx, "CaBootstrap", {
    handler: lambdaHandler("ca-bootstrap"),
    timeout: "2 minutes",
  });
  const ca = ctx.d.config.ca;
  const run = new aws.lambda.Invocation("CaBootstrapRun", {
    functionName: fn.name,
    input: JSON.stringify({ mode: ctx.d.config.aws.ca.bootstrap }),
    // Runs again when any of these change (a changed subject never replaces an existing CA
    // certificate: the function keeps the first one and says so in its result).
    triggers: {
      key: key.arn,
      mode: ctx.d.config.aws.ca.bootstrap,
      subject: ca.subject,
      code: fn.nodes.function.sourceCodeHash,
    },
  });
  return { fn, run };
}
