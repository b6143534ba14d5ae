/**
 * A workflow step as a Lambda handler. The state machine invokes it with the Task's Payload and
 * takes its return value as the result; a thrown error's name becomes Lambda's errorType, which
 * the ASL's Retry (TransientError) and Catch clauses match. Every log line of the invocation
 * carries the Step Functions execution id (`executionId`, from the Payload) and the certificate
 * request's id (`certificateRequestId`, not to be confused with Lambda's function_request_id).
 */
import type { WorkflowFunctionName } from "@spca/core/workflow/definition";
import type { StepPayloads, StepResults } from "@spca/core/workflow/engine";
import { createStepHandlers } from "@spca/core/workflow/steps/index";
import type { AwsServices } from "./aws-services.ts";
import { type LambdaContext, logger, observed, stringField } from "./observability.ts";

export type StepLambda<N extends WorkflowFunctionName> = (
  event: StepPayloads[N],
  context?: LambdaContext,
) => Promise<StepResults[N]>;

export function stepLambda<N extends WorkflowFunctionName>(
  name: N,
  services: () => AwsServices,
): StepLambda<N> {
  return observed(
    name,
    async (event: StepPayloads[N]) => {
      const handlers = createStepHandlers(services().steps);
      const step = handlers[name] as (payload: StepPayloads[N]) => Promise<StepResults[N]>;
      const started = Date.now();
      const result = await step(event);
      // Results are small and hold no secret (ids, statuses, a serial, a policy reason).
      logger.info(`${name} done`, { durationMs: Date.now() - started, result });
      return result;
    },
    {
      keys: (event) => ({
        executionId: stringField(event, "executionId"),
        certificateRequestId: stringField(event, "requestId"),
      }),
    },
  );
}
