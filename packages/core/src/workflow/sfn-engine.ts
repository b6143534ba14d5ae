/**
 * The AWS Step Functions adapter of the workflow-engine port.
 *
 * - startExecution names the execution after the request id, so a request can never have two
 *   executions. AWS answers a second StartExecution for a closed execution, or with other input,
 *   with ExecutionAlreadyExists: we report `alreadyStarted`. For a Standard workflow a repeat
 *   with the same name and input while the first is still RUNNING is idempotent in AWS and
 *   succeeds like the original call, so it comes back as `alreadyStarted: false`; either way
 *   only one execution exists.
 * - sendTaskSuccess/sendTaskFailure map TaskDoesNotExist, InvalidToken and TaskTimedOut to
 *   TaskTokenError; anything else (throttling, access denied) is rethrown unchanged.
 */
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import {
  type StartedExecution,
  TaskTokenError,
  type TaskTokenProblem,
  type WorkflowEngine,
} from "./engine.ts";

export interface SfnWorkflowEngineOptions {
  /** The state machine deployed from definition.asl.json. */
  stateMachineArn: string;
  /** A ready client; when absent one is built for `region` (or the environment's region). */
  client?: SFNClient;
  region?: string;
}

const STATE_MACHINE_ARN =
  /^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}):stateMachine:([A-Za-z0-9_-]+)$/;

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

  constructor(options: SfnWorkflowEngineOptions) {
    if (!STATE_MACHINE_ARN.test(options.stateMachineArn))
      throw new Error(`"${options.stateMachineArn}" is not a state machine ARN`);
    this.stateMachineArn = options.stateMachineArn;
    this.#client =
      options.client ?? new SFNClient(options.region ? { region: options.region } : {});
  }

  async startExecution(requestId: string): Promise<StartedExecution> {
    try {
      const out = await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: requestId,
          input: JSON.stringify({ requestId }),
        }),
      );
      return {
        executionId: out.executionArn ?? this.executionArn(requestId),
        alreadyStarted: false,
      };
    } catch (e) {
      if (errorName(e) === "ExecutionAlreadyExists")
        return { executionId: this.executionArn(requestId), alreadyStarted: true };
      throw e;
    }
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
    const [, prefix, machine] = STATE_MACHINE_ARN.exec(this.stateMachineArn) as RegExpExecArray;
    return `${prefix}:execution:${machine}:${name}`;
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

/** SDK exceptions carry the AWS error code as `name`; compare names, not classes, so a second
 * copy of the SDK in the bundle cannot break the mapping. */
function errorName(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}
