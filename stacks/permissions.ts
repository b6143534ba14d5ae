/**
 * IAM statements for one function, from its entry in grants.ts and the deployed resources'
 * ARNs. Every statement names its resources; the few wildcards are AWS's own requirement or
 * narrowed otherwise, and are listed with why in iam-allow-list.ts, which the IAM test holds
 * every synthesized policy to.
 */
import { DEPLOYMENT_TAG_KEY } from "../packages/functions/src/lambda/enforcement-names.ts";
import { CRL_PEM_PATTERN, type FunctionGrants } from "./grants.ts";

export interface Statement {
  readonly actions: string[];
  readonly resources: $util.Input<string>[];
  readonly conditions?: { test: string; variable: string; values: $util.Input<string>[] }[];
}

/** The gates `enforcement` names, and the tag on what the sync creates (enforcement.ts). */
export interface EnforcementGrantTargets {
  readonly albTrustStores: readonly string[];
  readonly apiGatewayDomains: readonly string[];
  readonly rolesAnywhereTrustAnchors: readonly string[];
  /** The deployment's name: the value of the DEPLOYMENT_TAG_KEY tag. */
  readonly deployment: string;
}

export interface GrantTargets {
  readonly table: sst.aws.Dynamo;
  readonly bucket: sst.aws.Bucket;
  readonly bus: sst.aws.Bus;
  /** The SES identity and this stage's configuration set (email.ts). */
  readonly mailIdentityArn: $util.Input<string>;
  readonly mailConfigurationSetArn: $util.Input<string>;
  /** The sender address: sends are limited to it (ses:FromAddress). */
  readonly sender: string;
  readonly stateMachineArn?: $util.Input<string>;
  readonly crlQueueArn?: $util.Input<string>;
  readonly failureQueueArn?: $util.Input<string>;
  readonly enforcement?: EnforcementGrantTargets;
  readonly partition: $util.Input<string>;
  readonly region: $util.Input<string>;
  readonly accountId: $util.Input<string>;
  /**
   * Private mode: the function runs in the VPC, through network interfaces Lambda manages, and
   * the API serves the published objects (no Router).
   */
  readonly privateMode?: boolean;
}

/** What Lambda does with the role to attach a function to its subnets (the managed
 * AWSLambdaVPCAccessExecutionRole, which the stacks do not attach: functions.ts). */
export const VPC_ACCESS_ACTIONS = [
  "ec2:CreateNetworkInterface",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DeleteNetworkInterface",
  "ec2:AssignPrivateIpAddresses",
  "ec2:UnassignPrivateIpAddresses",
] as const;

export function grantStatements(
  functionName: string,
  grants: FunctionGrants,
  t: GrantTargets,
): Statement[] {
  const statements: Statement[] = [
    {
      // Its own log group only: SST's default AWSLambdaBasicExecutionRole allows every group.
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [
        $interpolate`arn:${t.partition}:logs:${t.region}:${t.accountId}:log-group:/aws/lambda/${functionName}:*`,
      ],
    },
    { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] },
  ];
  if (t.privateMode) statements.push({ actions: [...VPC_ACCESS_ACTIONS], resources: ["*"] });
  if (grants.table?.length) {
    statements.push({ actions: [...grants.table], resources: [t.table.arn] });
  }
  if (grants.tableIndex) {
    statements.push({
      actions: ["dynamodb:Query"],
      resources: [$interpolate`${t.table.arn}/index/gsi1`],
    });
  }
  const objects = (patterns: readonly string[]) =>
    patterns.map((pattern) => $interpolate`${t.bucket.arn}/${pattern}`);
  if (grants.readObjects?.length) {
    statements.push({ actions: ["s3:GetObject"], resources: objects(grants.readObjects) });
    // S3ObjectStore.get takes a missing key as "not there yet", and S3 only answers 404
    // NoSuchKey to a caller who may list the bucket: to anyone else a missing key is 403
    // AccessDenied (the first deploy's bootstrap read of ca/issuing-chain.pem, for one).
    // Unconditional: how S3 fills s3:prefix for this implicit check is not documented. Listing
    // shows key names only (serials, request ids), none of them secret.
    statements.push({ actions: ["s3:ListBucket"], resources: [t.bucket.arn] });
  }
  if (grants.servesPublication && t.privateMode) {
    statements.push({ actions: ["s3:GetObject"], resources: objects(["truststore.pem"]) });
  }
  if (grants.writeObjects?.length) {
    statements.push({ actions: ["s3:PutObject"], resources: objects(grants.writeObjects) });
  }
  if (grants.sendMail) {
    statements.push({
      actions: ["ses:SendEmail"],
      resources: [
        t.mailIdentityArn,
        t.mailConfigurationSetArn,
        // Sandbox: recipients are identities too. Only as our sender (condition below).
        $interpolate`arn:${t.partition}:ses:${t.region}:${t.accountId}:identity/*`,
      ],
      conditions: [{ test: "StringEquals", variable: "ses:FromAddress", values: [t.sender] }],
    });
  }
  if (grants.putEvents) {
    statements.push({ actions: ["events:PutEvents"], resources: [t.bus.arn] });
  }
  // The CA key (grants.caKey) is granted by its key policy alone (signing-key.ts), which names
  // these roles: an IAM statement would do nothing there, as the key policy does not defer to IAM.
  if (grants.startExecution) {
    if (!t.stateMachineArn) throw new Error(`${functionName}: no state machine to start`);
    statements.push({ actions: ["states:StartExecution"], resources: [t.stateMachineArn] });
  }
  if (grants.answerTasks) {
    statements.push({
      actions: ["states:SendTaskSuccess", "states:SendTaskFailure"],
      resources: ["*"],
    });
  }
  if (grants.consumeCrlQueue) {
    if (!t.crlQueueArn) throw new Error(`${functionName}: no CRL queue to consume`);
    statements.push({
      actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      resources: [t.crlQueueArn],
    });
  }
  if (grants.sendToFailureQueue) {
    if (!t.failureQueueArn) throw new Error(`${functionName}: no failure queue`);
    statements.push({ actions: ["sqs:SendMessage"], resources: [t.failureQueueArn] });
  }
  if (grants.enforce) {
    if (!t.enforcement) throw new Error(`${functionName}: no enforcement targets`);
    statements.push(...enforcementStatements(t.enforcement, t, objects));
  }
  return statements;
}

