/**
 * Local mode: the whole service in one process on 127.0.0.1, on the same code as on AWS.
 * The Hono API, the ASL workflow on the local engine, the step handlers and subscribers run
 * against real protocol stand-ins (dynalite, s3rver, aws-ses-v2-local) and a data-folder CA
 * whose key stands in for KMS. Everything lives under one data folder and survives a restart,
 * and a crash (crash-recovery.ts): executions resume where they were, accepted events are
 * delivered, unpublished revocations are published and stranded requests are started.
 */

import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { getConnInfo } from "@hono/node-server/conninfo";
import { caIdOfChainPem } from "@spca/core/ca/authority";
import { CoalescingTrigger } from "@spca/core/crl/coalescing-trigger";
import { CrlPublisher } from "@spca/core/crl/publisher";
import { startCrlRefreshTimer } from "@spca/core/crl/refresh-timer";
import { isPkiError, PkiError } from "@spca/core/errors";
import { InProcessEventBus } from "@spca/core/events/in-process-bus";
import { runExpiryReminders } from "@spca/core/expiry/reminders";
import { startExpiryReminderTimer } from "@spca/core/expiry/timer";
import { backfillInventory } from "@spca/core/inventory/backfill";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { SesMailer } from "@spca/core/notifications/ses-mailer";
import { type Config, loadConfigFile } from "@spca/core/policy/config";
import { createApiKey } from "@spca/core/ra/api-keys";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { startStrandedRequests } from "@spca/core/ra/stranded-requests";
import { DataFolderCa } from "@spca/core/store/data-folder-ca";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { createTable } from "@spca/core/store/table";
import { auditTrailSubscription } from "@spca/core/subscribers/audit-trail";
import { crlPublicationSubscription } from "@spca/core/subscribers/crl-publication";
import { requesterMailSubscription } from "@spca/core/subscribers/requester-mail";
import { LocalWorkflowEngine } from "@spca/core/workflow/local-engine";
import type { StepDependencies } from "@spca/core/workflow/steps/dependencies";
import { createStepHandlers } from "@spca/core/workflow/steps/index";
import { createPages } from "@spca/web/pages";
import type { Context } from "hono";
import { createApi } from "../api/app.ts";
import { listenForApi } from "./api-listener.ts";
import { crashPoints } from "./crash-points.ts";
import { markRunning, markStopped, recoverAfterCrash } from "./crash-recovery.ts";
import { securePrivateDataFolder } from "./data-folder-modes.ts";
import { prepareLocalEnforcement } from "./local-enforcement.ts";
import { startLocalIdentity } from "./local-identity.ts";
import { caAddressWarning, publicAddress } from "./public-address.ts";
import { type RuntimeInfo, readRuntimeInfo, writeRuntimeInfo } from "./runtime-info.ts";
import { acquireLock } from "./runtime-lock.ts";
import {
  LOCAL_BUCKET,
  LOCAL_CREDENTIALS,
  LOCAL_TABLE,
  S3RVER_CREDENTIALS,
  startStandIns,
} from "./stand-ins.ts";

/**
 * How long revocations are gathered before the CRL is republished: a burst gives one CRL,
 * and a single revocation is still published well within two seconds.
 */
export const CRL_DEBOUNCE_MS = 250;

export interface RuntimeOptions {
  readonly dataDir: string;
  /** The API's port; 0 picks a free one (runtime.json says which). */
  readonly port: number;
  readonly mailPort: number;
  /** The OpenID provider stand-in's port (without identity.oidc); 0 picks a free one. */
  readonly oidcPort?: number;
  readonly configPath: string;
}

