/**
 * What a mutual-TLS front tells the application behind it about the client certificate: the
 * fields ALB forwards in its X-Amzn-Mtls-Clientcert-* headers and API Gateway puts in
 * `requestContext.authentication.clientCert`, each in the format that service uses.
 */
import type { X509Certificate } from "node:crypto";
import { OID } from "@spca/core/der/oids";
import { encodePem } from "@spca/core/encoding/pem";
import { findExtension, parseCertificate } from "@spca/core/x509/certificate";
import { parseSubjectAltNames, type San } from "@spca/core/x509/general-names";

export interface ClientCertFields {
  /** RFC 2253 (last RDN first), as ALB forwards it: "CN=alice.example.internal,O=Example". */
  readonly subject: string;
  readonly issuer: string;
  /** The serial as the service names it: unsigned lowercase hex. */
  readonly serial: string;
  readonly sans: readonly San[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly pem: string;
}

/**
 * Node prints a name one RDN a line in certificate order, values already escaped as RFC 2253
 * asks and the attributes of a multi-valued RDN joined by " + " (a "+" in a value is "\+").
 */
function nodeNameLines(text: string): string[][] {
  return text === "" ? [] : text.split("\n").map((rdn) => rdn.split(" + "));
}

/** RFC 2253: the RDNs in reverse order, comma-separated, as OpenSSL's -nameopt RFC2253. */
function rfc2253(text: string): string {
  return nodeNameLines(text)
    .reverse()
    .map((rdn) => [...rdn].reverse().join("+"))
    .join(",");
}

/** The RDNs in certificate order, comma-separated, as API Gateway's subjectDN and issuerDN. */
export function certificateOrderDn(text: string): string {
  return nodeNameLines(text)
    .map((rdn) => rdn.join("+"))
    .join(",");
}

export function clientCertFields(peer: X509Certificate): ClientCertFields {
  const parsed = parseCertificate(new Uint8Array(peer.raw));
  const san = findExtension(parsed, OID.subjectAltName);
  return {
    subject: rfc2253(peer.subject),
    issuer: rfc2253(peer.issuer),
    serial: parsed.serialHex,
    sans: san ? parseSubjectAltNames(san.value) : [],
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    pem: encodePem("CERTIFICATE", parsed.der),
  };
}

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** The headers ALB adds in verify mode, with the values it gives them. */
export function albClientCertHeaders(fields: ClientCertFields): Record<string, string> {
  return {
    // Hexadecimal, as the service writes serials everywhere else.
    "X-Amzn-Mtls-Clientcert-Serial-Number": fields.serial,
    "X-Amzn-Mtls-Clientcert-Issuer": fields.issuer,
    "X-Amzn-Mtls-Clientcert-Subject": fields.subject,
    "X-Amzn-Mtls-Clientcert-Validity": `NotBefore=${isoSeconds(fields.notBefore)};NotAfter=${isoSeconds(fields.notAfter)}`,
    // URL-encoded PEM with "+", "=" and "/" left as they are.
    "X-Amzn-Mtls-Clientcert-Leaf": encodeURIComponent(fields.pem).replace(
      /%2B|%3D|%2F/g,
      decodeURIComponent,
    ),
  };
}
