/**
 * Lambda entry point: the revocation authorizer for API Gateway mutual TLS. API Gateway checks
 * the client certificate against its truststore but never checks revocation; this authorizer
 * allows a certificate only when this CA issued it, it is within its validity and it is not on
 * the current CRL (@spca/core/authorizer), and passes its subject, SANs and serial to the
 * integration as the authorizer context. Anything unparsable, and everything while there is no
 * CRL it can trust, is denied and logged with the reason (never with the certificate).
 *
 * - REST API, REQUEST authorizer: the certificate is `requestContext.identity.clientCert`, the
 *   answer an IAM policy for `methodArn`.
 * - HTTP API, payload format 2.0 with simple responses: the certificate is
 *   `requestContext.authentication.clientCert`, the answer `{isAuthorized, context}`.
 *
 * Environment: PKI_CRL_URL (the published DER CRL) and PKI_CA_BUNDLE_URL (the published PEM
 * bundle), each `http(s)://…` or `s3://bucket/key`; PKI_CRL_MAX_AGE_SECONDS (default 60), how
 * long a fetched CRL is used before it is confirmed again (a conditional request: an unchanged
 * CRL costs a 304, not a download). It needs no container: only fetch and, for s3://, S3.
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { Decision } from "@spca/core/authorizer/client-certificate-check";
import { parseSourceLocation } from "@spca/core/authorizer/published-source";
import {
  RevocationAuthorizer,
  type TrustChange,
} from "@spca/core/authorizer/revocation-authorizer";
import { PkiError } from "@spca/core/errors";
import { s3Requests } from "./clients/s3.ts";
import { type LambdaContext, logger, observed, tracedClient } from "./observability.ts";
import { logCalls } from "./sdk-call-log.ts";

export interface AuthorizerSettings {
  /** PKI_CRL_URL */
  readonly crlUrl: string;
  /** PKI_CA_BUNDLE_URL */
  readonly caBundleUrl: string;
  /** PKI_CRL_MAX_AGE_SECONDS */
  readonly maxAgeSeconds: number;
}

export const DEFAULT_CRL_MAX_AGE_SECONDS = 60;
/** A day: a CRL trusted unconfirmed for longer would make revocation meaningless. */
const MAX_CRL_MAX_AGE_SECONDS = 86_400;

export type LogDetails = Readonly<Record<string, string | number | boolean | undefined>>;

export interface AuthorizerLog {
  info(message: string, details: LogDetails): void;
  warn(message: string, details: LogDetails): void;
}

export interface AuthorizerDeps {
  readonly fetch?: typeof fetch;
  /** For s3:// URLs; default: the Lambda environment's client, made on first use. */
  readonly s3?: S3Client;
  readonly now?: () => Date;
  /** Default: the Powertools logger. */
  readonly log?: AuthorizerLog;
}

/** The client certificate as API Gateway describes it (only the PEM is relied on). */
export interface ClientCert {
  readonly clientCertPem?: string;
  readonly subjectDN?: string;
  readonly issuerDN?: string;
  readonly serialNumber?: string;
}

export interface RestAuthorizerEvent {
  readonly type?: string;
  readonly methodArn: string;
  readonly requestContext?: { readonly identity?: { readonly clientCert?: ClientCert | null } };
}

export interface HttpAuthorizerEvent {
  readonly version: "2.0";
  readonly type?: string;
  readonly routeArn?: string;
  readonly requestContext?: {
    readonly authentication?: { readonly clientCert?: ClientCert | null } | null;
  };
}

/** API Gateway takes only strings, numbers and booleans as context values. */
export type AuthorizerContext = Readonly<Record<string, string>>;

export interface RestAuthorizerResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: "2012-10-17";
    readonly Statement: readonly [
      {
        readonly Action: "execute-api:Invoke";
        readonly Effect: "Allow" | "Deny";
        readonly Resource: string;
      },
    ];
  };
  readonly context: AuthorizerContext;
}

export interface HttpSimpleResult {
  readonly isAuthorized: boolean;
  readonly context: AuthorizerContext;
}

export interface MtlsAuthorizerHandler {
  (event: HttpAuthorizerEvent, context?: LambdaContext): Promise<HttpSimpleResult>;
  (event: RestAuthorizerEvent, context?: LambdaContext): Promise<RestAuthorizerResult>;
  (event: unknown, context?: LambdaContext): Promise<RestAuthorizerResult | HttpSimpleResult>;
}

/** The settings from the environment; a missing or invalid variable is named in the error. */
export function authorizerSettingsFromEnv(env: NodeJS.ProcessEnv): AuthorizerSettings {
  return {
    crlUrl: locationVariable(env, "PKI_CRL_URL"),
    caBundleUrl: locationVariable(env, "PKI_CA_BUNDLE_URL"),
    maxAgeSeconds: maxAgeVariable(env, "PKI_CRL_MAX_AGE_SECONDS"),
  };
}

