/**
 * The local adapter of the workflow-engine port: runs the same rendered definition.asl.json
 * with aws-local-stepfunctions in this process, each Task state calling its step handler, and
 * keeps every execution's position in a folder so a restarted process can carry on.
 *
 * What aws-local-stepfunctions does natively, and what this engine adds:
 * - Task states: `taskResourceLocalHandlers` replaces the Lambda call per state. The handler
 *   receives the state's effective input (`{FunctionName, Payload}` after Parameters); we call
 *   the step function with `Payload` and answer like the `lambda:invoke` integration
 *   (`{ExecutedVersion, Payload, StatusCode}`), so the same ResultSelectors read `$.Payload`.
 * - Errors: Retry and Catch match `error.name` of whatever a local handler throws, so
 *   "TransientError" and SendTaskFailure's error name ("Rejected") work as on AWS. We rethrow a
 *   step function's error with its name kept and Lambda's Cause text
 *   (`{"errorType","errorMessage","trace"}`), which is what Catch puts in `$.error.Cause` on AWS.
 *   `retryIntervalMs` uses the library's `retryIntervalOverrides` to keep tests fast.
 * - `.waitForTaskToken`: not modelled (the library would call the handler and use its return
 *   value). The context object has no `Task.Token` either; we pass one per run through the
 *   `context` option, so `$$.Task.Token` resolves (`<executionId>.<random>`, so an answer finds
 *   its record). Unlike AWS, a retried callback state keeps its token. The callback state's
 *   handler here calls the step function once, then waits until sendTaskSuccess or
 *   sendTaskFailure (recorded before the run is told, so a restart keeps the answer) or the
 *   deadline.
 * - TimeoutSecondsPath: the library resolves it against the input after Parameters (AWS uses
 *   the state input), would not survive a restart, and falls back to a 60 s timeout. So this
 *   engine resolves the timeout itself against the state input, keeps the deadline in the
 *   execution record, and ends the wait by throwing "States.Timeout", which the ASL Catch
 *   routes to ExpireRequest. The library's own timer on that state is set just beyond our
 *   longest single wait; waits longer than that are re-armed (see below).
 * - Persistence and restart: none in the library. The engine follows `StateEntered` events and
 *   writes `{state, stateInput}` atomically before the state's handler may run, so a restart
 *   never skips a state. `resume()` runs the SAME document again with `StartAt` set to the
 *   persisted state and that state's input: one execution continued, not a second workflow
 *   (step functions are idempotent, so a state cut off mid-way runs again safely). A callback
 *   state whose function has already been called is resumed without calling it again: it
 *   waits for the same token until the original deadline.
 * - Waits beyond setTimeout's range (about 24.8 days; approval windows reach a year) end the
 *   run and resume it from the record, which re-arms the timers: the same code path as a
 *   restart.
 * - close() stops every run (timers included); step calls in progress get a grace period to
 *   finish, so a RequestApproval that has sent its mails is recorded as done.
 *
 * One engine per folder at a time. Records are `<folder>/<executionId>.json`.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  ExecutionError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from "aws-local-stepfunctions";
import { createOnce, readJson, writeAtomic } from "../store/files.ts";
import {
  renderDefinition,
  type WorkflowFunctionArns,
  type WorkflowFunctionName,
  workflowFunctionNames,
} from "./definition.ts";
import {
  type StartedExecution,
  type StepHandlers,
  TaskTokenError,
  type WorkflowEngine,
} from "./engine.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Execution = ReturnType<StateMachine["run"]>;
/** One entry of aws-local-stepfunctions' execution event log. */
export type ExecutionEvent = Execution["eventLogs"] extends AsyncGenerator<infer E> ? E : never;
type LocalHandlers = NonNullable<NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]>;

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED";

