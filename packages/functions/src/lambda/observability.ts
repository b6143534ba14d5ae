/**
 * Logs, metrics and traces for every Lambda entry point, with Powertools for AWS Lambda: one
 * Logger, one Metrics and one Tracer per container, and `observed()`, which each entry's handler
 * goes through (Powertools' manual instrumentation for plain function handlers, no middy):
 * - the Lambda context (function_request_id, function_name, cold_start …) on every log line, and
 *   per-invocation keys (e.g. executionId, certificateRequestId) that are removed afterwards;
 * - a failure logged with those keys (TransientError as a warning), then rethrown;
 * - metrics flushed after each invocation (one EMF line on stdout), failed ones included;
 * - a `## <name>` subsegment with the ColdStart and Service annotations when tracing is on.
 *   Tracer switches itself off outside Lambda (no AWS_EXECUTION_ENV), under SAM local and with
 *   POWERTOOLS_TRACE_ENABLED=false, so tests and local runs send no segment.
 *
 * Core code never imports this: the entry points log and measure around it. The metric names are
 * in metric-names.ts, which the stacks import without Powertools.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import type { CrlStatus } from "@spca/core/crl/publisher";
import type { DomainEvent, EventType } from "@spca/core/events/catalogue";
import {
  METRICS_NAMESPACE,
  type MetricName,
  metricDimensions,
  metricNames,
  SERVICE_NAME,
} from "./metric-names.ts";

export { METRICS_NAMESPACE, type MetricName, metricDimensions, metricNames, SERVICE_NAME };

const serviceName = process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;

/** JSON lines on stdout; level from POWERTOOLS_LOG_LEVEL (or Lambda's log level), INFO by default. */
export const logger = new Logger({ serviceName });

/** Buffered per invocation and flushed by observed(). POWERTOOLS_DEV=true turns them off unless
 * POWERTOOLS_METRICS_DISABLED=false. */
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
});

export const tracer = new Tracer({ serviceName });

/** The part of Lambda's context object that observed() reads. */
export interface LambdaContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion?: string;
  readonly invokedFunctionArn?: string;
  readonly memoryLimitInMB?: string;
}

export type LogKeys = Readonly<Record<string, string | undefined>>;

export interface ObservedOptions<E> {
  /**
   * Log keys for this invocation, read from the event (which may be anything: guard every
   * access). Undefined values are left out. Also put on the trace as annotations.
   */
  readonly keys?: (event: E) => LogKeys;
}

/**
 * Wraps a handler: `name` names its trace subsegment and its failure log line. The context is
 * optional so tests and local callers can invoke the handler with the event alone.
 */
export function observed<E, R, C extends LambdaContext = LambdaContext>(
  name: string,
  handler: (event: E, context?: C) => Promise<R>,
  options: ObservedOptions<E> = {},
): (event: E, context?: C) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context as never);
    const keys = definedKeys(options.keys, event);
    logger.appendKeys(keys);
    try {
      return await traced(name, keys, () => handler(event, context));
    } catch (error) {
      const transient = (error as Error | undefined)?.name === "TransientError";
      logger[transient ? "warn" : "error"](`${name} failed`, error as Error);
      throw error;
    } finally {
      logger.removeKeys(Object.keys(keys));
      // Only when there is something: an empty flush makes Powertools warn on every call.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** Powertools' manual instrumentation of a handler (the pattern its docs give for functions). */
async function traced<R>(
  name: string,
  annotations: Readonly<Record<string, string>>,
  run: () => Promise<R>,
): Promise<R> {
  // Without Lambda's facade segment (tracing forced on outside Lambda) there is nothing to add to.
  const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!segment) return run();
  const subsegment = segment.addNewSubsegment(`## ${name}`);
  tracer.setSegment(subsegment);
  tracer.annotateColdStart();
  tracer.addServiceNameAnnotation();
  for (const [key, value] of Object.entries(annotations)) tracer.putAnnotation(key, value);
  try {
    // No response metadata: API responses carry certificates and may exceed X-Ray's limits.
    return await run();
  } catch (error) {
    tracer.addErrorAsMetadata(error as Error);
    throw error;
  } finally {
    subsegment.close();
    tracer.setSegment(segment);
  }
}

function definedKeys<E>(keys: ObservedOptions<E>["keys"], event: E): Record<string, string> {
  if (!keys) return {};
  let all: LogKeys;
  try {
    all = keys(event);
  } catch {
    return {};
  }
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) if (value !== undefined) defined[key] = value;
  return defined;
}

/** A string field of an object, or undefined: for log keys read from events not yet validated. */
export function stringField(value: unknown, ...path: string[]): string | undefined {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return typeof at === "string" && at !== "" ? at : undefined;
}

/** Wraps an AWS SDK v3 client so its calls are subsegments; the client itself when tracing is off. */
export function tracedClient<T>(client: T): T {
  return tracer.captureAWSv3Client(client as never) as T;
}

const countedEvents: Partial<Record<EventType, MetricName>> = {
  "certificate.issued": metricNames.certificatesIssued,
  "request.rejected": metricNames.requestsRejected,
  "request.expired": metricNames.requestsExpired,
  "certificate.revoked": metricNames.certificatesRevoked,
};

/** Counts one event (Count 1, dimension `profile` where the event carries it); others are
 * ignored. Published when the invocation ends. */
export function countEvent(event: DomainEvent): void {
  const name = countedEvents[event.type];
  if (!name) return;
  if ("profile" in event.detail)
    metrics.addDimension(metricDimensions.profile, event.detail.profile);
  metrics.addMetric(name, MetricUnit.Count, 1);
}

/** The age of the CA's current CRL and the time left to its nextUpdate, in seconds, under
 * `service` alone and under `service` and `caId`. Published when the invocation ends. */
export function recordCrlAge(
  status: Pick<CrlStatus, "caId" | "thisUpdate" | "nextUpdate">,
  now = Date.now(),
): void {
  // Each addDimensions() call is one dimension set of the EMF line: {} is `service` alone.
  metrics.addDimensions({});
  metrics.addDimensions({ [metricDimensions.caId]: status.caId });
  metrics.addMetric(
    metricNames.crlAgeSeconds,
    MetricUnit.Seconds,
    Math.round((now - Date.parse(status.thisUpdate)) / 1000),
  );
  metrics.addMetric(
    metricNames.crlSecondsToNextUpdate,
    MetricUnit.Seconds,
    Math.round((Date.parse(status.nextUpdate) - now) / 1000),
  );
}

/**
 * The gates a sync run left out of step by a failure (failed now, or waiting to be retried),
 * or every configured gate when the run itself failed. Published after every run: 0 is what
 * brings the alarm back to OK.
 */
export function recordEnforcementFailures(count: number): void {
  metrics.addMetric(metricNames.enforcementFailures, MetricUnit.Count, count);
}

/** One change to a gate or the publication bucket made by someone other than the CA. */
export function recordDrift(): void {
  metrics.addMetric(metricNames.enforcementDrift, MetricUnit.Count, 1);
}
