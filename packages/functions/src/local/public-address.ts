/**
 * Which address links and certificates name in local mode. Without a publicBaseUrl in the
 * configuration it is the address the service listens on, so `--port N` changes every approval
 * link, status link and CRL distribution point with it. A configured one is kept (a proxy in
 * front, a name in DNS), and a start-up warning names both when they differ; so does a CA
 * certificate made on an earlier start that points somewhere else.
 */
import type { Config } from "@spca/core/policy/config";
import type { ParsedCertificate } from "@spca/core/x509/certificate";
import { crlUrls } from "@spca/core/x509/crl-distribution-points";

export interface PublicAddress {
  readonly config: Config;
  /** The runtime adds its own (caAddressWarning) once the CA exists. */
  readonly warnings: string[];
}

/**
 * The configuration with the address links name: the configured one when the file
 * `namesPublicBaseUrl`, else the one the service listens on.
 */
export function publicAddress(
  config: Config,
  namesPublicBaseUrl: boolean,
  listening: string,
): PublicAddress {
  if (!namesPublicBaseUrl) return { config: { ...config, publicBaseUrl: listening }, warnings: [] };
  const warnings: string[] = [];
  if (config.publicBaseUrl !== listening) {
    warnings.push(
      `publicBaseUrl is ${config.publicBaseUrl} in the configuration, but the service listens on ${listening}: links in mails and URLs in new certificates name ${config.publicBaseUrl}. Drop publicBaseUrl from the configuration to follow --port, or make ${config.publicBaseUrl} reach ${listening}.`,
    );
  }
  return { config, warnings };
}

/**
 * A warning when the issuing CA's certificate, made on an earlier start, sends relying parties
 * for the root's CRL to another address than the one certificates name now.
 */
export function caAddressWarning(
  issuing: ParsedCertificate,
  publicBaseUrl: string,
): string | undefined {
  const url = crlUrls(issuing)[0];
  if (!url || url.startsWith(`${publicBaseUrl}/`)) return undefined;
  return `the issuing CA's certificate points to ${url} for the root's CRL (it was made on an earlier start), while this start names ${publicBaseUrl}: verifiers that check the whole chain (openssl -crl_check_all) fetch the root's CRL from the old address.`;
}
