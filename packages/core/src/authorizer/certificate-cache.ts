/**
 * Client certificates already parsed and checked against their CA, by PEM. A client presents the
 * same certificate on every request, and parsing it and verifying its signature are most of a
 * decision's cost; both depend only on the certificate and the CA, so keeping them is exact.
 * Validity and revocation are still checked on every decision. Bounded: the least recently
 * used entry goes first.
 */
import type { TrustedCa } from "./ca-bundle.ts";
import type { ClientCertificate } from "./client-certificate-check.ts";

export interface CachedCertificate {
  readonly cert: ClientCertificate;
  /** issuerProblem(cert, ca) for one CA object: a new bundle version makes new CA objects. */
  verdict?: { readonly ca: TrustedCa; readonly issuerProblem: string | undefined };
}

/** Real client certificates are 1–2 KB of PEM; a larger one is decided on but not kept. */
const MAX_CACHED_PEM = 8 * 1024;

export class CertificateCache {
  private readonly capacity: number;
  private readonly entries = new Map<string, CachedCertificate>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get(pem: string): CachedCertificate | undefined {
    const entry = this.entries.get(pem);
    if (entry) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.entries.delete(pem);
      this.entries.set(pem, entry);
    }
    return entry;
  }

  add(pem: string, entry: CachedCertificate): void {
    if (this.capacity <= 0 || pem.length > MAX_CACHED_PEM) return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(pem, entry);
  }
}
