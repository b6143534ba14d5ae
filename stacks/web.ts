/**
 * One public origin: a CloudFront Router in front of the API function (the REST API and the
 * pages) and of the private bucket (the published CRLs, CA certificates and trust store, at the
 * paths certificates name), so relying parties' fetches are CloudFront cache hits and a CRL of
 * any size is served, not capped by a function response.
 *
 * - The function URL answers CloudFront alone: SST's `oac-with-edge-signing` protection makes it
 *   AWS_IAM, invokable by this distribution only, with a Lambda@Edge function adding the body
 *   hash SigV4 needs (so bodies are limited to 1 MB; CSRs are far smaller).
 * - OAC signing replaces the viewer's Authorization header, and the function sees the edge's
 *   address, not the client's: the viewer-request function copies both into x-pki-* headers
 *   (overwriting any a client sent), which the API reads behind the Router (PKI_VIEWER_HEADERS).
 * - The bucket answers this distribution alone (bucket policy on AWS:SourceArn), for exactly the
 *   publication keys; objects carry their Cache-Control (crl/publication-cache.ts).
 * - With `aws.domain` the distribution gets the custom domain and its certificate, and keeps
 *   answering on its CloudFront name: certificates issued before the domain was added name that
 *   host in their CRL distribution point and AIA. (SST's Router `domain` would refuse it.)
 * - A web application firewall guards the distribution unless switched off (firewall.ts).
 */
import type { Deployment } from "./settings.ts";

export interface Web {
  readonly router: sst.aws.Router;
  /** What certificates embed (CRL distribution point, AIA) and links in mails point at. */
  readonly publicBaseUrl: $util.Output<string>;
  /** The distribution's ARN: the only source the function URL and the bucket answer. */
  readonly distributionArn: $util.Output<string>;
}

/** What puts a web application firewall in front of the Router (firewall.ts makes it). */
export interface Firewall {
  readonly waf?: sst.aws.RouterArgs["waf"];
  readonly transformWaf?: (args: aws.wafv2.WebAclArgs) => undefined;
}

/** The publication paths, served from the bucket (the key is the path without its slash). */
export const PUBLICATION_ROUTES = ["/crl", "/ca", "/truststore.pem"] as const;

/**
 * Runs first in SST's viewer-request function (cloudfront-js-2.0). It must stay small: the whole
 * function is limited to 10 KB.
 */
export const VIEWER_HEADERS_INJECTION = `
const h = event.request.headers;
delete h["x-pki-authorization"];
if (h.authorization) h["x-pki-authorization"] = { value: h.authorization.value };
h["x-pki-viewer-address"] = { value: event.viewer.ip };`;

export function web(d: Deployment, guard: Firewall = {}): Web {
  const domain = d.config.aws.domain;
  const router = new sst.aws.Router("Router", {
    protection: "oac-with-edge-signing",
    edge: { viewerRequest: { injection: VIEWER_HEADERS_INJECTION } },
    ...(guard.waf ? { waf: guard.waf } : {}),
    transform: {
      ...(guard.transformWaf ? { waf: guard.transformWaf } : {}),
      ...(domain
        ? {
            // On the CDN rather than the Router, whose `domain` blocks the CloudFront host.
            cdn: (args: sst.aws.CdnArgs) => {
              args.domain = {
                name: domain.name,
                dns: sst.aws.dns(domain.hostedZoneId ? { zone: domain.hostedZoneId } : {}),
              };
            },
          }
        : {}),
    },
  });
  return {
    router,
    publicBaseUrl: domain ? $output(`https://${domain.name}`) : router.url,
    distributionArn: router.nodes.cdn.apply((cdn) => cdn.nodes.distribution.arn),
  };
}

/** Routes the publication paths to the bucket (through origin access control). */
export function publishFromBucket(site: Web, bucket: sst.aws.Bucket): void {
  for (const path of PUBLICATION_ROUTES) site.router.routeBucket(path, bucket);
}
