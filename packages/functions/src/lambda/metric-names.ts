/**
 * The names under which the Lambda functions publish their CloudWatch metrics (embedded metric
 * format, through Powertools Metrics in observability.ts). Dependency-free on purpose: the
 * stacks import it for alarms and dashboards, and must not pull Powertools in.
 *
 * Every metric carries the `service` dimension (POWERTOOLS_SERVICE_NAME, default SERVICE_NAME).
 * An alarm names every dimension of the metric it watches, so it matches on
 * `{ service: SERVICE_NAME }` (or the value the stacks set in POWERTOOLS_SERVICE_NAME) in the
 * namespace METRICS_NAMESPACE (or POWERTOOLS_METRICS_NAMESPACE). docs/lambda.md lists them.
 */

/** The default metric namespace; POWERTOOLS_METRICS_NAMESPACE overrides it. */
export const METRICS_NAMESPACE = "PrivateCA";

/** The default service name (log key `service`, metric dimension `service`, trace annotation);
 * POWERTOOLS_SERVICE_NAME overrides it. */
export const SERVICE_NAME = "pki";

export const metricNames = {
  /** Count, per `certificate.issued` event recorded by the audit trail; dimension `profile`. */
  certificatesIssued: "CertificatesIssued",
  /** Count, per `request.rejected` event (by policy or by an approver). */
  requestsRejected: "RequestsRejected",
  /** Count, per `request.expired` event (nobody decided before the approval timeout). */
  requestsExpired: "RequestsExpired",
  /** Count, per `certificate.revoked` event. */
  certificatesRevoked: "CertificatesRevoked",
  /** Seconds, after every CRL publisher run: now − thisUpdate of the CA's current CRL. */
  crlAgeSeconds: "CrlAgeSeconds",
  /** Seconds, after every CRL publisher run: nextUpdate − now (negative once it has passed). */
  crlSecondsToNextUpdate: "CrlSecondsToNextUpdate",
  /**
   * Count, after every enforcement sync run: the gates out of step because they failed (this
   * run, or an earlier one whose retry pause has not ended). 0 when every gate is in step.
   */
  enforcementFailures: "EnforcementFailures",
  /** Count, per CloudTrail call by someone else that changed a gate or the publication bucket. */
  enforcementDrift: "EnforcementDrift",
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];

/** Dimension names. The CRL metrics are published twice: with `service` alone (what an alarm
 * watches: the stacks cannot know the CA id) and with `service` and `caId`. */
export const metricDimensions = {
  service: "service",
  profile: "profile",
  caId: "caId",
} as const;
