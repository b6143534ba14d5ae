/**
 * The workflow-engine port: start a request's execution and answer its approval callback.
 * Adapters: `SfnWorkflowEngine` (AWS Step Functions) and `LocalWorkflowEngine`
 * (aws-local-stepfunctions in this process). Both run the same ASL document, definition.asl.json.
 */
import type { WorkflowFunctionName } from "./definition.ts";

export interface StartedExecution {
  /** The execution ARN on AWS, the request id locally. */
  readonly executionId: string;
  /** True when an execution with this name existed already; nothing new was started. */
  readonly alreadyStarted: boolean;
}

/** The part of the engine that starts executions (all the request sweeper needs). */
export interface ExecutionStarter {
  /** Starts the workflow for a stored request; the request id is the execution name. */
  startExecution(requestId: string): Promise<StartedExecution>;
}

export interface WorkflowEngine extends ExecutionStarter {
  /** Completes the open callback task (RequestApproval): `output` lands at `$.decision`. */
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  /** Fails the open callback task with `error` (e.g. "Rejected"), which the ASL Catch matches. */
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

/**
 * Why a task token was refused: `invalid` (malformed, or not issued by this engine),
 * `not-found` (unknown, or its task is already over), `timed-out` (its task timed out).
 */
export type TaskTokenProblem = "invalid" | "not-found" | "timed-out";

/** A task token that cannot complete anything; the API answers it with a 4xx. */
export class TaskTokenError extends Error {
  override readonly name = "TaskTokenError";
  readonly problem: TaskTokenProblem;

  constructor(problem: TaskTokenProblem, message?: string, options?: ErrorOptions) {
    super(message ?? defaultMessages[problem], options);
    this.problem = problem;
  }
}

const defaultMessages: Record<TaskTokenProblem, string> = {
  invalid: "The task token is not valid.",
  "not-found": "The task token does not match an open task; it may have been used already.",
  "timed-out": "The task this token belongs to has timed out.",
};

export function isTaskTokenError(value: unknown): value is TaskTokenError {
  return value instanceof TaskTokenError;
}

/** What a Catch puts at `$.error`. For a Lambda error, Cause is the JSON text
 * `{"errorType","errorMessage","trace"}`; for SendTaskFailure it is the cause as sent. */
export interface CaughtError {
  readonly Error: string;
  readonly Cause?: string | null;
}

/**
 * What every Task state adds to its Payload: the execution the call belongs to
 * (`$$.Execution.Id`, the execution ARN on AWS). Only for correlation (the Lambda wrappers put it
 * on their log lines); no step depends on it, so a caller may leave it out.
 */
export interface StepCorrelation {
  executionId?: string;
}

/** The Payload each step function receives (its Task state's `Parameters.Payload`). */
export interface StepPayloads {
  ValidateRequest: { requestId: string } & StepCorrelation;
  StoreRequest: { requestId: string } & StepCorrelation;
  RequestApproval: { requestId: string; taskToken: string } & StepCorrelation;
  SignCertificate: { requestId: string } & StepCorrelation;
  StoreCertificate: { requestId: string; serial: string } & StepCorrelation;
  RecordOutcome: (
    | { requestId: string; outcome: "rejected" | "failed"; error: CaughtError }
    | { requestId: string; outcome: "expired" }
  ) &
    StepCorrelation;
  NotifyRequester: {
    requestId: string;
    outcome: "issued" | "rejected" | "expired" | "failed";
  } & StepCorrelation;
}

/**
 * What each step function returns. Every declared field must be present (`null` rather than
 * absent): the ResultSelectors name them, and a missing one fails the execution. Results of
 * RequestApproval and NotifyRequester are discarded, and RecordOutcome's everywhere but after
 * ExpireRequest.
 */
export interface StepResults {
  ValidateRequest: {
    valid: boolean;
    automatic: boolean;
    approvalTimeoutSeconds: number;
    reason: string | null;
  };
  StoreRequest: { status: string };
  RequestApproval: unknown;
  SignCertificate: { serial: string };
  StoreCertificate: { status: string };
  /** The request's status afterwards; ExpireRequest branches on it. */
  RecordOutcome: { status: "rejected" | "expired" | "failed" | "approved" };
  NotifyRequester: unknown;
}

/** One plain async function per step function; the Lambda wrappers and the local engine call them. */
export type StepHandlers = {
  readonly [N in WorkflowFunctionName]: (payload: StepPayloads[N]) => Promise<StepResults[N]>;
};
