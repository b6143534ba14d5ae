/**
 * The AWS Step Functions adapter of the workflow-engine port.
 *
 * - startExecution names the execution after the request id, so a request can never have two
 *   executions (SfnExecutionStarter, sfn-execution-starter.ts: ExecutionAlreadyExists is
 *   `alreadyStarted`; a repeat while the first is RUNNING with the same input succeeds as
 *   `alreadyStarted: false`; either way only one execution exists).
 * - sendTaskSuccess/sendTaskFailure map TaskDoesNotExist, InvalidToken and TaskTimedOut to
 *   TaskTokenError; anything else (throttling, access denied) is rethrown unchanged.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from "@aws-sdk/client-sfn";
import {
  type StartedExecution,
  TaskTokenError,
  type TaskTokenProblem,
  type WorkflowEngine,
} from "./engine.ts";
import {
  errorName,
  SfnExecutionStarter,
  type SfnExecutionStarterOptions,
} from "./sfn-execution-starter.ts";

export type SfnWorkflowEngineOptions = SfnExecutionStarterOptions;

/** SendTaskFailure limits, from the Step Functions API reference. */
const MAX_ERROR_LENGTH = 256;
const MAX_CAUSE_LENGTH = 32_768;

const tokenProblems: Record<string, TaskTokenProblem> = {
  InvalidToken: "invalid",
  TaskDoesNotExist: "not-found",
  TaskTimedOut: "timed-out",
};

export class SfnWorkflowEngine implements WorkflowEngine {
  readonly stateMachineArn: string;
  readonly #client: SFNClient;
  readonly #starter: SfnExecutionStarter;

  constructor(options: SfnWorkflowEngineOptions) {
    const client =
      options.client ?? new SFNClient(options.region ? { region: options.region } : {});
    this.#starter = new SfnExecutionStarter({ stateMachineArn: options.stateMachineArn, client });
    this.stateMachineArn = options.stateMachineArn;
    this.#client = client;
  }

  startExecution(requestId: string): Promise<StartedExecution> {
    return this.#starter.startExecution(requestId);
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    await this.#sendForToken(
      new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? null) }),
    );
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    await this.#sendForToken(
      new SendTaskFailureCommand({
        taskToken,
        error: error.slice(0, MAX_ERROR_LENGTH),
        cause: cause.slice(0, MAX_CAUSE_LENGTH),
      }),
    );
  }

  /** The ARN AWS gives the execution named `name` of this state machine. */
  executionArn(name: string): string {
    return this.#starter.executionArn(name);
  }

  async #sendForToken(command: SendTaskSuccessCommand | SendTaskFailureCommand): Promise<void> {
    try {
      // One send() per command type keeps the SDK's overloads happy.
      if (command instanceof SendTaskSuccessCommand) await this.#client.send(command);
      else await this.#client.send(command);
    } catch (e) {
      const problem = tokenProblems[errorName(e) ?? ""];
      if (problem) throw new TaskTokenError(problem, undefined, { cause: e });
      throw e;
    }
  }
}
