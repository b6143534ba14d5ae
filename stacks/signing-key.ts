/**
 * The CA key in AWS KMS. It never leaves KMS: the CA bootstrap and the signing functions ask
 * KMS to sign digests. A lost key cannot be recovered and every certificate it signed would
 * have to be replaced, so production keys outlive `sst remove` (retainOnDelete; SST's
 * `removal: "retain"` does not cover KMS keys).
 */
import type { Deployment } from "./settings.ts";

export interface SigningKey {
  readonly key: aws.kms.Key;
  readonly alias: aws.kms.Alias;
}

export function signingKey(d: Deployment): SigningKey {
  const key = new aws.kms.Key(
    "CaKey",
    {
      description: `${d.app} ${d.stage}: private CA signing key`,
      customerMasterKeySpec: d.config.aws.ca.keySpec,
      keyUsage: "SIGN_VERIFY",
      // The longest wait: a key scheduled for deletion by mistake can still be cancelled.
      deletionWindowInDays: 30,
    },
    { retainOnDelete: d.production, protect: d.production },
  );
  const alias = new aws.kms.Alias("CaKeyAlias", {
    name: `alias/${d.app}-${d.stage}-ca`,
    targetKeyId: key.keyId,
  });
  return { key, alias };
}
