/**
 * The decision on one client certificate, given a CRL that has been verified: allowed only when
 * the CRL's CA issued it (its issuer name, key identifier and signature all match that CA), it
 * is within its validity, it is not itself a CA certificate, and its serial is not on the CRL.
 * Anything that does not parse is denied. An allowed certificate's subject, SANs and serial go
 * to the integration.
 */
import { X509Certificate } from "node:crypto";
import { OID } from "../der/oids.ts";
import { DerReader, Tag } from "../der/reader.ts";
import { findExtension, parseCertificate } from "../x509/certificate.ts";
import { ipToText } from "../x509/general-names.ts";
import type { TrustedCa } from "./ca-bundle.ts";
import type { RevocationList } from "./revocation-list.ts";

export type Decision =
  | {
      readonly allow: true;
      /** "CN=client.example, O=Example": OpenSSL's RFC 2253 escaping, in certificate order. */
      readonly subject: string;
      /** "DNS:a.example, IP:10.0.0.1": empty without a subjectAltName. */
      readonly sans: string;
      /** Lowercase hex, no leading zero byte: the form the CRL's serials are compared in. */
      readonly serial: string;
    }
  | {
      readonly allow: false;
      readonly reason: string;
      /** Set once the certificate parsed, for logs. */
      readonly serial?: string;
      /** Denied because there is no CRL to trust, whatever the certificate. */
      readonly failClosed?: true;
    };

/** A client certificate parsed once; the decision itself depends on the CRL and the time. */
export interface ClientCertificate {
  readonly x509: X509Certificate;
  readonly serial: string;
  readonly subject: string;
  readonly sans: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Far above any real client certificate; refuses to spend time on a pasted book. */
const MAX_PEM_LENGTH = 64 * 1024;

/** The certificate in `pem`, or the reason it cannot be decided on. */
export function readClientCertificate(pem: unknown): ClientCertificate | { problem: string } {
  if (typeof pem !== "string" || pem.trim() === "") {
    return { problem: "no client certificate was presented" };
  }
  if (pem.length > MAX_PEM_LENGTH) {
    return { problem: `the client certificate PEM is over ${MAX_PEM_LENGTH} characters` };
  }
  try {
    const x509 = new X509Certificate(pem);
    // Our strict DER parser as well: a certificate OpenSSL tolerates but that is not DER was
    // not issued by this CA.
    const parsed = parseCertificate(x509.raw);
    const san = findExtension(parsed, OID.subjectAltName);
    return {
      x509,
      serial: parsed.serialHex,
      // OpenSSL escapes "," "+" and the like inside values, so the lines can be joined.
      subject: x509.subject.split("\n").join(", "),
      sans: san ? formatSans(san.value) : "",
      notBefore: parsed.notBefore,
      notAfter: parsed.notAfter,
    };
  } catch (error) {
    return { problem: `the client certificate does not parse: ${(error as Error).message}` };
  }
}

/**
 * Why `ca` did not issue `cert`, or undefined when it did. This is the costly part (a signature
 * check) and depends only on the two certificates, so callers may keep its result.
 */
export function issuerProblem(cert: ClientCertificate, ca: TrustedCa): string | undefined {
  if (cert.x509.ca) return "it is a CA certificate, not a client certificate";
  // checkIssued compares the issuer name (and key identifiers) with the CA's; the signature
  // check is what proves the CA issued it.
  if (!cert.x509.checkIssued(ca.certificate)) return `it was not issued by ${ca.name}`;
  if (!cert.x509.verify(ca.publicKey)) return `its signature does not verify under ${ca.name}`;
  return undefined;
}

/**
 * The decision for a parsed certificate under `list` (which must be current) at `now`. `kept`
 * is issuerProblem(cert, list.issuer) when the caller kept it; else it is computed here.
 */
export function checkClientCertificate(
  cert: ClientCertificate,
  list: RevocationList,
  now: Date,
  kept?: { readonly issuerProblem: string | undefined },
): Decision {
  const { serial } = cert;
  const deny = (reason: string): Decision => ({ allow: false, reason, serial });
  const ca = list.issuer;
  const issued = kept ? kept.issuerProblem : issuerProblem(cert, ca);
  if (issued !== undefined) return deny(issued);
  const t = now.getTime();
  if (t < cert.notBefore.getTime())
    return deny(`it is not valid before ${cert.notBefore.toISOString()}`);
  if (t > cert.notAfter.getTime()) return deny(`it expired on ${cert.notAfter.toISOString()}`);
  if (t < ca.notBefore.getTime() || t > ca.notAfter.getTime())
    return deny(`its CA certificate (${ca.name}) is outside its validity`);
  if (list.isRevoked(serial)) {
    const number = list.number === undefined ? "" : ` ${list.number}`;
    return deny(`it is revoked (CRL${number})`);
  }
  return { allow: true, subject: cert.subject, sans: cert.sans, serial };
}

const sanLabels: Record<number, string> = {
  129: "email",
  130: "DNS",
  134: "URI",
  135: "IP",
  160: "othername",
  163: "X400Name",
  164: "DirName",
  165: "EdiPartyName",
  136: "RID",
};

/** GeneralNames as "DNS:a.example, IP:10.0.0.1"; kinds this CA never issues are only named. */
function formatSans(extnValue: Uint8Array): string {
  const names = new DerReader(extnValue).enter(Tag.SEQUENCE, "subjectAltName");
  const out: string[] = [];
  while (!names.atEnd()) {
    const el = names.next(undefined, "GeneralName");
    const value = names.value(el);
    const label = sanLabels[el.tag] ?? `[${el.tag.toString(16)}]`;
    if (el.tag === 0x87)
      out.push(`IP:${value.length === 4 || value.length === 16 ? ipToText(value) : "?"}`);
    else if (el.tag === 0x81 || el.tag === 0x82 || el.tag === 0x86)
      // IA5String: anything outside printable ASCII is shown as "?", never passed on raw.
      out.push(`${label}:${String.fromCharCode(...value).replace(/[^\x20-\x7e]/g, "?")}`);
    else out.push(`${label}:<unsupported>`);
  }
  return out.join(", ");
}
