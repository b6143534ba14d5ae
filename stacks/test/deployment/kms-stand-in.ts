/**
 * KMS for one asymmetric key, over KMS's own JSON protocol: GetPublicKey answers the key's SPKI
 * and Sign signs a DIGEST the way KMS does (kms-mock.ts's kmsSignDigest), so what the functions
 * sign verifies for real. Any other key id is NotFoundException, as KMS answers.
 */

import type { SigningAlgorithm } from "../../../packages/core/src/signer/algorithms.ts";
import { algorithmsForKeySpec } from "../../../packages/core/src/signer/algorithms.ts";
import {
  getPublicKeyOutput,
  kmsSignDigest,
  type TestKmsKey,
} from "../../../packages/core/test/support/kms-mock.ts";
import { type JsonService, ServiceError, startJsonService } from "./json-service.ts";

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export interface KmsStandIn extends JsonService {
  /** The next Sign fails with this KMS error (e.g. KMSInvalidStateException: a disabled key). */
  failNextSign(errorType: string): void;
}

export async function startKmsStandIn(keyArn: string, key: TestKmsKey): Promise<KmsStandIn> {
  let failure: string | undefined;
  const known = (input: Record<string, unknown>) => {
    if (input.KeyId !== keyArn) {
      throw new ServiceError("NotFoundException", `Key '${String(input.KeyId)}' does not exist`);
    }
  };
  const service = await startJsonService("TrentService", {
    GetPublicKey: (input) => {
      known(input);
      const output = getPublicKeyOutput(key, { KeyId: keyArn });
      return { ...output, $metadata: undefined, PublicKey: base64(output.PublicKey!) };
    },
    Sign: (input) => {
      known(input);
      if (failure) {
        const type = failure;
        failure = undefined;
        throw new ServiceError(type, `${keyArn} cannot sign now (the stand-in's fault)`);
      }
      const algorithm = input.SigningAlgorithm as SigningAlgorithm;
      if (!algorithmsForKeySpec(key.spec).includes(algorithm)) {
        throw new ServiceError(
          "InvalidKeyUsageException",
          `${algorithm} is not valid for ${key.spec}`,
        );
      }
      if (input.MessageType !== "DIGEST") {
        throw new ServiceError("ValidationException", "the stand-in signs DIGEST messages only");
      }
      const digest = Buffer.from(String(input.Message), "base64");
      return {
        KeyId: keyArn,
        SigningAlgorithm: algorithm,
        Signature: base64(kmsSignDigest(key, algorithm, digest)),
      };
    },
  });
  return {
    ...service,
    failNextSign: (errorType) => {
      failure = errorType;
    },
  };
}
