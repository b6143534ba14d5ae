import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { isTaskTokenError, type TaskTokenError } from "../src/workflow/engine.ts";
import { SfnWorkflowEngine } from "../src/workflow/sfn-engine.ts";

const MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:spca-production-requests";
const EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:spca-production-requests";
const sfn = mockClient(SFNClient);
const client = new SFNClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
});
const engine = new SfnWorkflowEngine({ stateMachineArn: MACHINE, client });
const $metadata = { httpStatusCode: 400, requestId: "00000000-0000-0000-0000-000000000000" };

const problem = (expected: TaskTokenError["problem"]) => (e: unknown) =>
  isTaskTokenError(e) && e.problem === expected;

describe("SfnWorkflowEngine", () => {
  beforeEach(() => sfn.reset());

  it("starts the execution named after the request", async () => {
    sfn.on(StartExecutionCommand).resolves({
      executionArn: `${EXECUTION}:req-1`,
      startDate: new Date(),
    });
    assert.deepEqual(await engine.startExecution("req-1"), {
      executionId: `${EXECUTION}:req-1`,
      alreadyStarted: false,
    });
    const calls = sfn.commandCalls(StartExecutionCommand);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]?.args[0].input, {
      stateMachineArn: MACHINE,
      name: "req-1",
      input: '{"requestId":"req-1"}',
    });
  });

  it("reports ExecutionAlreadyExists as alreadyStarted", async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: "Execution Already Exists", $metadata }));
    assert.deepEqual(await engine.startExecution("req-1"), {
      executionId: `${EXECUTION}:req-1`,
      alreadyStarted: true,
    });
  });

  it("passes other StartExecution errors through", async () => {
    const throttled = new SFNServiceException({
      name: "ThrottlingException",
      $fault: "client",
      message: "Rate exceeded",
      $metadata,
    });
    sfn.on(StartExecutionCommand).rejects(throttled);
    await assert.rejects(engine.startExecution("req-1"), { name: "ThrottlingException" });
  });

  it("sends the decision as JSON text with SendTaskSuccess", async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await engine.sendTaskSuccess("token-1", { approvedBy: ["ada@example.com"] });
    await engine.sendTaskSuccess("token-2", undefined);
    assert.deepEqual(
      sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input),
      [
        { taskToken: "token-1", output: '{"approvedBy":["ada@example.com"]}' },
        { taskToken: "token-2", output: "null" },
      ],
    );
  });

  it("sends a rejection with SendTaskFailure, within the API's limits", async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await engine.sendTaskFailure("token-1", "Rejected", "Not one of our hosts");
    await engine.sendTaskFailure("token-2", "E".repeat(300), "c".repeat(40_000));
    const inputs = sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
    assert.deepEqual(inputs[0], {
      taskToken: "token-1",
      error: "Rejected",
      cause: "Not one of our hosts",
    });
    assert.equal(inputs[1]?.error?.length, 256);
    assert.equal(inputs[1]?.cause?.length, 32_768);
  });

  it("maps token errors to TaskTokenError", async () => {
    sfn
      .on(SendTaskSuccessCommand, { taskToken: "gone" })
      .rejects(new TaskDoesNotExist({ message: "Task Does Not Exist", $metadata }))
      .on(SendTaskSuccessCommand, { taskToken: "garbage" })
      .rejects(new InvalidToken({ message: "Invalid Token", $metadata }))
      .on(SendTaskFailureCommand, { taskToken: "late" })
      .rejects(new TaskTimedOut({ message: "Task Timed Out", $metadata }));
    await assert.rejects(engine.sendTaskSuccess("gone", {}), problem("not-found"));
    await assert.rejects(engine.sendTaskSuccess("garbage", {}), problem("invalid"));
    await assert.rejects(engine.sendTaskFailure("late", "Rejected", "x"), problem("timed-out"));
  });

  it("passes other send errors through", async () => {
    sfn.on(SendTaskSuccessCommand).rejects(
      new SFNServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        message: "not allowed",
        $metadata,
      }),
    );
    await assert.rejects(engine.sendTaskSuccess("token", {}), (e: unknown) => {
      assert.ok(!isTaskTokenError(e));
      assert.equal((e as Error).name, "AccessDeniedException");
      return true;
    });
  });

  it("refuses an ARN that is not a state machine's", () => {
    assert.throws(
      () => new SfnWorkflowEngine({ stateMachineArn: `${EXECUTION}:req-1`, client }),
      /not a state machine ARN/,
    );
    assert.equal(engine.executionArn("req-9"), `${EXECUTION}:req-9`);
  });
});
