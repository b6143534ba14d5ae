/**
 * The AWS gates, each driven by the real EnforcementSync (state in DynamoDB on dynalite, real
 * CRLs and bundle in a versioned bucket) with only the gate's own SDK client mocked: the exact
 * calls and their inputs on a first sync, a new CRL, a new CA bundle and both; Add before
 * Remove on a trust store, and a run stopped between them made good by the next; quotas refused
 * before the call or by the service, with their code; the truststore version of an API Gateway
 * domain; a Roles Anywhere CRL imported once, found again after a crash, then updated, at most
 * one call a second.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { APIGatewayClient, UpdateDomainNameCommand } from "@aws-sdk/client-api-gateway";
import {
  ElasticLoadBalancingV2Client,
  TooManyTrustStoreRevocationEntriesException,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { RolesAnywhereClient } from "@aws-sdk/client-rolesanywhere";
import { mockClient } from "aws-sdk-client-mock";
import { publicationKeys, TRUSTSTORE_KEY } from "../src/ca/publication-urls.ts";
import { AlbTrustStoreTarget } from "../src/enforcement/aws/alb-trust-store.ts";
import { ApiGatewayDomainTarget } from "../src/enforcement/aws/api-gateway-domain.ts";
import {
  RolesAnywhereTrustAnchorTarget,
  useRolesAnywhereClock,
} from "../src/enforcement/aws/roles-anywhere-trust-anchor.ts";
import type { EnforcementStateStore } from "../src/enforcement/state-store.ts";
import type { EnforcementPublication, TargetState } from "../src/enforcement/target.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import {
  BUCKET,
  type EnforcementWorld,
  enforcementWorld,
  fakeRolesAnywhere,
  fakeTrustStore,
  revoked,
  sent,
  serviceError,
} from "./support/enforcement.ts";

const TRUST_STORE =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:truststore/spca/0123456789abcdef";

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(() => dynamo.close());

describe("ALB trust store", () => {
  let world: EnforcementWorld;
  // biome-ignore lint/suspicious/noExplicitAny: the stub's generic types are the client's own.
  let elb: any;
  let store: ReturnType<typeof fakeTrustStore>;
  let target: AlbTrustStoreTarget;
  beforeEach(async () => {
    world = await enforcementWorld(dynamo);
    const client = new ElasticLoadBalancingV2Client({ region: "eu-west-1" });
    elb = mockClient(client);
    store = fakeTrustStore(elb, world.objects);
    target = new AlbTrustStoreTarget(client, TRUST_STORE);
  });
  afterEach(() => world.close());

  const crlKey = () => publicationKeys(world.caId).crlPem;
  const add = (version: string | undefined) => [
    "AddTrustStoreRevocations",
    {
      TrustStoreArn: TRUST_STORE,
      RevocationContents: [
        { S3Bucket: BUCKET, S3Key: crlKey(), S3ObjectVersion: version, RevocationType: "CRL" },
      ],
    },
  ];
  const describeCall = ["DescribeTrustStoreRevocations", { TrustStoreArn: TRUST_STORE }];
  const remove = (...ids: number[]) => [
    "RemoveTrustStoreRevocations",
    { TrustStoreArn: TRUST_STORE, RevocationIds: ids },
  ];
  const modify = (version: string | undefined) => [
    "ModifyTrustStore",
    {
      TrustStoreArn: TRUST_STORE,
      CaCertificatesBundleS3Bucket: BUCKET,
      CaCertificatesBundleS3Key: TRUSTSTORE_KEY,
      CaCertificatesBundleS3ObjectVersion: version,
    },
  ];
  const run = async (states?: EnforcementStateStore) => {
    elb.resetHistory();
    const [report] = await world.sync([target], states).run();
    return { report: report!, calls: sent(elb) };
  };

  test("first sync: the bundle, then the CRL added; its list id is recorded", async () => {
    const bundle = await world.publishBundle();
    const crl = await world.publishCrl(revoked(3));
    const { report, calls } = await run();
    assert.deepEqual(calls, [modify(bundle.versionId), describeCall, add(crl.versionId)]);
    assert.equal(report.outcome, "updated");
    assert.deepEqual(report.actions, [
      "ModifyTrustStore",
      "DescribeTrustStoreRevocations",
      "AddTrustStoreRevocations",
    ]);
    const state = await world.state(TRUST_STORE);
    assert.equal(state?.crlSha256, crl.sha256);
    assert.equal(state?.bundleSha256, bundle.sha256);
    assert.equal(state?.crlNumber, "1");
    assert.deepEqual(state?.details, {
      revocationIds: ["1001"],
      revocationFor: crl.sha256,
      pendingRemoval: [],
    });
    assert.deepEqual([...store.lists.keys()], [1001]);
    assert.equal(store.lists.get(1001)?.entries, 3);
    // In step: the next run makes no call.
    const again = await run();
    assert.equal(again.report.outcome, "current");
    assert.deepEqual(again.calls, []);
  });

  test("a new CRL: added, then the list it replaces removed; the bundle untouched", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    const next = await world.publishCrl(revoked(2));
    const { report, calls } = await run();
    assert.deepEqual(calls, [describeCall, add(next.versionId), remove(1001)]);
    assert.deepEqual(report.actions, [
      "DescribeTrustStoreRevocations",
      "AddTrustStoreRevocations",
      "RemoveTrustStoreRevocations",
    ]);
    assert.deepEqual([...store.lists.keys()], [1002]);
    assert.deepEqual((await world.state(TRUST_STORE))?.details, {
      revocationIds: ["1002"],
      revocationFor: next.sha256,
      pendingRemoval: [],
    });
  });

  test("a new CA bundle alone: ModifyTrustStore to its new version, nothing else", async () => {
    await world.publishBundle();
    await world.publishCrl();
    await run();
    const chain = new TextDecoder().decode(world.objects.objects.get(TRUSTSTORE_KEY)!.body);
    const bundle = await world.publishBundle(`${chain}\n`);
    const { report, calls } = await run();
    assert.deepEqual(calls, [modify(bundle.versionId)]);
    assert.deepEqual(report.actions, ["ModifyTrustStore"]);
    assert.deepEqual([...store.lists.keys()], [1001]);
  });

  test("both changed: the bundle first, then Add, then Remove", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    const chain = new TextDecoder().decode(world.objects.objects.get(TRUSTSTORE_KEY)!.body);
    const bundle = await world.publishBundle(`${chain}\n`);
    const crl = await world.publishCrl(revoked(4));
    const { calls } = await run();
    assert.deepEqual(calls, [
      modify(bundle.versionId),
      describeCall,
      add(crl.versionId),
      remove(1001),
    ]);
  });

  test("a run stopped between Add and Remove: the next run removes the old list, adds nothing", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    const next = await world.publishCrl(revoked(2));
    store.failNext(
      "RemoveTrustStoreRevocations",
      serviceError("InternalFailure", "boom", "server"),
    );
    const failed = await run();
    assert.equal(failed.report.outcome, "failed");
    assert.equal(failed.report.error?.code, "InternalFailure");
    // Both lists are in the store, and the state accounts for both.
    assert.deepEqual([...store.lists.keys()], [1001, 1002]);
    const stopped = await world.state(TRUST_STORE);
    assert.deepEqual(stopped?.details, {
      revocationIds: ["1002"],
      revocationFor: next.sha256,
      pendingRemoval: ["1001"],
    });
    assert.notEqual(stopped?.crlSha256, next.sha256);
    world.clock = new Date(world.clock.getTime() + 61_000);
    const { report, calls } = await run();
    assert.deepEqual(calls, [remove(1001)]);
    assert.equal(report.outcome, "updated");
    assert.deepEqual([...store.lists.keys()], [1002]);
    const state = await world.state(TRUST_STORE);
    assert.equal(state?.crlSha256, next.sha256);
    assert.deepEqual(state?.details.pendingRemoval, []);
  });

  test("stopped after Add, and another CRL since: leftovers go first, then Add, then Remove", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    await world.publishCrl(revoked(2));
    store.failNext(
      "RemoveTrustStoreRevocations",
      serviceError("InternalFailure", "boom", "server"),
    );
    await run();
    const third = await world.publishCrl(revoked(3));
    const { calls } = await run();
    assert.deepEqual(calls, [remove(1001), describeCall, add(third.versionId), remove(1002)]);
    assert.deepEqual([...store.lists.keys()], [1003]);
  });

  test("a list already removed by hand is taken as gone", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    store.lists.delete(1001);
    await world.publishCrl(revoked(2));
    const { report, calls } = await run();
    assert.equal(report.outcome, "updated");
    assert.deepEqual(calls.at(-1), remove(1001));
    assert.deepEqual([...store.lists.keys()], [1002]);
  });

  test("several leftovers, one of them gone: each removed on its own", async () => {
    await world.publishBundle();
    await world.publishCrl();
    await run();
    // As a state from elsewhere might hold: two replaced lists, one already deleted by hand.
    const state = (await world.state(TRUST_STORE))!;
    await world.states.put({
      ...state,
      details: { ...state.details, pendingRemoval: ["900", "901"] },
    });
    store.lists.set(901, { key: "old", version: "old", entries: 1 });
    const crl = await world.publishCrl(revoked(1));
    const { report, calls } = await run();
    assert.equal(report.outcome, "updated");
    assert.deepEqual(calls, [
      remove(900, 901),
      remove(900),
      remove(901),
      describeCall,
      add(crl.versionId),
      remove(1001),
    ]);
    assert.deepEqual([...store.lists.keys()], [1002]);
  });

  test("the service's quota refusal is reported with its code; the old list stays", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    await world.publishCrl(revoked(2));
    store.failNext(
      "AddTrustStoreRevocations",
      new TooManyTrustStoreRevocationEntriesException({
        message: "The trust store has too many revocation entries",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { report, calls } = await run();
    assert.equal(report.outcome, "failed");
    assert.equal(report.error?.code, "TooManyTrustStoreRevocationEntriesException");
    assert.deepEqual(
      calls.map(([name]) => name),
      ["DescribeTrustStoreRevocations", "AddTrustStoreRevocations"],
    );
    assert.deepEqual([...store.lists.keys()], [1001]);
    const [failed] = world.bus.of("enforcement.failed");
    assert.equal(failed?.code, "TooManyTrustStoreRevocationEntriesException");
    assert.equal(failed?.target, TRUST_STORE);
  });

  test("30 lists already: refused before Add, with the quota named", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    for (let i = 0; i < 29; i++) store.lists.set(5000 + i, { key: "x", version: "x", entries: 1 });
    await world.publishCrl(revoked(2));
    const { report, calls } = await run();
    assert.equal(report.error?.code, "TooManyTrustStoreRevocationLists");
    assert.match(report.error?.message ?? "", /already holds 30 revocation lists \(at most 30\)/);
    assert.deepEqual(calls, [describeCall]);
  });

  test("other lists' entries plus the new CRL's over 500,000: refused before Add", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    await run();
    store.lists.set(7000, { key: "other", version: "x", entries: 499_999 });
    await world.publishCrl(revoked(2));
    const { report, calls } = await run();
    assert.equal(report.error?.code, "TooManyTrustStoreRevocationEntries");
    assert.match(
      report.error?.message ?? "",
      /other revocation lists hold 499999 entries and CRL 2 lists 2/,
    );
    assert.deepEqual(calls, [describeCall]);
  });

  test("room for the new CRL but not for both during the swap: refused, old list kept", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(3));
    await run();
    store.lists.set(7000, { key: "other", version: "x", entries: 499_995 });
    await world.publishCrl(revoked(4));
    const { report } = await run();
    assert.equal(report.error?.code, "TooManyTrustStoreRevocationEntries");
    assert.match(
      report.error?.message ?? "",
      /before the list it replaces \(3 entries\) is removed/,
    );
    assert.deepEqual([...store.lists.keys()], [1001, 7000]);
  });

  test("a CRL over 500,000 entries or 50 MB: refused without a call", async () => {
    await world.publishBundle();
    await world.publishCrl();
    const publication = await publicationOf(world);
    // The bundle in place already, so only the CRL is owed.
    const inPlace: TargetState = {
      target: TRUST_STORE,
      kind: "alb-trust-store",
      crlSha256: undefined,
      bundleSha256: publication.bundle.sha256,
      crlNumber: undefined,
      details: {},
      failures: 0,
      lastError: undefined,
      retryAt: undefined,
      failedFor: undefined,
      updatedAt: world.clock.toISOString(),
    };
    const tooMany = { ...publication, crl: { ...publication.crl, entries: 500_001 } };
    await assert.rejects(
      target.sync(tooMany, inPlace, async () => {}),
      {
        code: "TooManyTrustStoreRevocationEntries",
        message: /lists 500001 revoked certificates; a trust store holds at most 500000/,
      },
    );
    const tooBig = {
      ...publication,
      crl: { ...publication.crl, body: new Uint8Array(50 * 1024 * 1024 + 1) },
    };
    await assert.rejects(
      target.sync(tooBig, inPlace, async () => {}),
      {
        code: "TrustStoreRevocationFileTooLarge",
        message: /52428801 bytes; a trust store revocation file may be at most 52428800 bytes/,
      },
    );
    assert.deepEqual(sent(elb), []);
  });

  test("an unversioned bucket: a clear refusal, nothing added", async () => {
    world.objects.versioned = false;
    await world.publishBundle();
    await world.publishCrl();
    const { report, calls } = await run();
    assert.equal(report.error?.code, "ObjectVersionMissing");
    assert.match(report.error?.message ?? "", /must have versioning enabled/);
    assert.deepEqual(calls, []);
  });
});

describe("API Gateway custom domain", () => {
  const DOMAIN = "api.example.com";
  let world: EnforcementWorld;
  // biome-ignore lint/suspicious/noExplicitAny: the stub's generic types are the client's own.
  let apiGateway: any;
  let target: ApiGatewayDomainTarget;
  let warnings: string[];
  beforeEach(async () => {
    world = await enforcementWorld(dynamo);
    const client = new APIGatewayClient({ region: "eu-west-1" });
    apiGateway = mockClient(client);
    warnings = [];
    apiGateway
      .on(UpdateDomainNameCommand)
      .callsFake((input: { patchOperations: { path: string; value: string }[] }) => {
        const value = (path: string) =>
          input.patchOperations.find((p) => p.path === `/mutualTlsAuthentication/${path}`)?.value;
        return {
          domainName: DOMAIN,
          mutualTlsAuthentication: {
            truststoreUri: value("truststoreUri"),
            truststoreVersion: value("truststoreVersion"),
            ...(warnings.length > 0 ? { truststoreWarnings: warnings } : {}),
          },
        };
      });
    target = new ApiGatewayDomainTarget(client, DOMAIN);
  });
  afterEach(() => world.close());

  const update = (version: string | undefined) => [
    "UpdateDomainName",
    {
      domainName: DOMAIN,
      patchOperations: [
        {
          op: "replace",
          path: "/mutualTlsAuthentication/truststoreUri",
          value: `s3://${BUCKET}/${TRUSTSTORE_KEY}`,
        },
        { op: "replace", path: "/mutualTlsAuthentication/truststoreVersion", value: version },
      ],
    },
  ];
  const run = async () => {
    apiGateway.resetHistory();
    const [report] = await world.sync([target]).run();
    return { report: report!, calls: sent(apiGateway) };
  };

  test("the truststore follows the bundle's object version; a new CRL needs no call", async () => {
    const bundle = await world.publishBundle();
    await world.publishCrl();
    const first = await run();
    assert.deepEqual(first.calls, [update(bundle.versionId)]);
    assert.deepEqual(first.report.actions, ["UpdateDomainName"]);
    assert.deepEqual((await world.state(DOMAIN))?.details, { truststoreVersion: bundle.versionId });

    const crl = await world.publishCrl(revoked(2));
    const second = await run();
    assert.deepEqual(second.calls, []);
    assert.equal(second.report.outcome, "updated");
    assert.deepEqual(second.report.actions, []);
    const state = await world.state(DOMAIN);
    assert.equal(state?.crlSha256, crl.sha256);
    assert.equal(state?.crlNumber, "2");

    const chain = new TextDecoder().decode(world.objects.objects.get(TRUSTSTORE_KEY)!.body);
    const next = await world.publishBundle(`${chain}\n`);
    const third = await run();
    assert.deepEqual(third.calls, [update(next.versionId)]);
    assert.deepEqual((await world.state(DOMAIN))?.details, { truststoreVersion: next.versionId });
  });

  test("truststore warnings are a failure, with the warnings in the message", async () => {
    await world.publishBundle();
    await world.publishCrl();
    warnings = ["Certificate CN=Old Root has expired", "Certificate 2 is not a CA"];
    const { report } = await run();
    assert.equal(report.outcome, "failed");
    assert.equal(report.error?.code, "TruststoreWarnings");
    assert.match(
      report.error?.message ?? "",
      /2 warning\(s\): Certificate CN=Old Root has expired; Certificate 2 is not a CA/,
    );
    const [failed] = world.bus.of("enforcement.failed");
    assert.equal(failed?.code, "TruststoreWarnings");
    assert.equal(failed?.kind, "api-gateway-domain");
  });

  test("an unversioned bundle: a clear refusal, no call", async () => {
    world.objects.versioned = false;
    await world.publishBundle();
    await world.publishCrl();
    const { report, calls } = await run();
    assert.equal(report.error?.code, "ObjectVersionMissing");
    assert.deepEqual(calls, []);
  });
});

describe("IAM Roles Anywhere trust anchor", () => {
  const ANCHOR =
    "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/0f4c7a2e-5b1d-4e8a-9c3f-2a6b8d0e1f47";
  const OTHER =
    "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
  const options = { crlName: "spca-prod", tags: { app: "spca", stage: "prod" } };
  let world: EnforcementWorld;
  // biome-ignore lint/suspicious/noExplicitAny: the 3.332 client's stub types differ from 3.x today.
  let rolesAnywhere: any;
  let service: ReturnType<typeof fakeRolesAnywhere>;
  let client: RolesAnywhereClient;
  let time: number;
  let sleeps: number[];
  let restoreClock: () => void;
  beforeEach(async () => {
    world = await enforcementWorld(dynamo);
    client = new RolesAnywhereClient({ region: "eu-west-1" });
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    rolesAnywhere = mockClient(client as any);
    time = 0;
    sleeps = [];
    restoreClock = useRolesAnywhereClock({
      now: () => time,
      sleep: async (ms) => {
        sleeps.push(ms);
        time += ms;
      },
    });
    service = fakeRolesAnywhere(rolesAnywhere, () => time);
  });
  afterEach(() => {
    restoreClock();
    world.close();
  });

  const anchor = (arn = ANCHOR) => new RolesAnywhereTrustAnchorTarget(client, arn, options);
  const run = async (targets = [anchor()], states?: EnforcementStateStore) => {
    rolesAnywhere.resetHistory();
    const reports = await world.sync(targets, states).run();
    return { report: reports[0]!, reports, calls: sent(rolesAnywhere) };
  };
  const importCall = (pem: Uint8Array, arn = ANCHOR) => [
    "ImportCrl",
    {
      name: "spca-prod",
      crlData: pem,
      trustAnchorArn: arn,
      enabled: true,
      tags: [
        { key: "app", value: "spca" },
        { key: "stage", value: "prod" },
      ],
    },
  ];

  test("imported once (PEM), then updated by id; a bundle change alone needs no call", async () => {
    await world.publishBundle();
    const crl = await world.publishCrl(revoked(2));
    const first = await run();
    assert.deepEqual(first.calls, [["ListCrls", {}], importCall(crl.pem)]);
    assert.deepEqual(first.report.actions, ["ListCrls", "ImportCrl"]);
    const [crlId] = [...service.crls.keys()];
    assert.deepEqual((await world.state(ANCHOR))?.details, { crlId });

    const next = await world.publishCrl(revoked(3));
    const second = await run();
    assert.deepEqual(second.calls, [["UpdateCrl", { crlId, crlData: next.pem }]]);
    assert.deepEqual(Buffer.from(service.crls.get(crlId!)!.crlData), Buffer.from(next.pem));

    const chain = new TextDecoder().decode(world.objects.objects.get(TRUSTSTORE_KEY)!.body);
    await world.publishBundle(`${chain}\n`);
    const third = await run();
    assert.deepEqual(third.calls, []);
    assert.equal(third.report.outcome, "updated");
    assert.equal(service.crls.size, 1);
  });

  test("a crash after ImportCrl: the next run finds that CRL and updates it, never imports twice", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    // Others' CRLs: the same name on another anchor, another name on this one.
    service.crls.set("other-anchor", {
      name: "spca-prod",
      trustAnchorArn: OTHER,
      crlData: new Uint8Array(1),
    });
    service.crls.set("other-name", {
      name: "legacy",
      trustAnchorArn: ANCHOR,
      crlData: new Uint8Array(1),
    });
    // The process dies at the checkpoint after the import: nothing more is written.
    let dead = false;
    const dying: EnforcementStateStore = {
      get: (t) => world.states.get(t),
      async put(state) {
        if (dead || typeof state.details.crlId === "string") {
          dead = true;
          throw new Error("process killed");
        }
        await world.states.put(state);
      },
    };
    await run(undefined, dying);
    assert.equal(await world.state(ANCHOR), undefined);
    const imported = [...service.crls].find(
      ([, c]) => c.name === "spca-prod" && c.trustAnchorArn === ANCHOR,
    );
    assert.ok(imported);

    const crl = await world.publishCrl(revoked(2));
    const { report, calls } = await run();
    assert.equal(report.outcome, "updated");
    assert.deepEqual(calls, [
      ["ListCrls", {}],
      ["ListCrls", { nextToken: "2" }],
      ["UpdateCrl", { crlId: imported[0], crlData: crl.pem }],
    ]);
    assert.equal(service.crls.size, 3);
    assert.deepEqual((await world.state(ANCHOR))?.details, { crlId: imported[0] });
  });

  test("our CRL deleted by someone else: imported again", async () => {
    await world.publishBundle();
    await world.publishCrl();
    await run();
    service.crls.clear();
    const crl = await world.publishCrl(revoked(1));
    const { report, calls } = await run();
    assert.equal(report.outcome, "updated");
    assert.deepEqual(
      calls.map(([name]) => name),
      ["UpdateCrl", "ListCrls", "ImportCrl"],
    );
    assert.deepEqual(calls.at(-1), importCall(crl.pem));
    const [crlId] = [...service.crls.keys()];
    assert.deepEqual((await world.state(ANCHOR))?.details, { crlId });
  });

  test("a CRL over 300,000 bytes of PEM: CrlTooLarge, no call, the old CRL kept", async () => {
    await world.publishBundle();
    await world.publishCrl();
    await run();
    const big = await world.publishCrl(revoked(6000));
    assert.ok(big.pem.length > 300_000);
    const { report, calls } = await run();
    assert.equal(report.error?.code, "CrlTooLarge");
    assert.match(
      report.error?.message ?? "",
      new RegExp(
        `CRL 2 \\(.*, 6000 entries\\) is ${big.pem.length} bytes of PEM; IAM Roles Anywhere takes at most 300000`,
      ),
    );
    assert.deepEqual(calls, []);
    assert.equal(world.bus.of("enforcement.failed")[0]?.code, "CrlTooLarge");
  });

  test("calls across trust anchors are one at a time, a second apart at least", async () => {
    await world.publishBundle();
    await world.publishCrl();
    const { reports } = await run([anchor(ANCHOR), anchor(OTHER)]);
    assert.deepEqual(
      reports.map((r) => r.outcome),
      ["updated", "updated"],
    );
    assert.equal(service.at.length, 4);
    assert.deepEqual(service.at, [0, 1000, 2000, 3000]);
    assert.deepEqual(sleeps, [1000, 1000, 1000]);
    await world.publishCrl(revoked(1));
    time += 400;
    await run([anchor(ANCHOR), anchor(OTHER)]);
    assert.deepEqual(service.at.slice(4), [4000, 5000]);
  });

  test("a CRL name IAM Roles Anywhere would refuse is refused at construction", () => {
    assert.throws(
      () => new RolesAnywhereTrustAnchorTarget(client, ANCHOR, { crlName: "spca/prod", tags: {} }),
      /not an IAM Roles Anywhere CRL name/,
    );
  });
});

let captures = 0;

/** The publication exactly as the sync reads it and hands it to a target. */
async function publicationOf(world: EnforcementWorld): Promise<EnforcementPublication> {
  let captured: EnforcementPublication | undefined;
  await world
    .sync([
      {
        id: `capture-${++captures}`,
        kind: "local-gateway",
        async sync(publication) {
          captured = publication;
          return { actions: [], details: {} };
        },
      },
    ])
    .run();
  assert.ok(captured, "nothing published");
  return captured;
}
