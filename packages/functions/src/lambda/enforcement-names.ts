/**
 * Names the enforcement functions and the stacks must agree on: the tag that marks what the
 * sync creates in IAM Roles Anywhere (its IAM grants test it), and the CloudTrail calls the
 * drift rule routes (stacks/enforcement.ts) and the drift function reads
 * (enforcement-drift.ts). Dependency-free, like metric-names.ts, so the stacks import it.
 */

/** The tag on every CRL the sync imports into IAM Roles Anywhere; its value is the deployment. */
export const DEPLOYMENT_TAG_KEY = "spca:deployment";

/**
 * The deployment's name, `<app>-<stage>`: the tag's value and the imported CRLs' name. SST
 * stage and app names are letters, digits and `-`, which IAM Roles Anywhere CRL names allow.
 */
export function deploymentName(app: string, stage: string): string {
  return `${app}-${stage}`;
}

/** EventBridge's detail-type for management events CloudTrail delivers (a trail must exist). */
export const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";

/**
 * The calls that change what a gate enforces, by event source: a trust store's bundle or
 * revocation lists, a custom domain's truststore, the publication bucket's policy, versioning
 * or lifecycle (API Gateway needs versions; a lifecycle rule could expire current objects), a
 * Roles Anywhere CRL or trust anchor. The sync's own calls are excluded by its role.
 */
export const DRIFT_CALLS = {
  "aws.elasticloadbalancing": [
    "ModifyTrustStore",
    "RemoveTrustStoreRevocations",
    "DeleteTrustStore",
  ],
  "aws.apigateway": ["UpdateDomainName", "DeleteDomainName"],
  "aws.s3": [
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketVersioning",
    "PutBucketLifecycle",
    "DeleteBucketLifecycle",
  ],
  "aws.rolesanywhere": [
    "UpdateCrl",
    "DisableCrl",
    "DeleteCrl",
    "UpdateTrustAnchor",
    "DisableTrustAnchor",
    "DeleteTrustAnchor",
  ],
} as const;

export type DriftSource = keyof typeof DRIFT_CALLS;
