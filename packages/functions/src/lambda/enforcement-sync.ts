/**
 * Lambda entry point: keeping the gates `enforcement` names (ALB and NLB trust stores, API
 * Gateway custom domains, IAM Roles Anywhere trust anchors) in step with the published CRL and
 * CA bundle, on two triggers:
 * - the `crl.published` rule on the bus, at once after each CRL;
 * - the EventBridge Scheduler schedule, every minute (`{"source":"schedule"}`): what a lost
 *   event, a crash or a failed gate left owed, and each failed gate's retry.
 * Either way it is the same run (core's EnforcementSync): each gate's recorded state says what
 * it still needs. A gate that fails is recorded, announced (`enforcement.failed`) and counted in
 * the EnforcementFailures metric, which an alarm watches; it does not fail the invocation, as
 * the schedule retries it. Only the run's own wiring and reads (the CA chain, the CRL state)
 * throw, and then every configured gate is counted as failing. The function's reserved concurrency is one, and runs are serialised in-process too.
 */

import type { TargetReport } from "@spca/core/enforcement/sync";
import { PkiError } from "@spca/core/errors";
import { EVENT_SOURCE, type EventBridgeEnvelope } from "@spca/core/events/eventbridge-bus";
import type { AwsServices } from "./aws-services.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { enforcementAdapters } from "./clients/enforcement.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { s3Adapters } from "./clients/s3.ts";
import { containerServices } from "./container.ts";
import type { ScheduledInvocation } from "./crl-publisher.ts";
import {
  type LambdaContext,
  logger,
  observed,
  recordEnforcementFailures,
  stringField,
} from "./observability.ts";

export type SyncTrigger = "schedule" | "crl.published";

export interface SyncResult {
  /** What invoked it; null for an event from our bus that is not `crl.published` (skipped). */
  readonly trigger: SyncTrigger | null;
  readonly targets: readonly TargetReport[];
}

export function enforcementSyncLambda(
  services: () => AwsServices,
): (
  event: ScheduledInvocation | EventBridgeEnvelope,
  context?: LambdaContext,
) => Promise<SyncResult> {
  return observed(
    "enforcement-sync",
    async (event: ScheduledInvocation | EventBridgeEnvelope) => {
      const trigger = triggerOf(event);
      if (!trigger) return { trigger: null, targets: [] };
      let reports: readonly TargetReport[];
      try {
        reports = await services().enforcementSync.run();
      } catch (error) {
        // No gate was brought in step: each counts as failing until a run succeeds.
        recordEnforcementFailures(configuredGates(services));
        throw error;
      }
      const failing = reports.filter((r) => r.outcome === "failed" || r.outcome === "waiting");
      recordEnforcementFailures(failing.length);
      for (const report of reports) logReport(report);
      const counts = Object.fromEntries(
        ["current", "updated", "failed", "waiting", "unpublished"].map((outcome) => [
          outcome,
          reports.filter((r) => r.outcome === outcome).length,
        ]),
      );
      const message = `Enforcement sync (${trigger}): ${reports.length} gate(s), ${failing.length} out of step`;
      if (failing.length > 0) logger.warn(message, { counts });
      else logger.info(message, { counts });
      return { trigger, targets: reports };
    },
    { keys: (event) => ({ eventType: stringField(event, "detail-type") }) },
  );
}

/**
 * The schedule, or a `crl.published` event from our bus. Another event of ours is logged and
 * skipped (the rule routes too much); anything else is refused.
 */
function triggerOf(event: unknown): SyncTrigger | undefined {
  if ((event as Partial<ScheduledInvocation> | undefined)?.source === "schedule") return "schedule";
  const envelope = event as EventBridgeEnvelope | undefined;
  if (envelope?.source === EVENT_SOURCE && typeof envelope["detail-type"] === "string") {
    // The event only wakes the run: what is owed is read from the recorded state, so the
    // detail is not needed (and not trusted).
    if (envelope["detail-type"] === "crl.published") return "crl.published";
    logger.warn(`skipped a ${envelope["detail-type"]} event: the rule routes too much`);
    return undefined;
  }
  throw new PkiError(
    "EVENT_INVALID",
    'The enforcement sync takes crl.published events from the bus or {"source":"schedule"}.',
  );
}

/** How many gates the configuration names; 1 when even the settings cannot be read. */
function configuredGates(services: () => AwsServices): number {
  try {
    const e = services().settings.config.enforcement;
    return (
      e.albTrustStores.length + e.apiGatewayDomains.length + e.rolesAnywhereTrustAnchors.length || 1
    );
  } catch {
    return 1;
  }
}

function logReport(report: TargetReport): void {
  const facts = {
    target: report.target,
    kind: report.kind,
    outcome: report.outcome,
    actions: [...report.actions],
    crlNumber: report.crlNumber ?? null,
    ...(report.error ? { error: report.error } : {}),
  };
  if (report.outcome === "failed") {
    logger.warn(`${report.kind} ${report.target} failed: ${report.error?.code}`, facts);
  } else if (report.outcome === "waiting") {
    logger.warn(`${report.kind} ${report.target} waits for its retry`, facts);
  } else if (report.outcome === "updated") {
    logger.info(`${report.kind} ${report.target} updated to CRL ${report.crlNumber}`, facts);
  } else {
    logger.debug(`${report.kind} ${report.target}: ${report.outcome}`, facts);
  }
}

export const handler = enforcementSyncLambda(
  containerServices("EnforcementSync", {
    ...dynamodbAdapters(),
    ...s3Adapters(),
    ...eventBridgeAdapters(),
    ...enforcementAdapters(),
  }),
);
