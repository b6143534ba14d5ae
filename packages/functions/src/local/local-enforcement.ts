/**
 * The gates, locally: an ALB stand-in (mtls-gateway.ts) and an API Gateway stand-in with the
 * real mTLS authorizer (api-gateway-stand-in.ts), kept in step with the publication bucket by
 * the same EnforcementSync as on AWS, its state in the same table. The sync runs before the
 * gateways take connections (they never serve without the CRL), on every `crl.published`, and
 * every minute as a catch-up (the enforcement schedule on AWS), which also retries a failure.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { caIdOfChainPem } from "@spca/core/ca/authority";
import { publicationKeys, TRUSTSTORE_KEY } from "@spca/core/ca/publication-urls";
import { DynamoEnforcementStateStore } from "@spca/core/enforcement/dynamo-state-store";
import { EnforcementSync, type TargetReport } from "@spca/core/enforcement/sync";
import { PkiError } from "@spca/core/errors";
import { subscription } from "@spca/core/events/bus";
import type { InProcessEventBus } from "@spca/core/events/in-process-bus";
import type { DataFolderCa } from "@spca/core/store/data-folder-ca";
import { DynamoAccess } from "@spca/core/store/dynamo-access";
import type { ObjectStore } from "@spca/core/store/object-store";
import type { RevocationStore } from "@spca/core/store/revocation-store";
import { authorizerSettingsFromEnv } from "../lambda/mtls-authorizer.ts";
import { createApiGatewayStandIn } from "./api-gateway-stand-in.ts";
import { GatewayIdentity } from "./gateway-identity.ts";
import { LocalGatewayTarget } from "./gateway-target.ts";
import { createMtlsGateway } from "./mtls-gateway.ts";
import type { MutualTlsServer } from "./mtls-server.ts";

/** The catch-up interval: the enforcement schedule runs every minute on AWS too. */
const CATCH_UP_MS = 60_000;

export const MTLS_GATEWAY_TARGET = "local:mtls-gateway";
export const API_GATEWAY_TARGET = "local:api-gateway";

export interface LocalEnforcementDependencies {
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly bucket: string;
  readonly objects: ObjectStore;
  readonly revocations: RevocationStore;
  readonly ca: DataFolderCa;
  readonly bus: InProcessEventBus;
  readonly env?: NodeJS.ProcessEnv;
}

export interface GatewayUrls {
  readonly mtlsGateway: string;
  readonly apiGateway: string;
}

export interface LocalEnforcement {
  /** Loads the gateways from the publication and opens them; `api` serves the publication. */
  start(api: string): Promise<GatewayUrls>;
  close(): Promise<void>;
}

/**
 * Subscribes to `crl.published` at once (before the bus resumes what an earlier run left);
 * nothing runs until start(), whose first sync covers whatever came before it.
 */
export function prepareLocalEnforcement(deps: LocalEnforcementDependencies): LocalEnforcement {
  let running: Running | undefined;
  deps.bus.subscribe(
    subscription("local-gateways", ["crl.published"], async () => {
      await running?.catchUp();
    }),
  );
  return {
    async start(api) {
      running = await startGateways(deps, api);
      return running.urls;
    },
    async close() {
      const r = running;
      running = undefined;
      await r?.close();
    },
  };
}

interface Running {
  readonly urls: GatewayUrls;
  catchUp(): Promise<void>;
  close(): Promise<void>;
}

async function startGateways(deps: LocalEnforcementDependencies, api: string): Promise<Running> {
  const caId = caIdOfChainPem(await deps.ca.chainPem());
  // The authorizer's settings, read as its Lambda reads its environment: the CRL and bundle
  // where the local API serves the bucket, PKI_CRL_MAX_AGE_SECONDS as given (tests set it low).
  const settings = authorizerSettingsFromEnv({
    PKI_CRL_URL: `${api}/${publicationKeys(caId).crl}`,
    PKI_CA_BUNDLE_URL: `${api}/${TRUSTSTORE_KEY}`,
    PKI_CRL_MAX_AGE_SECONDS: (deps.env ?? process.env).PKI_CRL_MAX_AGE_SECONDS,
  });
  const identity = new GatewayIdentity(() => deps.ca.issuingAuthority());
  const mtls = createMtlsGateway(identity);
  const apiGateway = createApiGatewayStandIn(identity, settings);
  const mtlsTarget = new LocalGatewayTarget(MTLS_GATEWAY_TARGET, mtls, { objects: deps.objects });
  const apiTarget = new LocalGatewayTarget(API_GATEWAY_TARGET, apiGateway);
  const states = new DynamoEnforcementStateStore(new DynamoAccess(deps.dynamo, deps.tableName));
  // A gateway of this process holds nothing yet, whatever the last run's recorded.
  const now = new Date().toISOString();
  for (const target of [mtlsTarget, apiTarget]) {
    await states.put({
      target: target.id,
      kind: target.kind,
      crlSha256: undefined,
      bundleSha256: undefined,
      crlNumber: undefined,
      details: {},
      failures: 0,
      lastError: undefined,
      retryAt: undefined,
      failedFor: undefined,
      updatedAt: now,
    });
  }
  const sync = new EnforcementSync({
    targets: [mtlsTarget, apiTarget],
    states,
    objects: deps.objects,
    revocations: deps.revocations,
    ca: deps.ca,
    bus: deps.bus,
    bucket: deps.bucket,
  });
  const servers: MutualTlsServer[] = [mtls, apiGateway];
  const catchUp = async () => {
    logFailures(await sync.run());
    await mtlsTarget.refreshChainCrls();
    for (const server of servers) await server.renewIdentity();
  };

  await catchUp();
  for (const [name, server] of [
    ["mtlsGateway", mtls],
    ["apiGateway", apiGateway],
  ] as const) {
    if (!server.loaded) {
      throw new PkiError(
        "CRL_NOT_PUBLISHED",
        `The ${name} cannot load the published CA bundle and CRL (see above); it does not open without them.`,
      );
    }
  }
  const mtlsUrl = await mtls.listen();
  let apiUrl: string;
  try {
    apiUrl = await apiGateway.listen();
  } catch (error) {
    await mtls.close();
    throw error;
  }

  // One catch-up at a time, whether a publication or the timer asked; close() waits for them.
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  const enqueue = (): Promise<void> => {
    if (closed) return Promise.resolve();
    const run = queue.then(catchUp);
    queue = run.catch((error: unknown) =>
      console.error(`local gateways: catch-up failed: ${(error as Error).message}`),
    );
    return run;
  };
  const timer = setInterval(() => void enqueue().catch(() => undefined), CATCH_UP_MS);
  timer.unref();
  return {
    urls: { mtlsGateway: mtlsUrl, apiGateway: apiUrl },
    catchUp: enqueue,
    async close() {
      closed = true;
      clearInterval(timer);
      await queue;
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

function logFailures(reports: readonly TargetReport[]): void {
  for (const report of reports) {
    if (report.outcome === "failed" && report.error) {
      console.error(
        `local gateways: ${report.target} is not in step (attempt ${report.error.attempts}): ${report.error.code}: ${report.error.message}`,
      );
    }
  }
}
