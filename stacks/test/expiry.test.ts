/**
 * The expiry reminders as synthesized: a daily EventBridge Scheduler schedule, trusted from this
 * account's default group only, invoking the ExpiryReminders function and nothing else; the
 * function's role holding exactly what the job calls (the inventory index, its claims, SES as
 * the configured sender, the bus), and its bundle the clients of those services alone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { list, type PolicyStatement } from "./deployment/synthesized.ts";
import { type Synthesis, type SynthResource, synthesize } from "./synth.ts";

const ACCOUNT = "123456789012";

const one = (s: Synthesis, type: string, name: string): SynthResource => {
  const found = s.resources.find((r) => r.type === type && r.name === name);
  assert.ok(found, `no ${type} named ${name}`);
  return found;
};

function roleStatements(s: Synthesis, role: string): PolicyStatement[] {
  const found = one(s, "aws:iam/role:Role", role);
  return ((found.inputs.inlinePolicies ?? []) as { policy: string }[]).flatMap(
    (p) => (JSON.parse(p.policy) as { Statement: PolicyStatement[] }).Statement,
  );
}

describe("the expiry reminders, synthesized offline", () => {
  let dev: Synthesis;
  before(async () => {
    dev = await synthesize({ stage: "dev" });
  });

  test("a schedule runs the ExpiryReminders function once a day with {source: schedule}", () => {
    const schedule = one(dev, "aws:scheduler/schedule:Schedule", "ExpiryRemindersScheduleSchedule");
    assert.equal(schedule.inputs.scheduleExpression, "rate(1 day)");
    const target = schedule.inputs.target as { arn: string; roleArn: string; input: string };
    const fn = one(dev, "aws:lambda/function:Function", "ExpiryRemindersFunction");
    assert.equal(
      target.arn,
      `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:private-ca-dev-ExpiryReminders`,
    );
    assert.equal(target.arn, fn.outputs.arn);
    assert.deepEqual(JSON.parse(target.input), { source: "schedule" });
    const build = dev.builds.find((b) => b.functionID === "ExpiryReminders");
    assert.equal(build?.handler, "packages/functions/src/lambda/expiry-reminders.handler");
    assert.equal(fn.inputs.timeout, 600);
    const role = one(dev, "aws:iam/role:Role", "ExpiryRemindersScheduleRole");
    assert.equal(target.roleArn, role.outputs.arn);
    const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as {
      Statement: PolicyStatement[];
    };
    assert.deepEqual(trust.Statement, [
      {
        Effect: "Allow",
        Action: ["sts:AssumeRole"],
        Principal: { Service: ["scheduler.amazonaws.com"] },
        Condition: {
          StringEquals: { "aws:SourceAccount": [ACCOUNT] },
          ArnLike: {
            "aws:SourceArn": [`arn:aws:scheduler:eu-west-1:${ACCOUNT}:schedule-group/default`],
          },
        },
      },
    ]);
    // The schedule's role invokes the job and nothing else.
    assert.deepEqual(
      roleStatements(dev, "ExpiryRemindersScheduleRole").map((s) => [
        list(s.Action),
        list(s.Resource),
      ]),
      [[["lambda:InvokeFunction"], [target.arn]]],
    );
  });

  test("the function may read the index, claim its mails, send as the sender and announce, nothing more", () => {
    const fn = one(dev, "aws:lambda/function:Function", "ExpiryRemindersFunction");
    const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    const table = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${variables.PKI_TABLE}`;
    const statements = roleStatements(dev, "ExpiryRemindersRole").map((s) => [
      list(s.Action).sort(),
      list(s.Resource),
    ]);
    const has = (actions: string[], resource: string) =>
      statements.some(
        ([a, r]) => JSON.stringify(a) === JSON.stringify(actions) && r!.includes(resource),
      );
    assert.ok(
      has(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], table),
      JSON.stringify(statements),
    );
    assert.ok(has(["dynamodb:Query"], `${table}/index/gsi1`), JSON.stringify(statements));
    const actions = statements.flatMap(([a]) => a!).sort();
    assert.deepEqual(
      [...new Set(actions)].filter((a) => !a.startsWith("logs:") && !a.startsWith("xray:")),
      [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "events:PutEvents",
        "ses:SendEmail",
      ],
    );
    // It sends through the deployment's configuration set, as every function that mails does.
    assert.ok(variables.PKI_MAIL_CONFIGURATION_SET);
    // Its bundle holds the calls its grants allow, and no S3, KMS or Step Functions.
    const code = readFileSync(
      join(dev.builds.find((b) => b.functionID === "ExpiryReminders")!.out, "index.mjs"),
      "utf8",
    );
    for (const command of ["QueryCommand", "UpdateCommand", "SendEmailCommand", "PutEventsCommand"])
      assert.match(code, new RegExp(`\\b${command}\\b`), command);
    for (const command of ["GetObjectCommand", "SignCommand", "StartExecutionCommand"])
      assert.doesNotMatch(code, new RegExp(`\\b${command}\\b`), command);
  });
});
