/**
 * Starting a request's execution on AWS Step Functions, apart from the task-token calls: a
 * function that only starts executions (the request sweeper) then bundles no SendTask* command,
 * and its role holds states:StartExecution alone. SfnWorkflowEngine starts through it.
 *
 * The execution is named after the request id, so a request can never have two. AWS answers a
 * second StartExecution for a closed execution, or with other input, with
 * ExecutionAlreadyExists: we report `alreadyStarted`. For a Standard workflow a repeat with the
 * same name and input while the first is still RUNNING is idempotent in AWS and succeeds like
 * the original call, so it comes back as `alreadyStarted: false`; either way only one execution
 * exists.
 */
import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { ExecutionStarter, StartedExecution } from "./engine.ts";

export interface SfnExecutionStarterOptions {
  /** The state machine deployed from definition.asl.json. */
  stateMachineArn: string;
  /** A ready client; when absent one is built for `region` (or the environment's region). */
  client?: SFNClient;
  region?: string;
}

const STATE_MACHINE_ARN =
  /^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}):stateMachine:([A-Za-z0-9_-]+)$/;

export class SfnExecutionStarter implements ExecutionStarter {
  readonly stateMachineArn: string;
  readonly #client: SFNClient;

  constructor(options: SfnExecutionStarterOptions) {
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

  /** The ARN AWS gives the execution named `name` of this state machine. */
  executionArn(name: string): string {
    const [, prefix, machine] = STATE_MACHINE_ARN.exec(this.stateMachineArn) as RegExpExecArray;
    return `${prefix}:execution:${machine}:${name}`;
  }
}

/** SDK exceptions carry the AWS error code as `name`; compare names, not classes, so a second
 * copy of the SDK in the bundle cannot break the mapping. */
export function errorName(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}
