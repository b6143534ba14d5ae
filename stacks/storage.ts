/**
 * The storage authority: one DynamoDB table (requests, audit trail, revocations, CRL state,
 * API keys) and one private, versioned bucket (certificates, pending signatures, the CA chain
 * and the published CRL, CA certificates and trust-store bundle).
 */
import { table as tableShape } from "../packages/core/src/store/table.ts";
import type { Deployment } from "./settings.ts";

export interface Storage {
  readonly table: sst.aws.Dynamo;
  readonly bucket: sst.aws.Bucket;
}

export function storage(d: Deployment): Storage {
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

  // Private: nothing here is public on S3. The public objects (CRL, CA certificates, trust
  // store) are served by the API through the Router, which only answers for those keys.
  const bucket = new sst.aws.Bucket("Bucket", {
    versioning: true,
    cors: false,
    transform: {
      bucket: (_args, opts) => {
        if (d.production) opts.retainOnDelete = true;
      },
    },
  });

  return { table, bucket };
}
