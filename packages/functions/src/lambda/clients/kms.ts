/** KMS: the signer on the CA key (AwsServices.caSigner keeps it for the container's life). */
import { KMSClient } from "@aws-sdk/client-kms";
import { createKmsSigner } from "@spca/core/signer/kms-signer";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

/**
 * `client` defaults to the Lambda environment's, traced (see observability.ts). The signer
 * retries with its own backoff; the SDK's retries would multiply its attempts.
 */
export function kmsAdapters(
  client: () => KMSClient = () =>
    logCalls(tracedClient(new KMSClient({ maxAttempts: 1 })), kmsRequests),
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

/** What IAM (and the key policy) authorizes for a KMS call: the key's ARN, and for Sign the
 * message type and algorithm the key policy may test. */
export const kmsRequests: IamRequestsOf = (operation, input, target) => {
  const keyId = String(input.KeyId);
  const resource = keyId.startsWith("arn:")
    ? keyId
    : `arn:${target.partition}:kms:${target.region}:${target.account}:key/${keyId}`;
  const context: Record<string, string> = {};
  if (typeof input.MessageType === "string") context["kms:MessageType"] = input.MessageType;
  if (typeof input.SigningAlgorithm === "string")
    context["kms:SigningAlgorithm"] = input.SigningAlgorithm;
  return [{ action: `kms:${operation}`, resource, context }];
};
