/**
 * The CA key in AWS KMS. It never leaves KMS: the CA bootstrap and the signing functions ask
 * KMS to sign digests. A lost key cannot be recovered and every certificate it signed would
 * have to be replaced, so production keys outlive `sst remove` (retainOnDelete; SST's
 * `removal: "retain"` does not cover KMS keys).
 *
 * Its key policy is the only grant on it, and does not defer to IAM (no account-root
 * statement): the functions that sign may Sign (digests only) and read the public key; the
 * key administrators (`aws.ca.keyAdmins`, default the role that deploys) may manage the key but
 * not sign, nor grant themselves a grant. The policy is a resource of its own, applied once the
 * roles it names exist: KMS refuses a policy naming a principal that does not exist yet, and the
 * functions need the key's ARN before their roles are made.
 */
import type { AwsContext } from "./aws-context.ts";
import { KEY_ADMIN_ACTIONS } from "./grants.ts";
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
    // The policy is CaKeyPolicy's to manage.
    { retainOnDelete: d.production, protect: d.production, ignoreChanges: ["policy"] },
  );
  const alias = new aws.kms.Alias("CaKeyAlias", {
    name: `alias/${d.app}-${d.stage}-ca`,
    targetKeyId: key.keyId,
  });
  return { key, alias };
}

export interface KeyUsers {
  /** The roles that sign (digests only). */
  readonly signers: $util.Input<string>[];
  /** The roles that read the public key. */
  readonly publicKeyReaders: $util.Input<string>[];
}

export function signingKeyPolicy(
  d: Deployment,
  key: aws.kms.Key,
  context: AwsContext,
  users: KeyUsers,
): aws.kms.KeyPolicy {
  const admins = keyAdmins(d, context);
  return new aws.kms.KeyPolicy(
    "CaKeyPolicy",
    {
      keyId: key.keyId,
      bypassPolicyLockoutSafetyCheck: false,
      policy: aws.iam.getPolicyDocumentOutput({
        statements: [
          {
            sid: "KeyAdministration",
            actions: [...KEY_ADMIN_ACTIONS],
            principals: [{ type: "AWS", identifiers: admins }],
            resources: ["*"],
          },
          {
            sid: "SignDigests",
            actions: ["kms:Sign"],
            principals: [{ type: "AWS", identifiers: users.signers }],
            resources: ["*"],
            conditions: [{ test: "StringEquals", variable: "kms:MessageType", values: ["DIGEST"] }],
          },
          {
            // No MessageType here: GetPublicKey carries none, so the condition would deny it.
            sid: "ReadPublicKey",
            actions: ["kms:GetPublicKey"],
            principals: [{ type: "AWS", identifiers: users.publicKeyReaders }],
            resources: ["*"],
          },
        ],
      }).json,
    },
    // A kept key keeps its policy: deleting this resource would put KMS's default back, which
    // lets the whole account sign through IAM.
    { retainOnDelete: d.production },
  );
}

/**
 * The configured administrators, or the role that deploys. Either way the deployer must be one:
 * the next deploy updates the policy, and KMS lets only an administrator do that (it refuses a
 * policy that would lock its author out). Said here, before KMS says it less plainly.
 */
function keyAdmins(d: Deployment, context: AwsContext): $util.Output<string[]> {
  const deployer = aws.iam.getSessionContextOutput({ arn: context.callerArn }).issuerArn;
  return deployer.apply((role) => {
    const configured = d.config.aws.ca.keyAdmins;
    if (/^arn:[^:]+:iam::\d{12}:root$/.test(role)) {
      // In a key policy the account's root is the whole account: IAM would decide again.
      throw new Error(
        "Deploy with an IAM role, not the account's root user: the deploying principal administers the CA key, and the account root in its key policy would hand the key back to every IAM policy of the account.",
      );
    }
    if (configured && !configured.includes(role)) {
      throw new Error(
        `aws.ca.keyAdmins must include the role you deploy with (${role}): only key administrators may update the CA key's policy, which every deploy does.`,
      );
    }
    return configured ?? [role];
  });
}
