/**
 * The AWS gates the `enforcement` configuration names, each with its client. A client is made
 * only for a service some gate uses, so a deployment without IAM Roles Anywhere (say) never
 * loads or configures that SDK client.
 */
import type { APIGatewayClient } from "@aws-sdk/client-api-gateway";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { RolesAnywhereClient } from "@aws-sdk/client-rolesanywhere";
import type { EnforcementConfig } from "../config.ts";
import type { EnforcementTarget } from "../target.ts";
import { AlbTrustStoreTarget } from "./alb-trust-store.ts";
import { ApiGatewayDomainTarget } from "./api-gateway-domain.ts";
import {
  type RolesAnywhereCrlOptions,
  RolesAnywhereTrustAnchorTarget,
} from "./roles-anywhere-trust-anchor.ts";

export interface AwsEnforcementClients {
  readonly elb: () => ElasticLoadBalancingV2Client;
  readonly apiGateway: () => APIGatewayClient;
  readonly rolesAnywhere: () => RolesAnywhereClient;
}

export function awsEnforcementTargets(
  config: EnforcementConfig,
  clients: AwsEnforcementClients,
  options: RolesAnywhereCrlOptions,
): EnforcementTarget[] {
  const targets: EnforcementTarget[] = [];
  const { albTrustStores, apiGatewayDomains, rolesAnywhereTrustAnchors } = config;
  if (albTrustStores.length > 0) {
    const elb = clients.elb();
    for (const arn of albTrustStores) targets.push(new AlbTrustStoreTarget(elb, arn));
  }
  if (apiGatewayDomains.length > 0) {
    const apiGateway = clients.apiGateway();
    for (const domain of apiGatewayDomains) {
      targets.push(new ApiGatewayDomainTarget(apiGateway, domain));
    }
  }
  if (rolesAnywhereTrustAnchors.length > 0) {
    const rolesAnywhere = clients.rolesAnywhere();
    for (const arn of rolesAnywhereTrustAnchors) {
      targets.push(new RolesAnywhereTrustAnchorTarget(rolesAnywhere, arn, options));
    }
  }
  return targets;
}
