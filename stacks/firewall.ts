/**
 * The web application firewall in front of the public deployment (`aws.network.firewall`, on
 * by default): an AWS WAF web ACL on the CloudFront distribution, made by SST's Router `waf`
 * option and completed here.
 *
 * - AWS managed rule groups: the common rule set (its 8 KB body-size rule only counts: a CSR
 *   with many SANs is a large body), known bad inputs, and the Amazon IP reputation list.
 *   SST's SQL-injection group is left out: nothing behind the API speaks SQL, and CSR bodies
 *   are the kind of text that trips it.
 * - A rate-based rule per client address over five minutes, at the most the API's own limit
 *   (`api.rateLimit`) would accept from one address in that time, so the firewall never blocks
 *   what the API would serve and stops a flood before it reaches Lambda. It does not count the
 *   publication paths, which the API's limit does not cover either.
 * - With `aws.network.allowCidrs`, a rule first blocks every other address from the API and
 *   the pages, but never from the publication paths: relying parties must fetch CRLs.
 * - Logs go to CloudWatch Logs (`aws-waf-logs-*`, in us-east-1 beside the web ACL) with the
 *   deployment's retention; SST redacts the Authorization and Cookie headers and query strings.
 */
import { parseCidr } from "../packages/core/src/policy/cidr.ts";
import type { Deployment } from "./settings.ts";
import { type Firewall, PUBLICATION_ROUTES } from "./web.ts";

/** CloudFront web ACLs and their IP sets live in us-east-1 whatever the deployment's Region. */
export const WAF_REGION = "us-east-1";

/** The rate-based rule's window, seconds (WAF takes 60, 120, 300 or 600). */
export const RATE_WINDOW_SECONDS = 300;

type Statement = aws.types.input.wafv2.WebAclRuleStatement;
type Rule = aws.types.input.wafv2.WebAclRule;

/** The Router options that put the firewall in front of it; none when it is switched off. */
export function firewall(d: Deployment): Firewall {
  const network = d.config.aws.network;
  if (network.mode !== "public" || !network.firewall) return {};
  const { burst, perSecond } = d.config.api.rateLimit;
  const allowList = network.allowCidrs
    ? allowListRule(network.allowCidrs, new aws.Provider("FirewallRegion", { region: WAF_REGION }))
    : undefined;
  return {
    waf: {
      rateLimitPerIp: rateLimitPerAddress(burst, perSecond),
      managedRules: { coreRuleSet: true, knownBadInputs: true, sqlInjection: false },
      logging: { include: "all", retention: d.config.aws.logRetention },
    },
    transformWaf: (args) => {
      args.rules = $output(args.rules).apply((rules) => {
        const made = (rules ?? []).map((rule) =>
          rule.name === "RateLimitPerIP" ? sparePublication(rule) : rule,
        );
        const ordered = [...(allowList ? [allowList] : []), ...made, ipReputationRule()] as Rule[];
        return ordered.map((rule, priority) => ({ ...rule, priority }));
      });
      return undefined;
    },
  };
}

/**
 * The most the API's token bucket admits from one address in a window (a full burst, then
 * the refill), rounded up and no lower than 100, the least every WAF generation accepts.
 */
export function rateLimitPerAddress(burst: number, perSecond: number): number {
  return Math.max(100, Math.ceil(burst + perSecond * RATE_WINDOW_SECONDS));
}

/** The requests for a CRL, a CA certificate or the trust store (web.ts PUBLICATION_ROUTES). */
function publicationRequest(): Statement {
  const matches: Statement[] = PUBLICATION_ROUTES.map((path) => ({
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: path.endsWith(".pem") ? "EXACTLY" : "STARTS_WITH",
      searchString: path.endsWith(".pem") ? path : `${path}/`,
      textTransformations: [{ priority: 0, type: "NONE" }],
    },
  }));
  return { orStatement: { statements: matches } };
}

/** SST's rate rule, made to count only what the API serves. */
function sparePublication(rule: aws.types.input.wafv2.WebAclRule): Rule {
  const statement = rule.statement as Statement;
  return {
    ...rule,
    statement: {
      rateBasedStatement: {
        ...(statement.rateBasedStatement as aws.types.input.wafv2.WebAclRuleStatementRateBasedStatement),
        evaluationWindowSec: RATE_WINDOW_SECONDS,
        scopeDownStatement: { notStatement: { statements: [publicationRequest()] } },
      },
    },
  } as Rule;
}

function ipReputationRule(): Rule {
  return {
    name: "AWSManagedRulesAmazonIpReputationList",
    priority: 0,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: "AWS",
        name: "AWSManagedRulesAmazonIpReputationList",
      },
    },
    visibilityConfig: visibility("AWSManagedRulesAmazonIpReputationList"),
  };
}

/** Blocks addresses outside the allow-list, except on the publication paths. */
function allowListRule(cidrs: readonly string[], provider: aws.Provider): Rule {
  const sets = (["IPV4", "IPV6"] as const)
    .map((version) => {
      const addresses = cidrs.filter(
        (c) => (parseCidr(c)!.network.length === 4) === (version === "IPV4"),
      );
      if (addresses.length === 0) return undefined;
      return new aws.wafv2.IpSet(
        `FirewallAllow${version === "IPV4" ? "V4" : "V6"}`,
        { scope: "CLOUDFRONT", ipAddressVersion: version, addresses },
        { provider },
      );
    })
    .filter((set) => set !== undefined);
  const inSet = (set: aws.wafv2.IpSet): Statement => ({
    ipSetReferenceStatement: { arn: set.arn },
  });
  const allowed: Statement =
    sets.length === 1 ? inSet(sets[0]!) : { orStatement: { statements: sets.map(inSet) } };
  return {
    name: "AllowListOnly",
    priority: 0,
    action: { block: {} },
    statement: {
      andStatement: {
        statements: [
          { notStatement: { statements: [allowed] } },
          { notStatement: { statements: [publicationRequest()] } },
        ],
      },
    },
    visibilityConfig: visibility("AllowListOnly"),
  };
}

function visibility(metricName: string) {
  return { cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true };
}
