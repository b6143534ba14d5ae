/**
 * The sync over the three AWS gates at once (their SDK clients mocked, everything else real):
 * one gate failing never holds back the others in the same run; each outcome is announced
 * (`enforcement.updated` with the calls made, `enforcement.failed` with the service's code and
 * the attempt count); a failed gate waits out a doubling pause, or is retried at once when the
 * publication changes. And the factory builds the gates the configuration names, with only the
 * clients they need.
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
import { AlbTrustStoreTarget } from "../src/enforcement/aws/alb-trust-store.ts";
import { ApiGatewayDomainTarget } from "../src/enforcement/aws/api-gateway-domain.ts";
import {
  RolesAnywhereTrustAnchorTarget,
  useRolesAnywhereClock,
} from "../src/enforcement/aws/roles-anywhere-trust-anchor.ts";
import { awsEnforcementTargets } from "../src/enforcement/aws/targets.ts";
import { RETRY_FIRST_MS } from "../src/enforcement/sync.ts";
import type { EnforcementTarget } from "../src/enforcement/target.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import {
  type EnforcementWorld,
  enforcementWorld,
  fakeRolesAnywhere,
  fakeTrustStore,
  revoked,
  sent,
} from "./support/enforcement.ts";

const TRUST_STORE =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:truststore/spca/0123456789abcdef";
const DOMAIN = "api.example.com";
const ANCHOR =
  "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/0f4c7a2e-5b1d-4e8a-9c3f-2a6b8d0e1f47";
const CRL_OPTIONS = { crlName: "spca-prod", tags: { app: "spca" } };

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(() => dynamo.close());

describe("the sync over ALB, API Gateway and Roles Anywhere", () => {
  let world: EnforcementWorld;
  // biome-ignore lint/suspicious/noExplicitAny: the stubs' generic types are the clients' own.
  let elb: any, apiGateway: any, rolesAnywhere: any;
  let store: ReturnType<typeof fakeTrustStore>;
  let targets: EnforcementTarget[];
  let restoreClock: () => void;
  beforeEach(async () => {
    world = await enforcementWorld(dynamo);
    const elbClient = new ElasticLoadBalancingV2Client({ region: "eu-west-1" });
    const apiClient = new APIGatewayClient({ region: "eu-west-1" });
    const raClient = new RolesAnywhereClient({ region: "eu-west-1" });
    elb = mockClient(elbClient);
    apiGateway = mockClient(apiClient);
    // biome-ignore lint/suspicious/noExplicitAny: the 3.332 client's stub types differ from 3.x today.
    rolesAnywhere = mockClient(raClient as any);
    store = fakeTrustStore(elb, world.objects);
    apiGateway.on(UpdateDomainNameCommand).resolves({ domainName: DOMAIN });
    let time = 0;
    restoreClock = useRolesAnywhereClock({
      now: () => time,
      sleep: async (ms) => {
        time += ms;
      },
    });
    fakeRolesAnywhere(rolesAnywhere, () => time);
    targets = [
      new AlbTrustStoreTarget(elbClient, TRUST_STORE),
      new ApiGatewayDomainTarget(apiClient, DOMAIN),
      new RolesAnywhereTrustAnchorTarget(raClient, ANCHOR, CRL_OPTIONS),
    ];
  });
  afterEach(() => {
    restoreClock();
    world.close();
  });

  const quotaError = () =>
    new TooManyTrustStoreRevocationEntriesException({
      message: "The trust store has too many revocation entries",
      $metadata: { httpStatusCode: 400 },
    });
  const later = (ms: number) => {
    world.clock = new Date(world.clock.getTime() + ms);
  };
  const run = () => {
    for (const mock of [elb, apiGateway, rolesAnywhere]) mock.resetHistory();
    return world.sync(targets).run();
  };

  test("a trust store refusing the CRL does not hold back the domain or the trust anchor", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(2));
    store.failNext("AddTrustStoreRevocations", quotaError());
    const failedAt = world.clock.toISOString();
    const reports = await run();
    assert.deepEqual(
      reports.map((r) => [r.target, r.outcome]),
      [
        [TRUST_STORE, "failed"],
        [DOMAIN, "updated"],
        [ANCHOR, "updated"],
      ],
    );
    assert.deepEqual(reports[0]?.error, {
      code: "TooManyTrustStoreRevocationEntriesException",
      message: "The trust store has too many revocation entries",
      attempts: 1,
    });
    assert.deepEqual(
      sent(apiGateway).map(([name]) => name),
      ["UpdateDomainName"],
    );
    assert.deepEqual(
      sent(rolesAnywhere).map(([name]) => name),
      ["ListCrls", "ImportCrl"],
    );

    assert.deepEqual(world.bus.of("enforcement.failed"), [
      {
        target: TRUST_STORE,
        kind: "alb-trust-store",
        code: "TooManyTrustStoreRevocationEntriesException",
        message: "The trust store has too many revocation entries",
        attempts: 1,
        failedAt,
      },
    ]);
    const updated = world.bus.of("enforcement.updated");
    assert.deepEqual(
      updated.map((e) => [e.target, e.kind, e.crlNumber, e.actions]),
      [
        [DOMAIN, "api-gateway-domain", "1", ["UpdateDomainName"]],
        [ANCHOR, "roles-anywhere-trust-anchor", "1", ["ListCrls", "ImportCrl"]],
      ],
    );
    assert.ok(updated.every((e) => e.updatedAt === failedAt));

    const state = await world.state(TRUST_STORE);
    assert.equal(state?.failures, 1);
    assert.equal(
      state?.lastError,
      "TooManyTrustStoreRevocationEntriesException: The trust store has too many revocation entries",
    );
    assert.equal(state?.retryAt, new Date(world.clock.getTime() + RETRY_FIRST_MS).toISOString());
    // Brought in step with the bundle before the refusal; the CRL is still owed.
    assert.equal(state?.crlSha256, undefined);
    assert.equal((await world.state(DOMAIN))?.failures, 0);
  });

  test("a failed gate waits out its pause, doubling, then is brought in step", async () => {
    await world.publishBundle();
    const crl = await world.publishCrl(revoked(1));
    store.failNext("AddTrustStoreRevocations", quotaError());
    await run();

    later(RETRY_FIRST_MS - 1_000);
    const waiting = await run();
    assert.deepEqual(
      waiting.map((r) => r.outcome),
      ["waiting", "current", "current"],
    );
    assert.deepEqual(sent(elb), []);

    later(1_000);
    store.failNext("AddTrustStoreRevocations", quotaError());
    const second = await run();
    assert.equal(second[0]?.outcome, "failed");
    assert.equal(second[0]?.error?.attempts, 2);
    const state = await world.state(TRUST_STORE);
    assert.equal(
      state?.retryAt,
      new Date(world.clock.getTime() + 2 * RETRY_FIRST_MS).toISOString(),
    );
    assert.deepEqual(
      world.bus.of("enforcement.failed").map((e) => e.attempts),
      [1, 2],
    );

    later(RETRY_FIRST_MS);
    assert.equal((await run())[0]?.outcome, "waiting");
    later(RETRY_FIRST_MS);
    const retried = await run();
    assert.equal(retried[0]?.outcome, "updated");
    assert.deepEqual(
      sent(elb).map(([name]) => name),
      ["ModifyTrustStore", "DescribeTrustStoreRevocations", "AddTrustStoreRevocations"],
    );
    const recovered = await world.state(TRUST_STORE);
    assert.equal(recovered?.crlSha256, crl.sha256);
    assert.equal(recovered?.failures, 0);
    assert.equal(recovered?.retryAt, undefined);
    assert.equal(
      world.bus.of("enforcement.updated").filter((e) => e.target === TRUST_STORE).length,
      1,
    );
  });

  test("a new CRL during the pause is tried at once, and reaches every gate that needs it", async () => {
    await world.publishBundle();
    await world.publishCrl(revoked(1));
    store.failNext("AddTrustStoreRevocations", quotaError());
    await run();
    later(5_000);
    const crl = await world.publishCrl(revoked(2));
    const reports = await run();
    assert.deepEqual(
      reports.map((r) => [r.outcome, r.actions]),
      [
        [
          "updated",
          ["ModifyTrustStore", "DescribeTrustStoreRevocations", "AddTrustStoreRevocations"],
        ],
        ["updated", []],
        ["updated", ["UpdateCrl"]],
      ],
    );
    assert.deepEqual(
      reports.map((r) => r.crlNumber),
      ["2", "2", "2"],
    );
    assert.equal((await world.state(TRUST_STORE))?.crlSha256, crl.sha256);
  });

  test("nothing published yet: no gate is called", async () => {
    const reports = await run();
    assert.deepEqual(
      reports.map((r) => r.outcome),
      ["unpublished", "unpublished", "unpublished"],
    );
    assert.deepEqual([...sent(elb), ...sent(apiGateway), ...sent(rolesAnywhere)], []);
  });
});

describe("awsEnforcementTargets", () => {
  test("one gate per configured resource, in order, with only the clients needed", () => {
    const made: string[] = [];
    const clients = {
      elb: () => {
        made.push("elb");
        return new ElasticLoadBalancingV2Client({ region: "eu-west-1" });
      },
      apiGateway: () => {
        made.push("apiGateway");
        return new APIGatewayClient({ region: "eu-west-1" });
      },
      rolesAnywhere: () => {
        made.push("rolesAnywhere");
        return new RolesAnywhereClient({ region: "eu-west-1" });
      },
    };
    const second = TRUST_STORE.replace("0123456789abcdef", "fedcba9876543210");
    const targets = awsEnforcementTargets(
      {
        albTrustStores: [TRUST_STORE, second],
        apiGatewayDomains: [],
        rolesAnywhereTrustAnchors: [ANCHOR],
      },
      clients,
      CRL_OPTIONS,
    );
    assert.deepEqual(
      targets.map((t) => [t.kind, t.id]),
      [
        ["alb-trust-store", TRUST_STORE],
        ["alb-trust-store", second],
        ["roles-anywhere-trust-anchor", ANCHOR],
      ],
    );
    assert.deepEqual(made, ["elb", "rolesAnywhere"]);
    assert.deepEqual(
      awsEnforcementTargets(
        { albTrustStores: [], apiGatewayDomains: [], rolesAnywhereTrustAnchors: [] },
        clients,
        CRL_OPTIONS,
      ),
      [],
    );
    assert.deepEqual(made, ["elb", "rolesAnywhere"]);
  });
});
