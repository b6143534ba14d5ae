/**
 * The revoked serials both CRL builders get in the benchmark: deterministic 128-bit positive
 * serials (a seeded PRNG, so our builder and OpenSSL's index.txt hold exactly the same list),
 * spread over the reasons both builders know.
 */
import type { RevokedEntry } from "@spca/core/crl/build";
import type { RevocationReason } from "@spca/core/crl/reasons";

const reasons: RevocationReason[] = [
  "unspecified",
  "keyCompromise",
  "superseded",
  "cessationOfOperation",
  "affiliationChanged",
]; // not privilegeWithdrawn: `openssl ca` does not know it

/** 2026-01-01T00:00:00Z; entry i was revoked i seconds later. */
const FIRST_REVOCATION = 1_767_225_600;

export function* benchEntries(count: number): Generator<RevokedEntry> {
  // mulberry32: tiny, fast and good enough to make 4M distinct 32-bit words in a row.
  let state = 0x5eed;
  const word = (): string => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0).toString(16).padStart(8, "0");
  };
  for (let i = 0; i < count; i++) {
    // Clear the top bit so the serial is positive in 16 bytes, as randomSerial's are.
    const first = (Number.parseInt(word(), 16) & 0x7fffffff).toString(16).padStart(8, "0");
    yield {
      serialHex: first + word() + word() + word(),
      revokedAt: FIRST_REVOCATION + i,
      reason: reasons[i % reasons.length]!,
    };
  }
}

/** The revoked certificate's notAfter (epoch seconds): a year after its revocation. */
export function entryNotAfter(entry: RevokedEntry): number {
  return entry.revokedAt + 365 * 86400;
}

/** One line of an `openssl ca` index.txt for a revoked certificate. */
export function indexLine(entry: RevokedEntry): string {
  const revoked = opensslTime(entry.revokedAt);
  const reason = entry.reason === "unspecified" ? "" : `,${entry.reason}`;
  return `R\t${opensslTime(entryNotAfter(entry))}\t${revoked}${reason}\t${entry.serialHex.toUpperCase()}\tunknown\t/CN=revoked\n`;
}

export function opensslTime(epochSeconds: number): string {
  // YYMMDDHHMMSSZ, the UTCTime form index.txt uses.
  return `${new Date(epochSeconds * 1000).toISOString().replace(/[-:T]/g, "").slice(2, 14)}Z`;
}