export interface ExecutionDescription {
  readonly executionId: string;
  readonly status: ExecutionStatus;
  /** The state the execution is in, or ended in. */
  readonly state: string;
  readonly input: unknown;
  readonly output: unknown;
  /** For FAILED: the error name (e.g. "RequestFailed" from the Fail state) and its cause. */
  readonly error: string | null;
  readonly cause: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

export interface LocalWorkflowEngineOptions {
  /** Folder for the execution records. */
  folder: string;
  handlers: StepHandlers;
  /** Pause before every retry in ms, instead of the ASL backoff (tests). */
  retryIntervalMs?: number;
  /** Every event aws-local-stepfunctions logs, tagged with its execution. */
  onEvent?: (executionId: string, event: ExecutionEvent) => void;
  /** Failures of the engine itself (a record that cannot be written …); default console.error. */
  onError?: (executionId: string, error: unknown) => void;
  /** Longest single timer of a callback wait before the run is re-armed (tests). */
  maxWaitMs?: number;
  /** How long close() lets step calls in progress finish and record their effect (5000 ms). */
  closeGraceMs?: number;
}

/** The fake ARNs the local engine renders the definition with. */
export function localFunctionArns(): WorkflowFunctionArns {
  return Object.fromEntries(
    workflowFunctionNames.map((name) => [
      name,
      `arn:aws:lambda:us-east-1:000000000000:function:spca-local-${name}`,
    ]),
  ) as Record<WorkflowFunctionName, string>;
}

/** Execution names follow the Step Functions rule we rely on: 1–80 of [A-Za-z0-9_-]. */
const EXECUTION_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** `<executionId>.<32 random base64url characters>`: the record to look in, and a secret. */
const TASK_TOKEN = /^([A-Za-z0-9_-]{1,80})\.[A-Za-z0-9_-]{32}$/;
/** ~23 days: our timers stay below setTimeout's 2^31-1 ms and below this library timer. */
const LIBRARY_CALLBACK_TIMEOUT_SECONDS = 2_000_000;
const DEFAULT_MAX_WAIT_MS = 20 * 24 * 3600 * 1000;
/** AWS's Task timeout when a state sets none. */
const AWS_DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;

type CallbackResult =
  | { readonly type: "success"; readonly output: Json }
  | { readonly type: "failure"; readonly error: string; readonly cause: string }
  | { readonly type: "timeout" };

/** An open callback task (waitForTaskToken) of an execution. */
interface OpenCallback {
  readonly state: string;
  readonly token: string;
  readonly deadline: string;
  /** True once the state's step function returned: never call it again for this token. */
  delivered: boolean;
  /** The answer, kept until the execution has moved to the next state. */
  result: CallbackResult | null;
}

interface ExecutionRecord {
  version: 1;
  executionId: string;
  input: Json;
  status: ExecutionStatus;
  state: string;
  stateInput: Json;
  callback: OpenCallback | null;
  /** Tokens of callback tasks that are over, so a late answer gets the right error. */
  closedTokens: Record<string, "completed" | "timed-out">;
  output: Json;
  error: string | null;
  cause: string | null;
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
}

interface CallbackSpec {
  readonly timeoutSeconds: number | undefined;
  readonly timeoutPath: readonly (string | number)[] | undefined;
  readonly timeoutPathText: string | undefined;
}

interface TaskSpec {
  readonly fn: WorkflowFunctionName;
  readonly callback: CallbackSpec | null;
}

type StopReason = "close" | "rearm" | "error";

/** One run of the state machine for an execution: from its start or from a resume. */
interface Run {
  readonly record: ExecutionRecord;
  /** `$$.Task.Token` for this run. */
  readonly token: string;
  /** The last state whose entry has been persisted. */
  current: string | null;
  readonly enteredWaiters: { state: string; resolve: () => void; reject: (e: Error) => void }[];
  wait: { settle: (result: CallbackResult) => void; interrupt: (e: Error) => void } | null;
  stopping: StopReason | null;
  /** Step calls in progress. */
  readonly inflight: Set<Promise<unknown>>;
  /** Rejects once a stopped run has let its calls finish (or their grace ran out), so no
   * abandoned call keeps the library, and its timers, waiting. */
  readonly stopped: Promise<never>;
  readonly rejectStopped: (e: Error) => void;
  /** Set when stopped and drained: late results of abandoned calls are no longer recorded. */
  released: boolean;
  drained: Promise<void>;
  abort: () => void;
  done: Promise<void>;
}

/**
 * Stops a run without a state-machine outcome (close(), re-arm, engine error). The library asks
 * a thrown error `isRetryable`/`isCatchable` (its own errors' getters; `?? true` for others), so
 * with both false no Retry or Catch of the ASL can take it and the run ends.
 */
class RunInterrupted extends Error {
  override readonly name = "LocalEngine.Interrupted";
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** As AWS's States.Runtime: not retried, not caught, the execution fails. */
class StatesRuntimeError extends Error {
  override readonly name = "States.Runtime";
  readonly isRetryable = false;
  readonly isCatchable = false;
}

export class LocalWorkflowEngine implements WorkflowEngine {
  readonly #folder: string;
  readonly #handlers: StepHandlers;
  readonly #definition: StateMachineDefinition;
  readonly #tasks = new Map<string, TaskSpec>();
  readonly #retryOverrides: Record<string, number> | undefined;
  readonly #onEvent: LocalWorkflowEngineOptions["onEvent"];
  readonly #onError: (executionId: string, error: unknown) => void;
  readonly #maxWaitMs: number;
  readonly #closeGraceMs: number;
  readonly #runs = new Map<string, Run>();
  readonly #settledWaiters = new Map<string, ((d: ExecutionDescription) => void)[]>();
  #closed = false;

