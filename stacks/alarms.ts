/**
 * CloudWatch alarms, to an SNS topic that `aws.alarmEmail` (when set) is subscribed to:
 * a workflow execution failed (a request ended in the Failed state: see docs/workflow.md);
 * the CRL is getting close to its nextUpdate (the schedule or KMS is not keeping it fresh;
 * relying parties would soon reject every certificate), or there is no CRL metric at all; and
 * a message waits in a failure queue (an event a subscriber could not handle, a revocation
 * batch the publisher kept failing), where it would otherwise expire unseen; a gate the
 * enforcement sync cannot bring in step, or one someone else changed (enforcementAlarms).
 */
import { METRICS_NAMESPACE, metricNames } from "../packages/functions/src/lambda/metric-names.ts";
import type { Deployment } from "./settings.ts";

/**
 * Alarm when less than this many seconds remain: half of the slack between the refresh
 * interval and the validity, i.e. after several scheduled refreshes were missed.
 */
export function crlAlarmThresholdSeconds(crl: { validityHours: number; refreshHours: number }) {
  return Math.round(((crl.validityHours - crl.refreshHours) / 2) * 3600);
}

/**
 * @param crlPublisherService the CRL publisher's POWERTOOLS_SERVICE_NAME: its metrics' `service`
 *   dimension, which the alarm must name exactly.
 */
export function alarms(
  d: Deployment,
  stateMachineArn: $util.Input<string>,
  crlPublisherService: string,
  failureQueues: Record<string, sst.aws.Queue>,
) {
  const topic = new sst.aws.SnsTopic("Alarms");
  if (d.config.aws.alarmEmail) {
    new aws.sns.TopicSubscription("AlarmsEmail", {
      topic: topic.arn,
      protocol: "email",
      endpoint: d.config.aws.alarmEmail,
    });
  }
  const actions = [topic.arn];
  // One occurrence is one too many; no data is nothing happening.
  const anyInFiveMinutes = {
    period: 300,
    evaluationPeriods: 1,
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
  };
  const failed = new aws.cloudwatch.MetricAlarm("WorkflowFailures", {
    alarmDescription: "A certificate request's workflow execution failed (see its audit trail).",
    namespace: "AWS/States",
    metricName: "ExecutionsFailed",
    dimensions: { StateMachineArn: stateMachineArn },
    statistic: "Sum",
    ...anyInFiveMinutes,
    alarmActions: actions,
  });
  const crl = new aws.cloudwatch.MetricAlarm("CrlNearNextUpdate", {
    alarmDescription:
      "The published CRL is close to its nextUpdate: the scheduled republication is failing.",
    namespace: METRICS_NAMESPACE,
    metricName: metricNames.crlSecondsToNextUpdate,
    dimensions: { service: crlPublisherService },
    statistic: "Minimum",
    period: 3600,
    evaluationPeriods: 1,
    threshold: crlAlarmThresholdSeconds(d.config.crl),
    comparisonOperator: "LessThanThreshold",
    // The publisher reports at least hourly; silence means it is not running.
    treatMissingData: "breaching",
    alarmActions: actions,
    okActions: actions,
  });
  const queues = Object.entries(failureQueues).map(
    ([name, queue]) =>
      new aws.cloudwatch.MetricAlarm(`${name}Waiting`, {
        alarmDescription: `A message waits in ${name}: something failed after its retries (see docs/deploy.md, "Alarms").`,
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: queue.nodes.queue.name },
        statistic: "Maximum",
        ...anyInFiveMinutes,
        alarmActions: actions,
        okActions: actions,
      }),
  );
  return { topic, failed, crl, queues };
}

/**
 * The gates: one out of step after a failure (EnforcementFailures, published by every sync run,
 * so silence means the sync is not running: breaching), and a change someone else made to a
 * gate or the publication bucket (EnforcementDrift, an event: no OK message).
 * @param services the functions' POWERTOOLS_SERVICE_NAME values (their metrics' `service`);
 *   `sync` is undefined when no gate is configured.
 */
export function enforcementAlarms(
  topic: sst.aws.SnsTopic,
  services: { readonly sync: string | undefined; readonly drift: string },
) {
  const actions = [topic.arn];
  const failures =
    services.sync === undefined
      ? undefined
      : new aws.cloudwatch.MetricAlarm("EnforcementFailures", {
          alarmDescription:
            "A gate (trust store, custom domain, trust anchor) is not in step with the published CRL or CA bundle: see the enforcement.failed events and the sync's log.",
          namespace: METRICS_NAMESPACE,
          metricName: metricNames.enforcementFailures,
          dimensions: { service: services.sync },
          statistic: "Maximum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          // The schedule runs the sync every minute: no data means it is not running.
          treatMissingData: "breaching",
          alarmActions: actions,
          okActions: actions,
        });
  const drift = new aws.cloudwatch.MetricAlarm("EnforcementDrift", {
    alarmDescription:
      "Someone other than the CA changed a gate or the publication bucket: see the enforcement.drift event and CloudTrail.",
    namespace: METRICS_NAMESPACE,
    metricName: metricNames.enforcementDrift,
    dimensions: { service: services.drift },
    statistic: "Sum",
    period: 300,
    evaluationPeriods: 1,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions: actions,
  });
  return { failures, drift };
}
