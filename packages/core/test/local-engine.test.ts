import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { TransientError } from "../src/errors.ts";
import { isTaskTokenError, TaskTokenError } from "../src/workflow/engine.ts";
import {
  type ExecutionDescription,
  LocalWorkflowEngine,
  type LocalWorkflowEngineOptions,
} from "../src/workflow/local-engine.ts";
import { scratchDir } from "./support/scratch.ts";
import { automatic, manual, type StubSteps, stubSteps } from "./support/workflow-steps.ts";

const engines: LocalWorkflowEngine[] = [];
after(async () => {
  for (const engine of engines) await engine.close();
});

function engineFor(
  steps: StubSteps,
  folder = scratchDir("spca-workflow-"),
  options: Partial<LocalWorkflowEngineOptions> = {},
): LocalWorkflowEngine {
  const engine = new LocalWorkflowEngine({
    folder,
    handlers: steps.handlers,
    retryIntervalMs: 1,
    onError: (id, error) => assert.fail(`engine error in ${id}: ${String(error)}`),
    ...options,
  });
  engines.push(engine);
  return engine;
}

/** The handler calls as [function, payload] pairs, in order. */
function trace(steps: StubSteps): [string, unknown][] {
  return steps.calls.map((c) => [c.fn, c.payload]);
}

async function run(engine: LocalWorkflowEngine, id: string): Promise<ExecutionDescription> {
  const started = await engine.startExecution(id);
  assert.deepEqual(started, { executionId: id, alreadyStarted: false });
  return engine.waitForExecution(id);
}

const rejects = (problem: TaskTokenError["problem"]) => (e: unknown) =>
  isTaskTokenError(e) && e.problem === problem;

