/**
 * EventBridge and SQS as the synthesis wires them: PutEvents (over EventBridge's JSON protocol)
 * puts each entry on its bus; the bus's rules, with their synthesized patterns, route it to their
 * targets: a function (an asynchronous invocation, retried as its invoke config says, then sent
 * to its failure destination) or a queue, which the queue's event source mapping delivers to its
 * function in batches. A function receives every event twice (at-least-once delivery).
 * Deliveries run in the background; `settled()` waits for them.
 */
import { randomUUID } from "node:crypto";
import { type JsonService, startJsonService } from "./json-service.ts";
import type { LambdaContainer } from "./lambda-container.ts";
import type { ServiceCalls } from "./service-calls.ts";
import type { SynthesizedDeployment } from "./synthesized.ts";

/** An event as EventBridge delivers it to a target. */
export interface Envelope {
  readonly version: "0";
  readonly id: string;
  readonly source: string;
  readonly "detail-type": string;
  readonly account: string;
  readonly region: string;
  readonly time: string;
  readonly resources: string[];
  readonly detail: unknown;
}

/** Lambda's default for asynchronous invocations without an invoke config. */
const DEFAULT_ASYNC_RETRIES = 2;
/** The CRL queue's redrive: messages received this often go to its dead-letter queue. */
const MAX_RECEIVES = 5;

export class EventRouting {
  readonly published: Envelope[] = [];
  /**
   * Detail types whose events PutEvents accepts and no rule ever delivers: an event lost
   * between the bus and its target (a rule briefly disabled, a delivery given up on).
   */
  readonly lost = new Set<string>();
  /** Messages each queue holds (the failure and dead-letter queues keep theirs). */
  readonly queues = new Map<string, string[]>();
  private readonly deployment: SynthesizedDeployment;
  private readonly containers: Map<string, LambdaContainer>;
  private readonly calls: ServiceCalls;
  private readonly inflight = new Set<Promise<void>>();
  private service: JsonService | undefined;

  constructor(
    deployment: SynthesizedDeployment,
    containers: Map<string, LambdaContainer>,
    calls: ServiceCalls,
  ) {
    this.deployment = deployment;
    this.containers = containers;
    this.calls = calls;
  }

  get endpoint(): string {
    if (!this.service) throw new Error("EventRouting is not started");
    return this.service.endpoint;
  }

  async start(): Promise<void> {
    this.service = await startJsonService("AWSEvents", {
      PutEvents: (input) => {
        const entries = (input.Entries ?? []) as Record<string, string>[];
        for (const entry of entries) this.put(entry);
        return {
          FailedEntryCount: 0,
          Entries: entries.map(() => ({ EventId: randomUUID() })),
        };
      },
    });
  }

  /**
   * Puts an entry on the deployment's bus as PutEvents would (for events no code of ours sends);
   * `EventBusName: "default"` puts it where AWS services' events (CloudTrail's) arrive.
   */
  publishForTest(entry: Record<string, string>): void {
    this.put({ EventBusName: this.deployment.fn("Api").environment.PKI_EVENT_BUS!, ...entry });
  }

