/** The account, region and partition being deployed to, for building ARNs. */
export interface AwsContext {
  readonly partition: $util.Output<string>;
  readonly region: $util.Output<string>;
  readonly accountId: $util.Output<string>;
}

export function awsContext(): AwsContext {
  return {
    partition: aws.getPartitionOutput().partition,
    region: aws.getRegionOutput().region,
    accountId: aws.getCallerIdentityOutput().accountId,
  };
}
