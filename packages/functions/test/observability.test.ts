/**
 * Observability of the Lambda entry points without the AWS stand-ins (lambda.test.ts checks it
 * on the whole flow): per-invocation log keys, failure logs, the event counters of the audit
 * trail (once per event though EventBridge delivers twice), tracing on Lambda (in a child
 * process with the runtime's environment) and off elsewhere, and the metric names module the
 * stacks import.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TransientError } from "@spca/core/errors";
import { createEvent } from "@spca/core/events/bus";
import type { EventDetail, EventType } from "@spca/core/events/catalogue";
import { EVENT_SOURCE, type EventBridgeEnvelope } from "@spca/core/events/eventbridge-bus";
import type { AwsServices } from "../src/lambda/aws-services.ts";
import { METRICS_NAMESPACE, metricNames } from "../src/lambda/metric-names.ts";
import { logger, observed, tracer } from "../src/lambda/observability.ts";
import { subscriberLambda } from "../src/lambda/subscriber-handler.ts";
import { countedAuditTrail } from "../src/lambda/subscribers/audit-trail.ts";
import { capturePowertoolsOutput } from "./support/powertools-output.ts";

const output = capturePowertoolsOutput();
after(() => output.stop());

const context = (awsRequestId: string) => ({ awsRequestId, functionName: "spca-test-probe" });

function envelope<T extends EventType>(type: T, detail: EventDetail<T>): EventBridgeEnvelope {
  const event = createEvent(type, detail);
  return {
    source: EVENT_SOURCE,
    "detail-type": type,
    time: event.time,
    detail: { id: event.id, data: event.detail },
  };
}

describe("observed handlers", () => {
  test("log the Lambda context and the invocation's keys, then drop the keys", async () => {
    output.clear();
    const handler = observed(
      "probe",
      async (event: { requestId: string }) => {
        logger.info("working", { extra: 1 });
        return event.requestId;
      },
      { keys: (event) => ({ certificateRequestId: event.requestId, absent: undefined }) },
    );
    assert.equal(await handler({ requestId: "req-1" }, context("aws-1")), "req-1");
    logger.info("between invocations");
    const [working, between] = output.logs();
    assert.equal(working?.message, "working");
    assert.equal(working?.certificateRequestId, "req-1");
    assert.equal(working?.function_request_id, "aws-1");
    assert.equal(working?.function_name, "spca-test-probe");
    assert.equal(working?.extra, 1);
    assert.ok(!("absent" in (working ?? {})));
    assert.equal(between?.message, "between invocations");
    assert.equal(between?.certificateRequestId, undefined);
  });

  test("log a failure with the keys, a TransientError as a warning, and rethrow", async () => {
    output.clear();
    const failing = observed(
      "probe",
      async (error: Error) => {
        throw error;
      },
      { keys: () => ({ executionId: "exec-1" }) },
    );
    await assert.rejects(failing(new Error("broken"), context("aws-2")), /broken/);
    await assert.rejects(failing(new TransientError("throttled"), context("aws-3")), /throttled/);
    const [broken, throttled] = output.logs("probe failed");
    assert.equal(broken?.level, "ERROR");
    assert.equal(broken?.executionId, "exec-1");
    assert.equal(broken?.function_request_id, "aws-2");
    assert.equal((broken?.error as { message?: string } | undefined)?.message, "broken");
    assert.equal(throttled?.level, "WARN");
    assert.equal((throttled?.error as { name?: string } | undefined)?.name, "TransientError");
  });

  test("a keys function that throws on a strange event does not fail the invocation", async () => {
    const handler = observed("probe", async () => "ok", {
      keys: (event: null) => ({ id: (event as unknown as { id: string }).id }),
    });
    assert.equal(await handler(null), "ok");
  });

  test("tracing is off outside Lambda: no segment is looked for or sent", () => {
    assert.equal(tracer.isTracingEnabled(), false);
  });
});

describe("event counters of the audit trail", () => {
  /** appendAudit as the repository answers it: true the first time an event id is written. */
  const written = new Set<string>();
  const repository = {
    appendAudit: async (_requestId: string, entry: { eventId?: string }) => {
      if (entry.eventId === undefined || written.has(entry.eventId)) return false;
      written.add(entry.eventId);
      return true;
    },
  };
  const lambda = subscriberLambda(
    () => countedAuditTrail(repository),
    () => ({}) as AwsServices,
  );
  const at = "2026-11-22T10:00:00.000Z";
  const requester = "dev@example.com";

  test("count each event once though it is delivered twice; profile where the event has it", async () => {
    output.clear();
    const events = [
      envelope("request.submitted", {
        requestId: "r1",
        requester,
        profile: "server",
        submittedAt: at,
      }),
      envelope("certificate.issued", {
        requestId: "r1",
        requester,
        serial: "0a1b",
        profile: "server",
        notAfter: at,
        issuedAt: at,
      }),
      envelope("request.rejected", {
        requestId: "r2",
        requester,
        rejectedBy: null,
        reason: "not ours",
        rejectedAt: at,
      }),
      envelope("request.expired", { requestId: "r3", requester, expiredAt: at }),
      envelope("certificate.revoked", {
        serial: "0a1b",
        requestId: "r1",
        reason: "keyCompromise",
        revokedAt: at,
      }),
    ];
    for (const event of events) {
      await lambda(event, context("aws-4"));
      await lambda(event, context("aws-5"));
    }
    const counted = output.metrics().map((m) => ({
      name: m.name,
      value: m.value,
      unit: m.unit,
      namespace: m.namespace,
      dimensions: m.dimensionSets,
      profile: m.line.profile,
    }));
    const common = { value: 1, unit: "Count", namespace: METRICS_NAMESPACE };
    assert.deepEqual(counted, [
      {
        name: metricNames.certificatesIssued,
        ...common,
        dimensions: [["service", "profile"]],
        profile: "server",
      },
      {
        name: metricNames.requestsRejected,
        ...common,
        dimensions: [["service"]],
        profile: undefined,
      },
      {
        name: metricNames.requestsExpired,
        ...common,
        dimensions: [["service"]],
        profile: undefined,
      },
      {
        name: metricNames.certificatesRevoked,
        ...common,
        dimensions: [["service"]],
        profile: undefined,
      },
    ]);
  });

  test("an event the trail does not record (no request) is counted on every delivery", async () => {
    output.clear();
    const revoked = envelope("certificate.revoked", {
      serial: "0c0d",
      requestId: null,
      reason: "superseded",
      revokedAt: at,
    });
    await lambda(revoked);
    await lambda(revoked);
    assert.equal(output.metrics(metricNames.certificatesRevoked).length, 2);
  });
});

