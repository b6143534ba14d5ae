/**
 * The configuration's `enforcement` section: the gates a revocation is pushed to. Every entry
 * names an exact resource (the IAM grants are built from them), so a malformed ARN, a
 * duplicate or an unknown key is an error that says which entry and why.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isPkiError } from "../src/errors.ts";
import { parseConfig } from "../src/policy/config.ts";

const STORE =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:truststore/gates/0123456789abcdef";
const ANCHOR =
  "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/8f0a2b1c-3d4e-4f50-9a6b-7c8d9e0f1a2b";

const config = (enforcement?: unknown) =>
  parseConfig({
    publicBaseUrl: "https://pki.example.com",
    ca: { subject: "CN=Test Issuing CA, O=Example" },
    profiles: {
      client: {
        description: "clients",
        extendedKeyUsage: ["clientAuth"],
        keys: { ec: ["P-256"] },
        subjectAltNames: { dns: { domains: ["example.com"] } },
        maxSans: 1,
        validity: { defaultDays: 10, maxDays: 20 },
        approval: { mode: "automatic" },
      },
    },
    ...(enforcement === undefined ? {} : { enforcement }),
  });

function problem(enforcement: unknown): string {
  try {
    config(enforcement);
  } catch (error) {
    assert.ok(isPkiError(error, "CONFIG_INVALID"), String(error));
    return (error as Error).message;
  }
  assert.fail("the configuration was accepted");
}

describe("the enforcement section", () => {
  test("absent, it configures no gate", () => {
    assert.deepEqual(config().enforcement, {
      albTrustStores: [],
      apiGatewayDomains: [],
      rolesAnywhereTrustAnchors: [],
    });
  });

  test("takes trust store ARNs (ALB and NLB), domain names and trust anchor ARNs", () => {
    const gates = {
      albTrustStores: [STORE, STORE.replace("gates", "nlb-gates").replace("0123", "fedc")],
      apiGatewayDomains: ["api.example.com"],
      rolesAnywhereTrustAnchors: [ANCHOR],
    };
    assert.deepEqual(config(gates).enforcement, gates);
    const china =
      "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:truststore/x/0123456789abcdef";
    assert.deepEqual(config({ albTrustStores: [china] }).enforcement.albTrustStores, [china]);
  });

  for (const [what, enforcement, message] of [
    [
      "a load balancer ARN where a trust store belongs",
      {
        albTrustStores: [
          "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef",
        ],
      },
      'enforcement.albTrustStores.0: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef" is not a trust store ARN',
    ],
    [
      "a trust anchor id without its ARN",
      { rolesAnywhereTrustAnchors: ["8f0a2b1c-3d4e-4f50-9a6b-7c8d9e0f1a2b"] },
      'enforcement.rolesAnywhereTrustAnchors.0: "8f0a2b1c-3d4e-4f50-9a6b-7c8d9e0f1a2b" is not a trust anchor ARN',
    ],
    [
      "a URL where a domain name belongs",
      { apiGatewayDomains: ["https://api.example.com"] },
      'enforcement.apiGatewayDomains.0: "https://api.example.com" is not a domain name',
    ],
    [
      "the same trust store twice",
      { albTrustStores: [STORE, STORE] },
      "enforcement.albTrustStores: enforcement.albTrustStores lists an entry twice",
    ],
    [
      "the same domain twice, in another case",
      { apiGatewayDomains: ["api.example.com", "API.example.com"] },
      "enforcement.apiGatewayDomains: enforcement.apiGatewayDomains lists an entry twice",
    ],
    [
      "an unknown key (a typo must not silently drop a gate)",
      { albTrustStore: [STORE] },
      'enforcement: unknown field "albTrustStore": allowed fields are albTrustStores, apiGatewayDomains, rolesAnywhereTrustAnchors',
    ],
    [
      "a single ARN instead of a list",
      { albTrustStores: STORE },
      "enforcement.albTrustStores: Invalid type: Expected Array",
    ],
  ] as const) {
    test(`refuses ${what}`, () => {
      const message_ = problem(enforcement);
      assert.ok(message_.includes(message), `${message_}\n  does not include\n${message}`);
    });
  }
});
