/**
 * The CA bootstrap, run by every deploy with no manual step: a Lambda invoked by the
 * deployment itself (aws.lambda.Invocation). It creates the CA certificate for the KMS key
 * once, never replaces it, and publishes the first CRL; with `aws.ca.bootstrap: "external"`
 * it only reports that the CA awaits `pki ca import --aws`. A failure fails the deploy with
 * the function's error message. The same function serves the operator's `pki ca … --aws`.
 */
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";

export function caBootstrapFunction(ctx: FunctionContext): sst.aws.Function {
  return pkiFunction(ctx, "CaBootstrap", {
    handler: lambdaHandler("ca-bootstrap"),
    // Room for the first deploy's wait while the new role and key policy propagate.
    timeout: "3 minutes",
  });
}

/** The deploy's invocation, once the key policy lets the function sign. */
export function bootstrapOnDeploy(
  ctx: FunctionContext,
  fn: sst.aws.Function,
  key: aws.kms.Key,
  keyPolicy: aws.kms.KeyPolicy,
  /** Private mode: the VPC endpoints, without which the run would find no way to AWS. */
  network: readonly $util.Resource[] = [],
): aws.lambda.Invocation {
  const ca = ctx.d.config.ca;
  return new aws.lambda.Invocation(
    "CaBootstrapRun",
    {
      functionName: fn.name,
      input: JSON.stringify({ mode: ctx.d.config.aws.ca.bootstrap }),
      // Runs again when any of these change (a changed subject never replaces an existing CA
      // certificate: the function keeps the first one and says so in its result). The code is
      // its S3 key, which names the bundle's hash: the function's sourceCodeHash stays empty,
      // as SST deploys from S3 and the provider only echoes a hash that was set.
      triggers: {
        key: key.arn,
        mode: ctx.d.config.aws.ca.bootstrap,
        subject: ca.subject,
        code: fn.nodes.function.s3Key.apply((k) => k ?? ""),
      },
    },
    { dependsOn: [keyPolicy, ...network] },
  );
}