describe("local workflow engine", () => {
  it("issues an automatically approved request", async () => {
    const steps = stubSteps();
    const done = await run(engineFor(steps), "req-auto");
    assert.equal(done.status, "SUCCEEDED");
    assert.equal(done.state, "Issued");
    assert.deepEqual(trace(steps), [
      ["ValidateRequest", { requestId: "req-auto" }],
      ["StoreRequest", { requestId: "req-auto" }],
      ["SignCertificate", { requestId: "req-auto" }],
      ["StoreCertificate", { requestId: "req-auto", serial: "7f3a01" }],
      ["NotifyRequester", { requestId: "req-auto", outcome: "issued" }],
    ]);
    // Every Task passes $$.Execution.Id, so each step can log the execution it works for.
    assert.deepEqual(
      [...new Set(steps.calls.map((c) => c.executionId))],
      ["arn:aws:states:us-east-1:000000000000:execution:spca-local:req-auto"],
    );
    assert.deepEqual(done.output, {
      requestId: "req-auto",
      validation: automatic,
      stored: { status: "pending" },
      issued: { serial: "7f3a01" },
      storedCertificate: { status: "issued" },
    });
  });

  it("waits for a manual approval and issues once it is sent", async () => {
    const steps = stubSteps({ ValidateRequest: async () => manual(60) });
    const engine = engineFor(steps);
    await engine.startExecution("req-approve");
    const token = await steps.nextApprovalToken();
    assert.equal(engine.describeExecution("req-approve")?.state, "RequestApproval");
    await engine.sendTaskSuccess(token, { approvedBy: ["ada@example.com"] });
    const done = await engine.waitForExecution("req-approve");
    assert.equal(done.state, "Issued");
    assert.deepEqual((done.output as { decision: unknown }).decision, {
      approvedBy: ["ada@example.com"],
    });
    assert.deepEqual(trace(steps), [
      ["ValidateRequest", { requestId: "req-approve" }],
      ["StoreRequest", { requestId: "req-approve" }],
      ["RequestApproval", { requestId: "req-approve", taskToken: token }],
      ["SignCertificate", { requestId: "req-approve" }],
      ["StoreCertificate", { requestId: "req-approve", serial: "7f3a01" }],
      ["NotifyRequester", { requestId: "req-approve", outcome: "issued" }],
    ]);
    await assert.rejects(engine.sendTaskSuccess(token, {}), rejects("not-found"));
  });

  it("routes a rejection (SendTaskFailure Rejected) to RecordRejection", async () => {
    const steps = stubSteps({ ValidateRequest: async () => manual(60) });
    const engine = engineFor(steps);
    await engine.startExecution("req-reject");
    const token = await steps.nextApprovalToken();
    await engine.sendTaskFailure(token, "Rejected", "Not one of our hosts");
    const done = await engine.waitForExecution("req-reject");
    assert.equal(done.status, "SUCCEEDED");
    assert.equal(done.state, "Rejected");
    assert.deepEqual(trace(steps).slice(3), [
      [
        "RecordOutcome",
        {
          requestId: "req-reject",
          outcome: "rejected",
          error: { Error: "Rejected", Cause: "Not one of our hosts" },
        },
      ],
      ["NotifyRequester", { requestId: "req-reject", outcome: "rejected" }],
    ]);
    await assert.rejects(engine.sendTaskFailure(token, "Rejected", "again"), rejects("not-found"));
  });

  it("expires a request when the approval times out", async () => {
    const steps = stubSteps({ ValidateRequest: async () => manual(1) });
    const engine = engineFor(steps);
    const started = Date.now();
    await engine.startExecution("req-expire");
    const token = await steps.nextApprovalToken();
    const done = await engine.waitForExecution("req-expire");
    assert.ok(Date.now() - started >= 1000, "waited the whole timeout");
    assert.equal(done.state, "Expired");
    assert.deepEqual(trace(steps).slice(3), [
      ["RecordOutcome", { requestId: "req-expire", outcome: "expired" }],
      ["NotifyRequester", { requestId: "req-expire", outcome: "expired" }],
    ]);
    await assert.rejects(engine.sendTaskSuccess(token, {}), rejects("timed-out"));
  });

  it("rejects an invalid request without storing it", async () => {
    const steps = stubSteps({
      ValidateRequest: async () => ({
        valid: false,
        automatic: false,
        approvalTimeoutSeconds: 0,
        reason: "The profile does not allow this DNS name.",
      }),
    });
    const done = await run(engineFor(steps), "req-invalid");
    assert.equal(done.state, "Rejected");
    assert.deepEqual(trace(steps), [
      ["ValidateRequest", { requestId: "req-invalid" }],
      [
        "RecordOutcome",
        {
          requestId: "req-invalid",
          outcome: "rejected",
          error: { Error: "Invalid", Cause: "The profile does not allow this DNS name." },
        },
      ],
      ["NotifyRequester", { requestId: "req-invalid", outcome: "rejected" }],
    ]);
  });

  it("records a failure and ends Failed when signing fails for good", async () => {
    class SigningError extends Error {
      override readonly name = "SigningError";
    }
    const steps = stubSteps({
      SignCertificate: async () => {
        throw new SigningError("KMS key disabled");
      },
    });
    const done = await run(engineFor(steps), "req-fail");
    assert.equal(done.status, "FAILED");
    assert.equal(done.state, "Failed");
    assert.equal(done.error, "RequestFailed");
    assert.equal(steps.callsOf("SignCertificate").length, 1, "not retried");
    const [record, notify] = trace(steps).slice(3);
    assert.deepEqual(notify, ["NotifyRequester", { requestId: "req-fail", outcome: "failed" }]);
    assert.equal(record?.[0], "RecordOutcome");
    const payload = record?.[1] as { outcome: string; error: { Error: string; Cause: string } };
    assert.equal(payload.outcome, "failed");
    assert.equal(payload.error.Error, "SigningError");
    // As on AWS: the Cause is the Lambda error response, as JSON text.
    const cause = JSON.parse(payload.error.Cause) as Record<string, unknown>;
    assert.equal(cause.errorType, "SigningError");
    assert.equal(cause.errorMessage, "KMS key disabled");
    assert.ok(Array.isArray(cause.trace));
  });

  it("retries a TransientError (Retry) and then succeeds", async () => {
    let attempts = 0;
    const steps = stubSteps({
      SignCertificate: async () => {
        attempts++;
        if (attempts <= 2) throw new TransientError("KMS throttled");
        return { serial: "7f3a01" };
      },
    });
    const done = await run(engineFor(steps), "req-transient");
    assert.equal(done.state, "Issued");
    assert.deepEqual(steps.callsOf("SignCertificate"), [
      { requestId: "req-transient" },
      { requestId: "req-transient" },
      { requestId: "req-transient" },
    ]);
    assert.deepEqual(steps.callsOf("RecordOutcome"), []);
  });

  it("retries a transient failure of RequestApproval with the same token", async () => {
    let attempts = 0;
    const steps = stubSteps({
      ValidateRequest: async () => manual(60),
      RequestApproval: async () => {
        if (++attempts === 1) throw new TransientError("SES throttled");
        return null;
      },
    });
    const engine = engineFor(steps);
    await engine.startExecution("req-approval-retry");
    const first = await steps.nextApprovalToken();
    const second = await steps.nextApprovalToken();
    assert.equal(first, second);
    await engine.sendTaskSuccess(second, { approved: true });
    assert.equal((await engine.waitForExecution("req-approval-retry")).state, "Issued");
  });

  it("starts an execution once per request id", async () => {
    const steps = stubSteps();
    const engine = engineFor(steps);
    const [a, b] = await Promise.all([
      engine.startExecution("req-once"),
      engine.startExecution("req-once"),
    ]);
    assert.deepEqual(
      [a.alreadyStarted, b.alreadyStarted].sort(),
      [false, true],
      "exactly one start wins",
    );
    await engine.waitForExecution("req-once");
    assert.deepEqual(await engine.startExecution("req-once"), {
      executionId: "req-once",
      alreadyStarted: true,
    });
    assert.equal(steps.callsOf("ValidateRequest").length, 1);
    assert.equal(steps.callsOf("NotifyRequester").length, 1);
    await assert.rejects(engine.startExecution("not a name"), /cannot name an execution/);
  });

  it("refuses tokens it never issued", async () => {
    const engine = engineFor(stubSteps());
    await assert.rejects(engine.sendTaskSuccess("nonsense", {}), rejects("invalid"));
    await assert.rejects(
      engine.sendTaskFailure(`req-none.${"A".repeat(32)}`, "Rejected", "x"),
      rejects("invalid"),
    );
    await assert.rejects(engine.sendTaskSuccess("x", {}), TaskTokenError);
  });
});

