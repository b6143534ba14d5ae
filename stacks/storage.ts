/**
 * The storage authority: one DynamoDB table (requests, audit trail, revocations, CRL state,
 * API keys) and one private, versioned bucket (certificates, pending signatures, the CA chain
 * and the published CRL, CA certificates and trust-store bundle). The gates load exact object
 * versions of the published bundle and CRL (enforcement.ts), so those versions are protected
 * in production and replaced CRLs expire after NONCURRENT_CRL_DAYS.
 */
import { table as tableShape } from "../packages/core/src/store/table.ts";
import { CA_PUBLICATION_PATTERNS } from "./grants.ts";
import type { Deployment } from "./settings.ts";

/**
 * How long a replaced CRL version stays: ALB trust stores copy a CRL when it is added, so old
 * versions serve only as a record. truststore.pem versions are kept: an API Gateway custom
 * domain names the exact version it trusts.
 */
export const NONCURRENT_CRL_DAYS = 30;

/** What nobody may do to the publication objects in production: delete a version, or hide the
 * current one behind a delete marker (a gate would lose the CRL or bundle it points at). */
export const PROTECTED_PUBLICATION_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion"] as const;

export interface Storage {
  readonly table: sst.aws.Dynamo;
  readonly bucket: sst.aws.Bucket;
}

/** The bucket keys the Router serves (web.ts PUBLICATION_ROUTES). */
export const PUBLICATION_OBJECT_PATTERNS = [
  "crl/*",
  ...CA_PUBLICATION_PATTERNS,
  "truststore.pem",
] as const;

/**
 * @param distributionArn the Router's distribution: the only reader from outside, of the
 *   publication keys only. None in private mode, where the API function serves them.
 */
export function storage(d: Deployment, distributionArn: $util.Input<string> | undefined): Storage {
  const table = new sst.aws.Dynamo("Table", {
    fields: tableShape.fields,
    primaryIndex: tableShape.primaryIndex,
    globalIndexes: {
      gsi1: {
        hashKey: tableShape.globalIndexes.gsi1.hashKey,
        rangeKey: tableShape.globalIndexes.gsi1.rangeKey,
        projection: tableShape.globalIndexes.gsi1.projection,
      },
    },
    ttl: tableShape.ttl,
    // The registry of every certificate and revocation: never deleted by a stack update.
    deletionProtection: d.production,
    transform: {
      table: (args, opts) => {
        // SST's Dynamo turns point-in-time recovery on; say so here, where it is relied upon.
        args.pointInTimeRecovery = { enabled: true };
        if (d.production) opts.retainOnDelete = true;
      },
    },
  });

  const bucket = new sst.aws.Bucket("Bucket", {
    versioning: true,
    cors: false,
    policy: [
      ...(distributionArn ? routerReads(distributionArn) : []),
      // Production's publication objects are versioned and kept: a Deny, so no IAM grant, not
      // even an administrator's, deletes them (changing the policy first shows as drift).
      ...(d.production
        ? [
            {
              effect: "deny" as const,
              actions: [...PROTECTED_PUBLICATION_ACTIONS],
              principals: "*" as const,
              paths: [...PUBLICATION_OBJECT_PATTERNS],
            },
          ]
        : []),
    ],
    transform: {
      bucket: (_args, opts) => {
        if (d.production) opts.retainOnDelete = true;
      },
    },
  });

  // Replaced CRLs expire; current objects and every truststore.pem version stay.
  new aws.s3.BucketLifecycleConfiguration("BucketLifecycle", {
    bucket: bucket.name,
    rules: [
      {
        id: "expire-replaced-crls",
        status: "Enabled",
        filter: { prefix: "crl/" },
        noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_CRL_DAYS },
      },
    ],
  });

  return { table, bucket };
}

/**
 * Private: nothing in the bucket is public on S3. The Router reads the publication objects
 * through origin access control, and nothing else; a missing one is a 404 (s3:ListBucket),
 * not a 403.
 */
function routerReads(distributionArn: $util.Input<string>) {
  const fromRouter = [
    { test: "StringEquals", variable: "AWS:SourceArn", values: [distributionArn] },
  ];
  const cloudFront = [{ type: "service" as const, identifiers: ["cloudfront.amazonaws.com"] }];
  return [
    {
      actions: ["s3:GetObject"],
      principals: cloudFront,
      paths: [...PUBLICATION_OBJECT_PATTERNS],
      conditions: fromRouter,
    },
    { actions: ["s3:ListBucket"], principals: cloudFront, paths: [""], conditions: fromRouter },
  ];
}
