/**
 * What AWS services are trusted with: the roles they assume and the resources they act on.
 * - Each role may be assumed by its one AWS service and by nothing else. SST's own Lambda trust
 *   (SST 4.17.1 function.ts tests `!dev` on an Output, which is always false) would also trust the
 *   account root, letting any principal allowed sts:AssumeRole act as the function.
 * - Services that act for many accounts (Step Functions, EventBridge and its Scheduler, SES) get
 *   the confused-deputy conditions AWS documents: this account, and the one resource of ours
 *   that is the source (the state machine, the schedule group, the rule, the configuration set).
 */
import type { AwsContext } from "./aws-context.ts";

export interface SourceCondition {
  readonly test: string;
  readonly variable: string;
  readonly values: $util.Input<string>[];
}

/** Only when `arn`, in this account, is the source of the service's request. */
export function fromSource(context: AwsContext, arn: $util.Input<string>): SourceCondition[] {
  return [
    { test: "StringEquals", variable: "aws:SourceAccount", values: [context.accountId] },
    { test: "ArnLike", variable: "aws:SourceArn", values: [arn] },
  ];
}

/** A trust policy: `service` alone may assume the role (under `conditions`). */
export function serviceTrust(
  service: string,
  conditions: readonly SourceCondition[] = [],
): $util.Output<string> {
  return aws.iam.getPolicyDocumentOutput({
    statements: [
      {
        actions: ["sts:AssumeRole"],
        principals: [{ type: "Service", identifiers: [service] }],
        ...(conditions.length ? { conditions: [...conditions] } : {}),
      },
    ],
  }).json;
}

/** A resource policy: `service` may do `actions` on `resource`, for `sourceArn` alone. */
export function serviceResourcePolicy(
  service: string,
  actions: string[],
  resource: $util.Input<string>,
  context: AwsContext,
  sourceArn: $util.Input<string>,
): $util.Output<string> {
  return aws.iam.getPolicyDocumentOutput({
    statements: [
      {
        actions,
        principals: [{ type: "Service", identifiers: [service] }],
        resources: [resource],
        conditions: fromSource(context, sourceArn),
      },
    ],
  }).json;
}

/**
 * An EventBridge Scheduler schedule invoking `functionArn` with `{"source":"schedule"}`. Its
 * role trusts the scheduler of this account's `default` schedule group only (SST's own role
 * trusts the service from anywhere).
 */
export function functionSchedule(
  context: AwsContext,
  name: string,
  functionArn: $util.Input<string>,
  expression: `rate(${string})`,
): sst.aws.CronV2 {
  const scheduleGroup = $interpolate`arn:${context.partition}:scheduler:${context.region}:${context.accountId}:schedule-group/default`;
  return new sst.aws.CronV2(name, {
    function: functionArn,
    schedule: expression,
    event: { source: "schedule" },
    transform: {
      role: (args) => {
        args.assumeRolePolicy = serviceTrust(
          "scheduler.amazonaws.com",
          fromSource(context, scheduleGroup),
        );
      },
    },
  });
}
