/**
 * IAM conformance: the stand-ins ignore IAM, so a green local run says nothing about AWS. Here
 * the synthesized deployment runs offline (deployment/offline-deployment.ts: every Lambda bundle
 * in its own process with its synthesized environment), a certificate's whole life goes through
 * it (deployment/lifecycle.ts), and every AWS call made on the way is held against the
 * synthesized policies with @cloud-copilot/iam-simulate:
 * - each call a function's code made (its SDK call log) against its role and the resource's
 *   policy (key policy, bucket policy, ...);
 * - each call AWS services made for the deployment (the state machine, EventBridge, the queue's
 *   event source mapping, the schedules) against their roles or the resource policies;
 * - with a trust store, a custom domain and a trust anchor configured, the enforcement sync's
 *   calls to them (stand-ins speaking their protocols), and the drift function's on a
 *   CloudTrail record of a hand-made change;
 * - every action a role grants must be used by one of those calls, or be in the allow-list of
 *   grants AWS itself uses (iam-allow-list.ts), with its reason.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseCrl } from "../../packages/core/src/crl/parse.ts";
import { decodePemBlocks } from "../../packages/core/src/encoding/pem.ts";
import { opensslVerifyPem } from "../../packages/core/test/support/openssl.ts";
import type { IamRequest } from "../../packages/functions/src/lambda/sdk-call-log.ts";
import { GRANTS_USED_BY_AWS } from "../iam-allow-list.ts";
import { Authorizer } from "./deployment/authorization.ts";
import { type LifecycleFacts, runLifecycle } from "./deployment/lifecycle.ts";
import { OfflineDeployment } from "./deployment/offline-deployment.ts";
import { OfflineRouter } from "./deployment/offline-router.ts";
import { list, type SynthesizedRole } from "./deployment/synthesized.ts";
import { synthesize } from "./synth.ts";

interface Attempt extends IamRequest {
  readonly principal: string;
  /** Who asked: a function's name, or the AWS service acting for the deployment. */
  readonly by: string;
}