export interface Runtime {
  readonly info: RuntimeInfo;
  /** True when this start created the admin key (it is printed once). */
  readonly firstStart: boolean;
  /** What the operator should know before relying on this start (printed by npm start). */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  securePrivateDataFolder(options.dataDir);
  const { dataDir } = options;
  const releaseLock = acquireLock(dataDir);
  const cleanup: (() => Promise<void> | void)[] = [releaseLock];
  const close = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    const loaded = loadConfigFile(options.configPath);
    // Listening first: the address it really listens on goes into links and certificates.
    const listener = await listenForApi(options.port);
    cleanup.push(() => listener.close());
    const api = listener.url;
    const { config, warnings } = publicAddress(loaded.config, loaded.namesPublicBaseUrl, api);
    const ca = new DataFolderCa(dataDir, config);
    if (ca.hasRegistry()) {
      // One CA publishes one CRL: the service cannot list revocations it does not know of.
      throw new PkiError(
        "REGISTRY_CONFLICT",
        `${dataDir} holds certificates issued with "pki issue", which the service's CRL would not cover. Start the service on another --data-dir.`,
      );
    }
    await ensureCa(ca);
    const caWarning = caAddressWarning(
      (await ca.issuingAuthority()).certificate,
      config.publicBaseUrl,
    );
    if (caWarning) warnings.push(caWarning);
    const crashed = markRunning(dataDir);

