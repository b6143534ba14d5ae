/**
 * A renewal keeps to the names it renews: every SAN and subject attribute of its CSR must be
 * on the renewed certificate. Fewer names are fine (a host retired); any other would get a
 * name issued without the approval the original had.
 */
import type { CheckedCsr } from "../csr/intake.ts";
import { parseCertificate } from "../x509/certificate.ts";
import type { San } from "../x509/general-names.ts";
import { type NameEntry, parseName } from "../x509/name.ts";

/** What the renewed certificate names, read from the certificate itself. */
export interface RenewedNames {
  readonly subject: readonly NameEntry[];
  readonly sans: readonly San[];
  /** Its SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
}

export function renewedNames(certificateDer: Uint8Array, sans: readonly San[]): RenewedNames {
  const parsed = parseCertificate(certificateDer);
  return { subject: parseName(parsed.subject), sans, spki: parsed.spki };
}

// Host names and mail domains are case-insensitive; IPs are canonical text already.
const sanKey = (san: San) =>
  san.type === "dns" || san.type === "email"
    ? `${san.type}:${san.value.toLowerCase()}`
    : `${san.type}:${san.value}`;

/** The CSR's names the renewed certificate does not have, e.g. ["dns:b.example.com", "O=X"]. */
export function widenedNames(renewed: RenewedNames, csr: CheckedCsr): string[] {
  const sans = new Set(renewed.sans.map(sanKey));
  const attributes = new Set(renewed.subject.map((e) => `${e.type}=${e.value}`));
  return [
    ...csr.sans.map(sanKey).filter((key) => !sans.has(key)),
    ...csr.subject.entries.map((e) => `${e.type}=${e.value}`).filter((a) => !attributes.has(a)),
  ];
}
