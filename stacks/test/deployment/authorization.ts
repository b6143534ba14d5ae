/**
 * IAM's verdict on one request against the synthesized deployment, by
 * @cloud-copilot/iam-simulate: the principal's role policies (when it is one of the
 * deployment's roles) and the policy of the resource it acts on (the key policy, the bucket
 * policy, a function's permissions, a queue's policy). The resource policy is what the synthesis
 * creates; a KMS key without one has KMS's default key policy, which lets IAM decide.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { IamRequest } from "../../../packages/functions/src/lambda/sdk-call-log.ts";
import {
  type PolicyDocument,
  type PolicyStatement,
  policyOf,
  type SynthesizedDeployment,
  type SynthesizedRole,
} from "./synthesized.ts";

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface Verdict {
  readonly decision: Decision | "Invalid";
  /** Why iam-simulate refused to evaluate the request (a malformed ARN or policy). */
  readonly errors?: string;
}

export class Authorizer {
  private readonly deployment: SynthesizedDeployment;
  private readonly roles: SynthesizedRole[];

  constructor(deployment: SynthesizedDeployment, roles: SynthesizedRole[] = deployment.roles()) {
    this.deployment = deployment;
    this.roles = roles;
  }

  /** The same deployment with its roles changed by `edit` (to show a removed grant is caught). */
  withRoles(edit: (role: SynthesizedRole) => SynthesizedRole): Authorizer {
    return new Authorizer(this.deployment, this.roles.map(edit));
  }

  async authorize(principal: string, request: IamRequest): Promise<Verdict> {
    const role = this.roles.find((r) => r.arn === principal);
    const account = this.deployment.account;
    const result = await runSimulation(
      {
        request: {
          principal,
          action: request.action,
          resource: { resource: request.resource, accountId: account },
          contextVariables: {
            "aws:SecureTransport": "true",
            ...(role ? { "aws:PrincipalArn": role.arn, "aws:PrincipalAccount": account } : {}),
            ...(request.context as Record<string, string | string[]> | undefined),
          },
        },
        identityPolicies: (role?.policies ?? []).map((p) => ({ name: p.name, policy: p.policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...this.resourcePolicy(request.resource),
      },
      {},
    );
    if (result.resultType === "error") {
      return { decision: "Invalid", errors: JSON.stringify(result.errors) };
    }
    return { decision: result.overallResult as Decision };
  }

  /** The policy attached to the resource `arn` names, if any. */
  resourcePolicy(arn: string): { resourcePolicy?: PolicyDocument } {
    const d = this.deployment;
    if (arn.startsWith("arn:aws:s3:::") || /^arn:[^:]+:s3:::/.test(arn)) {
      const bucket = arn.replace(/^arn:[^:]+:s3:::/, "").split("/")[0]!;
      const policy = d.bucketPolicy(bucket);
      return policy ? { resourcePolicy: policy } : {};
    }
    if (arn === d.key.arn) {
      return { resourcePolicy: d.key.policy ?? defaultKeyPolicy(d.account) };
    }
    if (/^arn:[^:]+:lambda:/.test(arn)) {
      const statements = functionPermissions(d, arn);
      return statements.length
        ? { resourcePolicy: { Version: "2012-10-17", Statement: statements } }
        : {};
    }
    if (/^arn:[^:]+:sqs:/.test(arn)) {
      const name = arn.split(":").at(-1)!;
      const found = d
        .byType("aws:sqs/queuePolicy:QueuePolicy")
        .find((p) => String(p.inputs.queueUrl).endsWith(`/${name}`));
      return found ? { resourcePolicy: policyOf(found.inputs.policy) } : {};
    }
    if (/^arn:[^:]+:sns:/.test(arn)) {
      const found = d.byType("aws:sns/topicPolicy:TopicPolicy").find((p) => p.inputs.arn === arn);
      return found ? { resourcePolicy: policyOf(found.inputs.policy) } : {};
    }
    return {};
  }
}

/** What KMS attaches when a key is created without a policy: the account decides through IAM. */
export function defaultKeyPolicy(account: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Enable IAM User Permissions",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  };
}

/** A function's resource policy, as Lambda builds it from its aws.lambda.Permission resources. */
export function functionPermissions(d: SynthesizedDeployment, arn: string): PolicyStatement[] {
  const fn = d.functions().find((f) => f.arn === arn);
  return d
    .byType("aws:lambda/permission:Permission")
    .filter((p) => p.inputs.function === arn || (fn && p.inputs.function === fn.physicalName))
    .map((p): PolicyStatement => {
      const principal = String(p.inputs.principal);
      const conditions: Record<string, Record<string, unknown>> = {};
      if (p.inputs.sourceArn) conditions.ArnLike = { "AWS:SourceArn": p.inputs.sourceArn };
      if (p.inputs.sourceAccount)
        conditions.StringEquals = { "AWS:SourceAccount": p.inputs.sourceAccount };
      if (p.inputs.functionUrlAuthType) {
        conditions.StringEquals = {
          ...conditions.StringEquals,
          "lambda:FunctionUrlAuthType": p.inputs.functionUrlAuthType,
        };
      }
      if (p.inputs.invokedViaFunctionUrl) {
        conditions.Bool = { "lambda:InvokedViaFunctionUrl": "true" };
      }
      return {
        Sid: p.name,
        Effect: "Allow",
        Principal:
          principal === "*"
            ? "*"
            : principal.endsWith(".amazonaws.com")
              ? { Service: principal }
              : { AWS: principal },
        Action: String(p.inputs.action),
        Resource: arn,
        ...(Object.keys(conditions).length ? { Condition: conditions } : {}),
      };
    });
}
