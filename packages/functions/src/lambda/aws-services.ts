/**
 * The AWS adapters behind each port, built on first use and kept for the container's life.
 * Lazy on purpose: a function builds only the clients it touches, so a subscriber never opens
 * KMS and its role needs no KMS grant.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { ObjectStoreCa } from "@spca/core/ca/object-store-ca";
import { CrlPublisher } from "@spca/core/crl/publisher";
import { PkiError } from "@spca/core/errors";
import { EventBridgeBus } from "@spca/core/events/eventbridge-bus";
import { SesMailer } from "@spca/core/notifications/ses-mailer";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { createKmsSigner } from "@spca/core/signer/kms-signer";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { SfnWorkflowEngine } from "@spca/core/workflow/sfn-engine";
import type { StepDependencies } from "@spca/core/workflow/steps/dependencies";
import type { LambdaSettings } from "./settings.ts";

/** SDK clients; tests hand in clients pointed at stand-ins. */
export interface AwsClients {
  readonly dynamodb: () => DynamoDBClient;
  readonly s3: () => S3Client;
  readonly ses: () => SESv2Client;
  readonly eventBridge: () => EventBridgeClient;
  readonly kms: () => KMSClient;
  readonly sfn: () => SFNClient;
}

/** Clients from the Lambda environment (region and credentials from the runtime). */
export const defaultClients: AwsClients = {
  dynamodb: () => new DynamoDBClient({}),
  s3: () => new S3Client({}),
  ses: () => new SESv2Client({}),
  eventBridge: () => new EventBridgeClient({}),
  // The signer retries with its own backoff; the SDK's retries would multiply its attempts.
  kms: () => new KMSClient({ maxAttempts: 1 }),
  sfn: () => new SFNClient({}),
};

export class AwsServices {
  readonly settings: LambdaSettings;
  private readonly clients: AwsClients;
  private readonly built = new Map<string, unknown>();

  constructor(settings: LambdaSettings, clients: AwsClients = defaultClients) {
    this.settings = settings;
    this.clients = clients;
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
    return this.once(
      "repository",
      () =>
        new DynamoRequestRepository({
          client: this.clients.dynamodb(),
          tableName: this.settings.tableName,
        }),
    );
  }

  get revocations(): DynamoRevocationStore {
    return this.once(
      "revocations",
      () =>
        new DynamoRevocationStore({
          client: this.clients.dynamodb(),
          tableName: this.settings.tableName,
        }),
    );
  }

  get crlPublisher(): CrlPublisher {
    return this.once(
      "crlPublisher",
      () =>
        new CrlPublisher({
          revocations: this.revocations,
          objects: this.objects,
          ca: this.ca,
          config: this.settings.config,
        }),
    );
  }

  get objects(): S3ObjectStore {
    return this.once(
      "objects",
      () => new S3ObjectStore(this.clients.s3(), this.settings.bucketName),
    );
  }

  get mailer(): SesMailer {
    return this.once(
      "mailer",
      () => new SesMailer({ client: this.clients.ses(), from: this.settings.config.mail.from }),
    );
  }

  get bus(): EventBridgeBus {
    return this.once(
      "bus",
      () => new EventBridgeBus(this.clients.eventBridge(), this.settings.eventBusName),
    );
  }

  get ca(): ObjectStoreCa {
    return this.once(
      "ca",
      () =>
        new ObjectStoreCa({
          objects: this.objects,
          openSigner: () =>
            createKmsSigner({
              keyId: this.settings.caKeyId,
              client: this.clients.kms(),
              ...(this.settings.caSigningAlgorithm
                ? { signingAlgorithm: this.settings.caSigningAlgorithm }
                : {}),
            }),
          publicBaseUrl: this.settings.config.publicBaseUrl,
        }),
    );
  }

  get engine(): SfnWorkflowEngine {
    return this.once("engine", () => {
      if (!this.settings.stateMachineArn) {
        throw new PkiError(
          "CONFIG_INVALID",
          "The environment variable PKI_STATE_MACHINE_ARN is not set.",
        );
      }
      return new SfnWorkflowEngine({
        stateMachineArn: this.settings.stateMachineArn,
        client: this.clients.sfn(),
      });
    });
  }

  get registrationAuthority(): RegistrationAuthority {
    return this.once(
      "ra",
      () =>
        new RegistrationAuthority({
          ...this.steps,
          engine: this.engine,
          revocations: this.revocations,
        }),
    );
  }

  private once<T>(name: string, build: () => T): T {
    if (!this.built.has(name)) this.built.set(name, build());
    return this.built.get(name) as T;
  }
}
