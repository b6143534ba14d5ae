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

/** The trust-store bundle: every CA certificate of the chain, PEM (ALB, API Gateway mTLS). */
export const TRUSTSTORE_KEY = "truststore.pem";

const PUBLICATION_KEY =
  /^(?:crl\/[0-9a-f]{16}\.crl(?:\.pem)?|ca\/[0-9a-f]{16}\.(?:cer|pem)|truststore\.pem)$/;

/** Whether a bucket key is one of the public objects (never a certificate or pending request). */
export function isPublicationKey(key: string): boolean {
  return PUBLICATION_KEY.test(key);
}
