/**
 * The enforcement drift function as Lambda runs it, on CloudTrail events as EventBridge
 * delivers them from the default bus, with EventBridge behind aws-sdk-client-mock: what is
 * drift and what is not, the EnforcementDrift metric and the `enforcement.drift` event, and
 * input it cannot read, which is logged and skipped rather than thrown.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { AwsServices } from "../src/lambda/aws-services.ts";
import { eventBridgeAdapters } from "../src/lambda/clients/eventbridge.ts";
import { enforcementDriftLambda } from "../src/lambda/enforcement-drift.ts";
import {
  ACCOUNT,
  ANCHOR,
  BUCKET,
  BUS,
  busEvents,
  DOMAIN,
  SYNC_ROLE,
  settingsFor,
  TRUST_STORES,
} from "./support/enforcement-lambda.ts";
import { capturePowertoolsOutput } from "./support/powertools-output.ts";

const output = capturePowertoolsOutput();
after(() => output.stop());

describe("the enforcement drift Lambda", () => {
  const eventBridge = mockClient(EventBridgeClient);
  let published: PutEventsRequestEntry[] = [];
  const drift = enforcementDriftLambda(() => services);
  let services: AwsServices;

  before(() => {
    services = new AwsServices(
      settingsFor("unused", { PKI_CA_ROLE_ARNS: SYNC_ROLE }),
      eventBridgeAdapters(() => new EventBridgeClient({ region: "eu-west-1" })),
      "EnforcementDrift",
    );
  });
  beforeEach(() => {
    eventBridge.reset();
    published = [];
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      published.push(...input.Entries);
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: "e" })) };
    });
  });

  /** A CloudTrail management event as EventBridge delivers it from the default bus. */
  function cloudTrail(
    source: string,
    eventName: string,
    requestParameters: Record<string, unknown>,
    identity: Record<string, unknown> = {
      type: "AssumedRole",
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice`,
      sessionContext: {
        sessionIssuer: { type: "Role", arn: `arn:aws:iam::${ACCOUNT}:role/Admin` },
      },
    },
    extra: Record<string, unknown> = {},
  ) {
    return {
      version: "0",
      id: "6f0c9a5e-0000-4000-8000-000000000000",
      "detail-type": "AWS API Call via CloudTrail",
      source,
      account: ACCOUNT,
      time: "2026-03-01T10:00:00Z",
      region: "eu-west-1",
      resources: [],
      detail: {
        eventVersion: "1.09",
        userIdentity: identity,
        eventTime: "2026-03-01T10:00:00Z",
        eventSource: `${source.slice(4)}.amazonaws.com`,
        eventName,
        awsRegion: "eu-west-1",
        requestParameters,
        responseElements: null,
        eventID: `ev-${eventName}`,
        eventType: "AwsApiCall",
        ...extra,
      },
    };
  }

  test("another principal's change to a configured trust store is drift: counted and announced", async () => {
    output.clear();
    const result = await drift(
      cloudTrail("aws.elasticloadbalancing", "ModifyTrustStore", {
        trustStoreArn: TRUST_STORES[0],
        caCertificatesBundleS3Bucket: "elsewhere",
        caCertificatesBundleS3Key: "bundle.pem",
      }),
    );
    assert.deepEqual(result, {
      reported: true,
      eventName: "ModifyTrustStore",
      resource: TRUST_STORES[0],
    });
    assert.deepEqual(busEvents(published), [
      {
        type: "enforcement.drift",
        data: {
          eventId: "ev-ModifyTrustStore",
          eventSource: "elasticloadbalancing.amazonaws.com",
          eventName: "ModifyTrustStore",
          actor: `arn:aws:iam::${ACCOUNT}:role/Admin`,
          resource: TRUST_STORES[0],
          eventTime: "2026-03-01T10:00:00.000Z",
        },
      },
    ]);
    assert.equal(published[0]?.EventBusName, BUS);
    assert.deepEqual(
      output.metrics("EnforcementDrift").map((m) => [m.value, m.unit]),
      [[1, "Count"]],
    );
    assert.equal(output.logs(/^drift: /)[0]?.level, "WARN");
  });

  test("the bucket, a domain in any case, a user without a role, a Roles Anywhere CRL of ours", async () => {
    const user = { type: "IAMUser", arn: `arn:aws:iam::${ACCOUNT}:user/bob` };
    const cases = [
      [cloudTrail("aws.s3", "PutBucketPolicy", { bucketName: BUCKET, policy: {} }, user), BUCKET],
      [
        cloudTrail("aws.apigateway", "UpdateDomainName", { domainName: "MTLS.Example.com" }),
        DOMAIN,
      ],
      [
        cloudTrail("aws.rolesanywhere", "DisableCrl", { crlId: "c-1" }, undefined, {
          responseElements: { crl: { crlArn: "arn:crl/c-1", trustAnchorArn: ANCHOR } },
        }),
        "arn:crl/c-1",
      ],
      [
        cloudTrail("aws.rolesanywhere", "UpdateTrustAnchor", {
          trustAnchorId: "01234567-89ab-cdef-0123-456789abcdef",
        }),
        ANCHOR,
      ],
    ] as const;
    for (const [event, resource] of cases) {
      const result = await drift(event);
      assert.deepEqual(result, { reported: true, eventName: event.detail.eventName, resource });
    }
    assert.equal(
      busEvents(published).find((e) => e.data.eventName === "PutBucketPolicy")?.data.actor,
      `arn:aws:iam::${ACCOUNT}:user/bob`,
    );
  });

  test("the sync's own calls, other resources and refused calls are not drift", async () => {
    const ours = {
      type: "AssumedRole",
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/spca-test-EnforcementSyncRole-abcdefgh/s`,
      sessionContext: { sessionIssuer: { type: "Role", arn: SYNC_ROLE } },
    };
    const trustStore = { trustStoreArn: TRUST_STORES[0] };
    const cases = [
      [cloudTrail("aws.elasticloadbalancing", "ModifyTrustStore", trustStore, ours), /CA's own/],
      [
        cloudTrail("aws.elasticloadbalancing", "DeleteTrustStore", {
          trustStoreArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:truststore/other/1111111111111111`,
        }),
        /names no resource of ours/,
      ],
      [cloudTrail("aws.s3", "PutBucketPolicy", { bucketName: "someone-elses" }), /no resource/],
      [
        cloudTrail("aws.elasticloadbalancing", "ModifyTrustStore", trustStore, undefined, {
          errorCode: "AccessDenied",
        }),
        /refused by AWS/,
      ],
    ] as const;
    output.clear();
    for (const [event, reason] of cases) {
      const result = await drift(event);
      assert.equal(result.reported, false);
      assert.match((result as { reason: string }).reason, reason);
    }
    assert.deepEqual(published, []);
    assert.deepEqual(output.metrics("EnforcementDrift"), []);
  });

  test("what it cannot read is logged and skipped, never thrown", async () => {
    const unreadable: unknown[] = [
      null,
      "ModifyTrustStore",
      {},
      { "detail-type": "AWS API Call via CloudTrail", source: "aws.ec2", detail: {} },
      { "detail-type": "AWS API Call via CloudTrail", source: "aws.s3" },
      { ...cloudTrail("aws.s3", "GetObject", { bucketName: BUCKET }) },
      {
        ...cloudTrail("aws.s3", "PutBucketPolicy", { bucketName: BUCKET }),
        detail: { eventName: 5 },
      },
    ];
    output.clear();
    for (const event of unreadable) {
      const result = await drift(event);
      assert.equal(result.reported, false, JSON.stringify(event));
    }
    assert.equal(output.logs(/^skipped an event that is not a watched CloudTrail call/).length, 7);
    assert.deepEqual(published, []);
  });
});
