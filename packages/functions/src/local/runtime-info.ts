/**
 * runtime.json in the data folder: where a running local service listens and its admin key,
 * for scripts and for the CLI, which goes through the service's API while it runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic } from "@spca/core/store/files";

export interface RuntimeInfo {
  readonly api: string;
  readonly mail: string;
  /** The S3 stand-in's endpoint and the bucket holding certificates and published objects. */
  readonly s3: string;
  readonly bucket: string;
  /**
   * The ALB stand-in (mutual TLS checked against the published bundle and CRLs) and the API
   * Gateway stand-in (bundle in the handshake, revocation by the mTLS authorizer), https://.
   */
  readonly mtlsGateway: string;
  readonly apiGateway: string;
  /** What links in mails and URLs in certificates name (the API's address unless configured). */
  readonly publicBaseUrl: string;
  readonly adminKey: string;
  /**
   * People's sign-in: the OpenID provider's issuer, and for the local stand-in its one client
   * (this service), so scripts can get an access token for the API.
   */
  readonly oidc: {
    readonly issuer: string;
    readonly clientId?: string;
    readonly clientSecret?: string;
  };
  readonly pid: number;
}

const infoFile = (dataDir: string) => join(dataDir, "runtime.json");

export function readRuntimeInfo(dataDir: string): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(infoFile(dataDir), "utf8")) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

export function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): void {
  writeAtomic(infoFile(dataDir), `${JSON.stringify(info, null, 2)}\n`);
}
