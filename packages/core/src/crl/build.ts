/**
 * CRL construction (RFC 5280 5.1): version 2, cRLNumber, authorityKeyIdentifier, per-entry
 * reason codes. Entries are streamed from an iterable straight into one growing byte buffer,
 * with room kept in front for the headers, so a CRL of a million entries costs about its own
 * size in memory (not an object per entry) and is never copied whole.
 */
import { createHash } from "node:crypto";
import type { Authority } from "../ca/authority.ts";
import { OID } from "../der/oids.ts";
import { Tag } from "../der/reader.ts";
import { encodeTime, timeLength, writeTime } from "../der/time.ts";
import {
  bigInteger,
  bitString,
  type Der,
  encodedLength,
  explicit,
  implicitPrimitive,
  octetString,
  oid,
  sequence,
  smallInteger,
  writeHeader,
} from "../der/writer.ts";
import { type RevocationReason, revocationReasons } from "./reasons.ts";

export interface RevokedEntry {
  /** Serial as unsigned hex (any case, even or odd length). */
  readonly serialHex: string;
  /** Revocation time in epoch seconds. */
  readonly revokedAt: number;
  readonly reason: RevocationReason;
}

export interface CrlContents {
  /** cRLNumber: strictly increasing per CA, below 2^159. */
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: Iterable<RevokedEntry>;
}

/** The largest header the TBS and outer SEQUENCE can need in front of the entries. */
const HEADROOM_FIXED = 64;

export async function buildCrl(authority: Authority, contents: CrlContents): Promise<Uint8Array> {
  if (contents.number < 0n || contents.number >= 2n ** 159n)
    throw new RangeError("cRLNumber out of range");
  const thisUpdate = seconds(contents.thisUpdate);
  const nextUpdate = seconds(contents.nextUpdate);
  if (nextUpdate <= thisUpdate) throw new RangeError("nextUpdate must follow thisUpdate");

  const head: Der[] = [
    smallInteger(1), // v2
    authority.algorithm.identifier,
    authority.certificate.subject,
    encodeTime(new Date(thisUpdate * 1000)),
    encodeTime(new Date(nextUpdate * 1000)),
  ];
  const headLength = head.reduce((n, p) => n + p.length, 0);
  const crlExtensions = explicit(
    0,
    sequence(
      sequence(
        oid(OID.authorityKeyIdentifier),
        octetString(sequence(implicitPrimitive(0, authority.keyIdentifier))),
      ),
      sequence(oid(OID.cRLNumber), octetString(bigInteger(contents.number))),
    ),
  );

  // Entries go after a headroom big enough for: outer header, TBS header, head fields and
  // the revokedCertificates header. The exact start is fixed once their length is known.
  const headroom = HEADROOM_FIXED + headLength;
  const sink = new ByteSink(headroom + 4096);
  sink.length = headroom;
  for (const entry of contents.entries) writeEntry(sink, entry);
  const entriesLength = sink.length - headroom;

  const tail = crlExtensions;
  const revokedLength = entriesLength > 0 ? encodedLength(entriesLength) : 0;
  const tbsContentLength = headLength + revokedLength + tail.length;
  const tbsLength = encodedLength(tbsContentLength);
  const tbsStart =
    headroom - (revokedLength - entriesLength) - headLength - (tbsLength - tbsContentLength);

  // Write the headers backwards into the headroom, then the extensions after the entries.
  let offset = writeHeader(sink.bytes, tbsStart, Tag.SEQUENCE, tbsContentLength);
  for (const part of head) {
    sink.bytes.set(part, offset);
    offset += part.length;
  }
  if (entriesLength > 0) offset = writeHeader(sink.bytes, offset, Tag.SEQUENCE, entriesLength);
  if (offset !== headroom) throw new Error("CRL header layout mismatch");
  sink.append(tail);
  const tbs = sink.bytes.subarray(tbsStart, sink.length);

  const signature = await authority.signer.sign(tbs);
  const signatureValue = bitString(signature);
  const outerContentLength =
    tbs.length + authority.algorithm.identifier.length + signatureValue.length;
  const outerHeaderLength = encodedLength(outerContentLength) - outerContentLength;
  const crlStart = tbsStart - outerHeaderLength;
  if (crlStart < 0) throw new Error("CRL headroom too small");
  writeHeader(sink.bytes, crlStart, Tag.SEQUENCE, outerContentLength);
  sink.append(authority.algorithm.identifier);
  sink.append(signatureValue);
  return sink.bytes.subarray(crlStart, sink.length);
}

function writeEntry(sink: ByteSink, entry: RevokedEntry): void {
  const serial = serialBytes(entry.serialHex);
  const reason = revocationReasons[entry.reason];
  if (reason === undefined) throw new RangeError(`unknown revocation reason ${entry.reason}`);
  const serialLength = serial.length + ((serial[0]! & 0x80) !== 0 ? 1 : 0);
  const timeLen = timeLength(entry.revokedAt);
  const extLength = reason === 0 ? 0 : REASON_PREFIX.length + 1;
  const contentLength = 2 + serialLength + timeLen + extLength;
  sink.reserve(contentLength + 2);
  const out = sink.bytes;
  let o = writeHeader(out, sink.length, Tag.SEQUENCE, contentLength);
  out[o++] = Tag.INTEGER;
  out[o++] = serialLength;
  if (serialLength > serial.length) out[o++] = 0;
  out.set(serial, o);
  o += serial.length;
  o = writeTime(out, o, entry.revokedAt);
  if (extLength > 0) {
    out.set(REASON_PREFIX, o);
    o += REASON_PREFIX.length;
    out[o++] = reason;
  }
  sink.length = o;
}

// crlEntryExtensions SEQUENCE { Extension SEQUENCE { OID reasonCode, OCTET STRING { ENUMERATED } } },
// all but the final reason octet, which writeEntry appends.
const REASON_PREFIX = Uint8Array.of(
  0x30,
  0x0c,
  0x30,
  0x0a,
  0x06,
  0x03,
  0x55,
  0x1d,
  0x15,
  0x04,
  0x03,
  0x0a,
  0x01,
);

function serialBytes(hex: string): Uint8Array {
  const clean = hex.replace(/^0+/, "");
  if (clean.length === 0 || clean.length > 40 || !/^[0-9a-fA-F]+$/.test(clean)) {
    throw new RangeError(`invalid serial ${hex}`);
  }
  return Buffer.from(clean.length % 2 ? `0${clean}` : clean, "hex");
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** A growable byte buffer that doubles, so appends are amortised O(1). */
class ByteSink {
  bytes: Uint8Array;
  length = 0;

  constructor(initial: number) {
    this.bytes = new Uint8Array(initial);
  }

  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  append(part: Uint8Array): void {
    this.reserve(part.length);
    this.bytes.set(part, this.length);
    this.length += part.length;
  }
}

/** SHA-256 of a CRL, for logs and status reports. */
export function crlFingerprint(crl: Uint8Array): string {
  return createHash("sha256").update(crl).digest("hex");
}
