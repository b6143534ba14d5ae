/**
 * The AWS adapters behind each port, built on first use and kept for the container's life.
 * Lazy on purpose: a function builds only the clients it touches, so a subscriber never opens
 * KMS and its role needs no KMS grant.
 *
 * This module imports no SDK client and no adapter of one: each entry point hands in the
 * factories of the services its function uses (`clients/*.ts`), so its bundle holds only those
 * clients. Reading an adapter whose factory was not handed in throws a WiringError.
 */

import { ObjectStoreCa } from "@spca/core/ca/object-store-ca";
import { CrlPublisher } from "@spca/core/crl/publisher";
import type { DynamoEnforcementStateStore } from "@spca/core/enforcement/dynamo-state-store";
import { EnforcementSync } from "@spca/core/enforcement/sync";
import type { EnforcementTarget } from "@spca/core/enforcement/target";
import type { EventBridgeBus } from "@spca/core/events/eventbridge-bus";
import { OpenIdConnectProvider } from "@spca/core/identity/openid-connect";
import type { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import type { SesMailer } from "@spca/core/notifications/ses-mailer";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import type { KmsSigner } from "@spca/core/signer/kms-signer";
import type { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import type { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import type { S3ObjectStore } from "@spca/core/store/s3-object-store";
import type { SfnWorkflowEngine } from "@spca/core/workflow/sfn-engine";
import type { SfnExecutionStarter } from "@spca/core/workflow/sfn-execution-starter";
import type { StepDependencies } from "@spca/core/workflow/steps/dependencies";
import type { LambdaSettings } from "./settings.ts";

/** Builds one adapter (and its SDK client) from the function's settings. */
export type AdapterFactory<T> = (settings: LambdaSettings) => T;

/**
 * The adapters a function may use, each from the factory of its AWS service in `clients/`
 * (`dynamodbAdapters()`, `s3Adapters()`, ...; tests hand those clients pointed at stand-ins).
 * An entry point passes only the services its function uses, as stacks/grants.ts grants them.
 */
export interface AwsAdapters {
  readonly repository?: AdapterFactory<DynamoRequestRepository>;
  readonly revocations?: AdapterFactory<DynamoRevocationStore>;
  readonly inventory?: AdapterFactory<DynamoCertificateInventory>;
  readonly objects?: AdapterFactory<S3ObjectStore>;
  readonly mailer?: AdapterFactory<SesMailer>;
  readonly bus?: AdapterFactory<EventBridgeBus>;
  /** The CA key in KMS. */
  readonly signer?: AdapterFactory<Promise<KmsSigner>>;
  readonly engine?: AdapterFactory<SfnWorkflowEngine>;
  /** Starting executions only, without the engine's task-token calls (the request sweeper). */
  readonly starter?: AdapterFactory<SfnExecutionStarter>;
  /** What each gate was last brought in step with (the enforcement sync). */
  readonly enforcementStates?: AdapterFactory<DynamoEnforcementStateStore>;
  /** The gates `enforcement` names, each with its service's client. */
  readonly enforcementTargets?: AdapterFactory<readonly EnforcementTarget[]>;
}

const serviceOf: Record<keyof AwsAdapters, string> = {
  repository: "DynamoDB (dynamodbAdapters)",
  revocations: "DynamoDB (dynamodbAdapters)",
  inventory: "DynamoDB (dynamodbAdapters)",
  objects: "S3 (s3Adapters)",
  mailer: "SES (sesAdapters)",
  bus: "EventBridge (eventBridgeAdapters)",
  signer: "KMS (kmsAdapters)",
  engine: "Step Functions (sfnAdapters)",
  starter: "Step Functions (sfnStarterAdapters)",
  enforcementStates: "DynamoDB (dynamodbAdapters)",
  enforcementTargets: "ELB, API Gateway and IAM Roles Anywhere (enforcementAdapters)",
};

/** A programming error: the function read an adapter its entry point did not wire in. */
export class WiringError extends Error {
  override readonly name = "WiringError";
}

export class AwsServices {
  readonly settings: LambdaSettings;
  private readonly adapters: AwsAdapters;
  /** The function, for WiringError's message (its name in stacks/grants.ts). */
  private readonly functionName: string;
  private readonly built = new Map<string, unknown>();

  constructor(settings: LambdaSettings, adapters: AwsAdapters, functionName = "This function") {
    this.settings = settings;
    this.adapters = adapters;
    this.functionName = functionName;
  }

  /** The step handlers' dependencies; each adapter is built when first read. */
  get steps(): StepDependencies {
    const services = this;
    return {
      get repository() {
        return services.repository;
      },
      get objects() {
        return services.objects;
      },
      get mailer() {
        return services.mailer;
      },
      get bus() {
        return services.bus;
      },
      get ca() {
        return services.ca;
      },
      config: this.settings.config,
    };
  }

  get repository(): DynamoRequestRepository {
    return this.once("repository", () => this.build("repository"));
  }

  get revocations(): DynamoRevocationStore {
    return this.once("revocations", () => this.build("revocations"));
  }

  get inventory(): DynamoCertificateInventory {
    return this.once("inventory", () => this.build("inventory"));
  }

  /**
   * Announces each CRL (`crl.published`, which the enforcement sync follows) when the entry
   * point wires EventBridge in; without it the sync's schedule still finds the CRL.
   */
  get crlPublisher(): CrlPublisher {
    return this.once(
      "crlPublisher",
      () =>
        new CrlPublisher({
          revocations: this.revocations,
          objects: this.objects,
          ca: this.ca,
          config: this.settings.config,
          ...(this.adapters.bus ? { events: this.bus } : {}),
        }),
    );
  }

  /** Keeps the configured gates in step with the published CRL and CA bundle. */
  get enforcementSync(): EnforcementSync {
    return this.once(
      "enforcementSync",
      () =>
        new EnforcementSync({
          targets: this.build("enforcementTargets"),
          states: this.build("enforcementStates"),
          objects: this.objects,
          revocations: this.revocations,
          ca: this.ca,
          bus: this.bus,
          bucket: this.settings.bucketName,
        }),
    );
  }

  get objects(): S3ObjectStore {
    return this.once("objects", () => this.build("objects"));
  }

  get mailer(): SesMailer {
    return this.once("mailer", () => this.build("mailer"));
  }

  get bus(): EventBridgeBus {
    return this.once("bus", () => this.build("bus"));
  }

  get ca(): ObjectStoreCa {
    return this.once(
      "ca",
      () =>
        new ObjectStoreCa({
          objects: this.objects,
          openSigner: () => this.caSigner(),
          publicBaseUrl: this.settings.config.publicBaseUrl,
        }),
    );
  }

  /** The CA key in KMS (one GetPublicKey per container; then Sign per signature). */
  caSigner(): Promise<KmsSigner> {
    return this.once("caSigner", () =>
      this.build("signer").catch((error: unknown) => {
        // A failed open (throttling, a network blip) is not remembered.
        this.built.delete("caSigner");
        throw error;
      }),
    );
  }

  get engine(): SfnWorkflowEngine {
    return this.once("engine", () => this.build("engine"));
  }

  /** Starts executions; for a function that does nothing else with the workflow. */
  get starter(): SfnExecutionStarter {
    return this.once("starter", () => this.build("starter"));
  }

  get registrationAuthority(): RegistrationAuthority {
    return this.once(
      "ra",
      () =>
        new RegistrationAuthority({
          repository: this.repository,
          inventory: this.inventory,
          objects: this.objects,
          bus: this.bus,
          ca: this.ca,
          config: this.settings.config,
          engine: this.engine,
          revocations: this.revocations,
          ...(this.settings.oidc
            ? { identity: new OpenIdConnectProvider(this.settings.oidc) }
            : {}),
          // Resent approval mails; SES is opened on the first send, where it is wired in.
          ...(this.adapters.mailer ? { mailer: { send: (mail) => this.mailer.send(mail) } } : {}),
        }),
    );
  }

  /** The adapter from its factory; a WiringError when the entry point did not pass one. */
  private build<K extends keyof AwsAdapters>(name: K): ReturnType<NonNullable<AwsAdapters[K]>> {
    const factory = this.adapters[name] as AdapterFactory<unknown> | undefined;
    if (!factory) {
      throw new WiringError(
        `${this.functionName} has no ${name} adapter: its entry point does not pass the ` +
          `${serviceOf[name]} factory to AwsServices (and stacks/grants.ts must grant it too).`,
      );
    }
    return factory(this.settings) as ReturnType<NonNullable<AwsAdapters[K]>>;
  }

  private once<T>(name: string, build: () => T): T {
    if (!this.built.has(name)) this.built.set(name, build());
    return this.built.get(name) as T;
  }
}
