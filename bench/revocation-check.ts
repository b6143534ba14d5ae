/**
 * The `revocation` bench's check on each side's last CRL: it must list every seeded serial and
 * every certificate revoked during the run, and nothing else, so a side that published less
 * (or an older CRL) cannot look fast.
 */
import { normaliseSerial } from "@spca/core/certificate/serial";
import { parseCrl } from "@spca/core/crl/parse";
import { benchEntries } from "./revoked-entries.ts";

export interface CrlCheck {
  readonly entries: number;
  /** Empty when the CRL lists exactly what it should. */
  readonly problems: readonly string[];
}

export function checkCrl(der: Uint8Array, seeded: number, revoked: readonly string[]): CrlCheck {
  const listed = new Set<string>();
  let entries = 0;
  for (const entry of parseCrl(der).entries()) {
    listed.add(entry.serialHex);
    entries++;
  }
  const problems: string[] = [];
  if (listed.size !== entries) problems.push(`${entries - listed.size} serials listed twice`);
  // The parser writes serials as normaliseSerial does: lowercase, no leading zero bytes.
  let missingSeeded = 0;
  for (const entry of benchEntries(seeded))
    if (!listed.has(normaliseSerial(entry.serialHex)!)) missingSeeded++;
  if (missingSeeded) problems.push(`${missingSeeded} of the ${seeded} seeded serials missing`);
  const missing = revoked.filter((serial) => !listed.has(serial));
  if (missing.length)
    problems.push(`${missing.length} revoked serials missing (${missing.slice(0, 3).join(", ")})`);
  if (entries !== seeded + revoked.length)
    problems.push(`${entries} entries, not ${seeded} seeded + ${revoked.length} revoked`);
  return { entries, problems };
}
