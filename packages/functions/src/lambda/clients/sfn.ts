/** Step Functions: the workflow engine on the deployed state machine (only the API uses it). */
import { SFNClient } from "@aws-sdk/client-sfn";
import { PkiError } from "@spca/core/errors";
import { SfnWorkflowEngine } from "@spca/core/workflow/sfn-engine";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function sfnAdapters(
  client: () => SFNClient = () => logCalls(tracedClient(new SFNClient({})), sfnRequests),
): Required<Pick<AwsAdapters, "engine">> {
  return {
    engine: ({ stateMachineArn }) => {
      if (!stateMachineArn) {
        throw new PkiError(
          "CONFIG_INVALID",
          "The environment variable PKI_STATE_MACHINE_ARN is not set.",
        );
      }
      return new SfnWorkflowEngine({ stateMachineArn, client: client() });
    },
  };
}

/** StartExecution is authorized on the state machine; the task-token calls have no resource
 * type (the token is the only handle), so IAM evaluates them on "*". */
export const sfnRequests: IamRequestsOf = (operation, input) => [
  {
    action: `states:${operation}`,
    resource: operation === "StartExecution" ? String(input.stateMachineArn) : "*",
  },
];
