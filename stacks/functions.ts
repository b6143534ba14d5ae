/**
 * One factory for every Lambda function, so each gets the same shape: a fixed name (its log
 * group and ARN are known before it exists), the configuration file bundled and validated
 * again at run time, JSON logs with the configured retention, X-Ray tracing, and a role with
 * exactly the statements grants.ts gives it (SST's default role would add
 * AWSLambdaBasicExecutionRole, which may write to every log group), trusted by Lambda alone.
 */
import { METRICS_NAMESPACE } from "../packages/functions/src/lambda/metric-names.ts";
import type { FunctionName } from "./grants.ts";
import { functionGrants } from "./grants.ts";
import { type GrantTargets, grantStatements, type Statement } from "./permissions.ts";
import type { Placement } from "./private-network.ts";
import { type Deployment, functionName } from "./settings.ts";
import { serviceTrust } from "./trust.ts";

/** Where the bundled configuration lands next to the handler (PKI_CONFIG_FILE). */
export const BUNDLED_CONFIG = "pki.config.json";

export interface FunctionContext {
  readonly d: Deployment;
  readonly targets: GrantTargets;
  /** Environment every function gets: resource names and the public base URL. */
  readonly environment: Record<string, $util.Input<string>>;
  /** What a function that mails gets besides: the configuration set it sends through. */
  readonly mailEnvironment: Record<string, $util.Input<string>>;
  /** Private mode: the subnets and security groups every function runs in. */
  readonly placement?: Placement;
  /** Every statement granted to a function, collected for the VPC endpoints' policies. */
  readonly granted?: Statement[];
}

export interface FunctionOptions {
  readonly handler: string;
  readonly timeout?: `${number} seconds` | `${number} minutes`;
  readonly environment?: Record<string, $util.Input<string>>;
  readonly url?: sst.aws.FunctionArgs["url"];
  /** Files bundled beside the handler, besides the configuration. */
  readonly copyFiles?: readonly { readonly from: string; readonly to: string }[];
  /** Reserved concurrency: 1 for a function whose runs must never overlap. */
  readonly reservedConcurrency?: number;
}

export function pkiFunction(
  ctx: FunctionContext,
  name: FunctionName,
  options: FunctionOptions,
): sst.aws.Function {
  const physicalName = functionName(ctx.d, name);
  const grants = functionGrants[name];
  const statements = grantStatements(physicalName, grants, {
    ...ctx.targets,
    privateMode: ctx.placement !== undefined,
  });
  ctx.granted?.push(...statements);
  return new sst.aws.Function(name, {
    name: physicalName,
    handler: options.handler,
    runtime: "nodejs24.x",
    timeout: options.timeout ?? "20 seconds",
    copyFiles: [{ from: ctx.d.configPath, to: BUNDLED_CONFIG }, ...(options.copyFiles ?? [])],
    environment: {
      ...ctx.environment,
      ...("sendMail" in grants && grants.sendMail ? ctx.mailEnvironment : {}),
      ...options.environment,
      PKI_CONFIG_FILE: BUNDLED_CONFIG,
      POWERTOOLS_SERVICE_NAME: name,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    },
    logging: { retention: ctx.d.config.aws.logRetention, format: "json" },
    permissions: statements.map((s) => ({
      actions: s.actions,
      resources: s.resources,
      ...(s.conditions ? { conditions: s.conditions } : {}),
    })),
    ...(options.url ? { url: options.url } : {}),
    ...(ctx.placement ? { vpc: ctx.placement } : {}),
    ...(options.reservedConcurrency !== undefined
      ? { concurrency: { reserved: options.reservedConcurrency } }
      : {}),
    transform: {
      function: (args) => {
        args.tracingConfig = { mode: "Active" };
      },
      role: (args) => {
        // Logging is granted on the function's own log group instead (permissions.ts).
        args.managedPolicyArns = [];
        args.assumeRolePolicy = serviceTrust("lambda.amazonaws.com");
      },
    },
  });
}

/** The handler path SST bundles, e.g. "packages/functions/src/lambda/api.handler". */
export function lambdaHandler(file: string): string {
  return `packages/functions/src/lambda/${file}.handler`;
}
