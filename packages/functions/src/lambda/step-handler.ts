/**
 * A workflow step as a Lambda handler. The state machine invokes it with the Task's Payload and
 * takes its return value as the result; a thrown error's name becomes Lambda's errorType, which
 * the ASL's Retry (TransientError) and Catch clauses match.
 */
import type { WorkflowFunctionName } from "@spca/core/workflow/definition";
import type { StepPayloads, StepResults } from "@spca/core/workflow/engine";
import { createStepHandlers } from "@spca/core/workflow/steps/index";
import type { AwsServices } from "./aws-services.ts";
import { containerServices } from "./container.ts";

export type StepLambda<N extends WorkflowFunctionName> = (
  event: StepPayloads[N],
) => Promise<StepResults[N]>;

export function stepLambda<N extends WorkflowFunctionName>(
  name: N,
  services: () => AwsServices = containerServices,
): StepLambda<N> {
  return async (event) => {
    const handlers = createStepHandlers(services().steps);
    return (handlers[name] as (payload: StepPayloads[N]) => Promise<StepResults[N]>)(event);
  };
}
