/**
 * Serial numbers: 128 bits from the CSPRNG, positive (top bit clear) and with a non-zero first
 * byte so the INTEGER is always 16 octets: unpredictable, unique in practice, <= 20 octets.
 */
import { randomFillSync } from "node:crypto";

export function randomSerial(): Uint8Array {
  const serial = new Uint8Array(16);
  do {
    randomFillSync(serial);
    serial[0]! &= 0x7f;
  } while (serial[0] === 0);
  return serial;
}

/** Normalises operator-typed serials ("0A:1B…", "0x0a1b", "0a1b") to lowercase hex, no leading zeros. */
export function normaliseSerial(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/^0x/, "").replace(/:/g, "");
  if (!/^[0-9a-f]{1,40}$/.test(hex)) return undefined;
  const trimmed = hex.replace(/^0+/, "");
  return trimmed === "" ? undefined : trimmed.length % 2 ? `0${trimmed}` : trimmed;
}