  constructor(options: LocalWorkflowEngineOptions) {
    this.#folder = options.folder;
    this.#handlers = options.handlers;
    this.#onEvent = options.onEvent;
    this.#onError =
      options.onError ?? ((id, error) => console.error(`workflow engine: execution ${id}:`, error));
    this.#maxWaitMs = Math.min(options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, DEFAULT_MAX_WAIT_MS);
    this.#closeGraceMs = options.closeGraceMs ?? 5000;
    mkdirSync(this.#folder, { recursive: true });

    const arns = localFunctionArns();
    const functionByArn = new Map<string, WorkflowFunctionName>(
      workflowFunctionNames.map((name) => [arns[name], name]),
    );
    const definition = JSON.parse(renderDefinition(arns)) as StateMachineDefinition;
    // Validates the whole document once (asl-validator inside the library); runs then skip it.
    new StateMachine(definition);

    const retryOverrides: Record<string, number> = {};
    for (const [name, state] of Object.entries(definition.States)) {
      if ("Retry" in state && options.retryIntervalMs !== undefined)
        retryOverrides[name] = options.retryIntervalMs;
      if (state.Type !== "Task") continue;
      const functionName = (state.Parameters as { FunctionName?: unknown } | undefined)
        ?.FunctionName;
      const fn = typeof functionName === "string" ? functionByArn.get(functionName) : undefined;
      if (!fn || !state.Resource.startsWith("arn:aws:states:::lambda:invoke"))
        throw new Error(`Task state ${name} is not a lambda:invoke of a workflow function`);
      if (!state.Resource.endsWith(".waitForTaskToken")) {
        this.#tasks.set(name, { fn, callback: null });
        continue;
      }
      if ("HeartbeatSeconds" in state || "HeartbeatSecondsPath" in state)
        throw new Error(`Task state ${name}: heartbeats are not supported by the local engine`);
      const pathText = state.TimeoutSecondsPath;
      this.#tasks.set(name, {
        fn,
        callback: {
          timeoutSeconds: state.TimeoutSeconds,
          timeoutPath: pathText === undefined ? undefined : parseReferencePath(pathText),
          timeoutPathText: pathText,
        },
      });
      // Our wait enforces the real timeout; the library's timer must never fire first.
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = LIBRARY_CALLBACK_TIMEOUT_SECONDS;
    }
    this.#definition = definition;
    this.#retryOverrides = options.retryIntervalMs === undefined ? undefined : retryOverrides;
  }

