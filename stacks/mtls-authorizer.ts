/**
 * The revocation check for an API Gateway HTTP API with mutual TLS, as a component to attach to
 * your own `sst.aws.ApiGatewayV2`. API Gateway checks a client certificate against the custom
 * domain's truststore but never against a CRL: this adds a Lambda authorizer
 * (packages/functions/src/lambda/mtls-authorizer.ts) that denies certificates on the CA's
 * current CRL, and its routes name it:
 *
 *   const check = mtlsAuthorizer("Mtls", { api, crlUrl, caBundleUrl });
 *   api.route("GET /", "src/hello.handler", { auth: { lambda: check.authorizer.id } });
 *
 * - Payload format 2.0 with simple responses (`{isAuthorized, context}`).
 * - No caching, and no identity source. A cached Allow would keep admitting a revoked
 *   certificate for the cache's TTL, whatever the CRL says; the function itself keeps the CRL
 *   for PKI_CRL_MAX_AGE_SECONDS and confirms it with a conditional request, so each request
 *   costs one warm invocation. An identity source is checked before the function runs and
 *   would answer 401 for a request without it; the function denies those itself, and logs why.
 * - Its role reads exactly the two objects when their URLs are s3:// (no s3:ListBucket: both
 *   exist once the CA has published, and a missing one is denied all the same), and logs to its
 *   own log group; it trusts Lambda alone, as every function here (functions.ts).
 */
import type { Config } from "../packages/core/src/policy/config.ts";
import { lambdaHandler } from "./functions.ts";
import { serviceTrust } from "./trust.ts";

export interface MtlsAuthorizerArgs {
  /** The HTTP API whose routes the authorizer guards. */
  readonly api: sst.aws.ApiGatewayV2;
  /** The published DER CRL: `s3://<bucket>/crl/<ca id>.crl`, or its https:// URL. */
  readonly crlUrl: $util.Input<string>;
  /** The published CA bundle: `s3://<bucket>/truststore.pem`, or its https:// URL. */
  readonly caBundleUrl: $util.Input<string>;
  /** How long a fetched CRL is used before it is confirmed again (default 60, at most 86400). */
  readonly crlMaxAgeSeconds?: number;
  /** As `aws.logRetention` in the configuration (default: SST's). */
  readonly logRetention?: Config["aws"]["logRetention"];
}

export interface MtlsAuthorizer {
  readonly function: sst.aws.Function;
  readonly authorizer: ReturnType<sst.aws.ApiGatewayV2["addAuthorizer"]>;
}

/** `s3://bucket/key` as the object's ARN; undefined for an http(s) URL. */
export function s3ObjectArn(url: string, partition = "aws"): string | undefined {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return s3 ? `arn:${partition}:s3:::${s3[1]}/${s3[2]}` : undefined;
}

export function mtlsAuthorizer(name: string, args: MtlsAuthorizerArgs): MtlsAuthorizer {
  const physicalName = `${$app.name}-${$app.stage}-${name}`;
  if (physicalName.length > 64) {
    throw new Error(`The function name "${physicalName}" is longer than Lambda's 64 characters.`);
  }
  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const accountId = aws.getCallerIdentityOutput().accountId;
  const permissions = $resolve([args.crlUrl, args.caBundleUrl, partition, region, accountId]).apply(
    ([crl, bundle, p, r, a]): { actions: string[]; resources: string[] }[] => {
      const objects = [crl, bundle]
        .map((url) => s3ObjectArn(url, p))
        .filter((arn): arn is string => arn !== undefined);
      return [
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [`arn:${p}:logs:${r}:${a}:log-group:/aws/lambda/${physicalName}:*`],
        },
        { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] },
        ...(objects.length > 0 ? [{ actions: ["s3:GetObject"], resources: objects }] : []),
      ];
    },
  );
  const fn = new sst.aws.Function(name, {
    name: physicalName,
    handler: lambdaHandler("mtls-authorizer"),
    runtime: "nodejs24.x",
    timeout: "10 seconds",
    environment: {
      PKI_CRL_URL: args.crlUrl,
      PKI_CA_BUNDLE_URL: args.caBundleUrl,
      ...(args.crlMaxAgeSeconds !== undefined
        ? { PKI_CRL_MAX_AGE_SECONDS: String(args.crlMaxAgeSeconds) }
        : {}),
      POWERTOOLS_SERVICE_NAME: name,
    },
    logging: { format: "json", ...(args.logRetention ? { retention: args.logRetention } : {}) },
    permissions,
    transform: {
      function: (fnArgs) => {
        fnArgs.tracingConfig = { mode: "Active" };
      },
      role: (roleArgs) => {
        roleArgs.managedPolicyArns = [];
        roleArgs.assumeRolePolicy = serviceTrust("lambda.amazonaws.com");
      },
    },
  });
  const authorizer = args.api.addAuthorizer({
    name,
    lambda: {
      function: fn.arn,
      payload: "2.0",
      response: "simple",
      ttl: "0 seconds",
      identitySources: [],
    },
  });
  return { function: fn, authorizer };
}
