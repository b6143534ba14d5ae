/**
 * X.509 Time: UTCTime for years before 2050 and GeneralizedTime from 2050 on (RFC 5280
 * 4.1.2.5), always whole seconds in UTC with a trailing Z. Computed from epoch seconds with
 * integer arithmetic because CRLs encode a million of them.
 */
import { DerError, Tag } from "./reader.ts";

const Y2050 = Date.UTC(2050, 0, 1) / 1000;

/** Truncates a date to whole seconds, the only precision X.509 carries here. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** Writes the full Time element (tag, length, digits) for `seconds` into `out` at `offset`. */
export function writeTime(out: Uint8Array, offset: number, seconds: number): number {
  const days = Math.floor(seconds / 86400);
  let rem = seconds - days * 86400;
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const minute = Math.floor(rem / 60);
  const second = rem - minute * 60;
  // Civil-from-days (Howard Hinnant's algorithm).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 1950 || year > 9999) throw new RangeError(`year ${year} cannot be encoded`);
  const generalized = seconds >= Y2050;
  out[offset++] = generalized ? Tag.GENERALIZED_TIME : Tag.UTC_TIME;
  out[offset++] = generalized ? 15 : 13;
  if (generalized) {
    offset = two(out, offset, Math.floor(year / 100));
  }
  offset = two(out, offset, year % 100);
  offset = two(out, offset, month);
  offset = two(out, offset, day);
  offset = two(out, offset, hour);
  offset = two(out, offset, minute);
  offset = two(out, offset, second);
  out[offset++] = 0x5a; // 'Z'
  return offset;
}

export function timeLength(seconds: number): number {
  return seconds >= Y2050 ? 17 : 15;
}

export function encodeTime(date: Date): Uint8Array {
  const seconds = Math.floor(date.getTime() / 1000);
  const out = new Uint8Array(timeLength(seconds));
  writeTime(out, 0, seconds);
  return out;
}

function two(out: Uint8Array, offset: number, n: number): number {
  out[offset] = 0x30 + Math.floor(n / 10);
  out[offset + 1] = 0x30 + (n % 10);
  return offset + 2;
}

/** Parses a strict DER UTCTime or GeneralizedTime value (YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ). */
export function decodeTime(tag: number, value: Uint8Array, what = "Time"): Date {
  const text = String.fromCharCode(...value);
  let year: number;
  let rest: string;
  if (tag === Tag.UTC_TIME) {
    if (!/^\d{12}Z$/.test(text)) throw new DerError(`${what}: UTCTime must be YYMMDDHHMMSSZ`);
    const yy = Number(text.slice(0, 2));
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = text.slice(2);
  } else if (tag === Tag.GENERALIZED_TIME) {
    if (!/^\d{14}Z$/.test(text)) {
      throw new DerError(`${what}: GeneralizedTime must be YYYYMMDDHHMMSSZ`);
    }
    year = Number(text.slice(0, 4));
    rest = text.slice(4);
  } else {
    throw new DerError(`${what}: expected UTCTime or GeneralizedTime`);
  }
  const month = Number(rest.slice(0, 2));
  const day = Number(rest.slice(2, 4));
  const hour = Number(rest.slice(4, 6));
  const minute = Number(rest.slice(6, 8));
  const second = Number(rest.slice(8, 10));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new DerError(`${what}: ${text} is not a valid date`);
  }
  return check;
}