  async startExecution(requestId: string): Promise<StartedExecution> {
    this.#assertOpen();
    if (!EXECUTION_ID.test(requestId))
      throw new Error(`"${requestId}" cannot name an execution: use 1-80 of [A-Za-z0-9_-]`);
    const record = this.#newRecord(requestId);
    // The record is created once: a second start finds it and runs nothing.
    if (!createOnce(this.#path(requestId), JSON.stringify(record, null, 2)))
      return { executionId: requestId, alreadyStarted: true };
    this.#launch(record);
    return { executionId: requestId, alreadyStarted: false };
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    this.#complete(taskToken, { type: "success", output: toJson(output) });
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    this.#complete(taskToken, { type: "failure", error, cause });
  }

  /**
   * Continues every unfinished execution in the folder (after a restart). Returns their ids.
   */
  async resume(): Promise<string[]> {
    this.#assertOpen();
    const resumed: string[] = [];
    for (const file of readdirSync(this.#folder).sort()) {
      const id = /^([A-Za-z0-9_-]{1,80})\.json$/.exec(file)?.[1];
      if (!id || this.#runs.has(id)) continue;
      let record: ExecutionRecord | undefined;
      try {
        record = readJson<ExecutionRecord>(this.#path(id));
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        // Only the creation is not atomic (createOnce); a torn record never got past its
        // first state, so it starts again from the beginning.
        record = this.#newRecord(id);
        this.#save(record);
      }
      if (record?.status !== "RUNNING") continue;
      this.#launch(record);
      resumed.push(id);
    }
    return resumed;
  }

  describeExecution(executionId: string): ExecutionDescription | undefined {
    if (!EXECUTION_ID.test(executionId)) return undefined;
    const record = this.#runs.get(executionId)?.record ?? this.#read(executionId);
    return record && describe(record);
  }

  /** Resolves when the execution has ended, or at close() (then still RUNNING). */
  waitForExecution(executionId: string): Promise<ExecutionDescription> {
    const description = this.describeExecution(executionId);
    if (!description) return Promise.reject(new Error(`No execution ${executionId}`));
    if (description.status !== "RUNNING" || this.#closed) return Promise.resolve(description);
    return new Promise((resolve) => {
      const list = this.#settledWaiters.get(executionId) ?? [];
      list.push(resolve);
      this.#settledWaiters.set(executionId, list);
    });
  }

  /**
   * Stops every run in this process, leaving each execution where its record says (resume()
   * in a new engine continues them) and clearing every timer.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const runs = [...this.#runs.values()];
    for (const run of runs) this.#stop(run, "close");
    await Promise.allSettled(runs.flatMap((run) => [run.done, run.drained]));
    for (const id of [...this.#settledWaiters.keys()]) this.#notifySettled(id);
  }

  #launch(record: ExecutionRecord): void {
    const id = record.executionId;
    const token =
      record.callback?.state === record.state ? record.callback.token : newTaskToken(id);
    if (!(record.state in this.#definition.States)) {
      this.#onError(id, new Error(`State ${record.state} is not in the definition; not resumed`));
      return;
    }
    // A resumed run is the same document entered at the persisted state; the library's
    // validator would only object that the states before it are unreachable.
    const definition =
      record.state === this.#definition.StartAt
        ? this.#definition
        : { ...this.#definition, StartAt: record.state };
    const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
    const stopped = Promise.withResolvers<never>();
    stopped.promise.catch(() => {});
    const run: Run = {
      record,
      token,
      current: null,
      enteredWaiters: [],
      wait: null,
      stopping: null,
      inflight: new Set(),
      stopped: stopped.promise,
      rejectStopped: stopped.reject,
      released: false,
      drained: Promise.resolve(),
      abort: () => {},
      done: Promise.resolve(),
    };
    const execution = machine.run(record.stateInput, {
      overrides: {
        taskResourceLocalHandlers: this.#localHandlers(run),
        ...(this.#retryOverrides && { retryIntervalOverrides: this.#retryOverrides }),
      },
      noThrowOnAbort: true,
      context: {
        Execution: {
          Id: `arn:aws:states:us-east-1:000000000000:execution:spca-local:${id}`,
          Name: id,
        },
        Task: { Token: token },
      },
    });
    run.abort = execution.abort;
    this.#runs.set(id, run);
    run.done = this.#drive(run, execution)
      .catch((e) => this.#onError(id, e))
      .finally(() => {
        if (this.#runs.get(id) === run) this.#runs.delete(id);
        if (run.stopping === "rearm" && !this.#closed && record.status === "RUNNING")
          this.#launch(record);
        else this.#notifySettled(id);
      });
  }

  async #drive(run: Run, execution: Execution): Promise<void> {
    const consumed = this.#follow(run, execution.eventLogs);
    let outcome: { ok: true; output: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, output: await execution.result };
    } catch (error) {
      outcome = { ok: false, error };
    }
    await consumed;
    if (run.stopping) return;
    const record = run.record;
    if (outcome.ok) {
      record.status = "SUCCEEDED";
      record.output = toJson(outcome.output);
    } else {
      const cause = outcome.error instanceof ExecutionError ? outcome.error.cause : outcome.error;
      record.status = "FAILED";
      record.error = cause instanceof Error ? cause.name : "Error";
      record.cause = cause instanceof Error ? cause.message : String(cause);
    }
    closeCallback(record);
    record.endedAt = new Date().toISOString();
    this.#save(record);
  }

  /** Persists each state entry, then lets that state's handler run. */
  async #follow(run: Run, events: AsyncGenerator<ExecutionEvent>): Promise<void> {
    const id = run.record.executionId;
    for await (const event of events) {
      if (event.type === "StateEntered" && !run.stopping) {
        try {
          this.#enter(run.record, event.state.name, event.state.input as Json);
          run.current = event.state.name;
          for (const waiter of run.enteredWaiters.splice(0)) {
            if (waiter.state === run.current) waiter.resolve();
            else run.enteredWaiters.push(waiter);
          }
        } catch (e) {
          this.#onError(id, e);
          this.#stop(run, "error");
        }
      }
      try {
        this.#onEvent?.(id, event);
      } catch (e) {
        this.#onError(id, e);
      }
    }
  }

  #enter(record: ExecutionRecord, state: string, input: Json): void {
    if (record.callback && record.callback.state !== state) closeCallback(record);
    record.state = state;
    record.stateInput = input;
    this.#save(record);
  }

  /** Waits until the engine has persisted the entry of `state` (see #follow). */
  #entered(run: Run, state: string): Promise<void> {
    if (run.stopping) return Promise.reject(new RunInterrupted(run.stopping));
    if (run.current === state) return Promise.resolve();
    return new Promise((resolve, reject) => run.enteredWaiters.push({ state, resolve, reject }));
  }

  #localHandlers(run: Run): LocalHandlers {
    const handlers: LocalHandlers = {};
    for (const [state, task] of this.#tasks) {
      handlers[state] = task.callback
        ? (input) => this.#callbackTask(run, state, task.fn, task.callback as CallbackSpec, input)
        : async (input) => {
            await this.#entered(run, state);
            const Payload = await this.#invoke(run, task.fn, payloadOf(input));
            // The shape of a lambda:invoke result; the ResultSelectors read $.Payload.
            return { ExecutedVersion: "$LATEST", Payload, StatusCode: 200 };
          };
    }
    return handlers;
  }

  async #callbackTask(
    run: Run,
    state: string,
    fn: WorkflowFunctionName,
    spec: CallbackSpec,
    input: unknown,
  ): Promise<Json> {
    await this.#entered(run, state);
    const record = run.record;
    let callback = record.callback;
    if (!callback) {
      const seconds = timeoutSeconds(spec, record.stateInput);
      callback = {
        state,
        token: run.token,
        deadline: new Date(Date.now() + seconds * 1000).toISOString(),
        delivered: false,
        result: null,
      };
      record.callback = callback;
      this.#save(record);
    }
    if (!callback.delivered && !callback.result) {
      // On AWS the function's own result is ignored: the task's result is the callback's.
      const delivered = callback;
      await this.#invoke(run, fn, payloadOf(input), () => {
        // Recorded as part of the call, so a close() right after it keeps the fact.
        delivered.delivered = true;
        this.#save(record);
      });
    }
    return this.#awaitCallback(run, callback);
  }

