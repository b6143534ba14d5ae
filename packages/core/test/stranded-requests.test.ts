/**
 * The sweep for stranded requests (ra/stranded-requests.ts) against dynalite, with a recording
 * engine that names executions after requests as Step Functions does, and a recording bus: a
 * request stored and never started is started once and announced; a young one, one the
 * workflow has moved on, and one whose execution exists are left as they are; a second sweep
 * starts nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createEvent, type EventBus } from "../src/events/bus.ts";
import type { DomainEvent } from "../src/events/catalogue.ts";
import { startStrandedRequests } from "../src/ra/stranded-requests.ts";
import type { RequestRepository } from "../src/store/request-repository.ts";
import type { ExecutionStarter, StartedExecution } from "../src/workflow/engine.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import {
  FIXTURE_KEY_PRINCIPAL,
  newRequest as fixtureRequest,
  freshRepository,
} from "./support/request-fixtures.ts";

const MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:spca";
const TWO_MINUTES = 2 * 60_000;
const T0 = new Date("2030-01-01T00:00:00.000Z");
const minutesAfterT0 = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => {
  await dynamo.close();
});

/** Step Functions' naming: one execution per name; a second start reports the first. */
class RecordingEngine implements ExecutionStarter {
  readonly executions = new Set<string>();
  starts = 0;

  async startExecution(requestId: string): Promise<StartedExecution> {
    this.starts++;
    const executionId = `${MACHINE.replace(":stateMachine:", ":execution:")}:${requestId}`;
    const alreadyStarted = this.executions.has(requestId);
    this.executions.add(requestId);
    return { executionId, alreadyStarted };
  }
}

class RecordingBus implements EventBus {
  readonly events: DomainEvent[] = [];

  async publish(...[type, detail]: Parameters<EventBus["publish"]>) {
    const event = createEvent(type, detail);
    this.events.push(event);
    return event as never;
  }
}

/** A fresh table, a repository on a clock the test sets, the engine and the bus. */
async function setup() {
  const { repo: repository, clock } = await freshRepository(dynamo, T0);
  const engine = new RecordingEngine();
  const bus = new RecordingBus();
  /** The sweep as the schedule runs it, `minutes` after T0. */
  const sweep = (minutes: number, repo: RequestRepository = repository) =>
    startStrandedRequests(
      { repository: repo, engine, bus },
      { olderThanMs: TWO_MINUTES, now: minutesAfterT0(minutes) },
    );
  return { clock, repository, engine, bus, sweep };
}

/** A client-profile request, automatically approved, for dev@ by a key acting for Alice. */
const newRequest = () =>
  fixtureRequest({
    requester: "dev@example.com",
    profile: "client",
    validityDays: null,
    principal: { id: FIXTURE_KEY_PRINCIPAL, email: "alice@example.com", groups: [] },
  });

describe("startStrandedRequests", () => {
  test("a request stored and never started is started once, recorded and announced", async () => {
    const { repository, engine, bus, sweep } = await setup();
    const { request } = await repository.createRequest(newRequest());

    const result = await sweep(3);
    assert.deepEqual(result, { examined: 1, started: [request.id] });
    assert.deepEqual([...engine.executions], [request.id]);
    const stored = await repository.getRequest(request.id);
    assert.equal(stored?.status, "submitted", "the workflow moves it on, not the sweep");
    assert.equal(
      stored?.executionId,
      `${MACHINE.replace(":stateMachine:", ":execution:")}:${request.id}`,
    );
    assert.deepEqual(
      bus.events.map((e) => [e.id, e.detail]),
      [
        [
          `request.submitted/${request.id}`,
          {
            requestId: request.id,
            requester: "dev@example.com",
            profile: "client",
            submittedAt: request.createdAt,
          },
        ],
      ],
    );
  });

  test("a request younger than olderThanMs may be between its store and its start: left alone", async () => {
    const { clock, repository, engine, bus, sweep } = await setup();
    const { request: old } = await repository.createRequest(newRequest());
    clock.now = minutesAfterT0(2);
    await repository.createRequest(newRequest());
    // Three minutes after the first was stored, one after the second.
    const result = await sweep(3);
    assert.deepEqual(result, { examined: 1, started: [old.id] });
    assert.equal(engine.starts, 1);
    assert.equal(bus.events.length, 1);
  });

  test("a request the workflow has moved on is left alone, even while the index still lists it", async () => {
    const { repository, engine, bus, sweep } = await setup();
    const { request } = await repository.createRequest(newRequest());
    await repository.transition(request.id, {
      from: "submitted",
      to: "approved",
      actor: "workflow:StoreRequest",
    });
    assert.deepEqual(await sweep(3), { examined: 0, started: [] });
    // The index is eventually consistent: it may still list the request as submitted.
    const staleIndex = new Proxy(repository, {
      get: (target, name, receiver) =>
        name === "listRequestsByStatus"
          ? async () => ({ items: [request], next: null })
          : Reflect.get(target, name, receiver),
    });
    assert.deepEqual(await sweep(3, staleIndex), { examined: 1, started: [] });
    assert.equal(engine.starts, 0);
    assert.deepEqual(bus.events, []);
  });

  test("a request whose execution exists is recorded, not started or announced again", async () => {
    const { repository, engine, bus, sweep } = await setup();
    const { request } = await repository.createRequest(newRequest());
    // The API started the execution and died before recording it.
    engine.executions.add(request.id);

    assert.deepEqual(await sweep(3), { examined: 1, started: [] });
    assert.equal(engine.starts, 1);
    assert.match(String((await repository.getRequest(request.id))?.executionId), /:spca:/);
    assert.deepEqual(bus.events, []);
  });

  test("a second sweep starts nothing", async () => {
    const { repository, engine, bus, sweep } = await setup();
    const { request } = await repository.createRequest(newRequest());
    assert.deepEqual(await sweep(3), { examined: 1, started: [request.id] });
    // Five minutes on, the workflow has not moved it yet: its execution exists.
    assert.deepEqual(await sweep(8), { examined: 1, started: [] });
    assert.deepEqual([...engine.executions], [request.id]);
    assert.equal(bus.events.length, 1);
  });
});
