/**
 * Step Functions on the deployed state machine: the whole workflow engine for the API, which
 * also answers the approval wait, and a starter alone for the request sweeper, whose bundle
 * then holds no SendTask* command (its role may only start executions).
 */
import { SFNClient } from "@aws-sdk/client-sfn";
import { PkiError } from "@spca/core/errors";
import { SfnWorkflowEngine } from "@spca/core/workflow/sfn-engine";
import { SfnExecutionStarter } from "@spca/core/workflow/sfn-execution-starter";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequestsOf, logCalls } from "../sdk-call-log.ts";
import type { LambdaSettings } from "../settings.ts";

const defaultClient = () => logCalls(tracedClient(new SFNClient({})), sfnRequests);

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function sfnAdapters(
  client: () => SFNClient = defaultClient,
): Required<Pick<AwsAdapters, "engine">> {
  return {
    engine: (settings) =>
      new SfnWorkflowEngine({ stateMachineArn: stateMachineOf(settings), client: client() }),
  };
}

/** Starting executions only (the request sweeper). */
export function sfnStarterAdapters(
  client: () => SFNClient = defaultClient,
): Required<Pick<AwsAdapters, "starter">> {
  return {
    starter: (settings) =>
      new SfnExecutionStarter({ stateMachineArn: stateMachineOf(settings), client: client() }),
  };
}

function stateMachineOf({ stateMachineArn }: LambdaSettings): string {
  if (!stateMachineArn) {
    throw new PkiError(
      "CONFIG_INVALID",
      "The environment variable PKI_STATE_MACHINE_ARN is not set.",
    );
  }
  return stateMachineArn;
}

/** StartExecution is authorized on the state machine; the task-token calls have no resource
 * type (the token is the only handle), so IAM evaluates them on "*". */
export const sfnRequests: IamRequestsOf = (operation, input) => [
  {
    action: `states:${operation}`,
    resource: operation === "StartExecution" ? String(input.stateMachineArn) : "*",
  },
];
