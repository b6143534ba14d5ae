/** The account, region and partition being deployed to, and who deploys, for building ARNs. */
export interface AwsContext {
  readonly partition: $util.Output<string>;
  readonly region: $util.Output<string>;
  readonly accountId: $util.Output<string>;
  /** The deploying principal (a role session's ARN, when a role deploys). */
  readonly callerArn: $util.Output<string>;
}

export function awsContext(): AwsContext {
  const caller = aws.getCallerIdentityOutput();
  return {
    partition: aws.getPartitionOutput().partition,
    region: aws.getRegionOutput().region,
    accountId: caller.accountId,
    callerArn: caller.arn,
  };
}
