/**
 * The gates the enforcement sync keeps in step (`enforcement` in the configuration): ALB and
 * NLB trust stores (Elastic Load Balancing), API Gateway custom domains, IAM Roles Anywhere
 * trust anchors. Each client is made once per container, and only for a service some gate uses.
 */
import { APIGatewayClient } from "@aws-sdk/client-api-gateway";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { RolesAnywhereClient } from "@aws-sdk/client-rolesanywhere";
import { awsEnforcementTargets } from "@spca/core/enforcement/aws/targets";
import { PkiError } from "@spca/core/errors";
import type { AwsAdapters } from "../aws-services.ts";
import { DEPLOYMENT_TAG_KEY } from "../enforcement-names.ts";
import { tracedClient } from "../observability.ts";
import { type CallTarget, type IamRequest, type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

export interface EnforcementClients {
  readonly elb?: () => ElasticLoadBalancingV2Client;
  readonly apiGateway?: () => APIGatewayClient;
  readonly rolesAnywhere?: () => RolesAnywhereClient;
}

/** `clients` default to the Lambda environment's, traced (see observability.ts). */
export function enforcementAdapters(
  clients: EnforcementClients = {},
): Required<Pick<AwsAdapters, "enforcementTargets">> {
  return {
    enforcementTargets: ({ config, deployment }) => {
      if (!deployment) {
        throw new PkiError("CONFIG_INVALID", "The environment variable PKI_DEPLOYMENT is not set.");
      }
      const tags = { [DEPLOYMENT_TAG_KEY]: deployment };
      return awsEnforcementTargets(
        config.enforcement,
        {
          elb: once(
            clients.elb ??
              (() => logCalls(tracedClient(new ElasticLoadBalancingV2Client({})), elbRequests)),
          ),
          apiGateway: once(
            clients.apiGateway ??
              (() => logCalls(tracedClient(new APIGatewayClient({})), apiGatewayRequests)),
          ),
          rolesAnywhere: once(
            clients.rolesAnywhere ??
              (() =>
                logCalls(
                  tracedClient(new RolesAnywhereClient(rolesAnywhereEndpoint())),
                  rolesAnywhereRequests(tags),
                )),
          ),
        },
        // One name for our CRL on every trust anchor: the sync finds it again by anchor and name.
        { crlName: deployment, tags },
      );
    },
  };
}

/**
 * The registry's only client-rolesanywhere (3.332.0) predates the SDK's service-specific
 * endpoint variables, which the other clients read: this one is handed AWS_ENDPOINT_URL_ROLESANYWHERE
 * itself (the offline deployment's stand-in; unset on Lambda).
 */
function rolesAnywhereEndpoint(env = process.env): { endpoint?: string } {
  const endpoint = env.AWS_ENDPOINT_URL_ROLESANYWHERE;
  return endpoint ? { endpoint } : {};
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

type Input = Readonly<Record<string, unknown>>;

/**
 * An object the gate's service reads with the caller's permissions (a trust store's bundle or
 * CRL, a custom domain's truststore): an exact version needs s3:GetObjectVersion.
 */
function readBy(
  service: string,
  target: CallTarget,
  bucket: unknown,
  key: unknown,
  version: unknown,
): IamRequest {
  return {
    action: version ? "s3:GetObjectVersion" : "s3:GetObject",
    resource: `arn:${target.partition}:s3:::${String(bucket)}/${String(key)}`,
    why: `${service} reads the object with the caller's permissions`,
  };
}

/**
 * Elastic Load Balancing: the trust store's ARN, except DescribeTrustStoreRevocations, which has
 * no resource type. Add and Modify also read their S3 object as the caller.
 */
export const elbRequests: IamRequestsOf = (operation, input, target) => {
  const action = `elasticloadbalancing:${operation}`;
  if (operation === "DescribeTrustStoreRevocations" || operation === "DescribeTrustStores") {
    return [{ action, resource: "*" }];
  }
  const resource = String(input.TrustStoreArn ?? "*");
  const requests: IamRequest[] = [{ action, resource }];
  if (operation === "AddTrustStoreRevocations") {
    for (const c of (input.RevocationContents ?? []) as Input[]) {
      requests.push(readBy("the load balancer", target, c.S3Bucket, c.S3Key, c.S3ObjectVersion));
    }
  }
  if (operation === "ModifyTrustStore") {
    requests.push(
      readBy(
        "the load balancer",
        target,
        input.CaCertificatesBundleS3Bucket,
        input.CaCertificatesBundleS3Key,
        input.CaCertificatesBundleS3ObjectVersion,
      ),
    );
  }
  return requests;
};

/** API Gateway authorizes by HTTP method on the resource's path: PATCH on the domain name. */
export const apiGatewayRequests: IamRequestsOf = (operation, input, target) => {
  if (operation !== "UpdateDomainName") {
    return [{ action: `apigateway:${operation}`, resource: "*" }];
  }
  const domain = String(input.domainName);
  const requests: IamRequest[] = [
    {
      action: "apigateway:PATCH",
      resource: `arn:${target.partition}:apigateway:${target.region}::/domainnames/${domain}`,
    },
  ];
  const ops = (input.patchOperations ?? []) as Input[];
  const uri = ops.find((op) => op.path === "/mutualTlsAuthentication/truststoreUri")?.value;
  const version = ops.find((op) => op.path === "/mutualTlsAuthentication/truststoreVersion")?.value;
  const s3 = typeof uri === "string" ? /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) : null;
  if (s3) requests.push(readBy("API Gateway", target, s3[1], s3[2], version));
  return requests;
};

/**
 * IAM Roles Anywhere: ListCrls and ImportCrl have no resource type ("*"); ImportCrl carries
 * the tags it puts on the new CRL. UpdateCrl is on the CRL, which carries `tags` because the
 * sync imported it with them (the grant tests that tag).
 */
export function rolesAnywhereRequests(tags: Readonly<Record<string, string>>): IamRequestsOf {
  return (operation, input, target) => {
    const action = `rolesanywhere:${operation}`;
    if (operation === "ImportCrl") {
      const requested = (input.tags ?? []) as { key: string; value: string }[];
      return [
        {
          action,
          resource: "*",
          context: {
            ...Object.fromEntries(requested.map((t) => [`aws:RequestTag/${t.key}`, t.value])),
            "aws:TagKeys": requested.map((t) => t.key),
          },
        },
      ];
    }
    if (typeof input.crlId === "string") {
      return [
        {
          action,
          resource: `arn:${target.partition}:rolesanywhere:${target.region}:${target.account}:crl/${input.crlId}`,
          // The sync only updates the CRL it imported, with these tags.
          context: Object.fromEntries(
            Object.entries(tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value]),
          ),
        },
      ];
    }
    return [{ action, resource: "*" }];
  };
}
