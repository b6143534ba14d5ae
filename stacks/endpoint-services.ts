/**
 * Which AWS services private mode must reach through VPC endpoints, derived from what the
 * functions are granted: an IAM action's service prefix either names the endpoint its calls go
 * through, or is called by AWS on the function's behalf outside the VPC. A grant for a service
 * in neither table fails the deploy, so a new call is never silently cut off in private mode.
 * Plain data: no SST globals, so tests import it.
 */

export type EndpointKind = "Gateway" | "Interface";

export interface EndpointService {
  /** The last part of the endpoint service name, com.amazonaws.<region>.<name>. */
  readonly name: string;
  readonly kind: EndpointKind;
}

/** IAM service prefix → the endpoint the function's own calls go through. */
export const ENDPOINT_FOR_PREFIX: Readonly<Record<string, EndpointService>> = {
  dynamodb: { name: "dynamodb", kind: "Gateway" },
  s3: { name: "s3", kind: "Gateway" },
  kms: { name: "kms", kind: "Interface" },
  states: { name: "states", kind: "Interface" },
  events: { name: "events", kind: "Interface" },
  ses: { name: "email", kind: "Interface" },
  elasticloadbalancing: { name: "elasticloadbalancing", kind: "Interface" },
  apigateway: { name: "apigateway", kind: "Interface" },
  rolesanywhere: { name: "rolesanywhere", kind: "Interface" },
};

/** IAM service prefix → why no endpoint is needed: AWS makes these calls with the role. */
export const CALLED_OUTSIDE_THE_VPC: Readonly<Record<string, string>> = {
  logs: "Lambda's platform delivers the function's logs",
  sqs: "Lambda's pollers read the CRL queue and its async destinations write the failure queue",
  ec2: "Lambda manages the function's network interfaces",
  xray: "Lambda's tracing daemon sends the function's segments",
};

/** The IAM service prefix of an action ("kms:Sign" → "kms"). */
export function servicePrefix(action: string): string {
  return action.slice(0, action.indexOf(":"));
}

/**
 * The endpoints a set of granted actions needs, by endpoint name; throws on a prefix neither
 * table knows.
 */
export function endpointsFor(actions: Iterable<string>): Map<string, EndpointService> {
  const needed = new Map<string, EndpointService>();
  for (const action of actions) {
    const prefix = servicePrefix(action);
    const endpoint = ENDPOINT_FOR_PREFIX[prefix];
    if (endpoint) needed.set(endpoint.name, endpoint);
    else if (!(prefix in CALLED_OUTSIDE_THE_VPC)) {
      throw new Error(
        `A function is granted ${action}, but private mode knows no VPC endpoint for ${prefix}: add it to stacks/endpoint-services.ts.`,
      );
    }
  }
  return needed;
}
