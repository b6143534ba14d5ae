/**
 * Private mode's front door: a private REST API (API Gateway, `endpointConfiguration`
 * PRIVATE) reached only through the configured execute-api VPC endpoints, with every path
 * proxied to the API function (the REST API, the pages and the publication paths, which the
 * app serves from the bucket), on a private custom domain at its root (the pages link from
 * "/", and certificates name the domain in their CRL and CA URLs).
 *
 * - The API's and the domain's resource policies deny execute-api:Invoke unless the request
 *   came through one of `aws.network.vpcEndpointIds` (aws:SourceVpce), and each endpoint is
 *   associated with the domain.
 * - Every media type is binary to API Gateway (`*` / `*`): CSR uploads (application/pkcs10)
 *   reach the function intact and DER answers leave it as sent.
 * - DNS: the operator points the name at the execute-api endpoint in a private hosted zone
 *   (docs/deploy.md); the stack owns no zone in the operator's network.
 */
import type { PrivateNetwork } from "./private-network.ts";
import type { Deployment } from "./settings.ts";

/** The one stage; the custom domain maps its root to it, so no path carries the name. */
export const PRIVATE_API_STAGE = "pki";

export interface PrivateApi {
  readonly restApi: aws.apigateway.RestApi;
  /** https://<aws.network.domain.name>: what certificates and mails name. */
  readonly publicBaseUrl: $util.Output<string>;
  /** Routes every path to the function and publishes the stage on the domain. */
  connect(fn: sst.aws.Function): void;
}

/** Deny unless through one of the endpoints; then allow (AWS's documented private-API shape). */
export function privateApiPolicy(resource: string, vpcEndpointIds: readonly string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Deny",
        Principal: "*",
        Action: "execute-api:Invoke",
        Resource: resource,
        Condition: { StringNotEquals: { "aws:SourceVpce": [...vpcEndpointIds] } },
      },
      { Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: resource },
    ],
  });
}

export function privateApi(d: Deployment, network: PrivateNetwork): PrivateApi {
  const { vpcEndpointIds, domain } = network.config;
  const restApi = new aws.apigateway.RestApi("PrivateApi", {
    name: `${d.app}-${d.stage}-api`,
    description: "The private CA's API and pages, reachable through the VPC endpoints alone",
    endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: [...vpcEndpointIds] },
    binaryMediaTypes: ["*/*"],
    policy: privateApiPolicy("execute-api:/*", vpcEndpointIds),
  });
  const domainName = new aws.apigateway.DomainName("PrivateApiDomain", {
    domainName: domain.name,
    certificateArn: domain.certificateArn,
    endpointConfiguration: { types: "PRIVATE" },
    securityPolicy: "TLS_1_2",
    policy: privateApiPolicy("execute-api:/*", vpcEndpointIds),
  });
  const associations = vpcEndpointIds.map(
    (endpointId, i) =>
      new aws.apigateway.DomainNameAccessAssociation(`PrivateApiDomainAccess${i + 1}`, {
        accessAssociationSource: endpointId,
        accessAssociationSourceType: "VPCE",
        domainNameArn: domainName.arn,
      }),
  );
  return {
    restApi,
    publicBaseUrl: $output(`https://${domain.name}`),
    connect(fn) {
      const proxy = new aws.apigateway.Resource("PrivateApiProxy", {
        restApi: restApi.id,
        parentId: restApi.rootResourceId,
        pathPart: "{proxy+}",
      });
      // The app authenticates (API keys, sessions); API Gateway only admits the network.
      const routes = [
        { name: "Root", resourceId: restApi.rootResourceId },
        { name: "Proxy", resourceId: proxy.id },
      ].map(({ name, resourceId }) => {
        const method = new aws.apigateway.Method(`PrivateApi${name}Method`, {
          restApi: restApi.id,
          resourceId,
          httpMethod: "ANY",
          authorization: "NONE",
        });
        const integration = new aws.apigateway.Integration(`PrivateApi${name}Integration`, {
          restApi: restApi.id,
          resourceId,
          httpMethod: method.httpMethod,
          type: "AWS_PROXY",
          integrationHttpMethod: "POST",
          uri: fn.nodes.function.invokeArn,
        });
        return { method, integration };
      });
      new aws.lambda.Permission("PrivateApiInvoke", {
        action: "lambda:InvokeFunction",
        function: fn.nodes.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: $interpolate`${restApi.executionArn}/*`,
      });
      const deployment = new aws.apigateway.Deployment(
        "PrivateApiDeployment",
        {
          restApi: restApi.id,
          // A new deployment whenever what it serves changes.
          triggers: {
            redeployment: $jsonStringify([
              restApi.policy,
              ...routes.flatMap((r) => [r.method.id, r.integration.id, r.integration.uri]),
            ]),
          },
        },
        { dependsOn: routes.flatMap((r) => [r.method, r.integration]) },
      );
      const stage = new aws.apigateway.Stage("PrivateApiStage", {
        restApi: restApi.id,
        deployment: deployment.id,
        stageName: PRIVATE_API_STAGE,
        xrayTracingEnabled: true,
      });
      new aws.apigateway.BasePathMapping(
        "PrivateApiDomainMapping",
        {
          restApi: restApi.id,
          stageName: stage.stageName,
          domainName: domainName.domainName,
          domainNameId: domainName.domainNameId,
        },
        { dependsOn: associations },
      );
    },
  };
}