  #awaitCallback(run: Run, callback: OpenCallback): Promise<Json> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (result: CallbackResult) => {
        clearTimeout(timer);
        run.wait = null;
        if (result.type === "success") resolve(result.output);
        else reject(callbackError(result));
      };
      if (callback.result) return finish(callback.result);
      if (run.stopping) return reject(new RunInterrupted(run.stopping));
      const arm = () => {
        const remaining = Date.parse(callback.deadline) - Date.now();
        if (remaining <= 0) {
          callback.result = { type: "timeout" };
          this.#save(run.record);
          finish(callback.result);
        } else if (remaining > this.#maxWaitMs) {
          timer = setTimeout(() => this.#stop(run, "rearm"), this.#maxWaitMs);
        } else {
          timer = setTimeout(arm, remaining);
        }
      };
      run.wait = {
        settle: finish,
        interrupt: (e) => {
          clearTimeout(timer);
          run.wait = null;
          reject(e);
        },
      };
      arm();
    });
  }

  /**
   * Calls a step function like Lambda would: JSON in, JSON out, errors named by type.
   * `onSuccess` runs when it returns, unless the run has been released meanwhile. A call still
   * running when a stopped run's grace ends is abandoned (its state runs again at resume).
   */
  async #invoke(
    run: Run,
    fn: WorkflowFunctionName,
    payload: Json,
    onSuccess?: () => void,
  ): Promise<Json> {
    const handler = this.#handlers[fn] as (payload: unknown) => Promise<unknown>;
    const call = (async () => {
      let result: Json;
      try {
        result = toJson(await handler(structuredClone(payload)));
      } catch (e) {
        throw lambdaError(e);
      }
      if (!run.released) onSuccess?.();
      return result;
    })();
    run.inflight.add(call);
    call.then(
      () => run.inflight.delete(call),
      () => run.inflight.delete(call),
    );
    return Promise.race([call, run.stopped]);
  }

  #complete(token: string, result: CallbackResult): void {
    this.#assertOpen();
    const executionId = TASK_TOKEN.exec(token)?.[1];
    if (!executionId) throw new TaskTokenError("invalid");
    const run = this.#runs.get(executionId);
    const record = run?.record ?? this.#read(executionId);
    if (!record) throw new TaskTokenError("invalid");
    const callback = record.callback;
    if (!callback || callback.token !== token)
      throw new TaskTokenError(
        record.closedTokens[token] === "timed-out" ? "timed-out" : "not-found",
      );
    if (callback.result)
      throw new TaskTokenError(callback.result.type === "timeout" ? "timed-out" : "not-found");
    if (Date.parse(callback.deadline) <= Date.now()) throw new TaskTokenError("timed-out");
    // Durable first: a restart right after this call still sees the answer.
    callback.result = result;
    this.#save(record);
    run?.wait?.settle(result);
  }

  #stop(run: Run, reason: StopReason): void {
    if (run.stopping) return;
    run.stopping = reason;
    const interrupted = new RunInterrupted(reason);
    for (const waiter of run.enteredWaiters.splice(0)) waiter.reject(interrupted);
    run.wait?.interrupt(interrupted);
    // Ends the library's loop after the current state and cancels a pending retry pause.
    run.abort();
    const release = () => {
      run.released = true;
      run.rejectStopped(interrupted);
    };
    run.drained = run.stopped.then(
      () => {},
      () => {},
    );
    if (run.inflight.size === 0) {
      release();
      return;
    }
    // Calls in progress get a grace period to finish; after it they are abandoned.
    const grace = setTimeout(release, this.#closeGraceMs);
    void Promise.allSettled([...run.inflight]).then(() => {
      clearTimeout(grace);
      release();
    });
  }

  #notifySettled(executionId: string): void {
    const waiters = this.#settledWaiters.get(executionId);
    if (!waiters) return;
    this.#settledWaiters.delete(executionId);
    const description = this.describeExecution(executionId);
    if (description) for (const resolve of waiters) resolve(description);
  }

  #newRecord(executionId: string): ExecutionRecord {
    const now = new Date().toISOString();
    const input = { requestId: executionId };
    return {
      version: 1,
      executionId,
      input,
      status: "RUNNING",
      state: this.#definition.StartAt,
      stateInput: input,
      callback: null,
      closedTokens: {},
      output: null,
      error: null,
      cause: null,
      startedAt: now,
      updatedAt: now,
      endedAt: null,
    };
  }

  #path(executionId: string): string {
    return join(this.#folder, `${executionId}.json`);
  }

  #read(executionId: string): ExecutionRecord | undefined {
    try {
      return readJson<ExecutionRecord>(this.#path(executionId));
    } catch (e) {
      if (e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  #save(record: ExecutionRecord): void {
    record.updatedAt = new Date().toISOString();
    writeAtomic(this.#path(record.executionId), JSON.stringify(record, null, 2));
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("The workflow engine is closed");
  }
}

function describe(record: ExecutionRecord): ExecutionDescription {
  return {
    executionId: record.executionId,
    status: record.status,
    state: record.state,
    input: structuredClone(record.input),
    output: structuredClone(record.output),
    error: record.error,
    cause: record.cause,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
  };
}

function closeCallback(record: ExecutionRecord): void {
  const callback = record.callback;
  if (!callback) return;
  record.closedTokens[callback.token] =
    callback.result?.type === "timeout" ? "timed-out" : "completed";
  record.callback = null;
}

function newTaskToken(executionId: string): string {
  return `${executionId}.${randomBytes(24).toString("base64url")}`;
}

function payloadOf(input: unknown): Json {
  const payload = (input as { Payload?: Json } | null)?.Payload;
  return payload === undefined ? null : payload;
}

/** What JSON.stringify/parse would make of a value (Lambda and SFN speak JSON text). */
function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

/**
 * A step function's failure as Step Functions sees a Lambda error: the error name is the
 * errorType (the thrown error's `name`), the Cause the JSON text of the error response.
 */
function lambdaError(e: unknown): Error {
  const errorType = e instanceof Error ? e.name : "Error";
  const errorMessage = e instanceof Error ? e.message : String(e);
  const trace = e instanceof Error && e.stack ? e.stack.split("\n") : [];
  const error = new Error(JSON.stringify({ errorType, errorMessage, trace }));
  error.name = errorType;
  return error;
}

/** SendTaskFailure's error and cause, or the state timeout, as the state's error. */
function callbackError(result: Exclude<CallbackResult, { type: "success" }>): Error {
  // Not the library's own StatesTimeoutError (it is not exported), so "States.TaskFailed" in a
  // Retry or Catch would match it too, unlike on AWS; the definition does not use it.
  const error =
    result.type === "timeout"
      ? new Error("The task did not complete before its timeout.")
      : new Error(result.cause);
  error.name = result.type === "timeout" ? "States.Timeout" : result.error;
  return error;
}

function timeoutSeconds(spec: CallbackSpec, stateInput: Json): number {
  if (spec.timeoutSeconds !== undefined) return spec.timeoutSeconds;
  if (!spec.timeoutPath) return AWS_DEFAULT_TASK_TIMEOUT_SECONDS;
  let value: Json | undefined = stateInput;
  for (const key of spec.timeoutPath) {
    value =
      typeof key === "number"
        ? Array.isArray(value)
          ? value[key]
          : undefined
        : value !== null && typeof value === "object" && !Array.isArray(value)
          ? value[key]
          : undefined;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new StatesRuntimeError(
      `TimeoutSecondsPath ${spec.timeoutPathText} must select a positive integer`,
    );
  return value;
}

/** The reference paths we resolve ourselves: `$`, `.name`, `['name']`, `[0]`. */
function parseReferencePath(path: string): (string | number)[] {
  if (!path.startsWith("$")) throw new Error(`Unsupported reference path ${path}`);
  const keys: (string | number)[] = [];
  const segment = /\.([A-Za-z_$][\w$]*)|\['([^']*)'\]|\[(\d+)\]/y;
  let at = 1;
  while (at < path.length) {
    segment.lastIndex = at;
    const m = segment.exec(path);
    if (!m) throw new Error(`Unsupported reference path ${path}`);
    keys.push(m[1] ?? m[2] ?? Number(m[3]));
    at = segment.lastIndex;
  }
  return keys;
}
