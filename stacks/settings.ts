/**
 * The deployment's settings: the same configuration file local mode reads (validated here with
 * the same schema, so a bad file fails `sst deploy` before anything changes), plus what SST
 * tells about the stage. Operators pick another file with PKI_CONFIG=<path>, as for the CLI.
 */
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { type Config, parseConfig } from "../packages/core/src/policy/config.ts";

export interface Deployment {
  readonly app: string;
  readonly stage: string;
  /** The production stage keeps its data and key when removed, and cannot be removed. */
  readonly production: boolean;
  /** The validated configuration. */
  readonly config: Config;
  /**
   * The configuration file as written, relative to the project root (SST's copyFiles takes
   * root-relative paths): bundled with every function and validated again there.
   */
  readonly configPath: string;
}

export const PRODUCTION_STAGE = "production";

export function configPathFromEnvironment(env = process.env): string {
  return resolve(env.PKI_CONFIG || "pki.config.json");
}

export function readDeploymentConfig(path: string): Config {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  try {
    return parseConfig(json, path);
  } catch (e) {
    // The deploy output shows this message; PkiError's own text names the problems.
    throw new Error((e as Error).message);
  }
}

export function deployment(app: { name: string; stage: string }, env = process.env): Deployment {
  const configPath = configPathFromEnvironment(env);
  return {
    app: app.name,
    stage: app.stage,
    production: app.stage === PRODUCTION_STAGE,
    config: readDeploymentConfig(configPath),
    configPath: relative(process.cwd(), configPath),
  };
}

/** Lambda function names are at most 64 characters; say so before AWS does. */
export function functionName(d: Deployment, name: string): string {
  const full = `${d.app}-${d.stage}-${name}`;
  if (full.length > 64) {
    throw new Error(
      `The function name "${full}" is longer than Lambda's 64 characters: use a shorter stage name.`,
    );
  }
  return full;
}
