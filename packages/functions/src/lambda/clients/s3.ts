/** S3: the object store on the private bucket. */
import { S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function s3Adapters(
  client: () => S3Client = () => logCalls(tracedClient(new S3Client({})), s3Requests),
): Required<Pick<AwsAdapters, "objects">> {
  return {
    objects: ({ bucketName }) => new S3ObjectStore(client(), bucketName),
  };
}

/**
 * What IAM authorizes for an S3 call. S3ObjectStore.get takes a missing key as "not there", and
 * S3 only says so (404 NoSuchKey) to a caller who may list the bucket; to anyone else it answers
 * 403 AccessDenied. So every read needs s3:ListBucket on the bucket as well.
 */
export const s3Requests: IamRequestsOf = (operation, input, target) => {
  const bucket = `arn:${target.partition}:s3:::${String(input.Bucket)}`;
  const object = `${bucket}/${String(input.Key)}`;
  switch (operation) {
    case "GetObject":
    case "HeadObject":
      return [
        { action: input.VersionId ? "s3:GetObjectVersion" : "s3:GetObject", resource: object },
        {
          action: "s3:ListBucket",
          resource: bucket,
          why: "a read that may miss: without s3:ListBucket S3 answers a missing key with 403 AccessDenied, not 404 NoSuchKey",
        },
      ];
    case "PutObject":
      return [
        { action: "s3:PutObject", resource: object },
        ...(input.Tagging ? [{ action: "s3:PutObjectTagging", resource: object }] : []),
        ...(input.ACL ? [{ action: "s3:PutObjectAcl", resource: object }] : []),
      ];
    case "ListObjectsV2":
    case "ListObjects":
      return [
        {
          action: "s3:ListBucket",
          resource: bucket,
          context: { "s3:prefix": String(input.Prefix ?? "") },
        },
      ];
    default:
      return [{ action: `s3:${operation}`, resource: input.Key === undefined ? bucket : object }];
  }
};
