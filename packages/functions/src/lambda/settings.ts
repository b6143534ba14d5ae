/**
 * What a Lambda function learns from its environment, which the stacks set: resource names and
 * the configuration. Read and checked once per container, so a misconfigured function fails on
 * its first invocation with a message naming the variable.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { PkiError } from "@spca/core/errors";
import type { OpenIdConnectSettings } from "@spca/core/identity/openid-connect";
import { type Config, namesPublicBaseUrl, parseConfig } from "@spca/core/policy/config";
import { type SigningAlgorithm, signingAlgorithms } from "@spca/core/signer/algorithms";
import { WEB_ASSETS_FOLDER } from "@spca/web/assets";
import { oidcFromEnvironment } from "./oidc-settings.ts";
import type { ViewerHeaders } from "./viewer-headers.ts";

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
  /**
   * The workflow's state machine (PKI_STATE_MACHINE_ARN): the API and the request sweeper
   * start executions.
   */
  readonly stateMachineArn: string | undefined;
  /**
   * The SES configuration set mails go out through (PKI_MAIL_CONFIGURATION_SET): the stage's
   * own, whose bounce and complaint events reach the alarm topic.
   */
  readonly mailConfigurationSet?: string | undefined;
  /**
   * PKI_VIEWER_HEADERS=cloudfront: the API is behind the Router, and the client's Authorization
   * and address come in its x-pki-* headers (viewer-headers.ts).
   */
  readonly viewerHeaders?: ViewerHeaders | undefined;
  /** PKI_OPEN_SUBMISSION=true: submissions without an API key (private networks only). */
  readonly openSubmission: boolean;
  /**
   * The deployment's name, `<app>-<stage>` (PKI_DEPLOYMENT): the enforcement sync tags and names
   * the CRLs it imports into IAM Roles Anywhere with it, and its IAM grants test that tag.
   */
  readonly deployment?: string | undefined;
  /**
   * The CA's own roles (PKI_CA_ROLE_ARNS, comma-separated): calls they make on the gates are
   * the sync's own, not drift (enforcement-drift.ts).
   */
  readonly caRoleArns?: readonly string[] | undefined;
  /**
   * The pages' stylesheet and script: the copy the stack puts beside the handler on Lambda
   * (LAMBDA_TASK_ROOT/web-assets); undefined elsewhere (the repository's own).
   */
  readonly webAssetsDir: string | undefined;
  /** People's sign-in (oidc-settings.ts); undefined: API keys only. */
  readonly oidc?: OpenIdConnectSettings | undefined;
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
    mailConfigurationSet: env.PKI_MAIL_CONFIGURATION_SET || undefined,
    viewerHeaders: viewerHeadersFrom(env.PKI_VIEWER_HEADERS),
    openSubmission: booleanFrom(env.PKI_OPEN_SUBMISSION, "PKI_OPEN_SUBMISSION"),
    deployment: deploymentFrom(env.PKI_DEPLOYMENT),
    caRoleArns: roleArnsFrom(env.PKI_CA_ROLE_ARNS),
    webAssetsDir: env.LAMBDA_TASK_ROOT
      ? resolve(env.LAMBDA_TASK_ROOT, WEB_ASSETS_FOLDER)
      : undefined,
    ...withOidc(env, configFromEnvironment(env)),
  };
}

function withOidc(env: Environment, config: Config) {
  return { config, oidc: oidcFromEnvironment(env, config) };
}

function viewerHeadersFrom(text: string | undefined): ViewerHeaders | undefined {
  if (!text) return undefined;
  if (text === "cloudfront") return text;
  throw new PkiError("CONFIG_INVALID", `PKI_VIEWER_HEADERS must be "cloudfront", not "${text}".`);
}

/** IAM Roles Anywhere CRL names allow letters, digits, spaces, `-` and `_` (at most 255). */
function deploymentFrom(text: string | undefined): string | undefined {
  if (!text) return undefined;
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) {
    throw new PkiError(
      "CONFIG_INVALID",
      `PKI_DEPLOYMENT must be letters, digits, "-" or "_" (<app>-<stage>), not "${text}".`,
    );
  }
  return text;
}

function roleArnsFrom(text: string | undefined): readonly string[] | undefined {
  if (text === undefined) return undefined;
  const arns = text
    .split(",")
    .map((arn) => arn.trim())
    .filter(Boolean);
  for (const arn of arns) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn)) {
      throw new PkiError("CONFIG_INVALID", `PKI_CA_ROLE_ARNS: "${arn}" is not an IAM role ARN.`);
    }
  }
  return arns;
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
 * The configuration: PKI_CONFIG holds the JSON itself, or PKI_CONFIG_FILE names a file bundled
 * with the function (the stacks bundle the file they validated; a relative path is read from
 * the function's directory). PKI_PUBLIC_BASE_URL, set by the stacks to the deployed origin,
 * replaces the file's publicBaseUrl (which serves local mode) before validation.
 */
function configFromEnvironment(env: Environment): Config {
  const source = env.PKI_CONFIG ? "PKI_CONFIG" : env.PKI_CONFIG_FILE;
  if (!source) {
    throw new PkiError("CONFIG_INVALID", "Set PKI_CONFIG (the JSON) or PKI_CONFIG_FILE (a path).");
  }
  let text: string;
  if (env.PKI_CONFIG) {
    text = env.PKI_CONFIG;
  } else {
    const path = resolve(env.LAMBDA_TASK_ROOT ?? process.cwd(), source);
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new PkiError("CONFIG_INVALID", `PKI_CONFIG_FILE ${path}: ${(e as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PkiError("CONFIG_INVALID", `${source} is not JSON: ${(e as Error).message}`);
  }
  if (env.PKI_PUBLIC_BASE_URL && typeof json === "object" && json !== null) {
    json = { ...json, publicBaseUrl: env.PKI_PUBLIC_BASE_URL.replace(/\/+$/, "") };
  }
  const config = parseConfig(json, source);
  // A function that guessed an address would mail links and sign URLs nobody can reach.
  if (!namesPublicBaseUrl(json)) {
    throw new PkiError(
      "CONFIG_INVALID",
      "The functions need the service's public address: set PKI_PUBLIC_BASE_URL (the stacks set it to the deployed origin) or publicBaseUrl in the configuration.",
    );
  }
  return config;
}
