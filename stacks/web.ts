/**
 * One public origin for the REST API, the approval pages and the published CRL and CA
 * certificates: a CloudFront Router in front of the API function's URL. The API answers the
 * publication paths (/crl/…, /ca/…, /truststore.pem) from the private bucket for exactly the
 * publication keys, so nothing in the bucket is public and one origin serves everything the
 * certificates point at. With `aws.domain` the Router gets the custom domain and its
 * certificate (Route 53); otherwise the CloudFront domain is the public base URL.
 */
import type { Deployment } from "./settings.ts";

export interface Web {
  readonly router: sst.aws.Router;
  /** What certificates embed (CRL distribution point, AIA) and approval links point at. */
  readonly publicBaseUrl: $util.Output<string>;
}

export function web(d: Deployment): Web {
  const domain = d.config.aws.domain;
  const router = new sst.aws.Router("Router", {
    ...(domain
      ? {
          domain: {
            name: domain.name,
            dns: sst.aws.dns(domain.hostedZoneId ? { zone: domain.hostedZoneId } : {}),
          },
        }
      : {}),
  });
  const publicBaseUrl = domain ? $output(`https://${domain.name}`) : router.url;
  return { router, publicBaseUrl };
}
