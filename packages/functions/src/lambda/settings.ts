/**
 * What a Lambda function learns from its environment, which the stacks set: resource names and
 * the configuration. Read and checked once per container, so a misconfigured function fails on
 * its first invocation with a message naming the variable.
 */
import { PkiError } from "@spca/core/errors";
import { type Config, loadConfig, parseConfig } from "@spca/core/policy/config";
import { type SigningAlgorithm, signingAlgorithms } from "@spca/core/signer/algorithms";

export interface LambdaSettings {
  /** The DynamoDB table (PKI_TABLE). */
  readonly tableName: string;
  /** The private bucket for certificates and the CA chain (PKI_BUCKET). */
  readonly bucketName: string;
  /** The EventBridge bus (PKI_EVENT_BUS). */
  readonly eventBusName: string;
  /** The issuing CA's KMS key id or ARN (PKI_CA_KEY_ID). */
  readonly caKeyId: string;
  /** PKI_CA_SIGNING_ALGORITHM, when the key spec's default (e.g. PKCS#1 for RSA) is not wanted. */
  readonly caSigningAlgorithm: SigningAlgorithm | undefined;
  /** The workflow's state machine (PKI_STATE_MACHINE_ARN); only the API starts executions. */
  readonly stateMachineArn: string | undefined;
  /** PKI_OPEN_SUBMISSION=true: submissions without an API key (private networks only). */
  readonly openSubmission: boolean;
  readonly config: Config;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export function settingsFromEnvironment(env: Environment): LambdaSettings {
  const required = (name: string): string => {
    const value = env[name];
    if (!value)
      throw new PkiError("CONFIG_INVALID", `The environment variable ${name} is not set.`);
    return value;
  };
  return {
    tableName: required("PKI_TABLE"),
    bucketName: required("PKI_BUCKET"),
    eventBusName: required("PKI_EVENT_BUS"),
    caKeyId: required("PKI_CA_KEY_ID"),
    caSigningAlgorithm: signingAlgorithmFrom(env.PKI_CA_SIGNING_ALGORITHM),
    stateMachineArn: env.PKI_STATE_MACHINE_ARN || undefined,
    openSubmission: booleanFrom(env.PKI_OPEN_SUBMISSION, "PKI_OPEN_SUBMISSION"),
    config: configFromEnvironment(env),
  };
}

function booleanFrom(text: string | undefined, name: string): boolean {
  if (text === undefined || text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new PkiError("CONFIG_INVALID", `${name} must be "true" or "false", not "${text}".`);
}

function signingAlgorithmFrom(text: string | undefined): SigningAlgorithm | undefined {
  if (!text) return undefined;
  if (!(signingAlgorithms as readonly string[]).includes(text)) {
    throw new PkiError(
      "CONFIG_INVALID",
      `PKI_CA_SIGNING_ALGORITHM must be one of ${signingAlgorithms.join(", ")}, not "${text}".`,
    );
  }
  return text as SigningAlgorithm;
}

/**
 * The configuration: PKI_CONFIG holds the JSON itself (the stacks inline the validated file),
 * or PKI_CONFIG_FILE names a file bundled with the function.
 */
function configFromEnvironment(env: Environment): Config {
  if (env.PKI_CONFIG) {
    let json: unknown;
    try {
      json = JSON.parse(env.PKI_CONFIG);
    } catch (e) {
      throw new PkiError("CONFIG_INVALID", `PKI_CONFIG is not JSON: ${(e as Error).message}`);
    }
    return parseConfig(json, "PKI_CONFIG");
  }
  if (env.PKI_CONFIG_FILE) return loadConfig(env.PKI_CONFIG_FILE);
  throw new PkiError("CONFIG_INVALID", "Set PKI_CONFIG (the JSON) or PKI_CONFIG_FILE (a path).");
}