describe("local workflow engine across a restart", () => {
  it("resumes a waiting approval with the same token, without asking again", async () => {
    const folder = scratchDir("spca-workflow-restart-");
    const stepsA = stubSteps({ ValidateRequest: async () => manual(60) });
    const a = engineFor(stepsA, folder);
    await a.startExecution("req-restart");
    const token = await stepsA.nextApprovalToken();
    await a.close();
    await assert.rejects(a.sendTaskSuccess(token, {}), /closed/);

    const stepsB = stubSteps({ ValidateRequest: async () => manual(60) });
    const b = engineFor(stepsB, folder);
    assert.deepEqual(await b.resume(), ["req-restart"]);
    assert.deepEqual(await b.resume(), [], "already running");
    await b.sendTaskSuccess(token, { approvedBy: ["ada@example.com"] });
    const done = await b.waitForExecution("req-restart");
    assert.equal(done.state, "Issued");
    const all = [...trace(stepsA), ...trace(stepsB)];
    assert.deepEqual(all, [
      ["ValidateRequest", { requestId: "req-restart" }],
      ["StoreRequest", { requestId: "req-restart" }],
      ["RequestApproval", { requestId: "req-restart", taskToken: token }],
      ["SignCertificate", { requestId: "req-restart" }],
      ["StoreCertificate", { requestId: "req-restart", serial: "7f3a01" }],
      ["NotifyRequester", { requestId: "req-restart", outcome: "issued" }],
    ]);
    await assert.rejects(b.sendTaskSuccess(token, {}), rejects("not-found"));
    assert.deepEqual(await b.startExecution("req-restart"), {
      executionId: "req-restart",
      alreadyStarted: true,
    });
  });

  it("keeps an answer sent while no engine runs the execution", async () => {
    const folder = scratchDir("spca-workflow-offline-");
    const stepsA = stubSteps({ ValidateRequest: async () => manual(60) });
    const a = engineFor(stepsA, folder);
    await a.startExecution("req-offline");
    const token = await stepsA.nextApprovalToken();
    await a.close();

    const stepsB = stubSteps();
    const b = engineFor(stepsB, folder);
    await b.sendTaskFailure(token, "Rejected", "Wrong team");
    await assert.rejects(b.sendTaskSuccess(token, {}), rejects("not-found"));
    await b.resume();
    assert.equal((await b.waitForExecution("req-offline")).state, "Rejected");
    assert.deepEqual(trace(stepsB), [
      [
        "RecordOutcome",
        {
          requestId: "req-offline",
          outcome: "rejected",
          error: { Error: "Rejected", Cause: "Wrong team" },
        },
      ],
      ["NotifyRequester", { requestId: "req-offline", outcome: "rejected" }],
    ]);
  });

  it("keeps the original approval deadline across a restart", async () => {
    const folder = scratchDir("spca-workflow-deadline-");
    const stepsA = stubSteps({ ValidateRequest: async () => manual(1) });
    const a = engineFor(stepsA, folder);
    await a.startExecution("req-deadline");
    await stepsA.nextApprovalToken();
    const asked = Date.now();
    await a.close();
    await sleep(500);

    const stepsB = stubSteps();
    const b = engineFor(stepsB, folder);
    await b.resume();
    const done = await b.waitForExecution("req-deadline");
    assert.equal(done.state, "Expired");
    // Restarting the full timeout at resume would end after 1.5 s.
    assert.ok(Date.now() - asked < 1400, `expired ${Date.now() - asked} ms after asking`);
    assert.deepEqual(stepsB.callsOf("RequestApproval"), []);
  });

  it("runs a state cut off by the restart again, and not the states before it", async () => {
    const folder = scratchDir("spca-workflow-midway-");
    let storeStarted: () => void = () => {};
    const storing = new Promise<void>((resolve) => {
      storeStarted = resolve;
    });
    const stepsA = stubSteps({
      StoreRequest: () => {
        storeStarted();
        return new Promise(() => {}); // never answers: the process "dies" here
      },
    });
    const a = engineFor(stepsA, folder, { closeGraceMs: 50 });
    await a.startExecution("req-midway");
    await storing;
    await a.close();
    assert.equal(a.describeExecution("req-midway")?.status, "RUNNING");

    const stepsB = stubSteps();
    const b = engineFor(stepsB, folder);
    assert.deepEqual(await b.resume(), ["req-midway"]);
    assert.equal((await b.waitForExecution("req-midway")).state, "Issued");
    assert.deepEqual(trace(stepsA), [
      ["ValidateRequest", { requestId: "req-midway" }],
      ["StoreRequest", { requestId: "req-midway" }],
    ]);
    assert.deepEqual(trace(stepsB), [
      ["StoreRequest", { requestId: "req-midway" }],
      ["SignCertificate", { requestId: "req-midway" }],
      ["StoreCertificate", { requestId: "req-midway", serial: "7f3a01" }],
      ["NotifyRequester", { requestId: "req-midway", outcome: "issued" }],
    ]);
  });

  it("re-arms waits longer than one timer without asking again", async () => {
    const steps = stubSteps({ ValidateRequest: async () => manual(1) });
    const engine = engineFor(steps, undefined, { maxWaitMs: 150 });
    await engine.startExecution("req-rearm-approve");
    await engine.startExecution("req-rearm-expire");
    const tokens = [await steps.nextApprovalToken(), await steps.nextApprovalToken()];
    await sleep(400); // two or three re-arms
    const approveToken = tokens.find((t) => t.startsWith("req-rearm-approve."));
    assert.ok(approveToken);
    await engine.sendTaskSuccess(approveToken, { approved: true });
    assert.equal((await engine.waitForExecution("req-rearm-approve")).state, "Issued");
    assert.equal((await engine.waitForExecution("req-rearm-expire")).state, "Expired");
    assert.equal(steps.callsOf("RequestApproval").length, 2, "once per execution");
  });
});
