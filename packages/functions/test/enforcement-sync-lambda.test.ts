/**
 * The enforcement sync as Lambda runs it, wired as its entry point wires it: its real state
 * store and CRL state on dynalite, the bucket (S3), the bus (EventBridge) and the gates' APIs
 * (Elastic Load Balancing, API Gateway, IAM Roles Anywhere) behind aws-sdk-client-mock with
 * their real command shapes. Every gate brought in step once, on the schedule and on
 * `crl.published`; a failing gate that does not fail the invocation; the EnforcementFailures
 * metric; what it refuses.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { APIGatewayClient, UpdateDomainNameCommand } from "@aws-sdk/client-api-gateway";
import {
  AddTrustStoreRevocationsCommand,
  DescribeTrustStoreRevocationsCommand,
  ElasticLoadBalancingV2Client,
  ModifyTrustStoreCommand,
  TooManyTrustStoreRevocationEntriesException,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import {
  ImportCrlCommand,
  ListCrlsCommand,
  RolesAnywhereClient,
  UpdateCrlCommand,
} from "@aws-sdk/client-rolesanywhere";
import { GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { publicationKeys, TRUSTSTORE_KEY } from "@spca/core/ca/publication-urls";
import { buildCrl, crlFingerprint } from "@spca/core/crl/build";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { useRolesAnywhereClock } from "@spca/core/enforcement/aws/roles-anywhere-trust-anchor";
import { isPkiError } from "@spca/core/errors";
import { EVENT_SOURCE } from "@spca/core/events/eventbridge-bus";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import { mockClient } from "aws-sdk-client-mock";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { tempCa } from "../../core/test/support/test-ca.ts";
import { AwsServices } from "../src/lambda/aws-services.ts";
import { dynamodbAdapters } from "../src/lambda/clients/dynamodb.ts";
import { enforcementAdapters } from "../src/lambda/clients/enforcement.ts";
import { eventBridgeAdapters } from "../src/lambda/clients/eventbridge.ts";
import { s3Adapters } from "../src/lambda/clients/s3.ts";
import { enforcementSyncLambda } from "../src/lambda/enforcement-sync.ts";
import {
  ANCHOR,
  BUCKET,
  busEvents,
  DOMAIN,
  settingsFor,
  TRUST_STORES,
} from "./support/enforcement-lambda.ts";
import { capturePowertoolsOutput } from "./support/powertools-output.ts";

const output = capturePowertoolsOutput();
after(() => output.stop());

describe("the enforcement sync Lambda", () => {
  let dynamo: LocalDynamo;
  const ca = tempCa();
  let caId: string;
  let chainPem: string;
  const s3 = mockClient(S3Client);
  const elb = mockClient(ElasticLoadBalancingV2Client);
  const apiGateway = mockClient(APIGatewayClient);
  // client-rolesanywhere 3.332.0 (the registry's only one) predates aws-sdk-client-mock's types.
  // biome-ignore lint/suspicious/noExplicitAny: its commands are checked by the SDK at run time.
  const rolesAnywhere: any = mockClient(RolesAnywhereClient as any);
  const eventBridge = mockClient(EventBridgeClient);
  /** The bucket: key → body and version. */
  const bucket = new Map<string, { body: Uint8Array; versionId: string }>();
  let published: PutEventsRequestEntry[] = [];
  let restoreClock: () => void;
  let clock = 0;

  before(async () => {
    dynamo = await startDynalite();
    await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
    caId = (await ca.issuingAuthority()).id;
    chainPem = await ca.chainPem();
    // IAM Roles Anywhere calls are spaced a second apart: on a clock that does not sleep.
    restoreClock = useRolesAnywhereClock({
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
  });
  after(async () => {
    restoreClock();
    await dynamo.close();
  });
  beforeEach(() => {
    for (const mock of [s3, elb, apiGateway, rolesAnywhere, eventBridge]) mock.reset();
    bucket.clear();
    published = [];
    s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
      const object = input.Bucket === BUCKET ? bucket.get(input.Key) : undefined;
      if (!object)
        throw new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} });
      return {
        Body: { transformToByteArray: async () => object.body },
        ContentType: "application/x-pem-file",
        VersionId: object.versionId,
      };
    });
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: "e" })) };
    });
    elb.on(DescribeTrustStoreRevocationsCommand).resolves({ TrustStoreRevocations: [] });
    let revocationId = 0;
    elb.on(AddTrustStoreRevocationsCommand).callsFake((input: { TrustStoreArn: string }) => ({
      TrustStoreRevocations: [
        { TrustStoreArn: input.TrustStoreArn, RevocationId: ++revocationId, RevocationType: "CRL" },
      ],
    }));
    elb.on(ModifyTrustStoreCommand).resolves({ TrustStores: [] });
    apiGateway.on(UpdateDomainNameCommand).callsFake((input: { domainName: string }) => ({
      domainName: input.domainName,
      mutualTlsAuthentication: { truststoreWarnings: [] },
    }));
    rolesAnywhere.on(ListCrlsCommand).resolves({ crls: [] });
    rolesAnywhere.on(ImportCrlCommand).resolves({
      crl: { crlId: "0a1b2c3d-0000-4000-8000-000000000001", trustAnchorArn: ANCHOR },
    });
    rolesAnywhere.on(UpdateCrlCommand).resolves({ crl: { crlId: "x" } });
  });

  /** The CA published as the CRL publisher leaves it: chain, bundle, CRL PEM, CRL state. */
  async function publish(tableName: string, number: bigint) {
    const authority = await ca.issuingAuthority();
    const thisUpdate = new Date(Date.now() - 60_000);
    const nextUpdate = new Date(thisUpdate.getTime() + 7 * 86_400_000);
    const der = await buildCrl(authority, { number, thisUpdate, nextUpdate, entries: [] });
    const utf8 = (text: string) => new TextEncoder().encode(text);
    bucket.set(CA_CHAIN_OBJECT_KEY, { body: utf8(chainPem), versionId: "c1" });
    const bundle = decodePemBlocks(chainPem)
      .map((b) => encodePem("CERTIFICATE", b.der))
      .join("");
    bucket.set(TRUSTSTORE_KEY, { body: utf8(bundle), versionId: "t1" });
    bucket.set(publicationKeys(caId).crlPem, {
      body: utf8(encodePem("X509 CRL", der)),
      versionId: `crl-${number}`,
    });
    const revocations = new DynamoRevocationStore({ client: dynamo.client, tableName });
    const lease = await revocations.acquireCrlLease(caId, "test", new Date(Date.now() + 60_000));
    assert.ok(lease);
    await revocations.completeCrl(caId, "test", lease.ticket, {
      number: number.toString(),
      thisUpdate: thisUpdate.toISOString(),
      nextUpdate: nextUpdate.toISOString(),
      entries: 0,
      size: der.length,
      sha256: crlFingerprint(der),
      publishedAt: new Date().toISOString(),
      trigger: "revocation",
    });
  }

  function syncFor(
    tableName: string,
    env: Record<string, string> = { PKI_DEPLOYMENT: "spca-test" },
  ) {
    const services = new AwsServices(
      settingsFor(tableName, env),
      {
        ...dynamodbAdapters(() => dynamo.client),
        ...s3Adapters(() => new S3Client({ region: "eu-west-1" })),
        ...eventBridgeAdapters(() => new EventBridgeClient({ region: "eu-west-1" })),
        ...enforcementAdapters({
          elb: () => new ElasticLoadBalancingV2Client({ region: "eu-west-1" }),
          apiGateway: () => new APIGatewayClient({ region: "eu-west-1" }),
          rolesAnywhere: () => new RolesAnywhereClient({ region: "eu-west-1" }),
        }),
      },
      "EnforcementSync",
    );
    return enforcementSyncLambda(() => services);
  }

  test("the schedule brings every gate in step once; the next run finds them current", async () => {
    const table = await dynamo.freshTable();
    await publish(table, 7n);
    const sync = syncFor(table);
    output.clear();
    const first = await sync({ source: "schedule" });
    assert.equal(first.trigger, "schedule");
    assert.deepEqual(
      first.targets.map((r) => [r.target, r.outcome, r.crlNumber]),
      [
        [TRUST_STORES[0], "updated", "7"],
        [TRUST_STORES[1], "updated", "7"],
        [DOMAIN, "updated", "7"],
        [ANCHOR, "updated", "7"],
      ],
    );
    // Each trust store: the bundle's version, then the CRL's exact version from the bucket.
    for (const arn of TRUST_STORES) {
      const modify = elb.commandCalls(ModifyTrustStoreCommand, { TrustStoreArn: arn });
      assert.deepEqual(modify[0]?.args[0].input, {
        TrustStoreArn: arn,
        CaCertificatesBundleS3Bucket: BUCKET,
        CaCertificatesBundleS3Key: TRUSTSTORE_KEY,
        CaCertificatesBundleS3ObjectVersion: "t1",
      });
      const add = elb.commandCalls(AddTrustStoreRevocationsCommand, { TrustStoreArn: arn });
      assert.deepEqual(add[0]?.args[0].input.RevocationContents, [
        {
          S3Bucket: BUCKET,
          S3Key: publicationKeys(caId).crlPem,
          S3ObjectVersion: "crl-7",
          RevocationType: "CRL",
        },
      ]);
    }
    const [domain] = apiGateway.commandCalls(UpdateDomainNameCommand);
    assert.equal(domain?.args[0].input.domainName, DOMAIN);
    assert.deepEqual(
      domain?.args[0].input.patchOperations?.map((op) => op.value),
      [`s3://${BUCKET}/${TRUSTSTORE_KEY}`, "t1"],
    );
    // Imported once, named and tagged with the deployment (what its IAM grant requires).
    const [imported] = rolesAnywhere.commandCalls(ImportCrlCommand);
    assert.equal(imported?.args[0].input.name, "spca-test");
    assert.equal(imported?.args[0].input.trustAnchorArn, ANCHOR);
    assert.deepEqual(imported?.args[0].input.tags, [
      { key: "spca:deployment", value: "spca-test" },
    ]);
    // Gates run side by side: announced in any order.
    assert.deepEqual(
      busEvents(published)
        .map((e) => `${e.type} ${String(e.data.target)}`)
        .sort(),
      [...TRUST_STORES, DOMAIN, ANCHOR].map((t) => `enforcement.updated ${t}`).sort(),
    );
    assert.deepEqual(
      output.metrics("EnforcementFailures").map((m) => [m.value, m.namespace]),
      [[0, "PrivateCA"]],
    );
    assert.equal(
      output.logs(/^Enforcement sync \(schedule\): 4 gate\(s\), 0 out of step$/).length,
      1,
    );

    // Nothing changed: no call to any gate, and the metric says 0 again.
    const callsBefore =
      elb.calls().length + apiGateway.calls().length + rolesAnywhere.calls().length;
    output.clear();
    const second = await sync({ source: "schedule" });
    assert.deepEqual(new Set(second.targets.map((r) => r.outcome)), new Set(["current"]));
    assert.equal(
      elb.calls().length + apiGateway.calls().length + rolesAnywhere.calls().length,
      callsBefore,
    );
    assert.deepEqual(
      output.metrics("EnforcementFailures").map((m) => m.value),
      [0],
    );

    // The next CRL, announced on the bus: the trust stores and the trust anchor follow it.
    await publish(table, 8n);
    const third = await sync({
      version: "0",
      source: EVENT_SOURCE,
      "detail-type": "crl.published",
      time: new Date().toISOString(),
      detail: { id: "crl.published/x", data: { number: "8" } },
    } as never);
    assert.equal(third.trigger, "crl.published");
    assert.deepEqual(
      third.targets.map((r) => [r.outcome, r.crlNumber, r.actions.length > 0]),
      [
        ["updated", "8", true],
        ["updated", "8", true],
        // The domain's truststore is the bundle, which did not change: recorded, no call.
        ["updated", "8", false],
        ["updated", "8", true],
      ],
    );
    assert.equal(apiGateway.commandCalls(UpdateDomainNameCommand).length, 1);
    assert.equal(
      rolesAnywhere.commandCalls(UpdateCrlCommand).length,
      1,
      "UpdateCrl, not a new import",
    );
  });

  test("a failing gate is recorded and counted, and does not fail the invocation", async () => {
    const table = await dynamo.freshTable();
    await publish(table, 3n);
    elb.on(AddTrustStoreRevocationsCommand, { TrustStoreArn: TRUST_STORES[1] }).rejects(
      new TooManyTrustStoreRevocationEntriesException({
        message: "The specified trust store has too many revocation entries",
        $metadata: {},
      }),
    );
    output.clear();
    const result = await syncFor(table)({ source: "schedule" });
    const failed = result.targets.find((r) => r.target === TRUST_STORES[1]);
    assert.equal(failed?.outcome, "failed");
    assert.equal(failed?.error?.code, "TooManyTrustStoreRevocationEntriesException");
    assert.deepEqual(
      result.targets.filter((r) => r.target !== TRUST_STORES[1]).map((r) => r.outcome),
      ["updated", "updated", "updated"],
    );
    assert.deepEqual(
      output.metrics("EnforcementFailures").map((m) => m.value),
      [1],
    );
    const warning = output.logs(/^alb-trust-store .* failed: /)[0];
    assert.equal(warning?.level, "WARN");
    assert.equal(warning?.target, TRUST_STORES[1]);
    const announced = busEvents(published).find((e) => e.type === "enforcement.failed");
    assert.equal(announced?.data.target, TRUST_STORES[1]);
    // Its retry pause has not ended: the next scheduled run waits, and still counts it.
    output.clear();
    const next = await syncFor(table)({ source: "schedule" });
    assert.equal(next.targets.find((r) => r.target === TRUST_STORES[1])?.outcome, "waiting");
    assert.deepEqual(
      output.metrics("EnforcementFailures").map((m) => m.value),
      [1],
    );
  });

  test("a run that cannot read the CA throws, counting every gate as failing", async () => {
    const table = await dynamo.freshTable();
    output.clear();
    await assert.rejects(
      syncFor(table)({ source: "schedule" }),
      (e: unknown) => isPkiError(e) && e.code === "CA_NOT_INITIALISED",
    );
    assert.deepEqual(
      output.metrics("EnforcementFailures").map((m) => m.value),
      [4],
    );
  });

  test("it refuses what it cannot be invoked with, and needs its deployment name", async () => {
    const table = await dynamo.freshTable();
    await publish(table, 1n);
    const sync = syncFor(table);
    for (const event of [{}, { source: "aws.s3" }, "schedule", null]) {
      await assert.rejects(
        sync(event as never),
        (e: unknown) => isPkiError(e) && e.code === "EVENT_INVALID",
        JSON.stringify(event),
      );
    }
    // Another event of ours (a rule wider than crl.published): skipped, nothing called.
    const skipped = await sync({
      source: EVENT_SOURCE,
      "detail-type": "certificate.revoked",
      detail: {},
    } as never);
    assert.deepEqual(skipped, { trigger: null, targets: [] });
    assert.equal(elb.calls().length, 0);
    await assert.rejects(
      syncFor(table, {})({ source: "schedule" }),
      (e: unknown) =>
        isPkiError(e) && e.code === "CONFIG_INVALID" && /PKI_DEPLOYMENT/.test(e.message),
    );
  });
});
