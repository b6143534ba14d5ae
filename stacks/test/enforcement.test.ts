/**
 * Revocation enforcement as SST would deploy it (synth.ts), read from the synthesis:
 * - with gates configured (two trust stores, a custom domain, a trust anchor): the sync on
 *   `crl.published` and on its schedule, one run at a time, its grants naming exactly those
 *   ARNs (judged with @cloud-copilot/iam-simulate: other trust stores, domains and untagged
 *   CRLs are refused), its alarm;
 * - without: nothing of the sync, only the drift rule and function;
 * - the drift rule's pattern on the default bus and its exclusion of the sync's role;
 * - the publication objects versioned, replaced CRLs expiring, production's protected;
 * - the example HTTP API: mutual TLS on its domain, the execute-api endpoint off, the revocation
 *   authorizer on its route, reading exactly the two objects.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EVENT_SOURCE } from "../../packages/core/src/events/eventbridge-bus.ts";
import { DRIFT_CALLS } from "../../packages/functions/src/lambda/enforcement-names.ts";
import { functionGrants } from "../grants.ts";
import { Authorizer } from "./deployment/authorization.ts";
import { list, type PolicyStatement, SynthesizedDeployment } from "./deployment/synthesized.ts";
import { policies, wildcardViolations } from "./iam-checks.ts";
import { ACCOUNT } from "./mock-account.ts";
import { synthesize } from "./synth.ts";

const root = join(import.meta.dirname, "..", "..");
const shipped = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8"));
const TRUST_STORES = [
  `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:truststore/edge/0123456789abcdef`,
  `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:truststore/internal/fedcba9876543210`,
];
const OTHER_TRUST_STORE = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:truststore/other/1111111111111111`;
const DOMAIN = "mtls.example.com";
const ANCHOR = `arn:aws:rolesanywhere:eu-west-1:${ACCOUNT}:trust-anchor/01234567-89ab-cdef-0123-456789abcdef`;
const EXAMPLE = { PKI_EXAMPLE_MTLS_DOMAIN: DOMAIN, PKI_EXAMPLE_MTLS_CA_ID: "0123456789abcdef" };
const gates = {
  albTrustStores: TRUST_STORES,
  apiGatewayDomains: [DOMAIN],
  rolesAnywhereTrustAnchors: [ANCHOR],
};

/** [actions, resources, condition] of each statement, for exact comparison. */
const shape = (statements: readonly PolicyStatement[]) =>
  statements.map((s) => [list(s.Action), list(s.Resource), s.Condition ?? null]);

