/**
 * The infrastructure as SST would deploy it, checked offline: sst.config.ts runs on the real SST
 * components and Pulumi AWS provider under mocks (synth.ts), and these tests read what it would
 * create: every function built from its entry point, the deployed workflow the one ASL document
 * wired to exactly the step functions, the event routes and schedules, the alarms, and production
 * keeping its data and CA key. Who may do what is security.test.ts; that every AWS call is
 * allowed, iam-conformance.test.ts. Two stages are synthesized: `dev` with the shipped
 * configuration, and `production` with a custom domain, alarm mail and another key spec.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { lambdaEnvironment } from "../../bench/lambda-bundle.ts";
import { eventTypes } from "../../packages/core/src/events/catalogue.ts";
import { EVENT_SOURCE } from "../../packages/core/src/events/eventbridge-bus.ts";
import { requesterMailEventTypes } from "../../packages/core/src/subscribers/requester-mail.ts";
import {
  renderDefinition,
  type WorkflowFunctionName,
  workflowFunctionNames,
} from "../../packages/core/src/workflow/definition.ts";
import {
  PKI_RESOURCE_VARIABLE,
  pkiResourceFromEnvironment,
} from "../../packages/functions/src/cli/aws-target.ts";
import { alwaysDeployed, functionGrants, functionNames } from "../grants.ts";
import { list, type PolicyStatement } from "./deployment/synthesized.ts";
import { type Synthesis, type SynthResource, synthesize } from "./synth.ts";

const root = join(import.meta.dirname, "..", "..");
const aslValidator = createRequire(import.meta.url)("asl-validator") as (definition: unknown) => {
  isValid: boolean;
  errorsText: () => string;
};
const shippedConfig = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8")) as Record<
  string,
  unknown
>;

type Statement = PolicyStatement;
const byType = (s: Synthesis, type: string) => s.resources.filter((r) => r.type === type);
const one = (s: Synthesis, type: string, name: string): SynthResource => {
  const found = s.resources.find((r) => r.type === type && r.name === name);
  assert.ok(found, `no ${type} named ${name}`);
  return found;
};
const functionOf = (s: Synthesis, name: string) =>
  one(s, "aws:lambda/function:Function", `${name}Function`);
const env = (fn: SynthResource) =>
  (fn.inputs.environment as { variables: Record<string, string> }).variables;
/** The Allow statements of a function's role. */
function roleStatements(s: Synthesis, name: string): Statement[] {
  const role = one(s, "aws:iam/role:Role", `${name}Role`);
  return ((role.inputs.inlinePolicies ?? []) as { policy: string }[]).flatMap(
    (p) => (JSON.parse(p.policy) as { Statement: Statement[] }).Statement,
  );
}

