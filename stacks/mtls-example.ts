/**
 * An example of an HTTP API that only this CA's unrevoked client certificates reach. Not
 * deployed unless asked for (PKI_EXAMPLE_MTLS_DOMAIN and PKI_EXAMPLE_MTLS_CA_ID at deploy time):
 * - a regional custom domain with mutual TLS, trusting `s3://<bucket>/truststore.pem`. The
 *   enforcement sync points the domain at each new version of the bundle, so the domain must be
 *   in `enforcement.apiGatewayDomains`, and the deploy leaves the version alone afterwards;
 * - the default execute-api endpoint disabled: a client could otherwise skip mutual TLS by
 *   calling it;
 * - the revocation authorizer (mtls-authorizer.ts) on its one route, which answers with the
 *   CA's public CRL status (a plain HTTP proxy: no function of its own).
 */

import { mtlsAuthorizer } from "./mtls-authorizer.ts";
import type { Deployment } from "./settings.ts";

export interface MtlsExampleSettings {
  /** The custom domain (a Route 53 zone of the account must hold it). */
  readonly domain: string;
  /** The issuing CA's id, 16 hex digits (`npx pki crl status` and /v1/crl/status show it). */
  readonly caId: string;
}

/** The example's settings from the deploy's environment, or undefined when it is not wanted. */
export function mtlsExampleFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): MtlsExampleSettings | undefined {
  const domain = env.PKI_EXAMPLE_MTLS_DOMAIN;
  if (!domain) return undefined;
  const caId = env.PKI_EXAMPLE_MTLS_CA_ID ?? "";
  if (!/^[0-9a-f]{16}$/.test(caId)) {
    throw new Error(
      "PKI_EXAMPLE_MTLS_CA_ID must be the issuing CA's id (16 hex digits: npx pki crl status).",
    );
  }
  return { domain, caId };
}

export function exampleMtlsApi(
  d: Deployment,
  settings: MtlsExampleSettings,
  bucket: sst.aws.Bucket,
  publicBaseUrl: $util.Input<string>,
  published: $util.Input<$util.Resource>,
) {
  const domains = d.config.enforcement.apiGatewayDomains.map((name) => name.toLowerCase());
  if (!domains.includes(settings.domain.toLowerCase())) {
    throw new Error(
      `The mTLS example's domain ${settings.domain} must be in enforcement.apiGatewayDomains: ` +
        "the enforcement sync keeps its truststore on the current CA bundle.",
    );
  }
  const truststoreUri = $interpolate`s3://${bucket.name}/truststore.pem`;
  const api = new sst.aws.ApiGatewayV2("MtlsExample", {
    domain: settings.domain,
    // Clients are services with certificates, not browsers: no CORS.
    cors: false,
    transform: {
      api: (args) => {
        args.disableExecuteApiEndpoint = true;
      },
      domainName: (args, opts) => {
        args.mutualTlsAuthentication = { truststoreUri };
        // The sync owns the version from here on (UpdateDomainName); a deploy must not undo it.
        opts.ignoreChanges = [
          ...(opts.ignoreChanges ?? []),
          "mutualTlsAuthentication.truststoreVersion",
        ];
        // truststore.pem exists once the deploy's bootstrap has published.
        opts.dependsOn = [published];
      },
    },
  });
  const check = mtlsAuthorizer("MtlsExampleAuthorizer", {
    api,
    crlUrl: $interpolate`s3://${bucket.name}/crl/${settings.caId}.crl`,
    caBundleUrl: truststoreUri,
    logRetention: d.config.aws.logRetention,
  });
  api.routeUrl("GET /", $interpolate`${publicBaseUrl}/v1/crl/status`, {
    auth: { lambda: check.authorizer.id },
  });
  return { api, ...check };
}