describe("tracing on Lambda", () => {
  test("the handler is a subsegment of Lambda's, annotated, with the SDK calls under it", () => {
    const script = fileURLToPath(new URL("./support/traced-invocation.ts", import.meta.url));
    const stdout = execFileSync(process.execPath, [script], {
      env: {
        ...process.env,
        AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
        LAMBDA_TASK_ROOT: "/var/task",
        _X_AMZN_TRACE_ID:
          "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        POWERTOOLS_LOG_LEVEL: "SILENT",
      },
      encoding: "utf8",
    });
    const { enabled, result, documents } = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      enabled: boolean;
      result: string;
      documents: {
        id: string;
        name: string;
        parent_id: string;
        trace_id: string;
        annotations?: Record<string, unknown>;
        aws?: { operation?: string };
      }[];
    };
    assert.equal(enabled, true);
    assert.equal(result, "done");
    const handler = documents.find((d) => d.name === "## probe");
    assert.ok(handler, JSON.stringify(documents));
    assert.equal(handler.parent_id, "53995c3f42cd8ad8");
    assert.equal(handler.trace_id, "1-5759e988-bd862e3fe1be46a994272793");
    assert.equal(handler.annotations?.Service, "pki");
    assert.equal(handler.annotations?.certificateRequestId, "req-42");
    assert.equal(typeof handler.annotations?.ColdStart, "boolean");
    const s3 = documents.find((d) => d.name === "S3");
    assert.equal(s3?.aws?.operation, "HeadBucket");
    assert.equal(s3?.parent_id, handler.id);
  });
});

test("the metric names module imports nothing, so the stacks can use it without Powertools", () => {
  const source = readFileSync(new URL("../src/lambda/metric-names.ts", import.meta.url), "utf8");
  assert.doesNotMatch(source, /^\s*import\b|\brequire\(/m);
  assert.equal(metricNames.crlSecondsToNextUpdate, "CrlSecondsToNextUpdate");
});
