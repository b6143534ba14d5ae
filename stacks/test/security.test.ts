/**
 * Who may do what, as the synthesis shows it (the policies `sst deploy` would send), judged with
 * @cloud-copilot/iam-simulate where a rule is more than its shape:
 * - every role is assumable by its one service principal, and nothing else;
 * - the CA key's policy is its only grant: the signing functions sign digests, administrators
 *   administer and may not sign, the account does not defer to IAM;
 * - the API's function URL answers the Router's distribution alone, without CORS;
 * - the bucket answers the Router the publication objects and nothing else;
 * - the CRL queue, the mail-feedback topic and the schedule accept only their own sources;
 * - wildcards stay inside the commented allow-list (iam-allow-list.ts).
 * Stages: `dev` (shipped configuration), `production` (custom domain, key administrators, a
 * DKIM-signing domain identity) and `staging` (the SES identity shared with another stage).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { alwaysDeployed, functionGrants, functionNames, KEY_ADMIN_ACTIONS } from "../grants.ts";
import { Authorizer } from "./deployment/authorization.ts";
import { list, type PolicyStatement, SynthesizedDeployment } from "./deployment/synthesized.ts";
import { policies, wildcardViolations } from "./iam-checks.ts";
import { ACCOUNT, DEPLOYER_ROLE_ARN } from "./mock-account.ts";
import { type Synthesis, synthesize } from "./synth.ts";

const root = join(import.meta.dirname, "..", "..");
const shippedConfig = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8"));
const KEY_ADMINS_ROLE = `arn:aws:iam::${ACCOUNT}:role/pki-key-admins`;

/** The one statement of a trust policy, and its principals. */
function trustOf(d: SynthesizedDeployment, roleName: string) {
  const statements = d.role(roleName).trust.Statement;
  assert.equal(statements.length, 1, `${roleName}: ${JSON.stringify(statements)}`);
  const [statement] = statements as [PolicyStatement];
  assert.equal(statement.Effect, "Allow");
  assert.deepEqual(list(statement.Action), ["sts:AssumeRole"]);
  return statement;
}

