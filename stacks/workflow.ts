/**
 * The request workflow: one Lambda per step and the state machine deployed from the one ASL
 * document in packages/core (the same JSON the local engine runs), with a role that may only
 * invoke those seven functions and deliver its logs. SST's StepFunctions component is not used:
 * it takes its own builder chain (JSONata) and mis-serializes timeouts (../shared notes).
 */
import { logRetentionDays } from "../packages/core/src/policy/aws-config.ts";
import {
  renderDefinition,
  type WorkflowFunctionName,
  workflowFunctionNames,
} from "../packages/core/src/workflow/definition.ts";
import type { AwsContext } from "./aws-context.ts";
import { type FunctionContext, lambdaHandler, pkiFunction } from "./functions.ts";
import { type Deployment, functionName } from "./settings.ts";
import { fromSource, serviceTrust } from "./trust.ts";

/** The entry file of each step, under packages/functions/src/lambda/steps/. */
const stepFiles: Record<WorkflowFunctionName, string> = {
  ValidateRequest: "steps/validate-request",
  StoreRequest: "steps/store-request",
  RequestApproval: "steps/request-approval",
  SignCertificate: "steps/sign-certificate",
  StoreCertificate: "steps/store-certificate",
  RecordOutcome: "steps/record-outcome",
  NotifyRequester: "steps/notify-requester",
};

export interface Workflow {
  readonly steps: Record<WorkflowFunctionName, sst.aws.Function>;
  readonly stateMachine: aws.sfn.StateMachine;
  readonly role: aws.iam.Role;
}

export function workflow(ctx: FunctionContext, context: AwsContext): Workflow {
  const d: Deployment = ctx.d;
  const steps = Object.fromEntries(
    workflowFunctionNames.map((name) => [
      name,
      pkiFunction(ctx, name, { handler: lambdaHandler(stepFiles[name]) }),
    ]),
  ) as Record<WorkflowFunctionName, sst.aws.Function>;

  const machineName = functionName(d, "Workflow");
  const logGroup = new aws.cloudwatch.LogGroup("WorkflowLogs", {
    name: `/aws/vendedlogs/states/${machineName}`,
    retentionInDays: logRetentionDays[d.config.aws.logRetention],
  });

  const role = new aws.iam.Role("WorkflowRole", {
    // Only this state machine, in this account, may use the role (confused deputy).
    assumeRolePolicy: serviceTrust(
      "states.amazonaws.com",
      fromSource(
        context,
        $interpolate`arn:${context.partition}:states:${context.region}:${context.accountId}:stateMachine:${machineName}`,
      ),
    ),
    inlinePolicies: [
      {
        name: "workflow",
        policy: aws.iam.getPolicyDocumentOutput({
          statements: [
            {
              actions: ["lambda:InvokeFunction"],
              resources: workflowFunctionNames.map((name) => steps[name].arn),
            },
            {
              // Log delivery to CloudWatch Logs is authorized on * only (vended logs).
              actions: [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
              ],
              resources: ["*"],
            },
            {
              actions: [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
              ],
              resources: ["*"],
            },
          ],
        }).json,
      },
    ],
  });

  const arns = $util.all(
    Object.fromEntries(workflowFunctionNames.map((name) => [name, steps[name].arn])),
  );
  const stateMachine = new aws.sfn.StateMachine("Workflow", {
    name: machineName,
    type: "STANDARD",
    roleArn: role.arn,
    // renderDefinition refuses a missing, unknown or malformed ARN: no placeholder ships.
    definition: arns.apply((resolved) =>
      renderDefinition(resolved as Record<WorkflowFunctionName, string>),
    ),
    loggingConfiguration: {
      logDestination: $interpolate`${logGroup.arn}:*`,
      level: "ALL",
      // Execution data carries CSRs and email addresses: logs keep the transitions only.
      includeExecutionData: false,
    },
    tracingConfiguration: { enabled: true },
  });

  return { steps, stateMachine, role };
}
