/**
 * How the deployment is reached (aws.network), from the synthesized resources: in public mode
 * the CloudFront distribution sits behind an AWS WAF web ACL, on by default, with AWS managed
 * rule groups, a rate limit per client address in step with the API's own, and an optional
 * allow-list that never shuts relying parties out of the publication paths. The allow-list is
 * read as WAF would evaluate it, for sample requests.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { endpointServices } from "../../packages/core/src/policy/aws-config.ts";
import { cidrContains, parseCidr } from "../../packages/core/src/policy/cidr.ts";
import { textToIp } from "../../packages/core/src/x509/general-names.ts";
import { ENDPOINT_FOR_PREFIX, endpointsFor } from "../endpoint-services.ts";
import { list, type PolicyStatement } from "./deployment/synthesized.ts";
import { policies, wildcardViolations } from "./iam-checks.ts";
import { type Synthesis, type SynthResource, synthesize } from "./synth.ts";

const shippedConfig = JSON.parse(readFileSync("pki.config.json", "utf8")) as Record<
  string,
  unknown
>;

/** The WAF statement kinds the deployment uses, as the synthesis records them. */
interface Statement {
  andStatement?: { statements: Statement[] };
  orStatement?: { statements: Statement[] };
  notStatement?: { statements: Statement[] };
  byteMatchStatement?: {
    fieldToMatch: unknown;
    positionalConstraint: string;
    searchString: string;
  };
  ipSetReferenceStatement?: { arn: string };
  rateBasedStatement?: {
    aggregateKeyType: string;
    evaluationWindowSec: number;
    limit: number;
    scopeDownStatement: Statement;
  };
  managedRuleGroupStatement?: { vendorName: string; name: string; ruleActionOverrides?: unknown };
}
interface Rule {
  name: string;
  priority: number;
  action?: Record<string, unknown>;
  overrideAction?: Record<string, unknown>;
  statement: Statement;
}

const only = (s: Synthesis, type: string): SynthResource[] =>
  s.resources.filter((r) => r.type === type);
const one = (s: Synthesis, type: string): SynthResource => {
  const found = only(s, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]!;
};

/** The Region of the explicit provider a resource is created with. */
function regionOf(s: Synthesis, resource: SynthResource): string | undefined {
  if (!resource.provider) return undefined;
  const provider = s.resources.find(
    (r) => r.type === "pulumi:providers:aws" && r.id === resource.provider,
  );
  return provider?.inputs.region as string | undefined;
}

/** Whether a WAF statement matches a request, as WAF evaluates the statement kinds used here. */
function matches(
  statement: Statement,
  request: { ip: string; path: string },
  ipSets: Map<string, string[]>,
): boolean {
  if (statement.andStatement)
    return statement.andStatement.statements.every((x) => matches(x, request, ipSets));
  if (statement.orStatement)
    return statement.orStatement.statements.some((x) => matches(x, request, ipSets));
  if (statement.notStatement) {
    assert.equal(statement.notStatement.statements.length, 1, "NOT takes one statement");
    return !matches(statement.notStatement.statements[0]!, request, ipSets);
  }
  if (statement.byteMatchStatement) {
    const m = statement.byteMatchStatement;
    assert.deepEqual(m.fieldToMatch, { uriPath: {} });
    if (m.positionalConstraint === "EXACTLY") return request.path === m.searchString;
    if (m.positionalConstraint === "STARTS_WITH") return request.path.startsWith(m.searchString);
    throw new Error(`unexpected constraint ${m.positionalConstraint}`);
  }
  if (statement.ipSetReferenceStatement) {
    const addresses = ipSets.get(statement.ipSetReferenceStatement.arn);
    assert.ok(addresses, "the referenced IP set exists");
    const ip = textToIp(request.ip)!;
    return addresses.some((c) => cidrContains(parseCidr(c)!, ip));
  }
  throw new Error(`unexpected statement ${Object.keys(statement).join(", ")}`);
}

/** Writes the shipped configuration with `extra` over its top-level keys into `work`. */
function configWriter(work: string) {
  return (name: string, extra: Record<string, unknown>): string => {
    const path = join(work, name);
    writeFileSync(path, JSON.stringify({ ...shippedConfig, ...extra }));
    return path;
  };
}

