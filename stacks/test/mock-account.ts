/** The account, Region and deploying role the synthesis mocks answer with (synth-mocks.ts). */
export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
/** The role whose session runs the deploy (aws.iam.getSessionContext's issuer). */
export const DEPLOYER_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/deployer`;
/** Who runs the deploy: a session of that role (aws.getCallerIdentity's ARN). */
export const DEPLOYER_SESSION_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/deploy-session`;