describe("the stacks, synthesized offline", () => {
  let dev: Synthesis;
  let production: Synthesis;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-stacks-"));
    const productionConfig = join(work, "production.config.json");
    writeFileSync(
      productionConfig,
      JSON.stringify({
        ...shippedConfig,
        aws: {
          region: "eu-central-1",
          ca: { keySpec: "ECC_NIST_P384" },
          domain: { name: "pki.example.com" },
          logRetention: "1 year",
          alarmEmail: "oncall@example.com",
        },
      }),
    );
    [dev, production] = await Promise.all([
      synthesize({ stage: "dev" }),
      synthesize({ stage: "production", configPath: productionConfig }),
    ]);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("each function's grants match the AWS calls its bundle can make", () => {
    // keepNames keeps the SDK's command class names in the minified bundles, and each entry
    // bundles only the clients it uses: a grant without a call, or a call without a grant
    // (AccessDenied in production), shows here.
    // The gates' functions are checked with enforcement configured (enforcement.test.ts).
    for (const build of dev.builds) {
      const code = readFileSync(join(build.out, "index.mjs"), "utf8");
      const has = (command: string) => new RegExp(`\\b${command}\\b`).test(code);
      const g = functionGrants[build.functionID as keyof typeof functionGrants] as {
        putEvents?: boolean;
        sendMail?: boolean;
        caKey?: readonly string[];
        startExecution?: boolean;
        answerTasks?: boolean;
        readObjects?: readonly string[];
        writeObjects?: readonly string[];
        table?: readonly string[];
      };
      const id = build.functionID;
      assert.equal(has("PutEventsCommand"), g.putEvents === true, `${id}: events:PutEvents`);
      assert.equal(has("SendEmailCommand"), g.sendMail === true, `${id}: ses:SendEmail`);
      assert.equal(has("SignCommand"), (g.caKey ?? []).includes("kms:Sign"), `${id}: kms:Sign`);
      assert.equal(
        has("StartExecutionCommand"),
        g.startExecution === true,
        `${id}: StartExecution`,
      );
      assert.equal(has("SendTaskSuccessCommand"), g.answerTasks === true, `${id}: SendTask*`);
      assert.equal(
        has("GetObjectCommand"),
        (g.readObjects ?? []).length + (g.writeObjects ?? []).length > 0,
        `${id}: S3`,
      );
      assert.equal(has("DynamoDBClient"), (g.table ?? []).length > 0, `${id}: DynamoDB`);
    }
  });

  test("the deployed workflow is the one ASL document, wired to exactly the seven step functions", async () => {
    const machine = one(dev, "aws:sfn/stateMachine:StateMachine", "Workflow");
    const definition = JSON.parse(String(machine.inputs.definition)) as {
      States: Record<string, { Type: string; Parameters?: { FunctionName?: string } }>;
    };
    const invoked = new Set(
      Object.values(definition.States)
        .filter((s) => s.Type === "Task")
        .map((s) => s.Parameters?.FunctionName),
    );
    const arns = Object.fromEntries(
      workflowFunctionNames.map((name) => [
        name,
        `arn:aws:lambda:eu-west-1:123456789012:function:private-ca-dev-${name}`,
      ]),
    ) as Record<WorkflowFunctionName, string>;
    assert.deepEqual([...invoked].sort(), Object.values(arns).sort());
    // Each of those ARNs is a deployed function whose bundle is that step's entry point.
    for (const name of workflowFunctionNames) {
      const fn = functionOf(dev, name);
      assert.equal(fn.inputs.name, `private-ca-dev-${name}`);
      const build = dev.builds.find((b) => b.functionID === name);
      assert.ok(build, `${name} was not built`);
      const entry = join(root, `${build.handler.slice(0, build.handler.lastIndexOf("."))}.ts`);
      assert.match(readFileSync(entry, "utf8"), new RegExp(`stepLambda\\(\\s*"${name}"`));
    }
    // The same document local mode runs, with the deployed ARNs in place of the placeholders.
    assert.deepEqual(definition, JSON.parse(renderDefinition(arns)));
    const { isValid, errorsText } = aslValidator(definition);
    assert.ok(isValid, errorsText());
    // The machine's role invokes those functions and nothing else.
    const role = roleStatements(dev, "Workflow");
    const invoke = role.filter((s) => list(s.Action).includes("lambda:InvokeFunction"));
    assert.deepEqual(invoke.flatMap((s) => list(s.Resource)).sort(), Object.values(arns).sort());
    assert.equal(
      (machine.inputs.loggingConfiguration as { includeExecutionData: boolean })
        .includeExecutionData,
      false,
    );
    assert.deepEqual(machine.inputs.tracingConfiguration, { enabled: true });
  });

  test("every function is built from its entry point with the validated configuration beside it", () => {
    // EnforcementSync only where `enforcement` names a gate (enforcement.test.ts).
    assert.deepEqual(dev.builds.map((b) => b.functionID).sort(), [...alwaysDeployed].sort());
    for (const build of dev.builds) {
      assert.ok(statSync(join(build.out, "index.mjs")).size > 10_000, build.functionID);
      const bundled = JSON.parse(readFileSync(join(build.out, "pki.config.json"), "utf8"));
      assert.deepEqual(bundled, shippedConfig, build.functionID);
      const variables = env(functionOf(dev, build.functionID));
      assert.equal(variables.PKI_CONFIG_FILE, "pki.config.json");
      assert.equal(variables.PKI_PUBLIC_BASE_URL, "https://d1abcdef.cloudfront.net");
      for (const name of ["PKI_TABLE", "PKI_BUCKET", "PKI_EVENT_BUS", "PKI_CA_KEY_ID"]) {
        assert.ok(variables[name], `${build.functionID}: ${name}`);
      }
      // The functions that start executions: the API, and the sweep for stranded requests.
      assert.equal(
        "PKI_STATE_MACHINE_ARN" in variables,
        ["Api", "RequestSweeper"].includes(build.functionID),
        build.functionID,
      );
      const size = Object.entries(variables).reduce((n, [k, v]) => n + k.length + v.length, 0);
      assert.ok(
        size < 4096,
        `${build.functionID}: ${size} bytes of environment (Lambda's limit is 4 KB)`,
      );
    }
  });

  test("the API's bundle serves the pages, with the assets the stack copies beside it", () => {
    const api = dev.builds.find((b) => b.functionID === "Api")!;
    for (const name of ["app.css", "app.js"]) {
      assert.equal(
        readFileSync(join(api.out, "web-assets", name), "utf8"),
        readFileSync(join(root, "packages/web/assets", name), "utf8"),
        name,
      );
    }
    // The bundle as Lambda runs it: its own process, LAMBDA_TASK_ROOT its folder, a Function
    // URL event for the submit page and then for the stylesheet that page names.
    const invoke = (path: string, query = "") => {
      const script = `
        const { handler } = await import(${JSON.stringify(join(api.out, "index.mjs"))});
        const event = {
          version: "2.0", routeKey: "$default", rawPath: ${JSON.stringify(path)},
          rawQueryString: ${JSON.stringify(query)}, headers: { host: "d1abcdef.cloudfront.net", accept: "text/html" },
          requestContext: { accountId: "123456789012", apiId: "url", domainName: "d1abcdef.cloudfront.net",
            domainPrefix: "d1abcdef", requestId: "r1", routeKey: "$default", stage: "$default",
            time: "23/Nov/2026:10:00:00 +0000", timeEpoch: 0,
            http: { method: "GET", path: ${JSON.stringify(path)}, protocol: "HTTP/1.1", sourceIp: "198.51.100.7", userAgent: "t" } },
          isBase64Encoded: false,
        };
        const context = { awsRequestId: "r1", functionName: "Api", getRemainingTimeInMillis: () => 25000 };
        process.stdout.write("\\n@@result@@" + JSON.stringify(await handler(event, context)));`;
      const { PKI_CONFIG: _inline, ...lambda } = lambdaEnvironment("private-ca-dev-Api");
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
        cwd: api.out,
        // The stack's variables, so the configuration is the file bundled beside the handler.
        env: { ...lambda, ...env(functionOf(dev, "Api")), LAMBDA_TASK_ROOT: api.out },
        encoding: "utf8",
      });
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout.split("\n@@result@@")[1] ?? "null") as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };
    };
    const page = invoke("/");
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.headers["content-security-policy"] ?? "", /default-src 'none'/);
    assert.match(page.headers["strict-transport-security"] ?? "", /max-age=/);
    const css = /href="\/assets\/app\.css\?(v=[0-9a-f]{16})"/.exec(page.body);
    assert.ok(css, page.body);
    const stylesheet = invoke("/assets/app.css", css[1]);
    assert.equal(stylesheet.statusCode, 200);
    assert.match(stylesheet.headers["cache-control"] ?? "", /immutable/);
    assert.match(stylesheet.headers["content-type"] ?? "", /^text\/css/);
  });

  test("events reach the subscribers and the CRL queue by exact rules; the schedule republishes", () => {
    const rules = Object.fromEntries(
      byType(dev, "aws:cloudwatch/eventRule:EventRule").map((r) => [
        r.name,
        JSON.parse(String(r.inputs.eventPattern)) as Record<string, string[]>,
      ]),
    );
    assert.deepEqual(rules.CrlOnRevocationRule, {
      source: [EVENT_SOURCE],
      "detail-type": ["certificate.revoked"],
    });
    assert.deepEqual(rules.EventsSubscriberRequesterMailRule?.["detail-type"], [
      ...requesterMailEventTypes,
    ]);
    assert.deepEqual(rules.EventsSubscriberAuditTrailRule?.["detail-type"], [...eventTypes]);
    const schedule = one(dev, "aws:scheduler/schedule:Schedule", "CrlScheduleSchedule");
    // Every minute: the outbox check for revocations whose event was lost.
    assert.equal(schedule.inputs.scheduleExpression, "rate(1 minute)");
    const target = schedule.inputs.target as { arn: string; input: string };
    assert.equal(
      target.arn,
      "arn:aws:lambda:eu-west-1:123456789012:function:private-ca-dev-CrlPublisher",
    );
    assert.deepEqual(JSON.parse(target.input), { source: "schedule" });
    const mapping = byType(dev, "aws:lambda/eventSourceMapping:EventSourceMapping")[0]!;
    assert.equal(mapping.inputs.functionName, target.arn);
    for (const name of ["RequesterMail", "AuditTrail"]) {
      const invokeConfig = one(
        dev,
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        `${name}Delivery`,
      );
      assert.match(
        String(
          (invokeConfig.inputs.destinationConfig as { onFailure: { destination: string } })
            .onFailure.destination,
        ),
        /^arn:aws:sqs:/,
      );
    }
  });

  test("a schedule sweeps for stranded requests every five minutes, trusted from this account's default group only", () => {
    const schedule = one(dev, "aws:scheduler/schedule:Schedule", "RequestSweeperScheduleSchedule");
    assert.equal(schedule.inputs.scheduleExpression, "rate(5 minutes)");
    const target = schedule.inputs.target as { arn: string; roleArn: string; input: string };
    const sweeper = functionOf(dev, "RequestSweeper");
    assert.equal(
      target.arn,
      "arn:aws:lambda:eu-west-1:123456789012:function:private-ca-dev-RequestSweeper",
    );
    assert.equal(target.arn, sweeper.outputs.arn);
    assert.deepEqual(JSON.parse(target.input), { source: "schedule" });
    const build = dev.builds.find((b) => b.functionID === "RequestSweeper");
    assert.equal(build?.handler, "packages/functions/src/lambda/request-sweeper.handler");
    // It starts the executions on the deployed state machine.
    assert.equal(
      env(sweeper).PKI_STATE_MACHINE_ARN,
      one(dev, "aws:sfn/stateMachine:StateMachine", "Workflow").outputs.arn,
    );
    const role = one(dev, "aws:iam/role:Role", "RequestSweeperScheduleRole");
    assert.equal(target.roleArn, role.outputs.arn);
    const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as { Statement: Statement[] };
    assert.deepEqual(trust.Statement, [
      {
        Effect: "Allow",
        Action: ["sts:AssumeRole"],
        Principal: { Service: ["scheduler.amazonaws.com"] },
        Condition: {
          StringEquals: { "aws:SourceAccount": ["123456789012"] },
          ArnLike: {
            "aws:SourceArn": ["arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default"],
          },
        },
      },
    ]);
    // The schedule's role invokes the sweeper and nothing else.
    assert.deepEqual(
      roleStatements(dev, "RequestSweeperSchedule").map((s) => [list(s.Action), list(s.Resource)]),
      [[["lambda:InvokeFunction"], [target.arn]]],
    );
  });

  test("the deploy bootstraps the CA through the bootstrap function, again whenever its code changes", () => {
    const run = one(dev, "aws:lambda/invocation:Invocation", "CaBootstrapRun");
    assert.equal(run.inputs.functionName, "private-ca-dev-CaBootstrap");
    assert.deepEqual(JSON.parse(String(run.inputs.input)), { mode: "self-signed" });
    // SST uploads the bundle to S3 under a key naming the zip's SHA-256: that key changes with
    // the code. The function sets no sourceCodeHash, and the provider only echoes a configured
    // one, so a trigger on it would never change (the mocks, like the provider, invent none).
    const fn = functionOf(dev, "CaBootstrap");
    assert.equal(fn.inputs.sourceCodeHash, undefined);
    assert.equal(fn.outputs.sourceCodeHash, undefined);
    const triggers = run.inputs.triggers as Record<string, string>;
    assert.equal(triggers.code, fn.inputs.s3Key);
    assert.match(String(triggers.code), /^assets\/CaBootstrap-code-[0-9a-f]{64}\.zip$/);
    assert.deepEqual(Object.keys(triggers).sort(), ["code", "key", "mode", "subject"]);
  });

  test("sst shell hands the operator's pki --aws commands the CA function, as the CLI reads it", () => {
    const link = one(dev, "sst:sst:LinkRef", "PkiLinkRef").inputs.properties as Record<
      string,
      string
    >;
    const resource = pkiResourceFromEnvironment(
      { [PKI_RESOURCE_VARIABLE]: JSON.stringify({ type: "sst.sst.Linkable", ...link }) },
      "show",
    );
    assert.equal(resource.caFunction, functionOf(dev, "CaBootstrap").outputs.arn);
    assert.equal(resource.region, "eu-west-1");
  });

  test("the API answers before CloudFront gives up on it; queues keep failed messages two weeks", () => {
    const api = functionOf(dev, "Api");
    const route = byType(dev, "pulumi-nodejs:dynamic:Resource").find(
      (r) => r.name === "ApiRouteKey.sst.aws.KvKeys",
    )!;
    const metadata = JSON.parse((route.inputs.entries as { metadata: string }).metadata) as {
      origin: { timeouts: { readTimeout: number } };
    };
    assert.ok(Number(api.inputs.timeout) < metadata.origin.timeouts.readTimeout);
    const queues = Object.fromEntries(
      byType(dev, "aws:sqs/queue:Queue").map((q) => [q.name, q.inputs]),
    );
    // Lambda's advice for an SQS source: six times the function's timeout plus the window.
    const publisher = functionOf(dev, "CrlPublisher");
    assert.equal(
      queues.CrlQueueQueue?.visibilityTimeoutSeconds,
      6 * Number(publisher.inputs.timeout) + 5,
    );
    for (const name of ["CrlDeadLettersQueue", "SubscriberFailuresQueue"]) {
      assert.equal(queues[name]?.messageRetentionSeconds, 14 * 24 * 3600, name);
    }
  });

  test("a name given outright names its stage; what a removal keeps has a generated name or none", () => {
    // So removing a stage and deploying it again cannot collide with what the removal kept.
    const retained = production.resources.filter((r) => r.options.retainOnDelete);
    assert.deepEqual(retained.map((r) => r.name).sort(), [
      "BucketBucket",
      "CaKey",
      "CaKeyPolicy",
      "IdentityGroup-pki-admins",
      "IdentityGroup-pki-approvers",
      "IdentityGroup-pki-auditors",
      "IdentityGroup-pki-requesters",
      "IdentityUserPool",
      "TableTable",
    ]);
    // Cognito's names cannot collide: a pool's name need not be unique, and groups are named
    // inside their own pool (a later deploy makes a new pool with its own groups).
    const cognito = (r: SynthResource) => r.type.startsWith("aws:cognito/");
    for (const r of retained.filter((r) => !cognito(r))) {
      const name = r.inputs.name ?? r.inputs.bucket;
      if (name === undefined) continue;
      assert.match(String(name), /-[a-z]{8}$/, `${r.name} keeps a fixed name: ${String(name)}`);
    }
    const fixed = production.resources.filter(
      (r) =>
        !r.type.startsWith("sst:") &&
        !r.type.startsWith("pulumi") &&
        // DNS records are named by the domain they serve, not by the stage.
        r.type !== "aws:route53/record:Record" &&
        // Cognito groups are named by identity.roleGroups, inside the stage's pool.
        r.type !== "aws:cognito/userGroup:UserGroup" &&
        typeof r.inputs.name === "string" &&
        !/-[a-z]{8}$/.test(r.inputs.name),
    );
    assert.ok(fixed.length >= functionNames.length, `${fixed.length} fixed names`);
    for (const r of fixed) {
      assert.match(String(r.inputs.name), /private-ca-production/, `${r.type} ${r.name}`);
    }
  });

  test("production keeps its table, bucket and CA key, and refuses removal", () => {
    const table = one(production, "aws:dynamodb/table:Table", "TableTable");
    assert.equal(table.inputs.deletionProtectionEnabled, true);
    assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true });
    assert.equal(table.options.retainOnDelete, true);
    const key = one(production, "aws:kms/key:Key", "CaKey");
    assert.equal(key.inputs.customerMasterKeySpec, "ECC_NIST_P384");
    assert.equal(key.inputs.keyUsage, "SIGN_VERIFY");
    assert.equal(key.options.retainOnDelete, true);
    assert.equal(key.options.protect, true);
    assert.equal(
      one(production, "aws:s3/bucket:Bucket", "BucketBucket").options.retainOnDelete,
      true,
    );
    for (const s of [dev, production]) {
      const versioning = byType(s, "aws:s3/bucketVersioning:BucketVersioning")[0]!;
      assert.deepEqual(versioning.inputs.versioningConfiguration, { status: "Enabled" });
    }
    assert.equal(production.outputs._protect, true);
    // A development stage can be removed whole.
    assert.equal(one(dev, "aws:kms/key:Key", "CaKey").options.retainOnDelete, false);
    assert.equal(
      one(dev, "aws:dynamodb/table:Table", "TableTable").inputs.deletionProtectionEnabled,
      false,
    );
    assert.equal(
      one(dev, "aws:kms/key:Key", "CaKey").inputs.customerMasterKeySpec,
      "ECC_NIST_P256",
    );
  });

  test("a custom domain becomes the public base URL, and the CloudFront name keeps answering", () => {
    assert.equal(production.outputs.url, "https://pki.example.com");
    const distribution = byType(production, "aws:cloudfront/distribution:Distribution")[0]!;
    assert.deepEqual(distribution.inputs.aliases, ["pki.example.com"]);
    assert.match(
      String(
        (distribution.inputs.viewerCertificate as { acmCertificateArn?: string }).acmCertificateArn,
      ),
      /^arn:aws:acm:us-east-1:/,
    );
    // Certificates issued before the domain was added name the CloudFront host in their CRL
    // distribution point and AIA: SST's Router would answer it 403 when given the domain.
    for (const s of [dev, production]) {
      const [fn] = byType(s, "aws:cloudfront/function:Function");
      assert.doesNotMatch(String(fn!.inputs.code), /cloudfront\.net/);
    }
  });

  test("alarms mail the on-call address; logs keep the configured retention", () => {
    assert.equal(env(functionOf(production, "Api")).PKI_PUBLIC_BASE_URL, "https://pki.example.com");
    const subscription = byType(production, "aws:sns/topicSubscription:TopicSubscription")[0];
    assert.equal(subscription?.inputs.endpoint, "oncall@example.com");
    assert.equal(byType(dev, "aws:sns/topicSubscription:TopicSubscription").length, 0);
    const retention = byType(production, "aws:cloudwatch/logGroup:LogGroup").map(
      (g) => g.inputs.retentionInDays,
    );
    assert.ok(retention.length >= alwaysDeployed.length + 1);
    assert.ok(
      retention.every((days) => days === 365),
      JSON.stringify(retention),
    );
  });

  test("alarms watch failed executions, the CRL's distance to nextUpdate and the failure queues", () => {
    const alarms = Object.fromEntries(
      byType(dev, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [
        a.name,
        a.inputs as Record<string, unknown>,
      ]),
    );
    assert.equal(alarms.WorkflowFailures?.metricName, "ExecutionsFailed");
    assert.deepEqual(alarms.WorkflowFailures?.dimensions, {
      StateMachineArn: "arn:aws:states:eu-west-1:123456789012:stateMachine:private-ca-dev-Workflow",
    });
    const crl = alarms.CrlNearNextUpdate!;
    assert.equal(crl.metricName, "CrlSecondsToNextUpdate");
    // The alarm must name the dimensions the publisher emits: its service name.
    assert.deepEqual(crl.dimensions, {
      service: env(functionOf(dev, "CrlPublisher")).POWERTOOLS_SERVICE_NAME,
    });
    assert.equal(crl.namespace, env(functionOf(dev, "CrlPublisher")).POWERTOOLS_METRICS_NAMESPACE);
    assert.equal(crl.threshold, ((168 - 24) / 2) * 3600);
    assert.equal(crl.treatMissingData, "breaching");
    // A message left in a failure queue is somebody's lost mail or audit entry, or a
    // revocation batch: it alarms, where before it expired unseen.
    for (const [alarm, queue] of [
      ["CrlDeadLettersWaiting", "CrlDeadLettersQueue"],
      ["SubscriberFailuresWaiting", "SubscriberFailuresQueue"],
    ] as const) {
      const waiting = alarms[alarm]!;
      assert.equal(waiting.namespace, "AWS/SQS");
      assert.equal(waiting.metricName, "ApproximateNumberOfMessagesVisible");
      assert.deepEqual(waiting.dimensions, {
        QueueName: one(dev, "aws:sqs/queue:Queue", queue).outputs.name,
      });
      assert.equal(waiting.threshold, 0);
      assert.equal(waiting.comparisonOperator, "GreaterThanThreshold");
    }
  });

  test("a configuration error fails the deploy before anything is created", async () => {
    const bad = join(work, "bad.config.json");
    writeFileSync(bad, JSON.stringify({ ...shippedConfig, aws: { ca: { keySpec: "RSA_1024" } } }));
    await assert.rejects(
      synthesize({ stage: "dev", configPath: bad }),
      /aws\.ca\.keySpec must be one of/,
    );
  });

  test("deploying as the account's root user fails: the root would administer the key as the whole account", async () => {
    await assert.rejects(
      synthesize({ stage: "dev", callerArn: "arn:aws:iam::123456789012:root" }),
      /Deploy with an IAM role, not the account's root user/,
    );
  });

  test("key administrators that leave out the deploying role fail the deploy, saying so", async () => {
    // KMS would refuse the policy (it would lock its author out of the next deploy's update).
    const locked = join(work, "locked.config.json");
    writeFileSync(
      locked,
      JSON.stringify({
        ...shippedConfig,
        aws: { ca: { keyAdmins: ["arn:aws:iam::123456789012:role/someone-else"] } },
      }),
    );
    await assert.rejects(
      synthesize({ stage: "dev", configPath: locked }),
      /aws\.ca\.keyAdmins must include the role you deploy with \(arn:aws:iam::123456789012:role\/deployer\)/,
    );
  });
});
