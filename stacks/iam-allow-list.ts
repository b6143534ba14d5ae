/**
 * The only wildcards allowed in the IAM policies the stacks produce, each with the reason.
 * `test/iam.test.ts` walks every statement of the synthesized stacks and fails on any other
 * `*` or `?` in an action or a resource. Plain data: no SST globals, so tests import it.
 */

/** Actions AWS only authorizes on Resource "*". */
export const ACTIONS_ONLY_ON_ANY_RESOURCE: Readonly<Record<string, string>> = {
  "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
  "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
  "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
  "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
  "states:SendTaskSuccess": "the task token is the only handle: the action has no resource type",
  "states:SendTaskFailure": "the task token is the only handle: the action has no resource type",
  "logs:CreateLogDelivery": "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:GetLogDelivery": "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:UpdateLogDelivery": "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:DeleteLogDelivery": "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:ListLogDeliveries": "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:PutResourcePolicy": "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:DescribeResourcePolicies":
    "Step Functions log delivery (vended logs) is authorized on * only",
  "logs:DescribeLogGroups": "Step Functions log delivery (vended logs) is authorized on * only",
  "elasticloadbalancing:DescribeTrustStoreRevocations":
    "a Describe action without a resource type; the writes are on the configured trust stores",
  "rolesanywhere:ListCrls": "a List action without a resource type (it shows CRL names and ids)",
  "ec2:CreateNetworkInterface":
    "private mode: Lambda makes the function's network interfaces in the configured subnets (AWSLambdaVPCAccessExecutionRole grants these on *)",
  "ec2:DescribeNetworkInterfaces": "a Describe action without a resource type",
  "ec2:DescribeSubnets": "a Describe action without a resource type",
  "ec2:DeleteNetworkInterface":
    "private mode: Lambda removes the interfaces it made, whose ids nobody knows in advance",
  "ec2:AssignPrivateIpAddresses": "private mode: on the interfaces Lambda made",
  "ec2:UnassignPrivateIpAddresses": "private mode: on the interfaces Lambda made",
  "rolesanywhere:ImportCrl":
    "it creates the CRL, so there is no resource yet; the condition requires the deployment's tag on it",
};

/**
 * Of the actions above, those whose statement must also carry a condition (the condition key
 * named) for "*" to be acceptable.
 */
export const CONDITIONS_ON_ANY_RESOURCE: Readonly<Record<string, string>> = {
  "rolesanywhere:ImportCrl": "aws:RequestTag/spca:deployment",
};

export interface AllowedWildcardResource {
  /** Matches the whole resource ARN. */
  readonly pattern: RegExp;
  readonly why: string;
  /** A condition the statement must carry for the wildcard to be acceptable. */
  readonly requiresCondition?: string;
}

const ARN = "arn:aws[a-z-]*";
const REGION_ACCOUNT = String.raw`[a-z]{2}(?:-[a-z]+)+-\d:\d{12}`;

export const ALLOWED_WILDCARD_RESOURCES: readonly AllowedWildcardResource[] = [
  {
    pattern: new RegExp(String.raw`^${ARN}:ses:${REGION_ACCOUNT}:identity/\*$`),
    why: "in the SES sandbox every recipient is an identity SendEmail is authorized on; the condition limits sending to the configured sender",
    requiresCondition: "ses:FromAddress",
  },
  {
    pattern: new RegExp(
      String.raw`^${ARN}:logs:${REGION_ACCOUNT}:log-group:/aws/lambda/[^*?:]+:\*$`,
    ),
    why: "the log streams of the function's own log group",
  },
  {
    pattern: new RegExp(String.raw`^${ARN}:s3:::[^/*?]+/[a-z]+/\*$`),
    why: "the objects under one key prefix (certificates/, crl/, ca/) of the private bucket",
  },
  {
    pattern: new RegExp(String.raw`^${ARN}:s3:::[^/*?]+/ca/\?{16}\.(?:cer|pem)$`),
    why: "the published CA certificates ca/<16 hex>.cer|.pem, which cannot match ca/issuing-chain.pem",
  },
  {
    pattern: new RegExp(String.raw`^${ARN}:s3:::[^/*?]+/crl/\?{16}\.crl\.pem$`),
    why: "the published CRL as PEM, crl/<16 hex>.crl.pem (the stacks cannot know the CA id)",
  },
  {
    pattern: new RegExp(String.raw`^${ARN}:rolesanywhere:${REGION_ACCOUNT}:crl/\*$`),
    why: "IAM Roles Anywhere CRL ids are made on import; the condition limits it to the CRLs carrying the deployment's tag",
    requiresCondition: "aws:ResourceTag/spca:deployment",
  },
];

/**
 * Granted actions no code of ours calls, because AWS itself calls them with the role: the IAM
 * conformance test (test/iam-conformance.test.ts) accepts these as used.
 */
export const GRANTS_USED_BY_AWS: Readonly<Record<string, string>> = {
  "logs:CreateLogStream": "Lambda writes the function's logs with its role",
  "logs:PutLogEvents": "Lambda writes the function's logs with its role",
  "xray:PutTraceSegments": "Lambda sends the function's active-tracing segments with its role",
  "ec2:CreateNetworkInterface": "Lambda attaches the function to its subnets with its role",
  "ec2:DescribeNetworkInterfaces": "Lambda attaches the function to its subnets with its role",
  "ec2:DescribeSubnets": "Lambda attaches the function to its subnets with its role",
  "ec2:DeleteNetworkInterface": "Lambda attaches the function to its subnets with its role",
  "ec2:AssignPrivateIpAddresses": "Lambda attaches the function to its subnets with its role",
  "ec2:UnassignPrivateIpAddresses": "Lambda attaches the function to its subnets with its role",
  "xray:PutTelemetryRecords": "Lambda sends the function's active-tracing segments with its role",
  "xray:GetSamplingRules": "Step Functions samples the workflow's traces with its role",
  "xray:GetSamplingTargets": "Step Functions samples the workflow's traces with its role",
  "logs:CreateLogDelivery": "Step Functions sets up the workflow's log delivery with its role",
  "logs:GetLogDelivery": "Step Functions sets up the workflow's log delivery with its role",
  "logs:UpdateLogDelivery": "Step Functions sets up the workflow's log delivery with its role",
  "logs:DeleteLogDelivery": "Step Functions sets up the workflow's log delivery with its role",
  "logs:ListLogDeliveries": "Step Functions sets up the workflow's log delivery with its role",
  "logs:PutResourcePolicy": "Step Functions sets up the workflow's log delivery with its role",
  "logs:DescribeResourcePolicies":
    "Step Functions sets up the workflow's log delivery with its role",
  "logs:DescribeLogGroups": "Step Functions sets up the workflow's log delivery with its role",
};
