/** The event catalogue, the in-process bus and the EventBridge adapter. */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { isPkiError } from "../src/errors.ts";
import { createEvent, subscription } from "../src/events/bus.ts";
import type { DomainEvent, EventDetail } from "../src/events/catalogue.ts";
import { EVENT_SOURCE, EventBridgeBus, fromEventBridge } from "../src/events/eventbridge-bus.ts";
import { InProcessEventBus } from "../src/events/in-process-bus.ts";

const issued: EventDetail<"certificate.issued"> = {
  requestId: "req-1",
  requester: "dev@example.com",
  serial: "3903d9990a",
  profile: "server",
  notAfter: "2027-02-20T00:00:00.000Z",
  issuedAt: "2026-11-22T10:00:00.000Z",
};
const rejected: EventDetail<"request.rejected"> = {
  requestId: "req-2",
  requester: "dev@example.com",
  rejectedBy: "security@example.com",
  reason: "not ours",
  rejectedAt: "2026-11-22T10:00:00.000Z",
};

describe("catalogue validation", () => {
  test("an event id names the fact, so a replay gives the same id", () => {
    assert.equal(createEvent("certificate.issued", issued).id, "certificate.issued/3903d9990a");
    assert.equal(createEvent("request.rejected", rejected).id, "request.rejected/req-2");
    assert.equal(
      createEvent("request.rejected", rejected).id,
      createEvent("request.rejected", rejected).id,
    );
  });

  test("a detail off the schema is refused, naming the field", () => {
    const bad = { ...issued, serial: "XYZ" };
    assert.throws(
      () => createEvent("certificate.issued", bad),
      (e) => isPkiError(e, "EVENT_INVALID") && /serial: .*hex serial/.test(e.message),
    );
    const extra = { ...rejected, secret: "token" } as unknown as typeof rejected;
    assert.throws(
      () => createEvent("request.rejected", extra),
      (e) => isPkiError(e, "EVENT_INVALID") && /secret/.test(e.message),
    );
  });
});

describe("InProcessEventBus", () => {
  test("delivers to matching subscribers only, after publish returns, re-validated", async () => {
    const bus = new InProcessEventBus();
    const seen: string[] = [];
    bus.subscribe(
      subscription("mail", ["certificate.issued", "request.rejected"], async (event) => {
        seen.push(`mail:${event.type}:${event.detail.requestId}`);
      }),
    );
    bus.subscribe(
      subscription("audit", ["request.rejected"], async (event) => {
        seen.push(`audit:${event.detail.rejectedBy}`);
      }),
    );
    await bus.publish("certificate.issued", issued);
    assert.deepEqual(seen, [], "delivery is asynchronous");
    await bus.publish("request.rejected", rejected);
    await bus.drain();
    assert.deepEqual(seen.sort(), [
      "audit:security@example.com",
      "mail:certificate.issued:req-1",
      "mail:request.rejected:req-2",
    ]);
  });

  test("an invalid publish throws and delivers nothing", async () => {
    const bus = new InProcessEventBus();
    let calls = 0;
    bus.subscribe(
      subscription("any", ["certificate.issued"], async () => {
        calls++;
      }),
    );
    await assert.rejects(
      bus.publish("certificate.issued", { ...issued, notAfter: "tomorrow" }),
      (e) => isPkiError(e, "EVENT_INVALID") && /notAfter/.test(e.message),
    );
    await bus.drain();
    assert.equal(calls, 0);
  });

  test("a failing subscriber is retried, and reported once it gives up", async () => {
    const failures: string[] = [];
    const bus = new InProcessEventBus({
      attempts: 3,
      firstRetryMs: 1,
      onDeliveryFailure: (name, event, error) =>
        failures.push(`${name}:${event.id}:${(error as Error).message}`),
    });
    let flaky = 0;
    let broken = 0;
    bus.subscribe(
      subscription("flaky", ["certificate.issued"], async () => {
        if (++flaky < 3) throw new Error("try again");
      }),
    );
    bus.subscribe(
      subscription("broken", ["certificate.issued"], async () => {
        broken++;
        throw new Error("down");
      }),
    );
    await bus.publish("certificate.issued", issued);
    await bus.drain();
    assert.equal(flaky, 3);
    assert.equal(broken, 3);
    assert.deepEqual(failures, ["broken:certificate.issued/3903d9990a:down"]);
  });
});

describe("EventBridgeBus", () => {
  const eventBridge = mockClient(EventBridgeClient);
  beforeEach(() => eventBridge.reset());

  test("puts one entry on the bus: our source, the type as detail-type, id beside the data", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "x" }] });
    const bus = new EventBridgeBus(new EventBridgeClient({ region: "us-east-1" }), "ca-bus");
    const event = await bus.publish("certificate.issued", issued);
    const calls = eventBridge.commandCalls(PutEventsCommand);
    assert.equal(calls.length, 1);
    const [entry] = calls[0]!.args[0].input.Entries!;
    assert.equal(entry!.EventBusName, "ca-bus");
    assert.equal(entry!.Source, EVENT_SOURCE);
    assert.equal(entry!.DetailType, "certificate.issued");
    assert.deepEqual(JSON.parse(entry!.Detail!), { id: event.id, data: issued });
  });

  test("an entry EventBridge did not accept is a TransientError (the step retries)", async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: "ThrottlingException", ErrorMessage: "slow down" }],
    });
    const bus = new EventBridgeBus(new EventBridgeClient({ region: "us-east-1" }), "ca-bus");
    await assert.rejects(
      bus.publish("request.rejected", rejected),
      (e) =>
        (e as Error).name === "TransientError" && /ThrottlingException/.test((e as Error).message),
    );
  });

  test("fromEventBridge gives back the typed event, and refuses foreign or tampered ones", () => {
    const envelope = {
      source: EVENT_SOURCE,
      "detail-type": "request.rejected",
      time: "2026-11-22T10:00:01Z",
      detail: { id: "request.rejected/req-2", data: rejected },
    };
    const event: DomainEvent = fromEventBridge(envelope);
    assert.equal(event.type, "request.rejected");
    assert.deepEqual(event.detail, rejected);
    assert.throws(
      () => fromEventBridge({ ...envelope, source: "aws.s3" }),
      (e) => isPkiError(e, "EVENT_INVALID"),
    );
    assert.throws(
      () => fromEventBridge({ ...envelope, "detail-type": "request.hacked" }),
      (e) => isPkiError(e, "EVENT_INVALID") && /request\.hacked/.test(e.message),
    );
    assert.throws(
      () =>
        fromEventBridge({
          ...envelope,
          detail: { id: "x", data: { ...rejected, requester: "not an email" } },
        }),
      (e) => isPkiError(e, "EVENT_INVALID") && /requester/.test(e.message),
    );
  });
});
