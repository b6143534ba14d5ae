/**
 * Lambda entry point: the CA bootstrap, invoked by every deploy (stacks/ca-bootstrap.ts) with
 * `{"mode": "self-signed" | "external"}`. Creates the CA certificate for the KMS key once
 * (never replacing it), then publishes the CRL, CA certificate and trust store unless they are
 * fresh. Its JSON result shows in the deploy's outputs; an error fails the deploy.
 */
import { type BootstrapMode, type BootstrapResult, bootstrapCa } from "@spca/core/ca/bootstrap";
import { PkiError } from "@spca/core/errors";
import type { AwsServices } from "./aws-services.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { kmsAdapters } from "./clients/kms.ts";
import { s3Adapters } from "./clients/s3.ts";
import { containerServices } from "./container.ts";
import { observed } from "./observability.ts";

export interface BootstrapEvent {
  readonly mode: BootstrapMode;
}

export type BootstrapOutcome = BootstrapResult & {
  /** The cRLNumber (decimal) published by this run, or null when the published CRL was still fresh. */
  readonly crl?: string | null;
};

export function caBootstrapLambda(
  services: () => AwsServices,
): (event: BootstrapEvent) => Promise<BootstrapOutcome> {
  return async (event) => {
    if (event?.mode !== "self-signed" && event?.mode !== "external") {
      throw new PkiError(
        "EVENT_INVALID",
        'The CA bootstrap takes {"mode": "self-signed"} or {"mode": "external"}.',
      );
    }
    const s = services();
    const { config } = s.settings;
    const result = await bootstrapCa({
      objects: s.objects,
      signer: await s.caSigner(),
      mode: event.mode,
      subject: config.ca.subject,
      validityDays: config.ca.validityDays,
    });
    if (result.status === "awaiting-import") return result;
    const published = await s.crlPublisher.publishIfDue("startup");
    return { ...result, crl: published?.number ?? null };
  };
}

export const handler = observed(
  "ca-bootstrap",
  caBootstrapLambda(
    containerServices("CaBootstrap", { ...dynamodbAdapters(), ...s3Adapters(), ...kmsAdapters() }),
  ),
);
