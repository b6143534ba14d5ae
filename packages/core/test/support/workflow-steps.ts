/** In-memory step handlers for workflow-engine tests: each records its calls, in order. */
import type { WorkflowFunctionName } from "../../src/workflow/definition.ts";
import type { StepHandlers, StepPayloads, StepResults } from "../../src/workflow/engine.ts";

export interface StepCall {
  readonly fn: WorkflowFunctionName;
  /** The payload without `executionId`, which every Task adds (kept apart, below). */
  readonly payload: unknown;
  /** The payload's `executionId` (`$$.Execution.Id`), or undefined when it had none. */
  readonly executionId: string | undefined;
}

export interface StubSteps {
  readonly handlers: StepHandlers;
  /** Every call, in order, across all handlers. */
  readonly calls: StepCall[];
  /** Calls of one function, in order. */
  callsOf(fn: WorkflowFunctionName): unknown[];
  /** The token RequestApproval receives next (or has received and nobody took yet). */
  nextApprovalToken(): Promise<string>;
}

type Overrides = {
  [N in WorkflowFunctionName]?: (payload: StepPayloads[N]) => Promise<StepResults[N]>;
};

export const automatic: StepResults["ValidateRequest"] = {
  valid: true,
  automatic: true,
  approvalTimeoutSeconds: 0,
  reason: null,
};

export function manual(approvalTimeoutSeconds = 60): StepResults["ValidateRequest"] {
  return { valid: true, automatic: false, approvalTimeoutSeconds, reason: null };
}

export function stubSteps(overrides: Overrides = {}): StubSteps {
  const calls: StepCall[] = [];
  const tokens: string[] = [];
  const tokenWaiters: ((token: string) => void)[] = [];

  const defaults: StepHandlers = {
    ValidateRequest: async () => automatic,
    StoreRequest: async () => ({ status: "pending" }),
    RequestApproval: async ({ taskToken }) => {
      const waiter = tokenWaiters.shift();
      if (waiter) waiter(taskToken);
      else tokens.push(taskToken);
      return null;
    },
    SignCertificate: async () => ({ serial: "7f3a01" }),
    StoreCertificate: async () => ({ status: "issued" }),
    RecordOutcome: async (payload) => ({ status: payload.outcome }),
    NotifyRequester: async () => null,
  };

  const wrap = <N extends WorkflowFunctionName>(fn: N) =>
    (async (payload: StepPayloads[N]) => {
      const { executionId, ...rest } = structuredClone(payload) as StepPayloads[N];
      calls.push({ fn, payload: rest, executionId });
      const override = overrides[fn] as
        | ((p: StepPayloads[N]) => Promise<StepResults[N]>)
        | undefined;
      if (fn === "RequestApproval" && override) {
        // Still hand the token to the test, then let the override decide.
        await (defaults.RequestApproval as (p: unknown) => Promise<unknown>)(payload);
      }
      return (override ?? (defaults[fn] as (p: StepPayloads[N]) => Promise<StepResults[N]>))(
        payload,
      );
    }) as StepHandlers[N];

  const handlers = {
    ValidateRequest: wrap("ValidateRequest"),
    StoreRequest: wrap("StoreRequest"),
    RequestApproval: wrap("RequestApproval"),
    SignCertificate: wrap("SignCertificate"),
    StoreCertificate: wrap("StoreCertificate"),
    RecordOutcome: wrap("RecordOutcome"),
    NotifyRequester: wrap("NotifyRequester"),
  } satisfies StepHandlers;

  return {
    handlers,
    calls,
    callsOf: (fn) => calls.filter((c) => c.fn === fn).map((c) => c.payload),
    nextApprovalToken: () => {
      const token = tokens.shift();
      if (token) return Promise.resolve(token);
      return new Promise((resolve) => tokenWaiters.push(resolve));
    },
  };
}