describe("public mode: the web application firewall", () => {
  let guarded: Synthesis;
  let open: Synthesis;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-network-"));
    const write = configWriter(work);
    [guarded, open] = await Promise.all([
      synthesize({
        stage: "dev",
        configPath: write("guarded.json", {
          api: { rateLimit: { burst: 20, perSecond: 2 } },
          aws: {
            logRetention: "1 year",
            network: { allowCidrs: ["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"] },
          },
        }),
      }),
      synthesize({
        stage: "dev",
        configPath: write("open.json", { aws: { network: { firewall: false } } }),
      }),
    ]);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("a CloudFront-scoped web ACL in us-east-1 guards the distribution", () => {
    const acl = one(guarded, "aws:wafv2/webAcl:WebAcl");
    assert.equal(acl.inputs.scope, "CLOUDFRONT");
    assert.equal(regionOf(guarded, acl), "us-east-1");
    assert.deepEqual(acl.inputs.defaultAction, { allow: {} });
    const distribution = one(guarded, "aws:cloudfront/distribution:Distribution");
    assert.equal(distribution.inputs.webAclId, acl.outputs.arn);
  });

  test("the rules: the allow-list first, the rate limit, then AWS's managed groups", () => {
    const rules = one(guarded, "aws:wafv2/webAcl:WebAcl").inputs.rules as Rule[];
    assert.deepEqual(
      rules.map((r) => [r.priority, r.name]),
      [
        [0, "AllowListOnly"],
        [1, "RateLimitPerIP"],
        [2, "AWSManagedRulesCommonRuleSet"],
        [3, "AWSManagedRulesKnownBadInputsRuleSet"],
        [4, "AWSManagedRulesAmazonIpReputationList"],
      ],
    );
    for (const rule of rules.slice(2)) {
      assert.equal(rule.statement.managedRuleGroupStatement?.vendorName, "AWS");
      assert.deepEqual(rule.overrideAction, { none: {} }, `${rule.name} blocks what it matches`);
    }
    // A CSR with many SANs is a large body: the 8 KB size rule only counts.
    assert.deepEqual(rules[2]!.statement.managedRuleGroupStatement?.ruleActionOverrides, [
      { name: "SizeRestrictions_BODY", actionToUse: { count: {} } },
    ]);
  });

  test("the rate limit per address is what the API's own limit admits in five minutes", () => {
    const rules = one(guarded, "aws:wafv2/webAcl:WebAcl").inputs.rules as Rule[];
    const rate = rules.find((r) => r.name === "RateLimitPerIP")!;
    assert.deepEqual(rate.action, { block: {} });
    const statement = rate.statement.rateBasedStatement!;
    assert.equal(statement.aggregateKeyType, "IP");
    assert.equal(statement.evaluationWindowSec, 300);
    assert.equal(statement.limit, 20 + 2 * 300);
    const counted = (path: string) =>
      matches(statement.scopeDownStatement, { ip: "198.51.100.7", path }, new Map());
    assert.equal(counted("/v1/requests"), true);
    assert.equal(counted("/operators/certificates"), true);
    assert.equal(counted("/crl/0123456789abcdef.crl"), false);
    assert.equal(counted("/truststore.pem"), false);
  });

  test("outside the allow-list only the publication paths answer; inside, everything", () => {
    const s = guarded;
    const sets = only(s, "aws:wafv2/ipSet:IpSet").sort((a, b) =>
      String(a.inputs.ipAddressVersion).localeCompare(String(b.inputs.ipAddressVersion)),
    );
    for (const set of sets) {
      assert.equal(set.inputs.scope, "CLOUDFRONT");
      assert.equal(regionOf(s, set), "us-east-1", "beside the web ACL");
    }
    assert.deepEqual(
      sets.map((set) => [set.inputs.ipAddressVersion, set.inputs.addresses]),
      [
        ["IPV4", ["10.0.0.0/8", "192.0.2.0/24"]],
        ["IPV6", ["2001:db8::/32"]],
      ],
    );
    const ipSets = new Map(
      sets.map((set) => [set.outputs.arn as string, set.inputs.addresses as string[]]),
    );
    const rules = one(s, "aws:wafv2/webAcl:WebAcl").inputs.rules as Rule[];
    const allowList = rules.find((r) => r.name === "AllowListOnly")!;
    assert.deepEqual(allowList.action, { block: {} });
    const blocked = (ip: string, path: string) =>
      matches(allowList.statement, { ip, path }, ipSets);

    const stranger = "198.51.100.7";
    for (const path of ["/v1/requests", "/", "/operators", "/crl", "/truststore.pem.bak", "/cat"]) {
      assert.equal(blocked(stranger, path), true, `${path} is closed to a stranger`);
    }
    for (const path of [
      "/crl/0123456789abcdef.crl",
      "/crl/0123456789abcdef.crl.pem",
      "/ca/0123456789abcdef.cer",
      "/ca/0123456789abcdef.pem",
      "/truststore.pem",
    ]) {
      assert.equal(blocked(stranger, path), false, `${path} stays open to relying parties`);
    }
    for (const ip of ["10.20.30.40", "192.0.2.99", "2001:db8::1"]) {
      assert.equal(blocked(ip, "/v1/requests"), false, `${ip} is admitted`);
    }
    assert.equal(blocked("2001:db9::1", "/v1/requests"), true);
  });

  test("WAF logs go to CloudWatch Logs with the deployment's retention, secrets redacted", () => {
    const logging = one(guarded, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration");
    const acl = one(guarded, "aws:wafv2/webAcl:WebAcl");
    assert.equal(logging.inputs.resourceArn, acl.outputs.arn);
    const group = guarded.resources.find(
      (r) =>
        r.type === "aws:cloudwatch/logGroup:LogGroup" &&
        (logging.inputs.logDestinationConfigs as string[]).includes(r.outputs.arn as string),
    );
    assert.ok(group, "the destination is a log group of the deployment");
    assert.match(group.inputs.name as string, /^aws-waf-logs-/);
    assert.equal(group.inputs.retentionInDays, 365);
    assert.equal(regionOf(guarded, group), "us-east-1");
    assert.deepEqual(logging.inputs.redactedFields, [
      { queryString: {} },
      { singleHeader: { name: "cookie" } },
      { singleHeader: { name: "authorization" } },
    ]);
  });

  test("with the firewall off there is no web ACL, and the distribution names none", () => {
    assert.equal(only(open, "aws:wafv2/webAcl:WebAcl").length, 0);
    assert.equal(only(open, "aws:wafv2/ipSet:IpSet").length, 0);
    const distribution = one(open, "aws:cloudfront/distribution:Distribution");
    assert.ok(!distribution.inputs.webAclId, "no web ACL attached");
  });
});

const PRIVATE = {
  mode: "private",
  vpcId: "vpc-0123456789abcdef0",
  subnetIds: ["subnet-0123456789abcdefa", "subnet-0123456789abcdefb"],
  vpcEndpointIds: ["vpce-0123456789abcdef0", "vpce-0fedcba9876543210"],
  domain: {
    name: "pki.corp.example.com",
    certificateArn:
      "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
  },
};
const CORPORATE_IDP = { oidc: { issuer: "https://idp.corp.example.com", clientId: "pki" } };

/** Whether an execute-api resource policy admits a request arriving through `vpce`. */
function admits(policyJson: string, vpce: string): boolean {
  const statements = (JSON.parse(policyJson) as { Statement: PolicyStatement[] }).Statement;
  let allowed = false;
  for (const s of statements) {
    const condition = s.Condition?.StringNotEquals?.["aws:SourceVpce"] as string[] | undefined;
    const applies = condition === undefined || !condition.includes(vpce);
    if (!applies) continue;
    assert.equal(s.Action, "execute-api:Invoke");
    if (s.Effect === "Deny") return false;
    if (s.Effect === "Allow") allowed = true;
  }
  return allowed;
}

describe("private mode: a private API in the VPC, AWS through VPC endpoints", () => {
  let inside: Synthesis;
  let reusing: Synthesis;
  let work: string;
  let write: (name: string, extra: Record<string, unknown>) => string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-private-"));
    write = configWriter(work);
    [inside, reusing] = await Promise.all([
      synthesize({
        stage: "dev",
        configPath: write("private.json", { identity: CORPORATE_IDP, aws: { network: PRIVATE } }),
      }),
      synthesize({
        stage: "dev",
        configPath: write("reusing.json", {
          identity: CORPORATE_IDP,
          aws: {
            network: {
              ...PRIVATE,
              securityGroupIds: ["sg-0123456789abcdef0"],
              serviceEndpoints: { s3: "vpce-0aaaaaaaaaaaaaaa1", kms: "vpce-0aaaaaaaaaaaaaaa2" },
            },
          },
        }),
      }),
    ]);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("nothing faces the internet: no CloudFront, no function URL, no public API, no firewall", () => {
    for (const type of [
      "aws:cloudfront/distribution:Distribution",
      "aws:lambda/functionUrl:FunctionUrl",
      "aws:apigatewayv2/api:Api",
      "aws:wafv2/webAcl:WebAcl",
      // No way out or in of the stack's own making, and no managed login on the internet.
      "aws:ec2/internetGateway:InternetGateway",
      "aws:ec2/natGateway:NatGateway",
      "aws:ec2/eip:Eip",
      "aws:cognito/userPoolDomain:UserPoolDomain",
    ]) {
      assert.equal(only(inside, type).length, 0, `no ${type}`);
    }
    for (const api of only(inside, "aws:apigateway/restApi:RestApi")) {
      assert.deepEqual(
        (api.inputs.endpointConfiguration as { types: string }).types,
        "PRIVATE",
        `${api.name} is private`,
      );
    }
    const bucketPolicy = one(inside, "aws:s3/bucketPolicy:BucketPolicy");
    assert.doesNotMatch(String(bucketPolicy.inputs.policy), /cloudfront/);
    const block = one(inside, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
    for (const flag of [
      "blockPublicAcls",
      "blockPublicPolicy",
      "ignorePublicAcls",
      "restrictPublicBuckets",
    ]) {
      assert.equal(block.inputs[flag], true, flag);
    }
  });

  test("the API and its domain admit the configured execute-api endpoints alone", () => {
    const api = one(inside, "aws:apigateway/restApi:RestApi");
    const domain = one(inside, "aws:apigateway/domainName:DomainName");
    assert.equal(domain.inputs.domainName, "pki.corp.example.com");
    assert.deepEqual(domain.inputs.endpointConfiguration, { types: "PRIVATE" });
    assert.equal(domain.inputs.certificateArn, PRIVATE.domain.certificateArn);
    for (const policy of [api.inputs.policy as string, domain.inputs.policy as string]) {
      for (const vpce of PRIVATE.vpcEndpointIds) assert.equal(admits(policy, vpce), true, vpce);
      assert.equal(admits(policy, "vpce-0bbbbbbbbbbbbbbb0"), false, "another endpoint");
    }
    assert.deepEqual(
      only(inside, "aws:apigateway/domainNameAccessAssociation:DomainNameAccessAssociation")
        .map((a) => [a.inputs.accessAssociationSource, a.inputs.accessAssociationSourceType])
        .sort(),
      PRIVATE.vpcEndpointIds.map((id) => [id, "VPCE"]).sort(),
    );
    // The domain's root is the stage: the pages link from "/".
    const mapping = one(inside, "aws:apigateway/basePathMapping:BasePathMapping");
    assert.equal(mapping.inputs.basePath, undefined);
    assert.equal(mapping.inputs.domainName, "pki.corp.example.com");
  });

  test("every path goes to the API function, which names the private domain in certificates and mails", () => {
    const api = functions(inside).find((f) => f.name === "ApiFunction");
    assert.ok(api, "the API function");
    const integrations = only(inside, "aws:apigateway/integration:Integration");
    assert.equal(integrations.length, 2, "the root and {proxy+}");
    for (const integration of integrations) {
      assert.equal(integration.inputs.type, "AWS_PROXY");
      assert.equal(integration.inputs.uri, api.outputs.invokeArn);
    }
    assert.deepEqual(one(inside, "aws:apigateway/restApi:RestApi").inputs.binaryMediaTypes, [
      "*/*",
    ]);
    const variables = (api.inputs.environment as { variables: Record<string, string> }).variables;
    assert.equal(variables.PKI_PUBLIC_BASE_URL, "https://pki.corp.example.com");
    assert.equal(variables.PKI_VIEWER_HEADERS, undefined, "the client's own headers arrive");
    // It reads every published object it serves, the trust store included.
    const role = inside.resources.find(
      (r) => r.type === "aws:iam/role:Role" && r.name === "ApiRole",
    );
    assert.ok(role, "the API's role");
    const granted = policies({ ...inside, resources: [role] }).flatMap((p) => p.statements);
    const bucket = one(inside, "aws:s3/bucket:Bucket").outputs.arn as string;
    assert.ok(
      granted.some(
        (st) =>
          list(st.Action).includes("s3:GetObject") &&
          list(st.Resource).includes(`${bucket}/truststore.pem`),
      ),
      "s3:GetObject on truststore.pem",
    );
  });

  test("every function runs in the configured subnets, in a group that only lets HTTPS out", () => {
    const groups = only(inside, "aws:ec2/securityGroup:SecurityGroup");
    // EC2 takes only these characters in group and rule descriptions (no apostrophe).
    const allowed = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/;
    for (const group of groups) {
      const rules = [
        ...((group.inputs.ingress ?? []) as { description?: string }[]),
        ...((group.inputs.egress ?? []) as { description?: string }[]),
      ];
      for (const text of [group.inputs.description, ...rules.map((r) => r.description)]) {
        assert.match(String(text ?? ""), allowed, `${group.name}: ${text}`);
      }
    }
    const mine = groups.find((g) => g.name === "FunctionsSecurityGroup")!;
    assert.equal(mine.inputs.vpcId, PRIVATE.vpcId);
    assert.equal(mine.inputs.ingress, undefined, "nothing in");
    assert.deepEqual(
      (mine.inputs.egress as { fromPort: number; toPort: number; protocol: string }[]).map((e) => [
        e.protocol,
        e.fromPort,
        e.toPort,
      ]),
      [["tcp", 443, 443]],
    );
    for (const fn of functions(inside)) {
      assert.deepEqual(
        fn.inputs.vpcConfig,
        { subnetIds: PRIVATE.subnetIds, securityGroupIds: [mine.id] },
        `${fn.name} in the VPC`,
      );
    }
    // Lambda attaches them with their roles; nothing else is granted on "*".
    assert.deepEqual(wildcardViolations(policies(inside)), []);
  });

  test("the endpoints the grants need, each allowing this deployment's resources alone", () => {
    const endpoints = only(inside, "aws:ec2/vpcEndpoint:VpcEndpoint");
    const byService = new Map(
      endpoints.map((e) => [String(e.inputs.serviceName).split(".").at(-1)!, e]),
    );
    assert.deepEqual([...byService.keys()].sort(), [
      "dynamodb",
      "email",
      "events",
      "kms",
      "s3",
      "states",
    ]);
    const endpointGroup = only(inside, "aws:ec2/securityGroup:SecurityGroup").find(
      (g) => g.name === "EndpointsSecurityGroup",
    )!;
    for (const [service, endpoint] of byService) {
      assert.equal(endpoint.inputs.vpcId, PRIVATE.vpcId);
      if (service === "s3" || service === "dynamodb") {
        assert.equal(endpoint.inputs.vpcEndpointType, "Gateway");
        assert.deepEqual(endpoint.inputs.routeTableIds, ["rtb-9abcdef0"], "the subnets' table");
      } else {
        assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
        assert.deepEqual(endpoint.inputs.subnetIds, PRIVATE.subnetIds);
        assert.deepEqual(endpoint.inputs.securityGroupIds, [endpointGroup.id]);
        assert.equal(endpoint.inputs.privateDnsEnabled, true);
      }
    }
    const resources = (service: string) =>
      (
        JSON.parse(String(byService.get(service)!.inputs.policy)) as {
          Statement: PolicyStatement[];
        }
      ).Statement.flatMap((st) => list(st.Resource));
    const arnOf = (type: string) => one(inside, type).outputs.arn as string;
    assert.deepEqual(new Set(resources("kms")), new Set([arnOf("aws:kms/key:Key")]));
    assert.deepEqual(
      new Set(resources("dynamodb")),
      new Set([
        arnOf("aws:dynamodb/table:Table"),
        `${arnOf("aws:dynamodb/table:Table")}/index/gsi1`,
      ]),
    );
    assert.deepEqual(
      new Set(resources("events")),
      new Set([arnOf("aws:cloudwatch/eventBus:EventBus")]),
    );
    const bucket = arnOf("aws:s3/bucket:Bucket");
    for (const resource of resources("s3")) {
      assert.ok(resource === bucket || resource.startsWith(`${bucket}/`), resource);
    }
    const machine = arnOf("aws:sfn/stateMachine:StateMachine");
    assert.deepEqual(new Set(resources("states")), new Set([machine, "*"]));
    // No statement twice, though several functions hold the same grant.
    for (const endpoint of endpoints) {
      const statements = JSON.parse(String(endpoint.inputs.policy)).Statement as unknown[];
      const texts = statements.map((st) => JSON.stringify(st));
      assert.equal(new Set(texts).size, texts.length, `${endpoint.name} repeats a statement`);
    }
  });

  test("endpoints and security groups named in the configuration are used, not made", () => {
    const services = only(reusing, "aws:ec2/vpcEndpoint:VpcEndpoint").map((e) =>
      String(e.inputs.serviceName).split(".").at(-1),
    );
    assert.deepEqual(services.sort(), ["dynamodb", "email", "events", "states"]);
    assert.equal(
      only(reusing, "aws:ec2/securityGroup:SecurityGroup").some(
        (g) => g.name === "FunctionsSecurityGroup",
      ),
      false,
    );
    for (const fn of functions(reusing)) {
      assert.deepEqual((fn.inputs.vpcConfig as { securityGroupIds: string[] }).securityGroupIds, [
        "sg-0123456789abcdef0",
      ]);
    }
  });

  for (const [missing, network, identity, message] of [
    ["the VPC", { ...PRIVATE, vpcId: undefined }, CORPORATE_IDP, /aws\.network\.vpcId is required/],
    [
      "the subnets",
      { ...PRIVATE, subnetIds: undefined },
      CORPORATE_IDP,
      /aws\.network\.subnetIds is required/,
    ],
    [
      "the execute-api endpoints",
      { ...PRIVATE, vpcEndpointIds: undefined },
      CORPORATE_IDP,
      /aws\.network\.vpcEndpointIds is required/,
    ],
    [
      "the private domain",
      { ...PRIVATE, domain: undefined },
      CORPORATE_IDP,
      /aws\.network\.domain is required/,
    ],
    ["an OpenID provider", PRIVATE, undefined, /aws\.network\.mode private needs identity\.oidc/],
  ] as const) {
    test(`a private configuration without ${missing} fails the deploy before anything is made`, async () => {
      await assert.rejects(
        synthesize({
          stage: "dev",
          configPath: write(`missing-${missing.replace(/\W+/g, "-")}.json`, {
            ...(identity ? { identity } : {}),
            aws: { network: network },
          }),
        }),
        message,
      );
    });
  }
});

function functions(s: Synthesis): SynthResource[] {
  return only(s, "aws:lambda/function:Function");
}

describe("the endpoint services private mode knows", () => {
  test("the configuration's serviceEndpoints keys are exactly the endpoints the stacks can make", () => {
    assert.deepEqual(
      [...endpointServices].sort(),
      [...new Set(Object.values(ENDPOINT_FOR_PREFIX).map((e) => e.name))].sort(),
    );
  });

  test("a grant for a service with no endpoint and no reason fails the deploy, naming it", () => {
    assert.throws(
      () => endpointsFor(["dynamodb:GetItem", "lambda:InvokeFunction"]),
      /granted lambda:InvokeFunction, but private mode knows no VPC endpoint for lambda/,
    );
    assert.deepEqual(
      [...endpointsFor(["dynamodb:GetItem", "logs:PutLogEvents", "sqs:SendMessage"]).keys()],
      ["dynamodb"],
    );
  });
});
