/**
 * How long HTTP caches (the Router's CloudFront, relying parties' proxies) may keep what is
 * published. A CRL changes with every revocation, and a revocation is meant to reach relying
 * parties within about a minute: a CRL may be cached for a minute at most, and never for longer
 * than the refresh interval, so a cache never serves one the schedule has replaced. The CA
 * certificate and the trust store change only when the CA certificate does.
 */
import type { Config } from "../policy/config.ts";

/** The longest a CRL may be cached, in seconds. */
export const CRL_MAX_AGE_SECONDS = 60;

export function crlCacheControl(crl: Config["crl"]): string {
  const refreshSeconds = Math.floor(crl.refreshHours * 3600);
  return `public, max-age=${Math.max(1, Math.min(CRL_MAX_AGE_SECONDS, refreshSeconds))}`;
}

/** CA certificates and the trust-store bundle: an hour, as a CA certificate rarely changes. */
export const CA_OBJECT_CACHE_CONTROL = "public, max-age=3600";
