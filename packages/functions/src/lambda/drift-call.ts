/**
 * Reading a CloudTrail management event ("AWS API Call via CloudTrail", as EventBridge
 * delivers it) and deciding whether it is drift: a call that changed one of our gates or the
 * publication bucket, made by someone other than the CA's own roles. Pure: the drift function
 * (enforcement-drift.ts) logs, counts and announces what this returns.
 */
import { CLOUDTRAIL_DETAIL_TYPE, DRIFT_CALLS, type DriftSource } from "./enforcement-names.ts";

/** The facts of one call, as far as drift needs them. */
export interface CloudTrailCall {
  readonly eventId: string;
  readonly source: DriftSource;
  /** CloudTrail's eventSource, e.g. "elasticloadbalancing.amazonaws.com". */
  readonly eventSource: string;
  readonly eventName: string;
  readonly eventTime: string;
  /** The role behind a session, else the caller's own ARN (a user, the root), else its type. */
  readonly actor: string;
  readonly requestParameters: Readonly<Record<string, unknown>>;
  readonly responseElements: Readonly<Record<string, unknown>>;
  /** Set when AWS refused the call: then nothing changed. */
  readonly errorCode: string | undefined;
}

/** What this deployment watches: the configured gates and its publication bucket. */
export interface WatchedResources {
  readonly trustStoreArns: readonly string[];
  readonly domainNames: readonly string[];
  readonly trustAnchorArns: readonly string[];
  readonly bucket: string;
  /** The CA's own roles: their calls are the sync's, not drift. */
  readonly caRoleArns: readonly string[];
}

export type Reading<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

const skip = (reason: string) => ({ ok: false, reason }) as const;

/** The call an EventBridge delivery carries, or why it is not one this function reads. */
export function readCloudTrailCall(event: unknown): Reading<CloudTrailCall> {
  if (typeof event !== "object" || event === null) return skip("the event is not an object");
  const envelope = event as Record<string, unknown>;
  if (envelope["detail-type"] !== CLOUDTRAIL_DETAIL_TYPE) {
    return skip(`detail-type ${JSON.stringify(envelope["detail-type"])} is not a CloudTrail call`);
  }
  const source = envelope.source;
  if (typeof source !== "string" || !Object.hasOwn(DRIFT_CALLS, source)) {
    return skip(`source ${JSON.stringify(source)} is not watched`);
  }
  const detail = envelope.detail as Record<string, unknown> | undefined;
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const eventName = text(detail?.eventName);
  const eventId = text(detail?.eventID);
  const eventTime = text(detail?.eventTime) ?? text(envelope.time);
  if (!detail || !eventName || !eventId || !eventTime || Number.isNaN(Date.parse(eventTime))) {
    return skip("the detail lacks eventName, eventID or a valid eventTime");
  }
  if (!(DRIFT_CALLS[source as DriftSource] as readonly string[]).includes(eventName)) {
    return skip(`${eventName} is not a watched call`);
  }
  const identity = (detail.userIdentity ?? {}) as Record<string, unknown>;
  const issuer = ((identity.sessionContext as Record<string, unknown> | undefined)?.sessionIssuer ??
    {}) as Record<string, unknown>;
  const object = (value: unknown) =>
    typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  return {
    ok: true,
    value: {
      eventId: eventId.slice(0, 128),
      source: source as DriftSource,
      eventSource: text(detail.eventSource) ?? source,
      eventName,
      eventTime: new Date(eventTime).toISOString(),
      actor: (
        text(issuer.arn) ??
        text(identity.arn) ??
        text(identity.invokedBy) ??
        text(identity.type) ??
        "unknown"
      ).slice(0, 2048),
      requestParameters: object(detail.requestParameters),
      responseElements: object(detail.responseElements),
      errorCode: text(detail.errorCode),
    },
  };
}

/** The resource of ours the call changed, or why it is not drift. */
export function driftResource(call: CloudTrailCall, watched: WatchedResources): Reading<string> {
  if (watched.caRoleArns.includes(call.actor)) return skip(`made by the CA's own ${call.actor}`);
  if (call.errorCode) return skip(`refused by AWS (${call.errorCode}): nothing changed`);
  const found = resourceOf(call, watched);
  return found ? { ok: true, value: found } : skip(`${call.eventName} names no resource of ours`);
}

function resourceOf(call: CloudTrailCall, watched: WatchedResources): string | undefined {
  const p = call.requestParameters;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  switch (call.source) {
    case "aws.elasticloadbalancing": {
      const arn = text(p.trustStoreArn ?? p.TrustStoreArn);
      return watched.trustStoreArns.includes(arn) ? arn : undefined;
    }
    case "aws.apigateway": {
      // Custom domain names are case-insensitive.
      const name = text(p.domainName ?? p.DomainName).toLowerCase();
      return watched.domainNames.find((d) => d.toLowerCase() === name);
    }
    case "aws.s3":
      return text(p.bucketName) === watched.bucket ? watched.bucket : undefined;
    case "aws.rolesanywhere": {
      // A CRL names its trust anchor in the response; a trust anchor call names its id.
      const crl = (call.responseElements.crl ?? {}) as Record<string, unknown>;
      const anchor = text(crl.trustAnchorArn);
      if (anchor && watched.trustAnchorArns.includes(anchor)) return text(crl.crlArn) || anchor;
      const id = text(p.trustAnchorId);
      return id ? watched.trustAnchorArns.find((arn) => arn.endsWith(`/${id}`)) : undefined;
    }
  }
}
