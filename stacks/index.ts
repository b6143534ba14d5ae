/**
 * The whole deployment, wired from one file per concern. Order matters only where one
 * resource's ARN goes into another's permissions or environment.
 */
import { alarms } from "./alarms.ts";
import { api } from "./api.ts";
import { awsContext } from "./aws-context.ts";
import { caBootstrap } from "./ca-bootstrap.ts";
import { crlPublication, crlQueues } from "./crl.ts";
import { emailIdentity } from "./email.ts";
import { eventBus } from "./events.ts";
import type { FunctionContext } from "./functions.ts";
import { type Deployment, deployment } from "./settings.ts";
import { signingKey } from "./signing-key.ts";
import { storage } from "./storage.ts";
import { subscriberFailures, subscribers } from "./subscribers.ts";
import { web } from "./web.ts";
import { workflow } from "./workflow.ts";

export function deployPki(d: Deployment = deployment($app)) {
  const context = awsContext();
  const { table, bucket } = storage(d);
  const { key, alias } = signingKey(d);
  const bus = eventBus();
  const email = emailIdentity(d);
  const site = web(d);
  const queues = crlQueues();
  const failures = subscriberFailures();

  const base = {
    d,
    environment: {
      PKI_TABLE: table.name,
      PKI_BUCKET: bucket.name,
      PKI_EVENT_BUS: bus.name,
      PKI_CA_KEY_ID: key.arn,
      PKI_PUBLIC_BASE_URL: site.publicBaseUrl,
      ...(d.config.aws.ca.signingAlgorithm
        ? { PKI_CA_SIGNING_ALGORITHM: d.config.aws.ca.signingAlgorithm }
        : {}),
    },
  };
  const targets = {
    table,
    bucket,
    bus,
    key,
    email,
    sender: d.config.mail.from,
    crlQueueArn: queues.queue.arn,
    failureQueueArn: failures.arn,
    ...context,
  };
  const ctx: FunctionContext = { ...base, targets };

  const flow = workflow(ctx, context);
  const apiFunction = api(
    { ...base, targets: { ...targets, stateMachineArn: flow.stateMachine.arn } },
    site,
    flow.stateMachine.arn,
  );
  const crl = crlPublication(ctx, bus, queues);
  subscribers(ctx, bus, failures);
  const bootstrap = caBootstrap(ctx, key);
  const alarm = alarms(d, flow.stateMachine.arn, "CrlPublisher");

  // What `npx sst shell -- pki ca csr|import|show --aws` reads (SST_RESOURCE_Pki): the
  // operator's own credentials do the work, so it grants nothing.
  new sst.Linkable("Pki", {
    properties: {
      table: table.name,
      bucket: bucket.name,
      eventBus: bus.name,
      caKeyArn: key.arn,
      publicBaseUrl: site.publicBaseUrl,
      region: context.region,
      ...(d.config.aws.ca.signingAlgorithm
        ? { signingAlgorithm: d.config.aws.ca.signingAlgorithm }
        : {}),
    },
  });

  return {
    url: site.publicBaseUrl,
    api: apiFunction.url,
    bucket: bucket.name,
    table: table.name,
    caKey: alias.name,
    stateMachine: flow.stateMachine.arn,
    crlSchedule: crl.schedule.nodes.schedule.scheduleExpression,
    caBootstrap: bootstrap.run.result,
    alarms: alarm.topic.arn,
    truststore: $interpolate`s3://${bucket.name}/truststore.pem`,
  };
}