describe("who may do what, synthesized offline", () => {
  let work: string;
  let dev: SynthesizedDeployment;
  let production: SynthesizedDeployment;
  let staging: SynthesizedDeployment;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-security-"));
    const write = (name: string, aws: Record<string, unknown>) => {
      const path = join(work, `${name}.config.json`);
      writeFileSync(path, JSON.stringify({ ...shippedConfig, aws }));
      return path;
    };
    const syntheses: Synthesis[] = await Promise.all([
      synthesize({ stage: "dev" }),
      synthesize({
        stage: "production",
        configPath: write("production", {
          ca: { keyAdmins: [DEPLOYER_ROLE_ARN, KEY_ADMINS_ROLE] },
          domain: { name: "pki.example.com" },
          mail: { identity: "example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" },
          alarmEmail: "oncall@example.com",
        }),
      }),
      synthesize({ stage: "staging", configPath: write("staging", { mail: { shared: true } }) }),
    ]);
    [dev, production, staging] = syntheses.map((s) => new SynthesizedDeployment(s)) as [
      SynthesizedDeployment,
      SynthesizedDeployment,
      SynthesizedDeployment,
    ];
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("every IAM statement stays inside the commented wildcard allow-list", () => {
    for (const d of [dev, production, staging]) {
      const docs = policies(d.synthesis);
      assert.ok(docs.length >= functionNames.length + 2, `only ${docs.length} policies found`);
      assert.deepEqual(wildcardViolations(docs), []);
    }
  });

  test("the wildcard check catches what it must", () => {
    const doc = (statement: Partial<PolicyStatement>) => [
      { where: "planted", statements: [{ Effect: "Allow", ...statement }] },
    ];
    const count = (statement: Partial<PolicyStatement>) =>
      wildcardViolations(doc(statement)).length;
    assert.equal(count({ Action: "s3:*", Resource: "arn:aws:s3:::b/k" }), 1);
    assert.equal(count({ Action: "s3:GetObject", Resource: "*" }), 1);
    assert.equal(count({ Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }), 1, "a bucket");
    assert.equal(
      count({ Action: "ses:SendEmail", Resource: "arn:aws:ses:eu-west-1:123456789012:identity/*" }),
      1,
      "the SES identity wildcard needs its sender condition",
    );
    assert.equal(
      count({ Action: "sqs:SendMessage", Resource: "arn:aws:sqs:x", Principal: "*" }),
      1,
    );
    assert.equal(count({ Action: "xray:PutTraceSegments", Resource: "*" }), 0);
    assert.equal(
      wildcardViolations([
        {
          where: "key",
          ofOneResource: true,
          statements: [{ Effect: "Allow", Action: "kms:Sign", Resource: "*" }],
        },
      ]).length,
      0,
      "in a key policy, * is the key",
    );
  });

  test("each role is assumable by its one service principal, and nothing else", () => {
    for (const d of [dev, production]) {
      // With no gate configured there is no EnforcementSync (enforcement.test.ts has them).
      const expected = new Map<string, string[]>([
        ...alwaysDeployed.map((name): [string, string[]] => [
          `${name}Role`,
          ["lambda.amazonaws.com"],
        ]),
        ["WorkflowRole", ["states.amazonaws.com"]],
        ["CrlScheduleRole", ["scheduler.amazonaws.com"]],
        ["RequestSweeperScheduleRole", ["scheduler.amazonaws.com"]],
        ["ExpiryRemindersScheduleRole", ["scheduler.amazonaws.com"]],
        // Lambda@Edge runs the function in every edge Region as edgelambda (SST's OAC signer).
        ["RouterEdgeFunctionRole", ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]],
      ]);
      assert.deepEqual(
        d
          .roles()
          .map((r) => r.name)
          .sort(),
        [...expected.keys()].sort(),
        "a role the test does not know of",
      );
      for (const [name, services] of expected) {
        const statement = trustOf(d, name);
        const principal = statement.Principal as Record<string, unknown>;
        assert.deepEqual(
          Object.keys(principal),
          ["Service"],
          `${name}: ${JSON.stringify(principal)}`,
        );
        assert.deepEqual(list(principal.Service as string[]).sort(), [...services].sort(), name);
      }
      // Services acting for many accounts: only for this account, and this machine or group.
      const stateMachine = d.stateMachine().arn;
      assert.deepEqual(trustOf(d, "WorkflowRole").Condition, {
        StringEquals: { "aws:SourceAccount": [ACCOUNT] },
        ArnLike: { "aws:SourceArn": [stateMachine] },
      });
      for (const schedule of [
        "CrlScheduleRole",
        "RequestSweeperScheduleRole",
        "ExpiryRemindersScheduleRole",
      ]) {
        assert.deepEqual(
          trustOf(d, schedule).Condition,
          {
            StringEquals: { "aws:SourceAccount": [ACCOUNT] },
            ArnLike: {
              "aws:SourceArn": [`arn:aws:scheduler:eu-west-1:${ACCOUNT}:schedule-group/default`],
            },
          },
          schedule,
        );
      }
    }
  });

  test("no function role carries a managed policy; each logs only to its own log group", () => {
    for (const fn of dev.functions()) {
      assert.deepEqual(fn.role.managedPolicyArns, [], fn.name);
      const logs = fn.role.policies
        .flatMap((p) => p.policy.Statement)
        .filter((s) => list(s.Action).some((a) => a.startsWith("logs:")));
      assert.deepEqual(
        logs.flatMap((s) => list(s.Resource)),
        [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/lambda/${fn.physicalName}:*`],
        fn.name,
      );
      const resource = dev.one("aws:lambda/function:Function", `${fn.name}Function`);
      assert.deepEqual(resource.inputs.tracingConfig, { mode: "Active" }, fn.name);
      assert.equal(resource.inputs.runtime, "nodejs24.x", fn.name);
    }
  });

  test("Step Functions and SES grants go only to the functions that use them", () => {
    const holders = (prefix: string) =>
      dev
        .functions()
        .filter((fn) =>
          fn.role.policies.some((p) =>
            p.policy.Statement.some((s) => list(s.Action).some((a) => a.startsWith(prefix))),
          ),
        )
        .map((fn) => fn.name)
        .sort();
    // The API starts executions and answers the approval wait; the sweeper only starts them.
    assert.deepEqual(holders("states:"), ["Api", "RequestSweeper"]);
    const sweeperStates = dev
      .fn("RequestSweeper")
      .role.policies.flatMap((p) => p.policy.Statement)
      .filter((st) => list(st.Action).some((a) => a.startsWith("states:")));
    assert.deepEqual(
      sweeperStates.map((st) => [list(st.Action), list(st.Resource)]),
      [[["states:StartExecution"], [dev.stateMachine().arn]]],
    );
    // The API mails only an admin's resend of a request's approval mails.
    assert.deepEqual(holders("ses:"), [
      "Api",
      "ExpiryReminders",
      "RequestApproval",
      "RequesterMail",
    ]);
    // No role policy mentions the CA key: its key policy is the only grant on it.
    assert.deepEqual(holders("kms:"), []);
    // Only the CA function may write the CA chain every signature depends on.
    const chainWriters = dev
      .functions()
      .filter((fn) =>
        fn.role.policies.some((p) =>
          p.policy.Statement.some(
            (s) =>
              list(s.Action).includes("s3:PutObject") &&
              list(s.Resource).some((r) => r.endsWith("/ca/issuing-chain.pem")),
          ),
        ),
      )
      .map((fn) => fn.name);
    assert.deepEqual(chainWriters, ["CaBootstrap"]);
  });

  test("the CA key: the signing functions sign digests; administrators administer and may not sign", async () => {
    const signingRoles = (d: SynthesizedDeployment) =>
      functionNames
        .filter((name) =>
          ((functionGrants[name] as { caKey?: readonly string[] }).caKey ?? []).includes(
            "kms:Sign",
          ),
        )
        .map((name) => d.fn(name).role.arn)
        .sort();
    assert.deepEqual(functionNames.filter((name) => "caKey" in functionGrants[name]).sort(), [
      "CaBootstrap",
      "CrlPublisher",
      "SignCertificate",
    ]);
    for (const [d, admins] of [
      [dev, [DEPLOYER_ROLE_ARN]],
      [production, [DEPLOYER_ROLE_ARN, KEY_ADMINS_ROLE]],
    ] as const) {
      const policy = d.key.policy;
      assert.ok(policy, "the key has a policy of its own");
      const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
      assert.deepEqual(Object.keys(bySid).sort(), [
        "KeyAdministration",
        "ReadPublicKey",
        "SignDigests",
      ]);
      const principals = (s: PolicyStatement | undefined) =>
        list(((s?.Principal ?? {}) as { AWS?: string[] }).AWS).sort();
      assert.deepEqual(principals(bySid.SignDigests), signingRoles(d));
      assert.deepEqual(list(bySid.SignDigests!.Action), ["kms:Sign"]);
      assert.deepEqual(bySid.SignDigests!.Condition, {
        StringEquals: { "kms:MessageType": ["DIGEST"] },
      });
      assert.deepEqual(principals(bySid.ReadPublicKey), signingRoles(d));
      assert.deepEqual(principals(bySid.KeyAdministration), [...admins].sort());
      assert.deepEqual(list(bySid.KeyAdministration!.Action), [...KEY_ADMIN_ACTIONS]);
      // Nothing defers to IAM (no account principal), and no administrator grants itself a grant.
      assert.doesNotMatch(JSON.stringify(policy), /:root"|kms:CreateGrant|kms:\*/);

      const kms = new Authorizer(d);
      const sign = (principal: string, messageType: string) =>
        kms.authorize(principal, {
          action: "kms:Sign",
          resource: d.key.arn,
          context: { "kms:MessageType": messageType },
        });
      for (const role of signingRoles(d)) {
        assert.equal((await sign(role, "DIGEST")).decision, "Allowed", role);
        assert.equal((await sign(role, "RAW")).decision, "ImplicitlyDenied", `${role} RAW`);
      }
      for (const principal of [
        ...admins,
        d.fn("Api").role.arn,
        `arn:aws:iam::${ACCOUNT}:root`,
        `arn:aws:iam::${ACCOUNT}:role/Administrator`,
      ]) {
        assert.equal((await sign(principal, "DIGEST")).decision, "ImplicitlyDenied", principal);
      }
      const admin = await kms.authorize(admins[0], {
        action: "kms:DisableKey",
        resource: d.key.arn,
      });
      assert.equal(admin.decision, "Allowed");
    }
  });

  test("the API's function URL answers the Router's distribution alone, and has no CORS", async () => {
    for (const d of [dev, production]) {
      const url = d.one("aws:lambda/functionUrl:FunctionUrl", "ApiUrl");
      assert.equal(url.inputs.authorizationType, "AWS_IAM");
      assert.equal(url.inputs.cors, undefined, "CORS off");
      const [distribution] = d.byType("aws:cloudfront/distribution:Distribution");
      const arn = String(distribution!.outputs.arn);
      const api = d.fn("Api");
      const permissions = d
        .byType("aws:lambda/permission:Permission")
        .filter((p) => p.inputs.function === api.physicalName || p.inputs.function === api.arn);
      assert.deepEqual(
        permissions.map((p) => [p.inputs.principal, p.inputs.action, p.inputs.sourceArn]).sort(),
        [
          ["cloudfront.amazonaws.com", "lambda:InvokeFunction", arn],
          ["cloudfront.amazonaws.com", "lambda:InvokeFunctionUrl", arn],
        ],
      );
      const lambda = new Authorizer(d);
      const invoke = (principal: string, sourceArn?: string) =>
        lambda.authorize(principal, {
          action: "lambda:InvokeFunctionUrl",
          resource: api.arn,
          context: {
            "lambda:FunctionUrlAuthType": "AWS_IAM",
            ...(sourceArn ? { "aws:SourceArn": sourceArn } : {}),
          },
        });
      assert.equal((await invoke("cloudfront.amazonaws.com", arn)).decision, "Allowed");
      const other = `arn:aws:cloudfront::999999999999:distribution/EOTHER`;
      assert.equal((await invoke("cloudfront.amazonaws.com", other)).decision, "ImplicitlyDenied");
      assert.equal(
        (await invoke(`arn:aws:iam::${ACCOUNT}:role/Someone`)).decision,
        "ImplicitlyDenied",
      );
      // The body hash OAC's SigV4 needs is added at the edge, which sees the body.
      const association = (
        distribution!.inputs.defaultCacheBehavior as {
          lambdaFunctionAssociations: { eventType: string; includeBody: boolean }[];
        }
      ).lambdaFunctionAssociations;
      assert.deepEqual(
        association.map((a) => [a.eventType, a.includeBody]),
        [["origin-request", true]],
      );
    }
  });

  test("the bucket answers the Router's distribution, for the publication objects only", async () => {
    const bucket = dev.fn("Api").environment.PKI_BUCKET!;
    const [distribution] = dev.byType("aws:cloudfront/distribution:Distribution");
    const arn = String(distribution!.outputs.arn);
    const s3 = new Authorizer(dev);
    const read = async (key: string, sourceArn = arn) =>
      (
        await s3.authorize("cloudfront.amazonaws.com", {
          action: "s3:GetObject",
          resource: `arn:aws:s3:::${bucket}/${key}`,
          context: { "aws:SourceArn": sourceArn },
        })
      ).decision;
    for (const key of [
      "crl/0123456789abcdef.crl",
      "crl/0123456789abcdef.crl.pem",
      "ca/0123456789abcdef.cer",
      "ca/0123456789abcdef.pem",
      "truststore.pem",
    ]) {
      assert.equal(await read(key), "Allowed", key);
      assert.equal(
        await read(key, "arn:aws:cloudfront::999999999999:distribution/EOTHER"),
        "ImplicitlyDenied",
        key,
      );
    }
    for (const key of [
      "ca/issuing-chain.pem",
      "certificates/01.pem",
      "pending/r1",
      "truststore.pem.bak",
    ]) {
      assert.equal(await read(key), "ImplicitlyDenied", key);
    }
  });

  test("the CRL queue, the mail-feedback topic and the schedule accept only their own sources", async () => {
    const d = dev;
    const authorizer = new Authorizer(d);
    const queue = d.queueArn("CrlQueue");
    const [rule] = d.rules().filter((r) => r.targets.includes(queue));
    assert.ok(rule, "a rule sends to the CRL queue");
    const send = (sourceArn: string) =>
      authorizer.authorize("events.amazonaws.com", {
        action: "sqs:SendMessage",
        resource: queue,
        context: { "aws:SourceArn": sourceArn, "aws:SourceAccount": ACCOUNT },
      });
    assert.equal((await send(rule.arn)).decision, "Allowed");
    assert.equal(
      (await send(`arn:aws:events:eu-west-1:${ACCOUNT}:rule/other`)).decision,
      "ImplicitlyDenied",
    );
    for (const principal of ["sns.amazonaws.com", "s3.amazonaws.com"]) {
      const other = await authorizer.authorize(principal, {
        action: "sqs:SendMessage",
        resource: queue,
        context: { "aws:SourceAccount": ACCOUNT },
      });
      assert.equal(other.decision, "ImplicitlyDenied", principal);
    }
    const topic = d.byType("aws:sns/topicPolicy:TopicPolicy")[0]!;
    const configurationSet = `arn:aws:ses:eu-west-1:${ACCOUNT}:configuration-set/private-ca-dev-mail`;
    const publish = (sourceArn: string) =>
      authorizer.authorize("ses.amazonaws.com", {
        action: "sns:Publish",
        resource: String(topic.inputs.arn),
        context: { "aws:SourceArn": sourceArn, "aws:SourceAccount": ACCOUNT },
      });
    assert.equal((await publish(configurationSet)).decision, "Allowed");
    assert.equal((await publish(`${configurationSet}-other`)).decision, "ImplicitlyDenied");
  });

  test("SES: this stage's configuration set sends feedback; a domain identity signs with DKIM; a second stage shares the identity", () => {
    const identities = (d: SynthesizedDeployment) =>
      d.byType("aws:sesv2/emailIdentity:EmailIdentity");
    // dev creates the address identity; production the domain, with its three DKIM records.
    assert.deepEqual(
      identities(dev).map((i) => [i.inputs.emailIdentity, i.read ?? false]),
      [["pki@example.com", false]],
    );
    assert.deepEqual(
      identities(production).map((i) => i.inputs.emailIdentity),
      ["example.com"],
    );
    const dkim = production
      .byType("aws:route53/record:Record")
      .filter((r) => String(r.inputs.name).includes("._domainkey."));
    assert.deepEqual(
      dkim.map((r) => [r.inputs.name, r.inputs.type, r.inputs.records, r.inputs.zoneId]).sort(),
      [1, 2, 3].map((n) => [
        `dkim${n}._domainkey.example.com`,
        "CNAME",
        [`dkim${n}.dkim.amazonses.com`],
        "Z0123456789ABCDEFGHIJ",
      ]),
    );
    // staging reads the identity another stage made (a missing one fails the deploy), and
    // creates none: SES refuses a second identity of a name.
    assert.deepEqual(
      identities(staging).map((i) => [i.id, i.read]),
      [["pki@example.com", true]],
    );
    for (const [d, stage] of [
      [dev, "dev"],
      [production, "production"],
      [staging, "staging"],
    ] as const) {
      const set = d.one("aws:sesv2/configurationSet:ConfigurationSet", "MailConfig");
      assert.equal(set.inputs.configurationSetName, `private-ca-${stage}-mail`);
      const destination = d.one(
        "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination",
        "MailFeedbackDestination",
      );
      assert.deepEqual(
        (destination.inputs.eventDestination as { matchingEventTypes: string[] })
          .matchingEventTypes,
        ["BOUNCE", "COMPLAINT", "REJECT"],
      );
      // The API mails an admin's resend of approval mails; the functions that mail nothing
      // have no configuration set.
      for (const name of ["RequestApproval", "RequesterMail", "Api"]) {
        assert.equal(
          d.fn(name).environment.PKI_MAIL_CONFIGURATION_SET,
          `private-ca-${stage}-mail`,
          `${stage} ${name}`,
        );
      }
      assert.equal(d.fn("StoreRequest").environment.PKI_MAIL_CONFIGURATION_SET, undefined);
    }
    // The on-call address hears about bounces and complaints.
    const subscriptions = production
      .byType("aws:sns/topicSubscription:TopicSubscription")
      .map((s) => s.name);
    assert.ok(subscriptions.includes("MailFeedbackEmail"), subscriptions.join(", "));
  });
});
