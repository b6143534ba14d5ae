import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import {
  definitionTemplate,
  placeholderNames,
  renderDefinition,
  type WorkflowFunctionArns,
  workflowFunctionNames,
} from "../src/workflow/definition.ts";
import { localFunctionArns } from "../src/workflow/local-engine.ts";

type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)("asl-validator") as AslValidator;

interface State {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  ResultSelector?: Record<string, string>;
  ResultPath?: string | null;
  TimeoutSecondsPath?: string;
  Retry?: { ErrorEquals: string[]; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  QueryLanguage?: string;
}
interface Definition {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, State>;
}

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+$/;

const awsArns = Object.fromEntries(
  workflowFunctionNames.map((n) => [
    n,
    `arn:aws:lambda:eu-west-1:123456789012:function:spca-production-${n}`,
  ]),
) as unknown as WorkflowFunctionArns;

/**
 * What a deployment needs: asl-validator's verdict, plus every FunctionName a Lambda ARN.
 * asl-validator alone cannot see a placeholder left behind: FunctionName sits inside
 * Parameters, where any string is valid ASL.
 */
function deployable(definition: unknown): string[] {
  const problems: string[] = [];
  const result = aslValidator(definition, { checkPaths: true, checkArn: true });
  if (!result.isValid) problems.push(result.errorsText("\n"));
  for (const [name, state] of Object.entries((definition as Definition).States)) {
    if (state.Type !== "Task") continue;
    const fn = state.Parameters?.FunctionName;
    if (typeof fn !== "string" || !LAMBDA_ARN.test(fn))
      problems.push(`${name}: FunctionName ${String(fn)} is not a Lambda ARN`);
  }
  return problems;
}

const rendered = JSON.parse(renderDefinition(awsArns)) as Definition;
const template = definitionTemplate() as Definition;

describe("workflow definition", () => {
  it("renders into a valid, deployable state machine", () => {
    assert.deepEqual(deployable(rendered), []);
    assert.deepEqual(deployable(JSON.parse(renderDefinition(localFunctionArns()))), []);
    assert.equal(template.QueryLanguage ?? "JSONPath", "JSONPath");
  });

  it("is not deployable with a placeholder left in", () => {
    const problems = deployable(template);
    assert.equal(problems.length, Object.values(template.States).filter(isTask).length);
    assert.match(problems[0] ?? "", /\$\{ValidateRequestFunctionArn\} is not a Lambda ARN/);
  });

  it("names exactly the known functions, each at least once", () => {
    assert.deepEqual([...placeholderNames(template)].sort(), [...workflowFunctionNames].sort());
    assert.deepEqual(placeholderNames(rendered), []);
    assert.doesNotMatch(JSON.stringify(rendered), /\$\{/);
  });

  it("refuses missing, unknown and malformed ARNs", () => {
    const { SignCertificate: _, ...missing } = awsArns;
    assert.throws(
      () => renderDefinition(missing as WorkflowFunctionArns),
      /Missing ARNs for: SignCertificate/,
    );
    assert.throws(
      () =>
        renderDefinition({
          ...awsArns,
          RevokeCertificate: awsArns.SignCertificate,
        } as WorkflowFunctionArns),
      /Unknown workflow functions: RevokeCertificate/,
    );
    assert.throws(
      () => renderDefinition({ ...awsArns, SignCertificate: "spca-sign" }),
      /not a Lambda function ARN/,
    );
  });

  it("invokes Lambda through the service integration of the functions' own partition", () => {
    const integrations = (definition: Definition) =>
      new Set(
        Object.values(definition.States)
          .filter(isTask)
          .map((s) => s.Resource),
      );
    assert.deepEqual(
      integrations(rendered),
      new Set([
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
      ]),
    );
    const china = Object.fromEntries(
      Object.entries(awsArns).map(([name, arn]) => [
        name,
        arn.replace("arn:aws:", "arn:aws-cn:").replace(":eu-west-1:", ":cn-north-1:"),
      ]),
    ) as WorkflowFunctionArns;
    assert.deepEqual(
      integrations(JSON.parse(renderDefinition(china)) as Definition),
      new Set([
        "arn:aws-cn:states:::lambda:invoke",
        "arn:aws-cn:states:::lambda:invoke.waitForTaskToken",
      ]),
    );
    assert.throws(
      () => renderDefinition({ ...awsArns, SignCertificate: china.SignCertificate }),
      /several partitions: aws, aws-cn/,
    );
  });

  it("invokes the functions docs/workflow.md assigns to each state", () => {
    const functionOf = Object.fromEntries(
      Object.entries(template.States)
        .filter(([, s]) => isTask(s))
        .map(([name, s]) => [
          name,
          /\$\{(\w+)FunctionArn\}/.exec(s.Parameters?.FunctionName ?? "")?.[1],
        ]),
    );
    assert.deepEqual(functionOf, {
      ValidateRequest: "ValidateRequest",
      StoreRequest: "StoreRequest",
      RequestApproval: "RequestApproval",
      SignCertificate: "SignCertificate",
      StoreCertificate: "StoreCertificate",
      NotifyIssued: "NotifyRequester",
      RecordRejection: "RecordOutcome",
      NotifyRejected: "NotifyRequester",
      ExpireRequest: "RecordOutcome",
      NotifyExpired: "NotifyRequester",
      RecordFailure: "RecordOutcome",
      NotifyFailed: "NotifyRequester",
    });
    assert.equal(template.StartAt, "ValidateRequest");
    assert.equal(template.States.Issued?.Type, "Succeed");
    assert.equal(template.States.Rejected?.Type, "Succeed");
    assert.equal(template.States.Expired?.Type, "Succeed");
    assert.equal(template.States.Failed?.Type, "Fail");
  });

  it("passes the request id and the execution id to every step function", () => {
    for (const [name, state] of Object.entries(template.States).filter(([, s]) => isTask(s))) {
      assert.equal(state.Parameters?.Payload?.["requestId.$"], "$.requestId", name);
      // For the step's logs only: the Lambda wrappers log it as executionId.
      assert.equal(state.Parameters?.Payload?.["executionId.$"], "$$.Execution.Id", name);
    }
  });

  it("retries transient errors on every task and catches the rest where the doc says", () => {
    const caught = [
      "ValidateRequest",
      "StoreRequest",
      "RequestApproval",
      "SignCertificate",
      "StoreCertificate",
    ];
    for (const [name, state] of Object.entries(template.States).filter(([, s]) => isTask(s))) {
      const retry = state.Retry?.[0];
      assert.ok(retry, `${name} retries`);
      assert.deepEqual(retry.ErrorEquals, [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        // A function that crashed or timed out (out of memory, killed): AWS's "dead process".
        "Lambda.Unknown",
        "TransientError",
      ]);
      assert.equal(retry.JitterStrategy, "FULL");
      if (!caught.includes(name)) {
        assert.equal(state.Catch, undefined, `${name} does not catch`);
        continue;
      }
      const last = state.Catch?.at(-1);
      assert.deepEqual(last, {
        ErrorEquals: ["States.ALL"],
        ResultPath: "$.error",
        Next: "RecordFailure",
      });
      // States.ALL must stand alone and come last.
      for (const c of state.Catch?.slice(0, -1) ?? [])
        assert.ok(!c.ErrorEquals.includes("States.ALL"));
    }
  });

  it("waits for approval with a callback task bounded by the profile's timeout", () => {
    const state = template.States.RequestApproval as State;
    assert.equal(state.Resource, "arn:aws:states:::lambda:invoke.waitForTaskToken");
    assert.deepEqual(state.Parameters?.Payload, {
      "requestId.$": "$.requestId",
      "executionId.$": "$$.Execution.Id",
      "taskToken.$": "$$.Task.Token",
    });
    assert.equal(state.TimeoutSecondsPath, "$.validation.approvalTimeoutSeconds");
    // The callback's output is the decision itself: no Lambda envelope to select from.
    assert.equal(state.ResultSelector, undefined);
    assert.equal(state.ResultPath, "$.decision");
    assert.deepEqual(
      state.Catch?.map((c) => [c.ErrorEquals, c.Next]),
      [
        [["States.Timeout"], "ExpireRequest"],
        [["Rejected"], "RecordRejection"],
        [["States.ALL"], "RecordFailure"],
      ],
    );
  });

  it("reads lambda:invoke results from $.Payload into the documented places", () => {
    const s = template.States;
    assert.equal(s.ValidateRequest?.ResultPath, "$.validation");
    assert.deepEqual(s.ValidateRequest?.ResultSelector, {
      "valid.$": "$.Payload.valid",
      "automatic.$": "$.Payload.automatic",
      "approvalTimeoutSeconds.$": "$.Payload.approvalTimeoutSeconds",
      "reason.$": "$.Payload.reason",
    });
    assert.equal(s.StoreRequest?.ResultPath, "$.stored");
    assert.equal(s.SignCertificate?.ResultPath, "$.issued");
    assert.deepEqual(s.SignCertificate?.ResultSelector, { "serial.$": "$.Payload.serial" });
    assert.equal(s.StoreCertificate?.ResultPath, "$.storedCertificate");
    assert.deepEqual(s.StoreCertificate?.Parameters?.Payload, {
      "requestId.$": "$.requestId",
      "executionId.$": "$$.Execution.Id",
      "serial.$": "$.issued.serial",
    });
    for (const name of ["NotifyIssued", "RecordRejection", "RecordFailure"])
      assert.equal(s[name]?.ResultPath, null, `${name} discards its result`);
    // An expiry that finds a decision recorded but never delivered follows the decision.
    assert.equal(s.ExpireRequest?.ResultPath, "$.expiry");
    assert.deepEqual(s.ExpireRequest?.ResultSelector, { "status.$": "$.Payload.status" });
    assert.equal(s.ExpireRequest?.Next, "DecidedBeforeExpiry");
    // (The local engine's library annotates states it has seen with their QueryLanguage.)
    const { QueryLanguage: _, ...decidedBeforeExpiry } = s.DecidedBeforeExpiry as State;
    assert.deepEqual(decidedBeforeExpiry, {
      Type: "Choice",
      Choices: [
        { Variable: "$.expiry.status", StringEquals: "approved", Next: "SignCertificate" },
        { Variable: "$.expiry.status", StringEquals: "rejected", Next: "NotifyRejected" },
      ],
      Default: "NotifyExpired",
    });
  });
});

function isTask(state: State): boolean {
  return state.Type === "Task";
}