/**
 * The gates, each by its exact ARN where the action has a resource type. Where it has none
 * (DescribeTrustStoreRevocations, ListCrls, ImportCrl) the statement is on "*", and
 * ImportCrl is held to the deployment's tag on the CRL it creates; UpdateCrl then only
 * reaches CRLs carrying that tag. ALB and API Gateway load the bundle and the CRL from the
 * bucket with the caller's permissions, at the exact versions they are given.
 */
function enforcementStatements(
  e: EnforcementGrantTargets,
  t: GrantTargets,
  objects: (patterns: readonly string[]) => $util.Output<string>[],
): Statement[] {
  const statements: Statement[] = [];
  const tag = `aws:RequestTag/${DEPLOYMENT_TAG_KEY}`;
  if (e.albTrustStores.length > 0) {
    statements.push(
      {
        actions: ["elasticloadbalancing:DescribeTrustStoreRevocations"],
        resources: ["*"],
      },
      {
        actions: [
          "elasticloadbalancing:AddTrustStoreRevocations",
          "elasticloadbalancing:RemoveTrustStoreRevocations",
          "elasticloadbalancing:ModifyTrustStore",
        ],
        resources: [...e.albTrustStores],
      },
    );
  }
  if (e.apiGatewayDomains.length > 0) {
    statements.push({
      actions: ["apigateway:PATCH"],
      resources: e.apiGatewayDomains.map(
        (name) => $interpolate`arn:${t.partition}:apigateway:${t.region}::/domainnames/${name}`,
      ),
    });
  }
  const versioned = [
    ...(e.albTrustStores.length + e.apiGatewayDomains.length > 0 ? ["truststore.pem"] : []),
    ...(e.albTrustStores.length > 0 ? [CRL_PEM_PATTERN] : []),
  ];
  if (versioned.length > 0) {
    statements.push({ actions: ["s3:GetObjectVersion"], resources: objects(versioned) });
  }
  if (e.rolesAnywhereTrustAnchors.length > 0) {
    statements.push(
      { actions: ["rolesanywhere:ListCrls"], resources: ["*"] },
      {
        actions: ["rolesanywhere:ImportCrl"],
        resources: ["*"],
        conditions: [
          { test: "StringEquals", variable: tag, values: [e.deployment] },
          {
            test: "ForAllValues:StringEquals",
            variable: "aws:TagKeys",
            values: [DEPLOYMENT_TAG_KEY],
          },
        ],
      },
      {
        actions: ["rolesanywhere:UpdateCrl"],
        resources: [
          $interpolate`arn:${t.partition}:rolesanywhere:${t.region}:${t.accountId}:crl/*`,
        ],
        conditions: [
          {
            test: "StringEquals",
            variable: `aws:ResourceTag/${DEPLOYMENT_TAG_KEY}`,
            values: [e.deployment],
          },
        ],
      },
    );
  }
  return statements;
}
