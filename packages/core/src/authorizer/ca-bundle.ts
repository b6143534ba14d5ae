/**
 * The CA bundle an authorizer trusts (the published truststore.pem, the file API Gateway's
 * truststore is made from): its CA certificates, read once per version of the bundle.
 */
import { type KeyObject, X509Certificate } from "node:crypto";
import { decodePemBlocks } from "../encoding/pem.ts";
import { parseCertificate } from "../x509/certificate.ts";
import { describeName } from "../x509/name.ts";

export interface TrustedCa {
  readonly certificate: X509Certificate;
  /** Made once: X509Certificate.publicKey builds a new KeyObject on every read. */
  readonly publicKey: KeyObject;
  /** The subject Name's DER: a CRL's issuer field must equal it byte for byte. */
  readonly subject: Uint8Array;
  readonly spki: Uint8Array;
  /** The subject as text, for logs and reasons. */
  readonly name: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A bundle that cannot be used: not PEM, a certificate that does not parse, or no CA in it. */
export class UntrustedBundleError extends Error {
  override readonly name = "UntrustedBundleError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Every CA certificate (basicConstraints cA=TRUE) in a PEM bundle; other certificates are skipped. */
export function parseCaBundle(bytes: Uint8Array): TrustedCa[] {
  let blocks: ReturnType<typeof decodePemBlocks>;
  try {
    // Bundles may carry explanatory text between blocks (RFC 7468 section 2).
    blocks = decodePemBlocks(utf8.decode(bytes), { explanatoryText: true });
  } catch (error) {
    throw new UntrustedBundleError(`the CA bundle is not PEM: ${(error as Error).message}`);
  }
  const cas: TrustedCa[] = [];
  for (const [index, block] of blocks.entries()) {
    if (block.label !== "CERTIFICATE") continue;
    let ca: TrustedCa;
    try {
      const parsed = parseCertificate(block.der);
      const certificate = new X509Certificate(block.der);
      ca = {
        certificate,
        publicKey: certificate.publicKey,
        subject: parsed.subject,
        spki: parsed.spki,
        name: describeName(parsed.subject),
        notBefore: parsed.notBefore,
        notAfter: parsed.notAfter,
      };
    } catch (error) {
      throw new UntrustedBundleError(
        `certificate ${index + 1} of the CA bundle does not parse: ${(error as Error).message}`,
      );
    }
    if (ca.certificate.ca) cas.push(ca);
  }
  if (cas.length === 0) throw new UntrustedBundleError("the CA bundle holds no CA certificate");
  return cas;
}
