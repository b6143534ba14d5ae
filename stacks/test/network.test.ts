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
import { cidrContains, parseCidr } from "../../packages/core/src/policy/cidr.ts";
import { textToIp } from "../../packages/core/src/x509/general-names.ts";
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

describe("public mode: the web application firewall", () => {
  let guarded: Synthesis;
  let open: Synthesis;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-network-"));
    const write = (name: string, extra: Record<string, unknown>) => {
      const path = join(work, name);
      writeFileSync(path, JSON.stringify({ ...shippedConfig, ...extra }));
      return path;
    };
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
