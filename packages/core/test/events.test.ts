/** The event catalogue, the in-process bus and the EventBridge adapter. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, test } from "node:test";
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

describe("InProcessEventBus with an outbox", () => {
  const work = mkdtempSync(join(tmpdir(), "outbox-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  let folders = 0;
  const freshOutbox = () => join(work, String(++folders));
  const files = (outbox: string) => readdirSync(outbox).filter((name) => name.endsWith(".json"));
  /** The events a subscriber saw, as plain JSON (what a Lambda subscriber would be handed). */
  const recorder = () => {
    const seen: unknown[] = [];
    const handle = async (event: DomainEvent) => {
      seen.push(JSON.parse(JSON.stringify(event)));
    };
    return { seen, handle };
  };

  test("a delivery cut short with its process is delivered by the next bus on the folder, once", async () => {
    const outbox = freshOutbox();
    // The first process: its mail subscriber never finishes (the process dies mid-delivery).
    const first = new InProcessEventBus({ outbox });
    let started!: () => void;
    const handling = new Promise<void>((resolve) => {
      started = resolve;
    });
    first.subscribe(
      subscription("mail", ["certificate.issued"], () => {
        started();
        return new Promise<void>(() => {});
      }),
    );
    const published = await first.publish("certificate.issued", issued);
    assert.equal(files(outbox).length, 1, "kept before publish returns");
    await handling;
    assert.equal(files(outbox).length, 1, "still kept while the subscriber has not finished");
    // `first` is abandoned, never drained nor closed: a dead process.

    const second = new InProcessEventBus({ outbox });
    const mail = recorder();
    const audit = recorder();
    second.subscribe(subscription("audit", ["certificate.issued"], audit.handle));
    second.subscribe(subscription("mail", ["certificate.issued"], mail.handle));
    assert.equal(second.resumePending(), 1);
    await second.drain();
    assert.deepEqual(mail.seen, [JSON.parse(JSON.stringify(published))]);
    assert.equal((mail.seen[0] as DomainEvent).id, "certificate.issued/3903d9990a");
    assert.deepEqual((mail.seen[0] as DomainEvent).detail, issued);
    assert.deepEqual(audit.seen, [], "the delivery was the mail subscriber's only");
    assert.deepEqual(files(outbox), [], "done, so removed");
    // Nothing left to resume: a third start delivers nothing again.
    const third = new InProcessEventBus({ outbox });
    third.subscribe(subscription("mail", ["certificate.issued"], mail.handle));
    assert.equal(third.resumePending(), 0);
    await third.drain();
    assert.equal(mail.seen.length, 1);
  });

  test("a successful delivery leaves no file; each subscriber's delivery is kept apart", async () => {
    const outbox = freshOutbox();
    const bus = new InProcessEventBus({ outbox });
    const mail = recorder();
    const audit = recorder();
    bus.subscribe(subscription("mail", ["certificate.issued", "request.rejected"], mail.handle));
    bus.subscribe(subscription("audit", ["request.rejected"], audit.handle));
    await bus.publish("certificate.issued", issued);
    await bus.publish("request.rejected", rejected);
    // Delivery starts a macrotask after publish: every delivery is on disk by then.
    const kept = files(outbox);
    assert.equal(kept.length, 3, "one file per subscriber and event");
    const subscribers = kept
      .map((name) => JSON.parse(readFileSync(join(outbox, name), "utf8")).subscription)
      .sort();
    assert.deepEqual(subscribers, ["audit", "mail", "mail"]);
    await bus.drain();
    assert.equal(mail.seen.length, 2);
    assert.equal(audit.seen.length, 1);
    assert.deepEqual(files(outbox), []);
    assert.equal(new InProcessEventBus({ outbox }).resumePending(), 0);
  });

  test("a subscriber that gives up leaves its delivery for the next start", async () => {
    const outbox = freshOutbox();
    const failures: string[] = [];
    let tries = 0;
    const bus = new InProcessEventBus({
      outbox,
      attempts: 3,
      firstRetryMs: 1,
      onDeliveryFailure: (name, event) => failures.push(`${name}:${event.id}`),
    });
    const audit = recorder();
    bus.subscribe(
      subscription("mail", ["request.rejected"], async () => {
        tries++;
        throw new Error("SES is down");
      }),
    );
    bus.subscribe(subscription("audit", ["request.rejected"], audit.handle));
    const published = await bus.publish("request.rejected", rejected);
    await bus.drain();
    assert.equal(tries, 3);
    assert.deepEqual(failures, ["mail:request.rejected/req-2"]);
    assert.equal(audit.seen.length, 1);
    assert.equal(files(outbox).length, 1, "the failed delivery is kept, the audit one is not");

    const next = new InProcessEventBus({ outbox });
    const mail = recorder();
    next.subscribe(subscription("audit", ["request.rejected"], audit.handle));
    next.subscribe(subscription("mail", ["request.rejected"], mail.handle));
    assert.equal(next.resumePending(), 1);
    await next.drain();
    assert.deepEqual(mail.seen, [JSON.parse(JSON.stringify(published))]);
    assert.equal(audit.seen.length, 1, "audit was not delivered again");
    assert.deepEqual(files(outbox), []);
  });

  test("a delivery for a subscriber this process does not have is left in place", async () => {
    const outbox = freshOutbox();
    const bus = new InProcessEventBus({ outbox, attempts: 1, onDeliveryFailure: () => {} });
    bus.subscribe(
      subscription("retired", ["certificate.issued"], async () => {
        throw new Error("down");
      }),
    );
    await bus.publish("certificate.issued", issued);
    await bus.drain();
    assert.equal(files(outbox).length, 1);
    const next = new InProcessEventBus({ outbox });
    next.subscribe(subscription("mail", ["certificate.issued"], recorder().handle));
    const logged = await capturingStderr(() => next.resumePending());
    assert.equal(logged.result, 0);
    assert.match(logged.output, /no subscriber "retired" here; left in place/);
    assert.equal(files(outbox).length, 1);
  });
});

/** Runs `fn` with console.error captured. */
async function capturingStderr<T>(fn: () => T): Promise<{ result: T; output: string }> {
  const original = console.error;
  let output = "";
  console.error = (...args: unknown[]) => {
    output += `${args.join(" ")}\n`;
  };
  try {
    return { result: await fn(), output };
  } finally {
    console.error = original;
  }
}

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
