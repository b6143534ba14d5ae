/**
 * Revocation enforcement on AWS (docs/enforcement.md): the gates `enforcement` names (ALB and
 * NLB trust stores, API Gateway custom domains, IAM Roles Anywhere trust anchors) follow each
 * CRL and CA-bundle change, and changes someone else makes to them are reported.
 * - EnforcementSync, only when some gate is configured (nothing to pay for otherwise): invoked
 *   on `crl.published` from the bus and by a schedule every minute, which catches up whatever
 *   an event or a failed gate left owed. Reserved concurrency 1: runs never overlap (the sync
 *   is serialised in-process too). Its grants name exactly the configured ARNs.
 * - EnforcementDrift, always: a rule on the default bus routes CloudTrail's record of the
 *   calls that change a gate or the publication bucket, except the sync's own, to it.
 */
import { EVENT_SOURCE } from "../packages/core/src/events/eventbridge-bus.ts";
import {
  CLOUDTRAIL_DETAIL_TYPE,
  DRIFT_CALLS,
  deploymentName,
} from "../packages/functions/src/lambda/enforcement-names.ts";
import type { AwsContext } from "./aws-context.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import type { EnforcementGrantTargets } from "./permissions.ts";
import { functionSchedule } from "./trust.ts";

/** As often as the CRL schedule: a gate is at most about a minute behind a missed event. */
export const ENFORCEMENT_SCHEDULE_EXPRESSION = "rate(1 minute)";

/** Room for IAM Roles Anywhere's one call a second across several trust anchors. */
export const ENFORCEMENT_SYNC_TIMEOUT_SECONDS = 120;

export interface Enforcement {
  /** Undefined when no gate is configured. */
  readonly sync: sst.aws.Function | undefined;
  readonly schedule: sst.aws.CronV2 | undefined;
  readonly drift: sst.aws.Function;
  readonly driftRule: aws.cloudwatch.EventRule;
}

export function enforcement(
  ctx: FunctionContext,
  context: AwsContext,
  bus: sst.aws.Bus,
): Enforcement {
  const { albTrustStores, apiGatewayDomains, rolesAnywhereTrustAnchors } = ctx.d.config.enforcement;
  const gates: EnforcementGrantTargets = {
    albTrustStores,
    apiGatewayDomains,
    rolesAnywhereTrustAnchors,
    deployment: deploymentName(ctx.d.app, ctx.d.stage),
  };
  const configured =
    albTrustStores.length + apiGatewayDomains.length + rolesAnywhereTrustAnchors.length > 0;

  let sync: sst.aws.Function | undefined;
  let schedule: sst.aws.CronV2 | undefined;
  if (configured) {
    sync = pkiFunction(
      { ...ctx, targets: { ...ctx.targets, enforcement: gates } },
      "EnforcementSync",
      {
        handler: lambdaHandler("enforcement-sync"),
        timeout: `${ENFORCEMENT_SYNC_TIMEOUT_SECONDS} seconds`,
        environment: { PKI_DEPLOYMENT: gates.deployment },
        reservedConcurrency: 1,
      },
    );
    // Throttled or failed deliveries are not worth keeping: the next scheduled run does the
    // same work from the recorded state.
    new aws.lambda.FunctionEventInvokeConfig("EnforcementSyncDelivery", {
      functionName: sync.name,
      maximumRetryAttempts: 0,
      maximumEventAgeInSeconds: 300,
    });
    bus.subscribe("EnforcementSync", sync.arn, {
      pattern: { source: [EVENT_SOURCE], detailType: ["crl.published"] },
    });
    schedule = functionSchedule(
      context,
      "EnforcementSchedule",
      sync.arn,
      ENFORCEMENT_SCHEDULE_EXPRESSION,
    );
  }

  const caRoles = sync ? [sync.nodes.role.arn] : [];
  const drift = pkiFunction(ctx, "EnforcementDrift", {
    handler: lambdaHandler("enforcement-drift"),
    environment: { PKI_CA_ROLE_ARNS: $resolve(caRoles).apply((arns) => arns.join(",")) },
  });
  const driftRule = driftRouting(drift, caRoles);
  return { sync, schedule, drift, driftRule };
}

/**
 * The CloudTrail calls that change a gate or the publication bucket, from the default bus (where
 * AWS services' events arrive), to the drift function. Calls by the CA's own roles are left out
 * here already. `anything-but` does not match an event without the field, so calls without a
 * role session (an IAM user, the root) are matched by the second branch.
 */
export function driftPattern(caRoleArns: readonly string[]) {
  const issuerArn = (match: unknown) => ({
    userIdentity: { sessionContext: { sessionIssuer: { arn: [match] } } },
  });
  return {
    source: Object.keys(DRIFT_CALLS),
    "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
    detail: {
      eventName: Object.values(DRIFT_CALLS).flat(),
      ...(caRoleArns.length > 0
        ? { $or: [issuerArn({ "anything-but": [...caRoleArns] }), issuerArn({ exists: false })] }
        : {}),
    },
  };
}

function driftRouting(
  drift: sst.aws.Function,
  caRoles: $util.Input<string>[],
): aws.cloudwatch.EventRule {
  const rule = new aws.cloudwatch.EventRule("EnforcementDriftRule", {
    eventBusName: "default",
    description: "Changes to the CA's gates or publication bucket made by anyone but the CA",
    eventPattern: $resolve(caRoles).apply((arns) => JSON.stringify(driftPattern(arns))),
  });
  new aws.cloudwatch.EventTarget("EnforcementDriftTarget", {
    rule: rule.name,
    eventBusName: "default",
    arn: drift.arn,
  });
  new aws.lambda.Permission("EnforcementDriftPermission", {
    action: "lambda:InvokeFunction",
    function: drift.name,
    principal: "events.amazonaws.com",
    sourceArn: rule.arn,
  });
  return rule;
}
