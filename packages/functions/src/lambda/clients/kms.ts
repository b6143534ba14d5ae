/** KMS: the signer on the CA key (AwsServices.caSigner keeps it for the container's life). */
import { KMSClient } from "@aws-sdk/client-kms";
import { createKmsSigner } from "@spca/core/signer/kms-signer";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";

/**
 * `client` defaults to the Lambda environment's, traced (see observability.ts). The signer
 * retries with its own backoff; the SDK's retries would multiply its attempts.
 */
export function kmsAdapters(
  client: () => KMSClient = () => tracedClient(new KMSClient({ maxAttempts: 1 })),
): Required<Pick<AwsAdapters, "signer">> {
  return {
    signer: ({ caKeyId, caSigningAlgorithm }) =>
      createKmsSigner({
        keyId: caKeyId,
        client: client(),
        ...(caSigningAlgorithm ? { signingAlgorithm: caSigningAlgorithm } : {}),
      }),
  };
}