/** IAM's wildcard match of a policy's resource (or action) against a request's. */
function wildcard(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`, "i").test(value);
}

const root = join(import.meta.dirname, "..", "..");
const TRUST_STORE =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:truststore/edge/0123456789abcdef";
const DOMAIN = "mtls.example.com";
const ANCHOR =
  "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/01234567-89ab-cdef-0123-456789abcdef";

describe("IAM conformance of the synthesized deployment", () => {
  const work = mkdtempSync(join(tmpdir(), "spca-conformance-"));
  let offline: OfflineDeployment;
  let facts: LifecycleFacts;
  let authorizer: Authorizer;
  let router: OfflineRouter;
  /** What the functions' code asked of AWS, and what AWS services did for the deployment. */
  let codeAttempts: Attempt[];
  let serviceAttempts: Attempt[];
  let attempts: Attempt[];

  before(async () => {
    // The shipped configuration, with a CRL the schedule finds due within seconds, and a rate
    // limit that refills slowly enough to be reached however slow the machine.
    const config = join(work, "conformance.config.json");
    const shipped = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8"));
    writeFileSync(
      config,
      JSON.stringify({
        ...shipped,
        crl: { validityHours: 1, refreshHours: 0.0005 },
        // The client profile's renewal window open at once: the lifecycle renews a certificate.
        profiles: {
          ...shipped.profiles,
          client: { ...shipped.profiles.client, renewal: { window: { startFraction: 0 } } },
        },
        api: { rateLimit: { burst: 60, perSecond: 1 } },
        enforcement: {
          albTrustStores: [TRUST_STORE],
          apiGatewayDomains: [DOMAIN],
          rolesAnywhereTrustAnchors: [ANCHOR],
        },
      }),
    );
    offline = await OfflineDeployment.start(
      await synthesize({ stage: "dev", configPath: config }),
      work,
    );
    authorizer = new Authorizer(offline.deployment);
    router = new OfflineRouter(offline, authorizer, offline.s3.client);
    await router.start(join(root, ".sst", "platform"));
    facts = await runLifecycle(offline, (path, request) => router.fetch(path, request), work);
    codeAttempts = offline.deployment.functions().flatMap((fn) =>
      offline.callLog(fn.name).flatMap((call) =>
        call.requests.map((r) => ({
          ...r,
          principal: fn.role.arn,
          by: `${fn.name} ${call.operation}`,
        })),
      ),
    );
    // What the lifecycle did; the probes of the tests below (a refused key, a rate limit) are not.
    serviceAttempts = [...offline.serviceCalls.calls];
    attempts = [...codeAttempts, ...serviceAttempts];
  });
  after(async () => {
    await offline?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** The attempts IAM would refuse, one line each (identical requests judged once). */
  async function refused(
    only: readonly Attempt[],
    roles?: (role: SynthesizedRole) => SynthesizedRole,
  ) {
    const judge = roles ? authorizer.withRoles(roles) : authorizer;
    const seen = new Map<string, string | undefined>();
    for (const a of only) {
      const key = JSON.stringify([a.principal, a.action, a.resource, a.context ?? {}]);
      if (seen.has(key)) continue;
      const verdict = await judge.authorize(a.principal, a);
      seen.set(
        key,
        verdict.decision === "Allowed"
          ? undefined
          : `${a.by}: ${a.action} on ${a.resource}${a.why ? ` (${a.why})` : ""}: ${verdict.decision}${verdict.errors ? ` ${verdict.errors}` : ""}`,
      );
    }
    return [...seen.values()].filter((line): line is string => line !== undefined).sort();
  }

  test("before the CA exists, every read says so plainly: no 403, no 500", () => {
    const code = (r: { body: string }) => (JSON.parse(r.body) as { code?: string }).code;
    assert.equal(facts.beforeBootstrap.ca.status, 503);
    assert.equal(code(facts.beforeBootstrap.ca), "CA_NOT_INITIALISED");
    for (const name of ["crl", "crlStatus"] as const) {
      assert.equal(facts.beforeBootstrap[name].status, 503, facts.beforeBootstrap[name].body);
    }
    // Straight from the bucket, which lets the Router list it: a missing object is a 404.
    assert.equal(facts.beforeBootstrap.truststore.status, 404);
    assert.match(facts.scheduleBeforeBootstrap, /^PkiError: .*ca\/issuing-chain\.pem/);
  });

  test("the rate limit counts each client behind the Router on its own", async () => {
    const statuses = async (viewerIp: string, n: number) => {
      const seen: number[] = [];
      for (let i = 0; i < n; i++)
        seen.push((await router.fetch("/v1/crl/status", { viewerIp })).status);
      return seen;
    };
    // A burst of 60, refilled at 1 per second (the conformance configuration).
    assert.ok((await statuses("198.51.100.1", 100)).includes(429));
    assert.deepEqual(new Set(await statuses("198.51.100.2", 5)), new Set([200]));
    // The published objects come from the bucket and are never limited.
    const crl = await router.fetch(
      new URL(String(JSON.parse(facts.published.crlStatus.body).url)).pathname,
      {
        viewerIp: "198.51.100.1",
      },
    );
    assert.equal(crl.status, 200);
    assert.equal(crl.headers["cache-control"], "public, max-age=1");
  });

  test("the Router serves the published objects from the bucket, everything else from the API", async () => {
    const caId = String(JSON.parse(facts.published.crlStatus.body).caId);
    for (const path of [
      `/crl/${caId}.crl`,
      `/crl/${caId}.crl.pem`,
      `/ca/${caId}.cer`,
      `/ca/${caId}.pem`,
      "/truststore.pem",
    ]) {
      const res = await router.fetch(path);
      assert.equal(res.status, 200, path);
      assert.equal(router.lastOrigin, "bucket", path);
      assert.match(res.headers["cache-control"] ?? "", /^public, max-age=\d+$/, path);
    }
    // Not a publication key: the bucket policy refuses it, even where the route goes there.
    assert.equal((await router.fetch("/ca/issuing-chain.pem")).status, 403);
    assert.equal(router.lastOrigin, "bucket");
    for (const path of ["/v1/crl", "/v1/ca", "/", "/operators"]) {
      await router.fetch(path);
      assert.equal(router.lastOrigin, "function", path);
    }
  });

  test("the lifecycle ran as on AWS: issued, rejected, revoked, published", () => {
    assert.equal(facts.bootstrap.first.status, "created");
    assert.equal(facts.bootstrap.second.status, "existing");
    assert.equal(facts.rejected.status, "rejected");
    assert.equal(facts.failed.status, "failed");
    // Signed once, though Step Functions ran the step twice.
    const [signing] = offline.workflow.duplicated;
    assert.equal(signing?.name, "SignCertificate");
    assert.deepEqual(signing.second, signing.first);
    assert.equal(String(facts.operator.import.error ?? ""), "", JSON.stringify(facts.operator));
    assert.match(String(facts.operator.show.chain), /BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE/);
    const verdict = opensslVerifyPem(work, facts.caPem, facts.certificatePem, "sslserver");
    assert.ok(verdict.ok, verdict.output);
    const crlFile = join(work, "crl.pem");
    writeFileSync(crlFile, facts.crlPem);
    const crl = execFileSync("openssl", ["crl", "-in", crlFile, "-noout", "-text"]).toString();
    assert.match(crl, new RegExp(`Serial Number: ${facts.revokedSerial.toUpperCase()}`));
    for (const [name, res] of Object.entries(facts.published)) {
      assert.equal(res.status, 200, `${name}: ${res.body}`);
    }
    assert.equal(facts.pages.operators.status, 200, facts.pages.operators.body);
    assert.equal(facts.keys.revoked.status, 200, facts.keys.revoked.body);
    // The event the subscribers refused ended in their failure queue, not nowhere.
    const failures = offline.deployment.queueArn("SubscriberFailures");
    assert.ok((offline.events.queues.get(failures) ?? []).length >= 1);
  });

  test("the inventory answers from the index and from the requester's own views", () => {
    for (const [name, res] of Object.entries(facts.inventory)) {
      assert.equal(res.status, 200, `${name}: ${res.body}`);
    }
    const items = (body: string) =>
      (JSON.parse(body) as { items: { serial: string; requestedBy: string }[] }).items;
    // The approved certificate (revoked only later): in everyone's and in its requester's.
    const serial = facts.revokedSerial;
    assert.ok(items(facts.inventory.all.body).some((i) => i.serial === serial));
    const own = items(facts.inventory.own.body);
    assert.ok(
      own.some((i) => i.serial === serial),
      facts.inventory.own.body,
    );
    assert.ok(
      own.every((i) => i.requestedBy.includes("ci@example.com")),
      facts.inventory.own.body,
    );
    const exported = facts.inventory.exported.body.trim().split("\n");
    assert.equal(exported.length, own.length, facts.inventory.exported.body);
  });

  test("a renewal links the two certificates, and the successor has the same names", () => {
    const { old, successor } = facts.renewed;
    assert.equal(successor.renews, old.serial);
    assert.equal(old.renewedBy, successor.serial);
    assert.deepEqual(successor.sans, old.sans);
    assert.equal((successor.renewal as { approval: string }).approval, "inherit");
  });

  test("a revocation whose event is never delivered reaches the CRL through the schedule", () => {
    const { lostEvent } = facts;
    assert.equal(lostEvent.revoke.status, 200, lostEvent.revoke.body);
    const serials = (pem: string) =>
      [...parseCrl(decodePemBlocks(pem)[0]!.der).entries()].map((e) => e.serialHex.toLowerCase());
    assert.ok(!serials(lostEvent.crlBeforeSchedule).includes(lostEvent.serial.toLowerCase()));
    assert.ok(serials(lostEvent.crlAfterSchedule).includes(lostEvent.serial.toLowerCase()));
    // Published for the unpublished revocation, not because the CRL was due anyway.
    assert.equal(lostEvent.statusAfterSchedule.trigger, "revocation");
  });

  test("a request the API stored and never started is started by the sweeper's schedule", () => {
    const { stranded } = facts;
    assert.equal(stranded.executionBefore, false, "no execution until the sweep");
    assert.deepEqual(stranded.sweep, { examined: 1, started: [stranded.id] });
    // The workflow stand-in ran it to the end, as the API's own start would have.
    assert.deepEqual(stranded.execution, { status: "SUCCEEDED", state: "Issued" });
    assert.equal(stranded.status, "issued");
    const sweeper = offline.deployment.fn("RequestSweeper");
    // What it asked of AWS, as IAM authorizes it (judged with every function's calls below).
    const asked = offline
      .callLog("RequestSweeper")
      .flatMap((c) => c.requests.map((r) => `${r.action} ${r.resource}`));
    const table = `arn:aws:dynamodb:${offline.deployment.region}:${offline.deployment.account}:table/${sweeper.environment.PKI_TABLE}`;
    for (const expected of [
      `dynamodb:Query ${table}/index/gsi1`,
      `dynamodb:GetItem ${table}`,
      `states:StartExecution ${sweeper.environment.PKI_STATE_MACHINE_ARN}`,
      `dynamodb:UpdateItem ${table}`,
      `events:PutEvents arn:aws:events:${offline.deployment.region}:${offline.deployment.account}:event-bus/${sweeper.environment.PKI_EVENT_BUS}`,
    ]) {
      assert.ok(asked.includes(expected), `${expected}, not in:\n${asked.join("\n")}`);
    }
    // Invoked by its own schedule's role (judged with every service call below).
    const schedule = offline.deployment.role("RequestSweeperScheduleRole").arn;
    assert.ok(
      serviceAttempts.some((a) => a.principal === schedule && a.resource === sweeper.arn),
      "the schedule invoked the sweeper",
    );
  });

  test("the expiry schedule mails a reminder once, the one SES refused on the retry", () => {
    const { expiry } = facts;
    // SES refused the requester's mail: the run failed (so Lambda retries it) ...
    assert.match(expiry.firstRun, /expiry reminder\(s\) failed/);
    // ... and the retry sent it, once: the 7-day reminder, five days from notAfter.
    assert.deepEqual(
      expiry.retry.mailed.map((m) => [m.to, m.reminder]),
      [["dev@example.com", 7]],
    );
    assert.deepEqual(expiry.third.mailed, []);
    assert.equal(expiry.third.alreadySent, 1);
    assert.deepEqual(expiry.mails, [
      "dev@example.com Certificate expires in 7 days: CN=stranded.example.internal",
    ]);
    const fn = offline.deployment.fn("ExpiryReminders");
    const asked = offline
      .callLog("ExpiryReminders")
      .flatMap((c) => c.requests.map((r) => r.action));
    for (const action of [
      "dynamodb:Query",
      "dynamodb:GetItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "ses:SendEmail",
      "events:PutEvents",
    ]) {
      assert.ok(asked.includes(action), `${action}, not in:\n${asked.join("\n")}`);
    }
    const schedule = offline.deployment.role("ExpiryRemindersScheduleRole").arn;
    assert.ok(serviceAttempts.some((a) => a.principal === schedule && a.resource === fn.arn));
  });

  test("the sync's schedule kept each gate on the published CRL and bundle, at their versions", () => {
    const { gates } = offline;
    const bucket = offline.deployment.fn("Api").environment.PKI_BUCKET!;
    const caId = String(JSON.parse(facts.published.crlStatus.body).caId);
    const numberOf = (pem: string) => parseCrl(decodePemBlocks(pem)[0]!.der).number;
    const trustStore = gates.trustStores.get(TRUST_STORE);
    assert.match(String(trustStore?.bundle), new RegExp(`^${bucket}/truststore\\.pem@v-`));
    // The list of the renewal's CRL replaced the first one, which was removed.
    assert.deepEqual(
      [...(trustStore?.lists.values() ?? [])].map((l) => l.replace(/@v-.*/, "")),
      [`${bucket}/crl/${caId}.crl.pem`],
    );
    const domain = gates.domains.get(DOMAIN);
    assert.equal(domain?.uri, `s3://${bucket}/truststore.pem`);
    assert.equal(`${bucket}/truststore.pem@${domain?.version}`, trustStore?.bundle);
    const crls = [...gates.crls.values()];
    assert.deepEqual(
      crls.map((c) => [c.name, c.trustAnchorArn, c.tags]),
      [["private-ca-dev", ANCHOR, [{ key: "spca:deployment", value: "private-ca-dev" }]]],
    );
    assert.equal(numberOf(crls[0]!.pem), numberOf(facts.crlPem));
    const asked = offline
      .callLog("EnforcementSync")
      .flatMap((c) => c.requests.map((r) => r.action));
    for (const action of [
      "elasticloadbalancing:AddTrustStoreRevocations",
      "elasticloadbalancing:RemoveTrustStoreRevocations",
      "elasticloadbalancing:ModifyTrustStore",
      "apigateway:PATCH",
      "s3:GetObjectVersion",
      "rolesanywhere:ImportCrl",
      "rolesanywhere:UpdateCrl",
    ]) {
      assert.ok(asked.includes(action), action);
    }
  });

  test("a hand-made change to the bucket is drift; the sync's own calls do not reach the drift function", () => {
    const { drift } = facts;
    const details = drift.announced.map(
      (e) => (e.detail as { data: Record<string, unknown> }).data,
    );
    // Delivered twice (at least once), announced each time with the CloudTrail event's id.
    assert.ok(details.length >= 1);
    assert.deepEqual(new Set(details.map((d) => d.eventId)), new Set([drift.byAdmin]));
    assert.equal(details[0]?.eventName, "PutBucketPolicy");
    assert.equal(details[0]?.resource, offline.deployment.fn("Api").environment.PKI_BUCKET);
    assert.equal(details[0]?.actor, "arn:aws:iam::123456789012:role/Admin");
    const fn = offline.deployment.fn("EnforcementDrift");
    const deliveries = serviceAttempts.filter((a) => a.resource === fn.arn);
    assert.ok(deliveries.length >= 1);
    assert.ok(deliveries.every((a) => a.principal === "events.amazonaws.com"));
  });

  test("every function ran, and its SDK call log recorded what it asked of AWS", () => {
    for (const fn of offline.deployment.functions()) {
      assert.ok(offline.callLog(fn.name).length > 0, `${fn.name} made no AWS call`);
    }
  });

  test("every call a function's code made is allowed by its role and the resource's policy", async () => {
    assert.deepEqual(await refused(codeAttempts), []);
  });

  test("every call AWS services made for the deployment is allowed", async () => {
    assert.deepEqual(await refused(serviceAttempts), []);
  });

  test("every action a role grants is used by some call, or allow-listed with a reason", () => {
    const unused: string[] = [];
    for (const role of offline.deployment.roles()) {
      const asked = attempts.filter((a) => a.principal === role.arn);
      for (const { policy } of role.policies) {
        for (const statement of policy.Statement) {
          if (statement.Effect !== "Allow") continue;
          for (const action of list(statement.Action)) {
            if (action in GRANTS_USED_BY_AWS) continue;
            for (const resource of list(statement.Resource)) {
              const used = asked.some(
                (a) => wildcard(action, a.action) && wildcard(resource, a.resource),
              );
              if (!used) unused.push(`${role.name}: ${action} on ${resource}`);
            }
          }
        }
      }
    }
    assert.deepEqual(unused, []);
  });

  test("the check fails when a grant is removed: without s3:ListBucket, every read that may miss", async (t) => {
    const withoutListBucket = (role: SynthesizedRole): SynthesizedRole => ({
      ...role,
      policies: role.policies.map(({ name, policy }) => ({
        name,
        policy: {
          ...policy,
          Statement: policy.Statement.flatMap((st) => {
            const actions = list(st.Action).filter((a) => a !== "s3:ListBucket");
            return actions.length ? [{ ...st, Action: actions }] : [];
          }),
        },
      })),
    });
    const failing = await refused(codeAttempts, withoutListBucket);
    t.diagnostic(failing.join("\n"));
    const readers = offline.deployment
      .functions()
      .filter((fn) => offline.callLog(fn.name).some((c) => c.operation === "GetObject"))
      .map((fn) => fn.name);
    assert.ok(readers.length >= 5, readers.join(", "));
    assert.deepEqual(
      [...new Set(failing.map((line) => line.split(" ")[0]))].sort(),
      readers.sort(),
      "each function that reads the bucket is refused s3:ListBucket, and nothing else fails",
    );
    assert.ok(
      failing.every((line) => line.includes("s3:ListBucket")),
      failing.join("\n"),
    );
  });
});