export function mtlsAuthorizer(
  settings: AuthorizerSettings,
  deps: AuthorizerDeps = {},
): MtlsAuthorizerHandler {
  const log = deps.log ?? logger;
  const s3 = deps.s3;
  const authorizer = new RevocationAuthorizer({
    ...settings,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    s3: s3 ? () => s3 : () => logCalls(tracedClient(new S3Client({})), s3Requests),
    onTrustChange: (change) => logTrustChange(log, change),
  });
  return observed("mtls-authorizer", async (event: unknown) => {
    const kind = eventKind(event);
    if (kind === undefined) {
      log.warn("mTLS authorizer: denied an event that is neither a REST nor an HTTP API one", {
        reason: "unrecognised event",
      });
      return answer(event, kind, undefined, undefined);
    }
    let decision: Decision;
    try {
      decision = await authorizer.decide(clientCertPem(event, kind));
    } catch (error) {
      // Not expected (decide denies rather than throws), but a throw must deny, not answer 500.
      decision = { allow: false, reason: `internal error: ${(error as Error).message}` };
    }
    if (decision.allow) {
      const { subject, sans, serial } = decision;
      log.info("mTLS client allowed", { serial, subject });
      return answer(event, kind, serial, { subject, sans, serial });
    }
    const details = { serial: decision.serial, reason: decision.reason };
    if (decision.failClosed) log.warn("mTLS client denied: no CRL to trust", details);
    else log.info("mTLS client denied", details);
    return answer(event, kind, decision.serial, undefined);
  }) as MtlsAuthorizerHandler;
}

let fromEnvironment: MtlsAuthorizerHandler | undefined;

/** Built from process.env on the first call, so importing this module needs no environment. */
export const handler = ((event: unknown, context?: LambdaContext) => {
  if (!fromEnvironment) {
    try {
      fromEnvironment = mtlsAuthorizer(authorizerSettingsFromEnv(process.env));
    } catch (error) {
      // Misconfigured: deny (fail closed) and say why, on every call until it is fixed.
      logger.error("mTLS authorizer is misconfigured: denying", error as Error);
      return Promise.resolve(answer(event, eventKind(event), undefined, undefined));
    }
  }
  return fromEnvironment(event, context);
}) as MtlsAuthorizerHandler;

type EventKind = "rest" | "http";

function eventKind(event: unknown): EventKind | undefined {
  if (event === null || typeof event !== "object") return undefined;
  const e = event as Record<string, unknown>;
  if (e.version === "2.0") return "http";
  if (typeof e.methodArn === "string") return "rest";
  return undefined;
}

function clientCertPem(event: unknown, kind: EventKind): unknown {
  const context = (event as { requestContext?: unknown }).requestContext;
  if (context === null || typeof context !== "object") return undefined;
  const holder = (context as Record<string, unknown>)[
    kind === "http" ? "authentication" : "identity"
  ];
  if (holder === null || typeof holder !== "object") return undefined;
  const cert = (holder as { clientCert?: unknown }).clientCert;
  if (cert === null || typeof cert !== "object") return undefined;
  return (cert as { clientCertPem?: unknown }).clientCertPem;
}

/**
 * The answer in the event's format; `context` undefined denies. An unrecognised event gets a
 * REST-style Deny on every resource (it cannot have come from either API).
 */
function answer(
  event: unknown,
  kind: EventKind | undefined,
  serial: string | undefined,
  context: AuthorizerContext | undefined,
): RestAuthorizerResult | HttpSimpleResult {
  const allow = context !== undefined && kind !== undefined;
  if (kind === "http") return { isAuthorized: allow, context: context ?? {} };
  const methodArn = (event as { methodArn?: unknown } | null)?.methodArn;
  return {
    principalId: serial ?? "unknown",
    policyDocument: {
      Version: "2012-10-17",
      Statement: [
        {
          Action: "execute-api:Invoke",
          Effect: allow ? "Allow" : "Deny",
          Resource: kind === "rest" && typeof methodArn === "string" ? methodArn : "*",
        },
      ],
    },
    context: allow ? context : {},
  };
}

function logTrustChange(log: AuthorizerLog, change: TrustChange): void {
  if (change.loaded) {
    log.info("mTLS authorizer: CRL loaded", {
      issuer: change.issuer,
      crlNumber: change.crlNumber?.toString(),
      entries: change.entries,
      thisUpdate: change.thisUpdate.toISOString(),
      nextUpdate: change.nextUpdate.toISOString(),
    });
  } else {
    log.warn("mTLS authorizer: CRL or CA bundle refused; denying every client", {
      reason: change.reason,
    });
  }
}

function locationVariable(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) {
    throw new PkiError(
      "CONFIG_INVALID",
      `The environment variable ${name} is not set (an http(s):// URL or s3://bucket/key).`,
    );
  }
  try {
    parseSourceLocation(value);
  } catch (error) {
    throw new PkiError("CONFIG_INVALID", `${name}: ${(error as Error).message}.`);
  }
  return value;
}

function maxAgeVariable(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name]?.trim();
  if (!text) return DEFAULT_CRL_MAX_AGE_SECONDS;
  const seconds = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds <= MAX_CRL_MAX_AGE_SECONDS)) {
    throw new PkiError(
      "CONFIG_INVALID",
      `${name} must be a whole number of seconds from 0 to ${MAX_CRL_MAX_AGE_SECONDS}, not "${text}".`,
    );
  }
  return seconds;
}
