/**
 * The sweep for stranded requests on AWS. The API stores a request and then starts its
 * execution; if the function dies between the two, the request stays `submitted` with no
 * workflow. An EventBridge Scheduler schedule runs the RequestSweeper every five minutes, which
 * starts those executions (packages/functions/src/lambda/request-sweeper.ts): a stranded
 * request is started at most about seven minutes after it was stored (docs/workflow.md).
 */
import type { AwsContext } from "./aws-context.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import { functionSchedule } from "./trust.ts";

/**
 * Every five minutes: a run that finds nothing is one index Query, about 8,640 a month
 * (docs/cost.md).
 */
export const SWEEPER_SCHEDULE_EXPRESSION = "rate(5 minutes)";

export function requestSweeper(
  ctx: FunctionContext,
  context: AwsContext,
  stateMachineArn: $util.Input<string>,
) {
  const sweeper = pkiFunction(
    // Its grants include states:StartExecution on the state machine.
    { ...ctx, targets: { ...ctx.targets, stateMachineArn } },
    "RequestSweeper",
    {
      handler: lambdaHandler("request-sweeper"),
      timeout: "60 seconds",
      environment: { PKI_STATE_MACHINE_ARN: stateMachineArn },
    },
  );
  const schedule = functionSchedule(
    context,
    "RequestSweeperSchedule",
    sweeper.arn,
    SWEEPER_SCHEDULE_EXPRESSION,
  );
  return { sweeper, schedule };
}
