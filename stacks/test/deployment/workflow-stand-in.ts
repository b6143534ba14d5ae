/**
 * Step Functions for the deployed state machine, over its JSON protocol: StartExecution,
 * SendTaskSuccess and SendTaskFailure drive the local engine (aws-local-stepfunctions on the one
 * ASL document), whose Task states invoke the step functions' containers with the state
 * machine's role. Task-token problems come back as the errors Step Functions names them.
 */
import { join } from "node:path";
import {
  type WorkflowFunctionName,
  workflowFunctionNames,
} from "../../../packages/core/src/workflow/definition.ts";
import type { StepHandlers } from "../../../packages/core/src/workflow/engine.ts";
import {
  isTaskTokenError,
  type TaskTokenProblem,
} from "../../../packages/core/src/workflow/engine.ts";
import { LocalWorkflowEngine } from "../../../packages/core/src/workflow/local-engine.ts";
import { type JsonService, ServiceError, startJsonService } from "./json-service.ts";
import type { LambdaContainer } from "./lambda-container.ts";
import type { ServiceCalls } from "./service-calls.ts";
import type { SynthesizedDeployment } from "./synthesized.ts";

const tokenErrors: Record<TaskTokenProblem, string> = {
  invalid: "InvalidToken",
  "not-found": "TaskDoesNotExist",
  "timed-out": "TaskTimedOut",
};

/** A step Step Functions invoked twice (a retry after a lost response), and what each returned. */
export interface DuplicatedStep {
  readonly name: WorkflowFunctionName;
  readonly first: unknown;
  readonly second: unknown;
}

export class WorkflowStandIn {
  readonly engine: LocalWorkflowEngine;
  /**
   * Steps invoked twice with the same payload, as Step Functions does when it retries a call
   * whose response it lost: the second must return what the first did, and do no harm.
   */
  readonly invokedTwice = new Set<WorkflowFunctionName>();
  readonly duplicated: DuplicatedStep[] = [];
  private service: JsonService | undefined;
  private readonly stateMachineArn: string;

  constructor(
    deployment: SynthesizedDeployment,
    containers: Map<string, LambdaContainer>,
    calls: ServiceCalls,
    folder: string,
  ) {
    const machine = deployment.stateMachine();
    this.stateMachineArn = machine.arn;
    const handlers = Object.fromEntries(
      workflowFunctionNames.map((name: WorkflowFunctionName) => {
        const fn = deployment.fn(name);
        return [
          name,
          async (payload: unknown) => {
            const invoke = () => {
              calls.record({
                principal: machine.roleArn,
                action: "lambda:InvokeFunction",
                resource: fn.arn,
                by: "the state machine",
              });
              return containers.get(name)!.invoke(payload);
            };
            const first = await invoke();
            if (!this.invokedTwice.has(name)) return first;
            const second = await invoke();
            this.duplicated.push({ name, first, second });
            return second;
          },
        ];
      }),
    ) as unknown as StepHandlers;
    this.engine = new LocalWorkflowEngine({
      folder: join(folder, "executions"),
      handlers,
      retryIntervalMs: 10,
    });
  }

  get endpoint(): string {
    if (!this.service) throw new Error("WorkflowStandIn is not started");
    return this.service.endpoint;
  }

  async start(): Promise<void> {
    const answer = async (send: () => Promise<void>) => {
      try {
        await send();
        return {};
      } catch (error) {
        if (isTaskTokenError(error)) {
          throw new ServiceError(tokenErrors[error.problem], error.message);
        }
        throw error;
      }
    };
    this.service = await startJsonService("AWSStepFunctions", {
      StartExecution: async (input) => {
        if (input.stateMachineArn !== this.stateMachineArn) {
          throw new ServiceError(
            "StateMachineDoesNotExist",
            `State Machine Does Not Exist: '${String(input.stateMachineArn)}'`,
          );
        }
        const name = String(input.name);
        const started = await this.engine.startExecution(name);
        if (started.alreadyStarted) {
          throw new ServiceError("ExecutionAlreadyExists", `Execution Already Exists: '${name}'`);
        }
        const arn = this.stateMachineArn.replace(":stateMachine:", ":execution:");
        return { executionArn: `${arn}:${name}`, startDate: Date.now() / 1000 };
      },
      SendTaskSuccess: (input) =>
        answer(() =>
          this.engine.sendTaskSuccess(String(input.taskToken), JSON.parse(String(input.output))),
        ),
      SendTaskFailure: (input) =>
        answer(() =>
          this.engine.sendTaskFailure(
            String(input.taskToken),
            String(input.error ?? ""),
            String(input.cause ?? ""),
          ),
        ),
    });
  }

  async close(): Promise<void> {
    await this.engine.close();
    await this.service?.close();
  }
}
