/**
 * Private mode's network (`aws.network.mode: "private"`): the functions run in the configured
 * subnets, and reach AWS only through VPC endpoints whose policies admit this deployment's
 * own resources and nothing else.
 *
 * - The functions' security group (unless `securityGroupIds` names theirs) lets HTTPS out and
 *   nothing in; the interface endpoints' group lets HTTPS in from the functions' groups only.
 * - The endpoints are those the functions' grants need (endpoint-services.ts): S3 and DynamoDB
 *   as gateway endpoints on the subnets' route tables, the others as interface endpoints with
 *   private DNS. One that `serviceEndpoints` names exists already and is used as it is (a VPC
 *   takes one private-DNS interface endpoint per service, a route table one gateway endpoint).
 * - Each endpoint's policy is the union of what the functions are granted on that service, for
 *   any principal: a caller inside the VPC reaches this deployment's table, bucket, key, bus
 *   and workflow through it, and no other resource of that service.
 */
import type { Config } from "../packages/core/src/policy/config.ts";
import { type EndpointService, endpointsFor } from "./endpoint-services.ts";
import type { Statement } from "./permissions.ts";
import type { Deployment } from "./settings.ts";

type PrivateNetworkConfig = Extract<Config["aws"]["network"], { mode: "private" }>;

/** Where the functions run: what sst.aws.Function's `vpc` takes. */
export interface Placement {
  readonly privateSubnets: string[];
  readonly securityGroups: $util.Input<string>[];
}

export interface PrivateNetwork {
  readonly config: PrivateNetworkConfig;
  readonly placement: Placement;
}

/** The functions' placement in private mode; undefined in public mode. */
export function privateNetwork(d: Deployment): PrivateNetwork | undefined {
  const config = d.config.aws.network;
  if (config.mode !== "private") return undefined;
  const securityGroups = config.securityGroupIds ?? [
    new aws.ec2.SecurityGroup("FunctionsSecurityGroup", {
      vpcId: config.vpcId,
      description: "PKI functions - HTTPS out to the VPC endpoints, nothing in",
      egress: [
        {
          protocol: "tcp",
          fromPort: 443,
          toPort: 443,
          cidrBlocks: ["0.0.0.0/0"],
          ipv6CidrBlocks: ["::/0"],
          description: "HTTPS to AWS through the VPC endpoints",
        },
      ],
    }).id,
  ];
  return { config, placement: { privateSubnets: [...config.subnetIds], securityGroups } };
}

/**
 * The endpoints the granted statements need, each with a policy of exactly those statements.
 * Returns the endpoints it made (those `serviceEndpoints` names exist already).
 */
export function serviceEndpoints(
  network: PrivateNetwork,
  granted: readonly Statement[],
  region: $util.Input<string>,
): aws.ec2.VpcEndpoint[] {
  const { config, placement } = network;
  const needed = endpointsFor(granted.flatMap((s) => s.actions));
  const given = config.serviceEndpoints ?? {};
  const toCreate = [...needed.values()].filter((e) => !(e.name in given));
  const endpointGroup = toCreate.some((e) => e.kind === "Interface")
    ? new aws.ec2.SecurityGroup("EndpointsSecurityGroup", {
        vpcId: config.vpcId,
        description: "PKI interface endpoints - HTTPS in from the PKI functions",
        ingress: [
          {
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            securityGroups: placement.securityGroups,
            description: "HTTPS from the PKI functions",
          },
        ],
      })
    : undefined;
  const routeTables = toCreate.some((e) => e.kind === "Gateway")
    ? $output(
        config.subnetIds.map((subnetId) => aws.ec2.getRouteTableOutput({ subnetId }).routeTableId),
      ).apply((ids) => [...new Set(ids)].sort())
    : undefined;
  return toCreate.map((endpoint) =>
    createEndpoint(endpoint, {
      vpcId: config.vpcId,
      region,
      policy: policyFor(endpoint, granted),
      subnetIds: config.subnetIds,
      securityGroupId: endpointGroup?.id,
      routeTableIds: routeTables,
    }),
  );
}

function createEndpoint(
  endpoint: EndpointService,
  where: {
    vpcId: string;
    region: $util.Input<string>;
    policy: $util.Input<string>;
    subnetIds: readonly string[];
    securityGroupId: $util.Input<string> | undefined;
    routeTableIds: $util.Input<string[]> | undefined;
  },
): aws.ec2.VpcEndpoint {
  const name = `Endpoint${endpoint.name.replace(/(^|-)([a-z])/g, (_, _dash, c: string) => c.toUpperCase())}`;
  const common = {
    vpcId: where.vpcId,
    serviceName: $interpolate`com.amazonaws.${where.region}.${endpoint.name}`,
    vpcEndpointType: endpoint.kind,
    policy: where.policy,
  };
  return new aws.ec2.VpcEndpoint(
    name,
    endpoint.kind === "Gateway"
      ? { ...common, routeTableIds: where.routeTableIds! }
      : {
          ...common,
          subnetIds: [...where.subnetIds],
          securityGroupIds: [where.securityGroupId!],
          privateDnsEnabled: true,
        },
  );
}

/** What the functions are granted on the endpoint's service, for any principal in the VPC. */
function policyFor(endpoint: EndpointService, granted: readonly Statement[]): $util.Output<string> {
  const statements = granted
    .map((s) => ({ ...s, actions: s.actions.filter((a) => endpointsFor([a]).has(endpoint.name)) }))
    .filter((s) => s.actions.length > 0);
  // Several functions hold the same grant: one statement for each distinct one.
  const distinct = $output(statements).apply((resolved) => {
    const seen = new Map<string, (typeof resolved)[number]>();
    for (const s of resolved) seen.set(JSON.stringify([s.actions, s.resources, s.conditions]), s);
    return [...seen.values()];
  });
  return aws.iam.getPolicyDocumentOutput({
    statements: distinct.apply((list) =>
      list.map((s) => ({
        principals: [{ type: "*", identifiers: ["*"] }],
        actions: s.actions,
        resources: s.resources,
        ...(s.conditions ? { conditions: s.conditions } : {}),
      })),
    ),
  }).json;
}
