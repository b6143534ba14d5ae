/**
 * Lambda entry point: the CA bootstrap, the one function the operator's `pki ca … --aws` and the
 * deploy reach the CA key through.
 * - Every deploy (stacks/ca-bootstrap.ts) invokes it with `{"mode": "self-signed" | "external"}`:
 *   it creates the CA certificate for the KMS key once (never replacing it), then publishes the
 *   CRL, CA certificate and trust store unless they are fresh. Its JSON result shows in the
 *   deploy's outputs; an error fails the deploy. Access denied while the new role and key
 *   policy propagate is waited out (access-propagation.ts).
 * - The operator invokes it with `{"action": "csr" | "import" | "show" | "create-api-key", …}`
 *   (ca-operations.ts).
 */
import { type BootstrapMode, type BootstrapResult, bootstrapCa } from "@spca/core/ca/bootstrap";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { PkiError } from "@spca/core/errors";
import * as v from "valibot";
import {
  defaultPropagationPolicy,
  type PropagationPolicy,
  propagationRetries,
} from "./access-propagation.ts";
import type { AwsServices } from "./aws-services.ts";
import {
  type CaOperation,
  type CaOperationResult,
  isCaOperation,
  runCaOperation,
} from "./ca-operations.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { kmsAdapters } from "./clients/kms.ts";
import { s3Adapters } from "./clients/s3.ts";
import { containerServices } from "./container.ts";
import { logger, observed, stringField } from "./observability.ts";

export interface BootstrapEvent {
  readonly mode: BootstrapMode;
}

const BootstrapEventSchema = v.object({ mode: v.picklist(["self-signed", "external"]) });

export type BootstrapOutcome = BootstrapResult & {
  /** The cRLNumber (decimal) published by this run, or null when the published CRL was still fresh. */
  readonly crl?: string | null;
};

export interface CaBootstrapHandler {
  (event: BootstrapEvent): Promise<BootstrapOutcome>;
  (event: CaOperation): Promise<CaOperationResult>;
  (event: unknown): Promise<BootstrapOutcome | CaOperationResult>;
}

export interface CaBootstrapOptions {
  /** How the deploy waits out IAM propagation; tests pass a clock that does not sleep. */
  readonly propagation?: Partial<PropagationPolicy>;
  /** The clock for an imported certificate's dates. */
  readonly now?: () => Date;
}

export function caBootstrapLambda(
  services: () => AwsServices,
  options: CaBootstrapOptions = {},
): CaBootstrapHandler {
  const propagation: PropagationPolicy = {
    ...defaultPropagationPolicy,
    onRetry: ({ what, error, attempt, waitMs }) =>
      logger.warn(
        `${what}: ${error}; the new role or key policy may still be propagating, retrying in ${waitMs / 1000} s`,
        { error, attempt, waitMs },
      ),
    ...options.propagation,
  };

  async function deploy(event: unknown): Promise<BootstrapOutcome> {
    if (!v.is(BootstrapEventSchema, event)) {
      throw new PkiError(
        "EVENT_INVALID",
        'The CA bootstrap takes {"mode": "self-signed"} or {"mode": "external"} from the deploy, or an operator action {"action": "csr" | "import" | "show" | "create-api-key"}.',
      );
    }
    const s = services();
    const { config } = s.settings;
    const retryWhileDenied = propagationRetries(propagation);
    const result = await retryWhileDenied("The CA bootstrap", async () =>
      bootstrapCa({
        objects: s.objects,
        signer: await s.caSigner(),
        mode: event.mode,
        subject: config.ca.subject,
        validityDays: config.ca.validityDays,
      }),
    );
    if (result.status === "awaiting-import") return result;
    // Retried on its own (within the same budget), so a certificate created above is still
    // reported as created.
    const published = await retryWhileDenied("Publishing the CRL", () =>
      s.crlPublisher.publishIfDue("startup"),
    );
    return { ...result, crl: published?.number ?? null };
  }

  async function operate(event: unknown): Promise<CaOperationResult> {
    const s = services();
    const result = await runCaOperation(event, {
      objects: s.objects,
      signer: () => s.caSigner(),
      subject: s.settings.config.ca.subject,
      location: `s3://${s.settings.bucketName}/${CA_CHAIN_OBJECT_KEY}`,
      ...(options.now ? { now: options.now } : {}),
      apiKeys: () => s.repository,
    });
    // The operator sees the outcome; the log keeps it for the account's records. A new API
    // key's secret is the operator's alone: only its id, role and label are logged.
    if ("error" in result) logger.warn(`operator action refused: ${result.error.code}`, result);
    else if ("key" in result) {
      const { id, role, label, createdAt } = result;
      logger.info("operator action done: API key created", {
        apiKey: { id, role, label, createdAt },
      });
    } else logger.info("operator action done");
    return result;
  }

  return ((event: unknown) =>
    isCaOperation(event) ? operate(event) : deploy(event)) as CaBootstrapHandler;
}

export const handler = observed(
  "ca-bootstrap",
  caBootstrapLambda(
    containerServices("CaBootstrap", {
      ...dynamodbAdapters(),
      ...s3Adapters(),
      ...kmsAdapters(),
      // Announces each CRL (crl.published) for the enforcement sync.
      ...eventBridgeAdapters(),
    }),
  ),
  { keys: (event) => ({ mode: stringField(event, "mode"), action: stringField(event, "action") }) },
);
