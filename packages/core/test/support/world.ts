/**
 * The CA with every real part but HTTP, for tests of whole flows: the registration authority,
 * the ASL document on the local engine, the step handlers, DynamoDB (dynalite), S3 (s3rver),
 * the in-process bus with the requester-mail, audit and CRL-publication subscribers, a
 * data-folder CA and the CRL publisher. Mail is caught in memory so links can be followed.
 */

import { join } from "node:path";
import { CrlPublisher } from "../../src/crl/publisher.ts";
import { InProcessEventBus } from "../../src/events/in-process-bus.ts";
import { DynamoCertificateInventory } from "../../src/inventory/dynamo-inventory.ts";
import { MemoryMailer } from "../../src/notifications/memory-mailer.ts";
import type { Config } from "../../src/policy/config.ts";
import { RegistrationAuthority } from "../../src/ra/registration-authority.ts";
import { DynamoAccess } from "../../src/store/dynamo-access.ts";
import { DynamoRequestRepository } from "../../src/store/dynamo-request-repository.ts";
import { DynamoRevocationStore } from "../../src/store/dynamo-revocation-store.ts";
import { S3ObjectStore } from "../../src/store/s3-object-store.ts";
import { auditTrailSubscription } from "../../src/subscribers/audit-trail.ts";
import { crlPublicationSubscription } from "../../src/subscribers/crl-publication.ts";
import { requesterMailSubscription } from "../../src/subscribers/requester-mail.ts";
import type { WorkflowEngine } from "../../src/workflow/engine.ts";
import { LocalWorkflowEngine } from "../../src/workflow/local-engine.ts";
import type { StepDependencies } from "../../src/workflow/steps/dependencies.ts";
import { createStepHandlers } from "../../src/workflow/steps/index.ts";
import { startDynalite } from "./dynamo.ts";
import { startS3rver } from "./s3.ts";
import { tempCa } from "./test-ca.ts";

export interface WorldOptions {
  /** Replaces the server profile's approval timeout (hours; fractions allowed). */
  readonly serverTimeoutHours?: number;
  /** Wraps the engine the RA talks to (the steps still run on the real one). */
  readonly raEngine?: (engine: LocalWorkflowEngine) => WorkflowEngine;
  /** The clock of the RA and the CRL publisher. */
  readonly now?: () => Date;
  /** Changes to the configuration (e.g. the CRL section). */
  readonly config?: (config: Config) => Config;
}

export async function setUp(options: WorldOptions = {}) {
  const dynamo = await startDynalite();
  const s3 = await startS3rver(["certs"]);
  const ca = tempCa();
  await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
  const tableName = await dynamo.freshTable();
  const repository = new DynamoRequestRepository({ client: dynamo.client, tableName });
  const revocations = new DynamoRevocationStore({ client: dynamo.client, tableName });
  const mailer = new MemoryMailer();
  const bus = new InProcessEventBus({ firstRetryMs: 5 });
  const deps: StepDependencies = {
    repository,
    config: (options.config ?? ((c) => c))(
      withServerTimeout(ca.config, options.serverTimeoutHours),
    ),
    ca,
    objects: new S3ObjectStore(s3.client, "certs"),
    mailer,
    bus,
  };
  bus.subscribe(requesterMailSubscription(deps));
  bus.subscribe(auditTrailSubscription(repository));
  const publisher = new CrlPublisher({
    revocations,
    objects: deps.objects,
    ca,
    config: deps.config,
    ...(options.now ? { now: options.now } : {}),
  });
  bus.subscribe(crlPublicationSubscription(() => publisher.publish("revocation")));
  const engine = new LocalWorkflowEngine({
    folder: join(ca.dir, "executions"),
    handlers: createStepHandlers(deps),
    retryIntervalMs: 5,
  });
  const inventory = new DynamoCertificateInventory({ client: dynamo.client, tableName });
  const ra = new RegistrationAuthority({
    ...deps,
    inventory,
    engine: options.raEngine ? options.raEngine(engine) : engine,
    revocations,
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    ra,
    engine,
    mailer,
    bus,
    repository,
    revocations,
    inventory,
    publisher,
    ca,
    deps,
    /** The table's raw items, for what the store keeps but its port does not show. */
    table: new DynamoAccess(dynamo.client, tableName),
    async close() {
      await engine.close();
      await s3.close();
      await dynamo.close();
    },
  };
}

function withServerTimeout(config: Config, hours: number | undefined): Config {
  if (hours === undefined) return config;
  const server = config.profiles.server!;
  if (server.approval.mode !== "manual") throw new Error("the server profile is manual");
  return {
    ...config,
    profiles: {
      ...config.profiles,
      server: { ...server, approval: { ...server.approval, timeoutHours: hours } },
    },
  };
}

export async function approvalToken(
  mailer: MemoryMailer,
  approver: string,
  requestId: string,
): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const mail = mailer.to(approver).find((m) => m.text.includes(`/approvals/${requestId}?token=`));
    if (mail) return /\?token=([A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no approval mail to ${approver} for ${requestId}`);
}