    const standIns = await startStandIns({
      dataDir,
      mailPort: options.mailPort,
      buckets: [LOCAL_BUCKET],
    });
    cleanup.push(() => standIns.close());
    const region = "us-east-1";
    const dynamo = new DynamoDBClient({
      endpoint: standIns.dynamodb,
      region,
      credentials: LOCAL_CREDENTIALS,
    });
    const s3 = new S3Client({
      endpoint: standIns.s3,
      region,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    const ses = new SESv2Client({ endpoint: standIns.ses, region, credentials: LOCAL_CREDENTIALS });
    cleanup.push(() => {
      dynamo.destroy();
      s3.destroy();
      ses.destroy();
    });
    await createTable(dynamo, LOCAL_TABLE);

    const crash = crashPoints();
    const repository = crash.repository(
      new DynamoRequestRepository({ client: dynamo, tableName: LOCAL_TABLE }),
    );
    const revocations = new DynamoRevocationStore({ client: dynamo, tableName: LOCAL_TABLE });
    if (crashed) {
      const report = await recoverAfterCrash({
        client: dynamo,
        tableName: LOCAL_TABLE,
        repository,
        revocations,
        caIds: await publishedCaIds(ca),
      });
      console.error(
        `pki-local: the last run did not stop cleanly; recovered (${report.releasedClaims} claim(s) released, ${report.strayIndexEntries + report.missingIndexEntries} index entr(ies) mended).`,
      );
    }
    // Recovered (or nothing to recover): a clean stop from here on needs no recovery next
    // time. Last to run on close, just before the lock is released.
    cleanup.splice(1, 0, () => markStopped(dataDir));
    const bus = new InProcessEventBus({ outbox: join(dataDir, "events") });
    const deps: StepDependencies = {
      repository,
      config,
      ca,
      objects: new S3ObjectStore(s3, LOCAL_BUCKET),
      mailer: new SesMailer({ client: ses, from: config.mail.from }),
      bus,
    };
    bus.subscribe(requesterMailSubscription(deps));
    bus.subscribe(auditTrailSubscription(repository));
    // The local gates (ALB and API Gateway stand-ins): subscribed now, opened once the API is.
    const enforcement = prepareLocalEnforcement({
      dynamo,
      tableName: LOCAL_TABLE,
      bucket: LOCAL_BUCKET,
      objects: deps.objects,
      revocations,
      ca,
      bus,
    });

    // CRLs: republished after a burst of revocations, at start-up when a revocation is on no
    // CRL yet (the last run died first), and on a timer before they lapse.
    const publisher = new CrlPublisher({
      revocations,
      objects: deps.objects,
      ca,
      config,
      events: bus,
    });
    const revoked = new CoalescingTrigger(() => publisher.publish("revocation"), CRL_DEBOUNCE_MS);
    bus.subscribe(crlPublicationSubscription(() => revoked.request()));
    await publisher.publishIfDue("startup");
    const refresh = startCrlRefreshTimer(publisher);
    cleanup.push(async () => {
      await refresh.close();
      await revoked.close();
    });
    const engine = new LocalWorkflowEngine({
      folder: join(dataDir, "executions"),
      handlers: crash.steps(createStepHandlers(deps)),
      onEvent: (_, event) => {
        if (event.type === "StateEntered") crash.onStateEntered(event.state.name);
      },
    });
    cleanup.push(async () => {
      await engine.close();
      await bus.drain();
    });
    await engine.resume();
    bus.resumePending();
    // Stored before the last run died, but never started: every request is stored before its
    // execution starts, and nothing else is running yet.
    await startStrandedRequests({ repository, engine, bus }, { olderThanMs: 0 });
    // Certificates issued before the inventory existed join it (a no-op once done).
    await backfillInventory(
      { client: dynamo, tableName: LOCAL_TABLE },
      caIdOfChainPem(await ca.chainPem()),
    );

    const identity = await startLocalIdentity(config, { dataDir, port: options.oidcPort ?? 0 });
    cleanup.push(() => identity.close());
    const ra = new RegistrationAuthority({
      ...deps,
      inventory: new DynamoCertificateInventory({ client: dynamo, tableName: LOCAL_TABLE }),
      engine,
      revocations,
      identity: identity.provider,
    });
    // Expiry reminders: now through POST /v1/expiry-reminders/run, and on a daily timer.
    const inventory = new DynamoCertificateInventory({ client: dynamo, tableName: LOCAL_TABLE });
    const runReminders = () =>
      runExpiryReminders({ inventory, repository, mailer: deps.mailer, bus, config });
    const onUnexpectedError = (error: unknown, c: Context) =>
      console.error(`${c.req.method} ${c.req.path}: ${(error as Error).stack ?? error}`);
    const app = createApi({
      services: ra,
      rateLimit: config.api.rateLimit,
      clientAddress: (c) => getConnInfo(c).remote.address ?? "unknown",
      onUnexpectedError,
      expiryReminders: runReminders,
      pages: createPages({
        services: ra,
        publicBaseUrl: config.publicBaseUrl,
        openSubmission: false,
        clientAddress: (c) => getConnInfo(c).remote.address ?? "unknown",
        onUnexpectedError,
      }),
    });
    listener.attach(app.fetch);
    // After the start-up CRL publication: the gateways never take a connection without it.
    const gateways = await enforcement.start(api);
    cleanup.push(() => enforcement.close());
    const reminders = startExpiryReminderTimer(runReminders, {
      onReport: (r) => {
        if (r.mailed.length > 0)
          console.error(`pki-local: ${r.mailed.length} expiry reminder(s) mailed.`);
      },
    });
    cleanup.push(() => reminders.close());

    const previous = readRuntimeInfo(dataDir);
    let adminKey = previous?.adminKey;
    const firstStart = !adminKey || !(await ra.authenticate(adminKey));
    if (firstStart) {
      ({ key: adminKey } = await createApiKey(repository, {
        role: "admin",
        label: "local admin (created on first start)",
        owner: localAdminOwner(config),
      }));
    }
    const info: RuntimeInfo = {
      api,
      mail: standIns.ses,
      s3: standIns.s3,
      bucket: LOCAL_BUCKET,
      ...gateways,
      publicBaseUrl: config.publicBaseUrl,
      adminKey: adminKey!,
      ...(identity.standIn
        ? { oidc: identity.standIn }
        : { oidc: { issuer: identity.provider.issuer } }),
      pid: process.pid,
    };
    writeRuntimeInfo(dataDir, info);
    return { info, firstStart, warnings, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The issuing CA's id, and the root's when its key is here (it publishes its own CRL). */
async function publishedCaIds(ca: DataFolderCa): Promise<string[]> {
  const ids = [(await ca.issuingAuthority()).id];
  const root = await ca.rootAuthority().catch(() => undefined);
  if (root) ids.push(root.id);
  return ids;
}

async function ensureCa(ca: DataFolderCa): Promise<void> {
  try {
    await ca.issuingAuthority();
  } catch (error) {
    if (!isPkiError(error, "CA_NOT_INITIALISED")) throw error;
    await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
  }
}

/** Who the first admin key acts for: the first admin among the local users, else the sender. */
function localAdminOwner(config: Config): string {
  const groups = config.identity.roleGroups.admin;
  const admin = config.identity.localUsers.find((u) => u.groups.some((g) => groups.includes(g)));
  return admin?.email ?? config.mail.from;
}
