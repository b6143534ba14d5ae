/**
 * The whole deployment, wired from one file per concern. Order matters only where one
 * resource's ARN goes into another's permissions or environment.
 */
import { alarms, enforcementAlarms } from "./alarms.ts";
import { api } from "./api.ts";
import { awsContext } from "./aws-context.ts";
import { bootstrapOnDeploy, caBootstrapFunction } from "./ca-bootstrap.ts";
import { crlPublication, crlQueues } from "./crl.ts";
import { mailSending } from "./email.ts";
import { enforcement } from "./enforcement.ts";
import { eventBus } from "./events.ts";
import { expiryReminders } from "./expiry.ts";
import { firewall } from "./firewall.ts";
import type { FunctionContext } from "./functions.ts";
import { type FunctionName, functionGrants } from "./grants.ts";
import { identity } from "./identity.ts";
import { exampleMtlsApi, mtlsExampleFromEnvironment } from "./mtls-example.ts";
import type { Statement } from "./permissions.ts";
import { privateApi } from "./private-api.ts";
import { privateNetwork, serviceEndpoints } from "./private-network.ts";
import { type Deployment, deployment } from "./settings.ts";
import { signingKey, signingKeyPolicy } from "./signing-key.ts";
import { storage } from "./storage.ts";
import { subscriberFailures, subscribers } from "./subscribers.ts";
import { requestSweeper } from "./sweeper.ts";
import { publishFromBucket, web } from "./web.ts";
import { workflow } from "./workflow.ts";

export function deployPki(d: Deployment = deployment($app)) {
  const context = awsContext();
  // Public mode: the Router (CloudFront, behind the firewall). Private mode: a private API in
  // the VPC, the functions in its subnets, AWS through VPC endpoints.
  const network = privateNetwork(d);
  const site = network ? undefined : web(d, firewall(d));
  const front = network ? privateApi(d, network) : undefined;
  const publicBaseUrl = site?.publicBaseUrl ?? front!.publicBaseUrl;
  const { table, bucket } = storage(d, site?.distributionArn);
  const { key, alias } = signingKey(d);
  const bus = eventBus();
  const mail = mailSending(d, context);
  const queues = crlQueues();
  const failures = subscriberFailures();

  const base = {
    d,
    environment: {
      PKI_TABLE: table.name,
      PKI_BUCKET: bucket.name,
      PKI_EVENT_BUS: bus.name,
      PKI_CA_KEY_ID: key.arn,
      PKI_PUBLIC_BASE_URL: publicBaseUrl,
      ...(d.config.aws.ca.signingAlgorithm
        ? { PKI_CA_SIGNING_ALGORITHM: d.config.aws.ca.signingAlgorithm }
        : {}),
    },
    mailEnvironment: { PKI_MAIL_CONFIGURATION_SET: mail.configurationSetName },
    ...(network ? { placement: network.placement } : {}),
    granted: [] as Statement[],
  };
  const targets = {
    table,
    bucket,
    bus,
    mailIdentityArn: mail.identityArn,
    mailConfigurationSetArn: mail.configurationSetArn,
    sender: d.config.mail.from,
    crlQueueArn: queues.queue.arn,
    failureQueueArn: failures.arn,
    ...context,
  };
  const ctx: FunctionContext = { ...base, targets };

  const flow = workflow(ctx, context);
  // Sign-in: the deployment's own Cognito pool, or the configured OpenID provider.
  const people = identity(d, context, publicBaseUrl);
  const apiFunction = api(
    { ...base, targets: { ...targets, stateMachineArn: flow.stateMachine.arn } },
    site,
    flow.stateMachine.arn,
    people,
  );
  const crl = crlPublication(ctx, context, bus, queues);
  const sweep = requestSweeper(ctx, context, flow.stateMachine.arn);
  const expiry = expiryReminders(ctx, context);
  const subscribed = subscribers(ctx, bus, failures);
  const bootstrap = caBootstrapFunction(ctx);
  const gates = enforcement(ctx, context, bus);
  if (site) publishFromBucket(site, bucket);
  front?.connect(apiFunction);

  const functions: Partial<Record<FunctionName, sst.aws.Function>> = {
    ...flow.steps,
    Api: apiFunction,
    CrlPublisher: crl.publisher,
    RequestSweeper: sweep.sweeper,
    ExpiryReminders: expiry.reminders,
    RequesterMail: subscribed.requesterMail,
    AuditTrail: subscribed.auditTrail,
    CaBootstrap: bootstrap,
    EnforcementDrift: gates.drift,
    ...(gates.sync ? { EnforcementSync: gates.sync } : {}),
  };
  const holding = (action: "kms:Sign" | "kms:GetPublicKey") =>
    (Object.keys(functions) as FunctionName[])
      .filter((name) =>
        ((functionGrants[name] as { caKey?: readonly string[] }).caKey ?? []).includes(action),
      )
      .map((name) => functions[name]!.nodes.role.arn);
  const keyPolicy = signingKeyPolicy(d, key, context, {
    signers: holding("kms:Sign"),
    publicKeyReaders: holding("kms:GetPublicKey"),
  });
  // The CA key's grants are its key policy's (signing-key.ts), so the KMS endpoint's too.
  const caKey: Statement = { actions: ["kms:Sign", "kms:GetPublicKey"], resources: [key.arn] };
  const endpoints = network
    ? serviceEndpoints(network, [...base.granted, caKey], context.region)
    : [];
  const bootstrapRun = bootstrapOnDeploy(ctx, bootstrap, key, keyPolicy, endpoints);
  const alarm = alarms(d, flow.stateMachine.arn, "CrlPublisher", {
    CrlDeadLetters: queues.deadLetters,
    SubscriberFailures: failures,
  });
  // The functions' POWERTOOLS_SERVICE_NAME is their name here (functions.ts).
  enforcementAlarms(alarm.topic, {
    sync: gates.sync ? "EnforcementSync" : undefined,
    drift: "EnforcementDrift",
  });
  const example = mtlsExampleFromEnvironment();
  if (example && network) {
    throw new Error(
      "The mTLS example API (PKI_EXAMPLE_MTLS_*) is a public API: deploy it with aws.network.mode public.",
    );
  }
  const mtlsExample = example && exampleMtlsApi(d, example, bucket, publicBaseUrl, bootstrapRun);

  // What `npx sst shell -- pki ca csr|import|show --aws` reads (SST_RESOURCE_Pki): the CA
  // function the operator invokes, the only way in to the CA key. It grants nothing: the
  // operator's own credentials need lambda:InvokeFunction on it.
  new sst.Linkable("Pki", {
    properties: {
      caFunction: bootstrap.arn,
      region: context.region,
      table: table.name,
      bucket: bucket.name,
      eventBus: bus.name,
      publicBaseUrl,
    },
  });

  return {
    url: publicBaseUrl,
    bucket: bucket.name,
    table: table.name,
    caKey: alias.name,
    caFunction: bootstrap.name,
    stateMachine: flow.stateMachine.arn,
    crlSchedule: crl.schedule.nodes.schedule.scheduleExpression,
    caBootstrap: bootstrapRun.result,
    alarms: alarm.topic.arn,
    mailFeedback: mail.feedback.arn,
    truststore: $interpolate`s3://${bucket.name}/truststore.pem`,
    ...(people.builtIn
      ? { signIn: people.builtIn.signInUrl, userPool: people.builtIn.userPool.id }
      : {}),
    ...(mtlsExample ? { mtlsExample: mtlsExample.api.url } : {}),
  };
}
