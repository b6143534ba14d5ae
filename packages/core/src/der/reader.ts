/**
 * A strict DER reader. It accepts exactly the distinguished encoding: definite, minimal lengths,
 * low-number tags, minimal INTEGERs, canonical BOOLEANs and BIT STRINGs. Anything else throws
 * DerError. It never copies: values are subarrays of the input, so parsing a CSR costs a few
 * microseconds and no object graph.
 */
export class DerError extends Error {
  override readonly name = "DerError";
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag byte: [n] primitive or constructed. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One decoded element: its tag and where its header and value lie in the input. */
export interface Element {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first value byte. */
  readonly valueStart: number;
  /** Offset just past the value. */
  readonly end: number;
}

export class DerReader {
  readonly bytes: Uint8Array;
  private pos: number;
  private readonly limit: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.limit = end;
  }

  get position(): number {
    return this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.limit;
  }

  /** The next tag byte without consuming it, or -1 at the end. */
  peekTag(): number {
    return this.pos < this.limit ? this.bytes[this.pos]! : -1;
  }

  /** Reads the next element's header and skips over its value. */
  next(expectedTag?: number, what = "element"): Element {
    const bytes = this.bytes;
    const start = this.pos;
    if (start >= this.limit) throw new DerError(`${what}: unexpected end of data`);
    const tag = bytes[start]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: high-tag-number form is not used here`);
    if (expectedTag !== undefined && tag !== expectedTag) {
      throw new DerError(`${what}: expected tag 0x${hex2(expectedTag)}, found 0x${hex2(tag)}`);
    }
    let p = start + 1;
    if (p >= this.limit) throw new DerError(`${what}: truncated length`);
    const first = bytes[p++]!;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else if (first === 0x80) {
      throw new DerError(`${what}: indefinite length is BER, not DER`);
    } else {
      const count = first & 0x7f;
      if (count > 4) throw new DerError(`${what}: length field of ${count} bytes is too long`);
      if (p + count > this.limit) throw new DerError(`${what}: truncated length`);
      if (bytes[p] === 0) throw new DerError(`${what}: non-minimal length encoding`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[p++]!;
      if (length < 0x80) throw new DerError(`${what}: non-minimal length encoding`);
    }
    const end = p + length;
    if (end > this.limit) throw new DerError(`${what}: value runs past the end of its container`);
    this.pos = end;
    return { tag, start, valueStart: p, end };
  }

  /** Reads a constructed element and returns a reader over its contents. */
  enter(expectedTag: number, what?: string): DerReader {
    const el = this.next(expectedTag, what);
    return new DerReader(this.bytes, el.valueStart, el.end);
  }

  /** Reads the next element only if its tag matches. */
  optional(tag: number, what?: string): Element | undefined {
    return this.peekTag() === tag ? this.next(tag, what) : undefined;
  }

  /** Throws unless every byte of this container has been read. */
  finish(what = "structure"): void {
    if (this.pos !== this.limit) throw new DerError(`${what}: unexpected extra data`);
  }

  value(el: Element): Uint8Array {
    return this.bytes.subarray(el.valueStart, el.end);
  }

  /** The element's whole encoding, header included. */
  raw(el: Element): Uint8Array {
    return this.bytes.subarray(el.start, el.end);
  }

  readerOf(el: Element): DerReader {
    return new DerReader(this.bytes, el.valueStart, el.end);
  }

  // Typed readers ---------------------------------------------------------------------------

  /** A minimally encoded INTEGER's two's-complement bytes. */
  integer(what = "INTEGER"): Uint8Array {
    return checkInteger(this.value(this.next(Tag.INTEGER, what)), what);
  }

  /** A small non-negative INTEGER (versions, counts) as a number. */
  smallInteger(what = "INTEGER"): number {
    const v = this.integer(what);
    if (v.length > 4 || (v[0]! & 0x80) !== 0) throw new DerError(`${what}: out of range`);
    let n = 0;
    for (const b of v) n = n * 256 + b;
    return n;
  }

  boolean(what = "BOOLEAN"): boolean {
    const v = this.value(this.next(Tag.BOOLEAN, what));
    if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) {
      throw new DerError(`${what}: BOOLEAN must be one byte, 00 or FF`);
    }
    return v[0] === 0xff;
  }

  oid(what = "OBJECT IDENTIFIER"): string {
    return decodeOid(this.value(this.next(Tag.OID, what)), what);
  }

  null(what = "NULL"): void {
    const el = this.next(Tag.NULL, what);
    if (el.end !== el.valueStart) throw new DerError(`${what}: NULL must be empty`);
  }

  /** A BIT STRING's bytes and unused-bit count, with DER's zero padding enforced. */
  bitString(what = "BIT STRING"): { bytes: Uint8Array; unusedBits: number } {
    return checkBitString(this.value(this.next(Tag.BIT_STRING, what)), what);
  }

  octetString(what = "OCTET STRING"): Uint8Array {
    return this.value(this.next(Tag.OCTET_STRING, what));
  }
}

export function checkInteger(v: Uint8Array, what: string): Uint8Array {
  if (v.length === 0) throw new DerError(`${what}: empty INTEGER`);
  if (v.length > 1) {
    const a = v[0]!;
    const b = v[1]!;
    if ((a === 0x00 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) !== 0)) {
      throw new DerError(`${what}: non-minimal INTEGER encoding`);
    }
  }
  return v;
}

export function checkBitString(
  v: Uint8Array,
  what: string,
): { bytes: Uint8Array; unusedBits: number } {
  if (v.length === 0) throw new DerError(`${what}: BIT STRING without its unused-bits byte`);
  const unusedBits = v[0]!;
  if (unusedBits > 7 || (v.length === 1 && unusedBits !== 0)) {
    throw new DerError(`${what}: invalid unused-bits count ${unusedBits}`);
  }
  const bytes = v.subarray(1);
  if (unusedBits > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new DerError(`${what}: unused bits must be zero in DER`);
  }
  return { bytes, unusedBits };
}

const oidCache = new Map<string, string>();

export function decodeOid(v: Uint8Array, what = "OBJECT IDENTIFIER"): string {
  if (v.length === 0) throw new DerError(`${what}: empty OBJECT IDENTIFIER`);
  if (v.length > 64) throw new DerError(`${what}: OBJECT IDENTIFIER is too long`);
  // Most OIDs seen are a few well-known ones: cache their text by their bytes.
  const key = String.fromCharCode(...v);
  const cached = oidCache.get(key);
  if (cached !== undefined) return cached;
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (fresh && b === 0x80) throw new DerError(`${what}: non-minimal sub-identifier`);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError(`${what}: arc too large`);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0;
    }
  }
  if (!fresh) throw new DerError(`${what}: truncated sub-identifier`);
  const firstArc = arcs[0]!;
  const head =
    firstArc < 40 ? [0, firstArc] : firstArc < 80 ? [1, firstArc - 40] : [2, firstArc - 80];
  const text = [...head, ...arcs.slice(1)].join(".");
  if (oidCache.size < 1024) oidCache.set(key, text);
  return text;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
