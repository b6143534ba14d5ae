/**
 * DER encoding by concatenation, for the streaming CRL encoder (crl/build.ts) and the fixed
 * AlgorithmIdentifiers: each helper returns the complete encoding of one element, with no
 * object per element. Certificates and CSRs are built with pkijs instead (docs/decisions.md).
 * Callers pass values that are already valid; the writer only frames them.
 */
import { Tag } from "./reader.ts";

export type Der = Uint8Array;

function headerLength(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : length < 0x1000000 ? 5 : 6;
}

/** Writes a tag and length at `offset` in `out`; returns the offset after the header. */
export function writeHeader(out: Uint8Array, offset: number, tag: number, length: number): number {
  out[offset++] = tag;
  if (length < 0x80) {
    out[offset++] = length;
    return offset;
  }
  const count = headerLength(length) - 2;
  out[offset++] = 0x80 | count;
  for (let i = count - 1; i >= 0; i--) out[offset++] = (length / 256 ** i) & 0xff;
  return offset;
}

export function encodedLength(valueLength: number): number {
  return headerLength(valueLength) + valueLength;
}

/** One element whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Der[]): Der {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(headerLength(length) + length);
  let offset = writeHeader(out, 0, tag, length);
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export const sequence = (...parts: Der[]): Der => tlv(Tag.SEQUENCE, ...parts);
export const set = (...parts: Der[]): Der => tlv(Tag.SET, ...parts);
export const octetString = (value: Uint8Array): Der => tlv(Tag.OCTET_STRING, value);
export const utf8String = (text: string): Der =>
  tlv(Tag.UTF8_STRING, new TextEncoder().encode(text));
export const printableString = (text: string): Der => tlv(Tag.PRINTABLE_STRING, ascii(text));
export const NULL: Der = Uint8Array.of(Tag.NULL, 0);

export function boolean(value: boolean): Der {
  return Uint8Array.of(Tag.BOOLEAN, 1, value ? 0xff : 0);
}

/** [n] EXPLICIT wrapper (constructed context tag). */
export function explicit(n: number, ...parts: Der[]): Der {
  return tlv(0xa0 | n, ...parts);
}

/** [n] IMPLICIT primitive value. */
export function implicitPrimitive(n: number, value: Uint8Array): Der {
  return tlv(0x80 | n, value);
}

/** INTEGER from unsigned big-endian magnitude bytes (leading zeros trimmed, sign byte added). */
function unsignedInteger(magnitude: Uint8Array): Der {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  if (trimmed.length === 0) return Uint8Array.of(Tag.INTEGER, 1, 0);
  return (trimmed[0]! & 0x80) !== 0
    ? tlv(Tag.INTEGER, Uint8Array.of(0), trimmed)
    : tlv(Tag.INTEGER, trimmed);
}

export function smallInteger(n: number): Der {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`not a small non-negative integer: ${n}`);
  const bytes: number[] = [];
  do {
    bytes.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  return unsignedInteger(Uint8Array.from(bytes));
}

export function bigInteger(n: bigint): Der {
  if (n < 0n) throw new RangeError("negative integers are not used here");
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return unsignedInteger(hexToBytes(hex));
}

/** BIT STRING holding whole bytes (keys, signatures). */
export function bitString(bytes: Uint8Array, unusedBits = 0): Der {
  return tlv(Tag.BIT_STRING, Uint8Array.of(unusedBits), bytes);
}

const oidEncodings = new Map<string, Der>();

export function oid(dotted: string): Der {
  const cached = oidEncodings.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split(".").map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`invalid OID ${dotted}`);
    return Number(a);
  });
  if (arcs.length < 2) throw new RangeError(`invalid OID ${dotted}`);
  const body: number[] = [];
  const values = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  for (const value of values) {
    const chunk: number[] = [value & 0x7f];
    let v = Math.floor(value / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    body.push(...chunk);
  }
  const encoded = tlv(Tag.OID, Uint8Array.from(body));
  oidEncodings.set(dotted, encoded);
  return encoded;
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** ASCII text as bytes; values are validated before encoding, so anything else is a bug. */
export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e) throw new RangeError("non-ASCII character in an ASCII string type");
    out[i] = c;
  }
  return out;
}
