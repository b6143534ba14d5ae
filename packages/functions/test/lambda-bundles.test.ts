/**
 * Every Lambda entry point bundles as SST 4 deploys it (bench/lambda-bundle.ts: esbuild, ESM,
 * minified, nothing external) without errors or warnings, leaves no import outside the bundle
 * but Node.js built-ins, and loads: imported in a fresh Node.js process with a deployed
 * function's environment, it exports a `handler` function and touches no network while it
 * initialises; and holds the AWS SDK clients of the services its function uses, no other. Sizes
 * and init times are `npm run bench -- lambdas`, not this test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  bundleLambda,
  bytesByPackage,
  findLambdaEntries,
  type LambdaBundle,
  lambdaName,
  unbundledImports,
} from "../../../bench/lambda-bundle.ts";
import { measureInit } from "../../../bench/lambda-init.ts";

const entries = findLambdaEntries();
const outDir = mkdtempSync(join(tmpdir(), "pki-lambda-bundles-"));
const bundles = new Map<string, LambdaBundle>();
const failures = new Map<string, string>();

before(async () => {
  const results = await Promise.allSettled(entries.map((entry) => bundleLambda(entry, outDir)));
  for (const [i, result] of results.entries()) {
    const name = lambdaName(entries[i]!);
    if (result.status === "fulfilled") bundles.set(name, result.value);
    else {
      const error = result.reason as { errors?: { text: string }[]; message?: string };
      failures.set(name, error.errors?.map((e) => e.text).join("; ") ?? String(error.message));
    }
  }
});

after(() => rmSync(outDir, { recursive: true, force: true }));

test("the entry points are found: the API, the seven steps, the subscribers, the CRL publisher", () => {
  const names = entries.map((e) => lambdaName(e));
  for (const expected of ["api", "crl-publisher", "steps/sign-certificate"])
    assert.ok(names.includes(expected), `${expected} is not among ${names.join(", ")}`);
  assert.ok(names.filter((n) => n.startsWith("steps/")).length >= 7, names.join(", "));
});

/**
 * Imports an entry may leave outside the bundle, with why. The registry has only
 * @aws-sdk/client-rolesanywhere 3.332.0, whose util-user-agent-node probes for `aws-crt` with a
 * require inside try/catch (absent on Lambda: the probe answers "not available").
 */
const allowedOutside: Record<string, readonly string[]> = {
  "enforcement-sync": ["aws-crt"],
};

test("every entry point bundles without errors or warnings, nothing left unresolved", () => {
  assert.deepEqual(Object.fromEntries(failures), {});
  for (const [name, bundle] of bundles) {
    assert.deepEqual(
      bundle.warnings.map((w) => w.text),
      [],
      `${name}: esbuild warnings`,
    );
    assert.deepEqual(
      unbundledImports(bundle.metafile),
      allowedOutside[name] ?? [],
      `${name}: imports left outside`,
    );
    assert.ok(bundle.bytes > 0, `${name}: empty bundle`);
  }
});

test("every bundle loads in a fresh process and exports a handler function", async () => {
  assert.ok(bundles.size > 0);
  const loaded = await Promise.all(
    [...bundles].map(async ([name, bundle]) => {
      try {
        return { name, ...(await measureInit(bundle.outfile, `pki-${name.replace("/", "-")}`)) };
      } catch (error) {
        return { name, handler: `not loaded: ${(error as Error).message}`, network: [] };
      }
    }),
  );
  for (const { name, handler, network } of loaded) {
    assert.equal(handler, "function", `${name}: handler`);
    assert.deepEqual(network, [], `${name}: network use during init`);
  }
});

/**
 * The `@aws-sdk/client-*` packages each bundle holds: the services its entry point wires into
 * AwsServices (src/lambda/clients/), which are the ones its code calls. Every entry is listed, so
 * a new one must say what it holds.
 */
const expectedClients: Record<string, readonly string[]> = {
  // SES for an admin's resend of a request's approval mails.
  api: ["dynamodb", "eventbridge", "s3", "sesv2", "sfn"],
  // Both announce each CRL (crl.published) for the enforcement sync.
  "ca-bootstrap": ["dynamodb", "eventbridge", "kms", "s3"],
  "crl-publisher": ["dynamodb", "eventbridge", "kms", "s3"],
  // The gates' three services, its state and the CRL state, the published objects, its events.
  // client-rolesanywhere 3.332.0 (the registry's only version) brings its own credential
  // chain, with the SSO, SSO-OIDC and STS clients of that release.
  "enforcement-sync": [
    "api-gateway",
    "dynamodb",
    "elastic-load-balancing-v2",
    "eventbridge",
    "rolesanywhere",
    "s3",
    "sso",
    "sso-oidc",
    "sts",
  ],
  // The daily expiry reminders: the inventory and its claims, the mails, the events.
  "expiry-reminders": ["dynamodb", "eventbridge", "sesv2"],
  // Reads CloudTrail events from its rule; announces drift.
  "enforcement-drift": ["eventbridge"],
  // Reads the CRL and bundle from s3:// URLs when given those.
  "mtls-authorizer": ["s3"],
  // Starts stranded requests' executions and announces them.
  "request-sweeper": ["dynamodb", "eventbridge", "sfn"],
  "steps/validate-request": ["dynamodb"],
  "steps/store-request": ["dynamodb", "eventbridge"],
  "steps/request-approval": ["dynamodb", "sesv2"],
  "steps/sign-certificate": ["dynamodb", "kms", "s3"],
  "steps/store-certificate": ["dynamodb", "s3"],
  "steps/record-outcome": ["dynamodb"],
  // It publishes the outcome on the bus; the requester's mail is the RequesterMail subscriber.
  "steps/notify-requester": ["dynamodb", "eventbridge"],
  "subscribers/requester-mail": ["dynamodb", "s3", "sesv2"],
  "subscribers/audit-trail": ["dynamodb"],
};

test("each bundle holds the SDK clients of the services its function uses, and no other", () => {
  assert.deepEqual([...bundles.keys()].sort(), Object.keys(expectedClients).sort());
  for (const [name, bundle] of bundles) {
    // What is in the output: the metafile's top-level inputs also list modules esbuild parsed
    // and then dropped (eventbridge-bus.ts's client import, for fromEventBridge).
    const clients = bytesByPackage(bundle)
      .filter((p) => p.bytes > 0 && p.name.startsWith("@aws-sdk/client-"))
      .map((p) => p.name.slice("@aws-sdk/client-".length))
      .sort();
    assert.deepEqual(clients, expectedClients[name], `${name}: SDK clients in the bundle`);
  }
});