  /** Resolves when every delivery (and every delivery those caused) has ended. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.service?.close();
  }

  private put(entry: Record<string, string>): void {
    const bus = entry.EventBusName ?? "default";
    const envelope: Envelope = {
      version: "0",
      id: randomUUID(),
      source: entry.Source!,
      "detail-type": entry.DetailType!,
      account: this.deployment.account,
      region: this.deployment.region,
      time: entry.Time ? new Date(entry.Time).toISOString() : new Date().toISOString(),
      resources: [],
      detail: JSON.parse(entry.Detail ?? "{}"),
    };
    this.published.push(envelope);
    if (this.lost.has(envelope["detail-type"])) return;
    for (const rule of this.deployment.rules()) {
      if (rule.eventBusName !== bus || !matches(rule.pattern, envelope)) continue;
      for (const target of rule.targets)
        this.background(() => this.deliver(rule, target, envelope));
    }
  }

  private background(work: () => Promise<void>): void {
    const running = work().finally(() => this.inflight.delete(running));
    this.inflight.add(running);
  }

  private async deliver(
    rule: { name: string; arn: string },
    target: string,
    envelope: Envelope,
  ): Promise<void> {
    const send = target.includes(":sqs:");
    this.calls.record({
      principal: "events.amazonaws.com",
      action: send ? "sqs:SendMessage" : "lambda:InvokeFunction",
      resource: target,
      context: { "aws:SourceArn": rule.arn, "aws:SourceAccount": this.deployment.account },
      by: `EventBridge rule ${rule.name}`,
    });
    if (send) {
      this.send(target, JSON.stringify(envelope));
      return;
    }
    // EventBridge delivers at least once: here every event arrives twice, so each subscriber's
    // handling of a redelivery runs (and makes its AWS calls) too.
    await this.invokeAsync(target, envelope);
    await this.invokeAsync(target, envelope);
  }

  /** An asynchronous invocation: Lambda's retries, then the function's failure destination. */
  private async invokeAsync(functionArn: string, event: unknown): Promise<void> {
    const fn = this.deployment.functions().find((f) => f.arn === functionArn);
    const container = fn && this.containers.get(fn.name);
    if (!fn || !container) throw new Error(`no function ${functionArn}`);
    let lastError: unknown;
    for (let attempt = 0; attempt <= DEFAULT_ASYNC_RETRIES; attempt++) {
      try {
        await container.invoke(event);
        return;
      } catch (error) {
        lastError = error;
      }
    }
    const destination = this.deployment.failureDestinations().get(fn.physicalName);
    if (!destination) throw lastError;
    this.calls.record({
      principal: fn.role.arn,
      action: "sqs:SendMessage",
      resource: destination,
      by: `Lambda's failure destination of ${fn.name}`,
    });
    this.send(
      destination,
      JSON.stringify({
        requestPayload: event,
        responsePayload: { errorType: (lastError as Error).name },
      }),
    );
  }

  private send(queueArn: string, body: string): void {
    const messages = this.queues.get(queueArn) ?? [];
    messages.push(body);
    this.queues.set(queueArn, messages);
    const mapping = this.deployment.eventSourceMappings().find((m) => m.queueArn === queueArn);
    if (mapping) this.background(() => this.poll(mapping));
  }

  /** The event source mapping: receive a batch with the function's role, invoke, delete. */
  private async poll(mapping: {
    queueArn: string;
    functionArn: string;
    batchSize: number;
  }): Promise<void> {
    const messages = this.queues.get(mapping.queueArn) ?? [];
    const batch = messages.splice(0, mapping.batchSize);
    if (batch.length === 0) return;
    const fn = this.deployment.functions().find((f) => f.arn === mapping.functionArn)!;
    const by = `the SQS event source mapping of ${fn.name}`;
    for (const action of ["sqs:ReceiveMessage", "sqs:GetQueueAttributes"]) {
      this.calls.record({ principal: fn.role.arn, action, resource: mapping.queueArn, by });
    }
    const records = batch.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body,
      attributes: { ApproximateReceiveCount: "1" },
      eventSource: "aws:sqs",
      eventSourceARN: mapping.queueArn,
      awsRegion: this.deployment.region,
    }));
    for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
      try {
        await this.containers.get(fn.name)!.invoke({ Records: records });
        this.calls.record({
          principal: fn.role.arn,
          action: "sqs:DeleteMessage",
          resource: mapping.queueArn,
          by,
        });
        return;
      } catch {
        // The messages become visible again and are received once more.
      }
    }
    this.queues.set(`${mapping.queueArn} (dead letters)`, batch);
  }
}

/**
 * EventBridge's pattern matching, for the patterns the stacks write: each field a list of
 * exact values or of `{"anything-but": [...]}` / `{"exists": bool}` (anything-but never
 * matches a missing field), nested objects matched field by field, `$or` of sub-patterns.
 */
export function matches(pattern: Record<string, unknown>, event: unknown): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    if (field === "$or") {
      return (expected as Record<string, unknown>[]).some((p) => matches(p, event));
    }
    const actual = (event as Record<string, unknown> | undefined)?.[field];
    if (Array.isArray(expected)) return expected.some((value) => matchesValue(value, actual));
    if (typeof expected === "object" && expected !== null)
      return matches(expected as Record<string, unknown>, actual);
    return false;
  });
}

function matchesValue(expected: unknown, actual: unknown): boolean {
  if (typeof expected !== "object" || expected === null) return expected === actual;
  const operator = expected as Record<string, unknown>;
  if ("exists" in operator) return operator.exists === (actual !== undefined);
  if ("anything-but" in operator) {
    const excluded = operator["anything-but"];
    return (
      actual !== undefined && !(Array.isArray(excluded) ? excluded : [excluded]).includes(actual)
    );
  }
  throw new Error(`the offline EventBridge does not know the operator ${JSON.stringify(expected)}`);
}
