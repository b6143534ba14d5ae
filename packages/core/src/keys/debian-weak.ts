/**
 * Debian weak keys (DSA-1571, 2008): OpenSSL on Debian seeded its PRNG with little more than
 * the process id, so every RSA key it made is one of a few hundred thousand. The blocklist
 * uses openssl-vulnkey's fingerprint, sha1("Modulus=" + HEX + "\n"), of which we keep the low
 * 64 bits: with a few hundred thousand entries a false match has odds around 2^-46.
 *
 * Data file (debian-weak-rsa.bin): "DWK1", u32 count, then the sorted fingerprints as
 * LEB128-encoded differences from their predecessor. scripts/build-debian-blocklist.ts makes it.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const DATA_FILE = new URL("./debian-weak-rsa.bin", import.meta.url);
const MAGIC = "DWK1";

let cached: BigUint64Array | undefined;

/** The shipped blocklist, read and decoded on first use only (ECDSA-only callers never pay). */
function fingerprints(): BigUint64Array {
  cached ??= decodeBlocklist(readFileSync(DATA_FILE));
  return cached;
}

export function encodeBlocklist(sorted: readonly bigint[]): Uint8Array {
  const out: number[] = [...Buffer.from(MAGIC, "latin1"), 0, 0, 0, 0];
  const count = sorted.length;
  out[4] = count >>> 24;
  out[5] = (count >>> 16) & 0xff;
  out[6] = (count >>> 8) & 0xff;
  out[7] = count & 0xff;
  let previous = 0n;
  for (const value of sorted) {
    if (value < previous) throw new RangeError("fingerprints must be sorted");
    let delta = value - previous;
    previous = value;
    do {
      const byte = Number(delta & 0x7fn);
      delta >>= 7n;
      out.push(delta > 0n ? byte | 0x80 : byte);
    } while (delta > 0n);
  }
  return Uint8Array.from(out);
}

export function decodeBlocklist(data: Uint8Array): BigUint64Array {
  if (Buffer.from(data.subarray(0, 4)).toString("latin1") !== MAGIC) {
    throw new Error("debian-weak-rsa.bin: bad magic");
  }
  const count = ((data[4]! << 24) | (data[5]! << 16) | (data[6]! << 8) | data[7]!) >>> 0;
  const values = new BigUint64Array(count);
  let offset = 8;
  let previous = 0n;
  for (let i = 0; i < count; i++) {
    let delta = 0n;
    let shift = 0n;
    for (;;) {
      const byte = data[offset++];
      if (byte === undefined) throw new Error("debian-weak-rsa.bin: truncated");
      delta |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) break;
    }
    previous += delta;
    values[i] = previous;
  }
  return values;
}

/** openssl-vulnkey's fingerprint of a modulus, truncated to its low 64 bits. */
export function debianFingerprint(modulus: Uint8Array): bigint {
  const hex = Buffer.from(modulus).toString("hex").toUpperCase().replace(/^0+/, "");
  const digest = createHash("sha1").update(`Modulus=${hex}\n`).digest();
  return digest.readBigUInt64BE(12);
}

export function isDebianWeak(modulus: Uint8Array): boolean {
  const list = fingerprints();
  const target = debianFingerprint(modulus);
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const value = list[mid]!;
    if (value === target) return true;
    if (value < target) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function blocklistSize(): number {
  return fingerprints().length;
}