describe("revocation enforcement, synthesized offline", () => {
  let work: string;
  let plain: SynthesizedDeployment;
  let enforced: SynthesizedDeployment;
  let production: SynthesizedDeployment;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-enforcement-"));
    const write = (name: string, config: Record<string, unknown>) => {
      const path = join(work, `${name}.config.json`);
      writeFileSync(path, JSON.stringify({ ...shipped, ...config }));
      return path;
    };
    const withGates = write("enforced", { enforcement: gates });
    const syntheses = await Promise.all([
      synthesize({ stage: "dev" }),
      synthesize({ stage: "dev", configPath: withGates, env: EXAMPLE }),
      synthesize({ stage: "production", configPath: withGates }),
    ]);
    [plain, enforced, production] = syntheses.map((s) => new SynthesizedDeployment(s)) as [
      SynthesizedDeployment,
      SynthesizedDeployment,
      SynthesizedDeployment,
    ];
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("with gates: the sync runs on crl.published and every minute, never two at a time", () => {
    const sync = enforced.fn("EnforcementSync");
    assert.equal(sync.handler, "index.handler");
    const build = enforced.synthesis.builds.find((b) => b.functionID === "EnforcementSync");
    assert.equal(build?.handler, "packages/functions/src/lambda/enforcement-sync.handler");
    const fn = enforced.one("aws:lambda/function:Function", "EnforcementSyncFunction");
    assert.equal(fn.inputs.reservedConcurrentExecutions, 1);
    assert.equal(sync.environment.PKI_DEPLOYMENT, "private-ca-dev");
    const [rule] = enforced.rules().filter((r) => r.targets.includes(sync.arn));
    assert.deepEqual(rule?.pattern, { source: [EVENT_SOURCE], "detail-type": ["crl.published"] });
    assert.equal(rule?.eventBusName, sync.environment.PKI_EVENT_BUS);
    const schedule = enforced.one("aws:scheduler/schedule:Schedule", "EnforcementScheduleSchedule");
    assert.equal(schedule.inputs.scheduleExpression, "rate(1 minute)");
    const target = schedule.inputs.target as { arn: string; input: string };
    assert.equal(target.arn, sync.arn);
    assert.deepEqual(JSON.parse(target.input), { source: "schedule" });
    // A throttled or failed delivery is left to the next scheduled run.
    const delivery = enforced.one(
      "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
      "EnforcementSyncDelivery",
    );
    assert.equal(delivery.inputs.maximumRetryAttempts, 0);
    // Its bundle holds the calls its grants allow, and those only.
    const code = readFileSync(join(build!.out, "index.mjs"), "utf8");
    for (const command of [
      "AddTrustStoreRevocationsCommand",
      "ModifyTrustStoreCommand",
      "UpdateDomainNameCommand",
      "ImportCrlCommand",
      "UpdateCrlCommand",
      "PutEventsCommand",
    ]) {
      assert.match(code, new RegExp(`\\b${command}\\b`), command);
    }
    assert.doesNotMatch(code, /\bSignCommand\b|\bSendEmailCommand\b|\bStartExecutionCommand\b/);
  });

  test("the sync's grants name exactly the configured trust stores, domain and tagged CRLs", () => {
    const sync = enforced.fn("EnforcementSync");
    const bucket = `arn:aws:s3:::${sync.environment.PKI_BUCKET}`;
    const table = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/${sync.environment.PKI_TABLE}`;
    const statements = sync.role.policies.flatMap((p) => p.policy.Statement);
    assert.deepEqual(shape(statements.slice(2)), [
      [["dynamodb:GetItem", "dynamodb:PutItem"], [table], null],
      [
        ["s3:GetObject"],
        [
          `${bucket}/ca/issuing-chain.pem`,
          `${bucket}/truststore.pem`,
          `${bucket}/crl/????????????????.crl.pem`,
        ],
        null,
      ],
      [["s3:ListBucket"], [bucket], null],
      [
        ["events:PutEvents"],
        [`arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/${sync.environment.PKI_EVENT_BUS}`],
        null,
      ],
      [["elasticloadbalancing:DescribeTrustStoreRevocations"], ["*"], null],
      [
        [
          "elasticloadbalancing:AddTrustStoreRevocations",
          "elasticloadbalancing:RemoveTrustStoreRevocations",
          "elasticloadbalancing:ModifyTrustStore",
        ],
        TRUST_STORES,
        null,
      ],
      [["apigateway:PATCH"], [`arn:aws:apigateway:eu-west-1::/domainnames/${DOMAIN}`], null],
      [
        ["s3:GetObjectVersion"],
        [`${bucket}/truststore.pem`, `${bucket}/crl/????????????????.crl.pem`],
        null,
      ],
      [["rolesanywhere:ListCrls"], ["*"], null],
      [
        ["rolesanywhere:ImportCrl"],
        ["*"],
        {
          StringEquals: { "aws:RequestTag/spca:deployment": ["private-ca-dev"] },
          "ForAllValues:StringEquals": { "aws:TagKeys": ["spca:deployment"] },
        },
      ],
      [
        ["rolesanywhere:UpdateCrl"],
        [`arn:aws:rolesanywhere:eu-west-1:${ACCOUNT}:crl/*`],
        { StringEquals: { "aws:ResourceTag/spca:deployment": ["private-ca-dev"] } },
      ],
    ]);
    for (const d of [enforced, production]) {
      assert.deepEqual(wildcardViolations(policies(d.synthesis)), []);
    }
  });

  test("IAM allows the sync the configured gates and refuses it any other", async () => {
    const sync = enforced.fn("EnforcementSync");
    const iam = new Authorizer(enforced);
    const decide = async (action: string, resource: string, context = {}) =>
      (await iam.authorize(sync.role.arn, { action, resource, context })).decision;
    for (const arn of TRUST_STORES) {
      assert.equal(await decide("elasticloadbalancing:AddTrustStoreRevocations", arn), "Allowed");
      assert.equal(await decide("elasticloadbalancing:ModifyTrustStore", arn), "Allowed");
    }
    for (const action of ["AddTrustStoreRevocations", "ModifyTrustStore", "DeleteTrustStore"]) {
      assert.equal(
        await decide(`elasticloadbalancing:${action}`, OTHER_TRUST_STORE),
        "ImplicitlyDenied",
        action,
      );
    }
    const domain = (name: string) => `arn:aws:apigateway:eu-west-1::/domainnames/${name}`;
    assert.equal(await decide("apigateway:PATCH", domain(DOMAIN)), "Allowed");
    assert.equal(await decide("apigateway:PATCH", domain("api.example.com")), "ImplicitlyDenied");
    assert.equal(await decide("apigateway:DELETE", domain(DOMAIN)), "ImplicitlyDenied");
    const tagged = (value: string) => ({
      "aws:RequestTag/spca:deployment": value,
      "aws:TagKeys": ["spca:deployment"],
    });
    assert.equal(await decide("rolesanywhere:ImportCrl", "*", tagged("private-ca-dev")), "Allowed");
    assert.equal(
      await decide("rolesanywhere:ImportCrl", "*", tagged("private-ca-prod")),
      "ImplicitlyDenied",
    );
    assert.equal(await decide("rolesanywhere:ImportCrl", "*"), "ImplicitlyDenied", "untagged");
    const crl = `arn:aws:rolesanywhere:eu-west-1:${ACCOUNT}:crl/0a1b2c3d-0000-4000-8000-000000000001`;
    const ours = { "aws:ResourceTag/spca:deployment": "private-ca-dev" };
    assert.equal(await decide("rolesanywhere:UpdateCrl", crl, ours), "Allowed");
    assert.equal(await decide("rolesanywhere:UpdateCrl", crl), "ImplicitlyDenied", "untagged");
    assert.equal(await decide("rolesanywhere:DeleteCrl", crl, ours), "ImplicitlyDenied");
    const object = (key: string) => `arn:aws:s3:::${sync.environment.PKI_BUCKET}/${key}`;
    assert.equal(await decide("s3:GetObjectVersion", object("truststore.pem")), "Allowed");
    assert.equal(
      await decide("s3:GetObjectVersion", object("crl/0123456789abcdef.crl.pem")),
      "Allowed",
    );
    for (const key of ["certificates/01.pem", "ca/issuing-chain.pem", "crl/0123456789abcdef.crl"]) {
      assert.equal(await decide("s3:GetObjectVersion", object(key)), "ImplicitlyDenied", key);
    }
    assert.equal(await decide("s3:PutObject", object("truststore.pem")), "ImplicitlyDenied");
  });

  test("without gates: nothing of the sync, only the drift function and its rule", () => {
    assert.ok(!("EnforcementSync" in Object.fromEntries(plain.functions().map((f) => [f.name]))));
    const named = plain.synthesis.resources
      .filter((r) => r.name.includes("Enforcement") && !r.type.startsWith("sst:"))
      .map((r) => `${r.type} ${r.name}`)
      .sort();
    assert.deepEqual(named, [
      "aws:cloudwatch/eventRule:EventRule EnforcementDriftRule",
      "aws:cloudwatch/eventTarget:EventTarget EnforcementDriftTarget",
      "aws:cloudwatch/logGroup:LogGroup EnforcementDriftLogGroup",
      "aws:cloudwatch/metricAlarm:MetricAlarm EnforcementDrift",
      "aws:iam/role:Role EnforcementDriftRole",
      "aws:lambda/function:Function EnforcementDriftFunction",
      "aws:lambda/permission:Permission EnforcementDriftPermission",
      "aws:s3/bucketObjectv2:BucketObjectv2 EnforcementDriftCode",
    ]);
    // The drift function announces, and may do nothing else.
    const drift = plain.fn("EnforcementDrift");
    assert.deepEqual(shape(drift.role.policies.flatMap((p) => p.policy.Statement).slice(2)), [
      [
        ["events:PutEvents"],
        [`arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/${drift.environment.PKI_EVENT_BUS}`],
        null,
      ],
    ]);
    assert.deepEqual(functionGrants.EnforcementDrift, { putEvents: true });
  });

  test("the drift rule: CloudTrail's calls on the gates and the bucket, from the default bus, except the sync's", () => {
    const names = Object.values(DRIFT_CALLS).flat();
    const expected = (caRoles: string[]) => ({
      source: ["aws.elasticloadbalancing", "aws.apigateway", "aws.s3", "aws.rolesanywhere"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: {
        eventName: names,
        ...(caRoles.length
          ? {
              $or: [
                {
                  userIdentity: {
                    sessionContext: { sessionIssuer: { arn: [{ "anything-but": caRoles }] } },
                  },
                },
                {
                  userIdentity: { sessionContext: { sessionIssuer: { arn: [{ exists: false }] } } },
                },
              ],
            }
          : {}),
      },
    });
    for (const name of [
      "ModifyTrustStore",
      "RemoveTrustStoreRevocations",
      "DeleteTrustStore",
      "UpdateDomainName",
      "DeleteDomainName",
      "PutBucketPolicy",
      "PutBucketVersioning",
      "UpdateCrl",
      "DeleteCrl",
      "DisableCrl",
    ]) {
      assert.ok(names.includes(name as never), name);
    }
    for (const [d, caRoles] of [
      [plain, []],
      [enforced, [enforced.fn("EnforcementSync").role.arn]],
    ] as const) {
      const drift = d.fn("EnforcementDrift");
      const [rule] = d.rules().filter((r) => r.targets.includes(drift.arn));
      assert.ok(rule);
      assert.equal(rule.eventBusName, "default");
      assert.deepEqual(rule.pattern, expected([...caRoles]));
      assert.equal(drift.environment.PKI_CA_ROLE_ARNS, caRoles.join(","));
      const permission = d.one("aws:lambda/permission:Permission", "EnforcementDriftPermission");
      assert.equal(permission.inputs.principal, "events.amazonaws.com");
      assert.equal(permission.inputs.sourceArn, rule.arn);
    }
  });

  test("alarms: a gate out of step, and drift, notify where the other alarms do", () => {
    for (const [d, withSync] of [
      [plain, false],
      [enforced, true],
    ] as const) {
      const alarms = Object.fromEntries(
        d
          .byType("aws:cloudwatch/metricAlarm:MetricAlarm")
          .map((a) => [a.name, a.inputs as Record<string, unknown>]),
      );
      const topic = alarms.WorkflowFailures!.alarmActions;
      const drift = alarms.EnforcementDrift!;
      assert.equal(drift.metricName, "EnforcementDrift");
      assert.equal(
        drift.namespace,
        d.fn("EnforcementDrift").environment.POWERTOOLS_METRICS_NAMESPACE,
      );
      assert.deepEqual(drift.dimensions, {
        service: d.fn("EnforcementDrift").environment.POWERTOOLS_SERVICE_NAME,
      });
      assert.deepEqual(
        [drift.statistic, drift.threshold, drift.comparisonOperator],
        ["Sum", 1, "GreaterThanOrEqualToThreshold"],
      );
      assert.deepEqual(drift.alarmActions, topic);
      if (!withSync) {
        assert.equal(alarms.EnforcementFailures, undefined);
        continue;
      }
      const failures = alarms.EnforcementFailures!;
      assert.equal(failures.metricName, "EnforcementFailures");
      assert.deepEqual(failures.dimensions, {
        service: d.fn("EnforcementSync").environment.POWERTOOLS_SERVICE_NAME,
      });
      assert.deepEqual(
        [failures.threshold, failures.comparisonOperator, failures.treatMissingData],
        [1, "GreaterThanOrEqualToThreshold", "breaching"],
      );
      assert.deepEqual(failures.alarmActions, topic);
      assert.deepEqual(failures.okActions, topic);
    }
  });

  test("publication objects are versioned; replaced CRLs expire; production's cannot be deleted", async () => {
    for (const d of [plain, production]) {
      const [versioning] = d.byType("aws:s3/bucketVersioning:BucketVersioning");
      assert.deepEqual(versioning?.inputs.versioningConfiguration, { status: "Enabled" });
      const lifecycle = d.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "BucketLifecycle",
      );
      // Only CRLs: API Gateway domains name an exact truststore.pem version.
      assert.deepEqual(lifecycle.inputs.rules, [
        {
          id: "expire-replaced-crls",
          status: "Enabled",
          filter: { prefix: "crl/" },
          noncurrentVersionExpiration: { noncurrentDays: 30 },
        },
      ]);
    }
    const decide = async (
      d: SynthesizedDeployment,
      principal: string,
      action: string,
      key: string,
    ) =>
      (
        await new Authorizer(d).authorize(principal, {
          action,
          resource: `arn:aws:s3:::${d.fn("Api").environment.PKI_BUCKET}/${key}`,
        })
      ).decision;
    const publisher = (d: SynthesizedDeployment) => d.fn("CrlPublisher").role.arn;
    for (const key of [
      "truststore.pem",
      "crl/0123456789abcdef.crl.pem",
      "ca/0123456789abcdef.cer",
    ]) {
      for (const action of ["s3:DeleteObjectVersion", "s3:DeleteObject"]) {
        assert.equal(
          await decide(production, publisher(production), action, key),
          "ExplicitlyDenied",
        );
        assert.equal(await decide(plain, publisher(plain), action, key), "ImplicitlyDenied");
      }
      // The publisher still writes them.
      assert.equal(await decide(production, publisher(production), "s3:PutObject", key), "Allowed");
    }
    // Everything else in the bucket is not the publication's to protect.
    assert.equal(
      await decide(production, publisher(production), "s3:DeleteObject", "certificates/01.pem"),
      "ImplicitlyDenied",
    );
  });

  test("the example API: mutual TLS on its domain, no execute-api endpoint, the revocation authorizer", () => {
    const d = enforced;
    const bucket = d.fn("Api").environment.PKI_BUCKET;
    const api = d.one("aws:apigatewayv2/api:Api", "MtlsExampleApi");
    assert.equal(api.inputs.disableExecuteApiEndpoint, true);
    assert.deepEqual(api.inputs.corsConfiguration ?? {}, {}, "no CORS");
    const domain = d.one("aws:apigatewayv2/domainName:DomainName", "MtlsExampleDomainName");
    assert.equal(domain.inputs.domainName, DOMAIN);
    assert.deepEqual(domain.inputs.mutualTlsAuthentication, {
      truststoreUri: `s3://${bucket}/truststore.pem`,
    });
    // The sync points the domain at each bundle version; the deploy leaves that to it.
    assert.ok(
      domain.options.ignoreChanges?.includes("mutualTlsAuthentication.truststoreVersion"),
      JSON.stringify(domain.options),
    );
    const [authorizer] = d.byType("aws:apigatewayv2/authorizer:Authorizer");
    assert.deepEqual(
      [
        authorizer?.inputs.authorizerType,
        authorizer?.inputs.authorizerPayloadFormatVersion,
        authorizer?.inputs.enableSimpleResponses,
        authorizer?.inputs.authorizerResultTtlInSeconds,
        authorizer?.inputs.identitySources,
      ],
      ["REQUEST", "2.0", true, 0, []],
    );
    const fn = d.fn("MtlsExampleAuthorizer");
    assert.match(String(authorizer?.inputs.authorizerUri), new RegExp(`${fn.arn}/invocations$`));
    const [route] = d.byType("aws:apigatewayv2/route:Route");
    assert.equal(route?.inputs.authorizationType, "CUSTOM");
    assert.equal(route?.inputs.authorizerId, authorizer?.outputs.name ?? authorizer?.id);
    assert.equal(fn.environment.PKI_CRL_URL, `s3://${bucket}/crl/0123456789abcdef.crl`);
    assert.equal(fn.environment.PKI_CA_BUNDLE_URL, `s3://${bucket}/truststore.pem`);
    const build = d.synthesis.builds.find((b) => b.functionID === "MtlsExampleAuthorizer");
    assert.equal(build?.handler, "packages/functions/src/lambda/mtls-authorizer.handler");
    // Its role: its own logs, X-Ray, and reading exactly the two objects; Lambda alone trusted.
    assert.deepEqual(fn.role.managedPolicyArns, []);
    assert.deepEqual(shape(fn.role.policies.flatMap((p) => p.policy.Statement)), [
      [
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/lambda/${fn.physicalName}:*`],
        null,
      ],
      [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"], null],
      [
        ["s3:GetObject"],
        [
          `arn:aws:s3:::${bucket}/crl/0123456789abcdef.crl`,
          `arn:aws:s3:::${bucket}/truststore.pem`,
        ],
        null,
      ],
    ]);
    assert.deepEqual(
      d.role(fn.role.name).trust.Statement.map((s) => s.Principal),
      [{ Service: ["lambda.amazonaws.com"] }],
    );
    const permission = d
      .byType("aws:lambda/permission:Permission")
      .find((p) => p.inputs.principal === "apigateway.amazonaws.com");
    assert.match(
      String(permission?.inputs.sourceArn),
      /^arn:aws:execute-api:eu-west-1:\d{12}:.+\/authorizers\//,
    );
    // Not deployed unless asked for.
    assert.equal(plain.byType("aws:apigatewayv2/api:Api").length, 0);
  });

  test("the example refuses a domain the sync does not keep in step", async () => {
    await assert.rejects(
      synthesize({
        stage: "dev",
        env: { ...EXAMPLE, PKI_EXAMPLE_MTLS_DOMAIN: "other.example.com" },
      }),
      /must be in enforcement\.apiGatewayDomains/,
    );
  });
});
