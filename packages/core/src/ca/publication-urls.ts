/**
 * Where a CA's CRL and certificate are published, relative to the deployment's public base
 * URL. Certificates embed these (CRL distribution point, AIA caIssuers), so the layout is fixed.
 */
export interface PublicationUrls {
  /** DER CRL, served as application/pkix-crl. */
  readonly crl: string;
  /** DER CA certificate, served as application/pkix-cert. */
  readonly caCertificate: string;
}

export function publicationUrls(publicBaseUrl: string, caId: string): PublicationUrls {
  return {
    crl: `${publicBaseUrl}/crl/${caId}.crl`,
    caCertificate: `${publicBaseUrl}/ca/${caId}.cer`,
  };
}

/** Object keys in the publication bucket, mirroring the URL paths. */
export function publicationKeys(caId: string) {
  return {
    crl: `crl/${caId}.crl`,
    crlPem: `crl/${caId}.crl.pem`,
    caCertificate: `ca/${caId}.cer`,
    caCertificatePem: `ca/${caId}.pem`,
  } as const;
}
