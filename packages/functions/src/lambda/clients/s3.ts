/** S3: the object store on the private bucket. */
import { S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function s3Adapters(
  client: () => S3Client = () => tracedClient(new S3Client({})),
): Required<Pick<AwsAdapters, "objects">> {
  return {
    objects: ({ bucketName }) => new S3ObjectStore(client(), bucketName),
  };
}
