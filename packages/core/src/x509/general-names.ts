/**
 * Subject alternative names: parsing them out of a CSR with every syntax rule an issuing CA
 * enforces, and encoding the approved ones into a certificate. A SAN is kept as the text an
 * operator reads (host name, dotted or RFC 5952 IP, address, URI) plus its kind.
 */
import { domainToUnicode } from "node:url";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { DerError, DerReader, Tag } from "../der/reader.ts";
import { PkiError } from "../errors.ts";

export type SanType = "dns" | "ip" | "email" | "uri";

export interface San {
  readonly type: SanType;
  /** Textual form: as written for dns/email/uri, canonical text for ip. */
  readonly value: string;
}

/** The most SANs any CSR may carry, before any profile's own, lower limit. */
export const MAX_SANS = 100;

const GN_EMAIL = 0x81;
const GN_DNS = 0x82;
const GN_URI = 0x86;
const GN_IP = 0x87;
const unsupportedKinds: Record<number, string> = {
  160: "otherName",
  163: "x400Address",
  164: "directoryName",
  165: "ediPartyName",
  136: "registeredID",
};

/** Parses the extnValue of a subjectAltName extension. */
export function parseSubjectAltNames(extnValue: Uint8Array): San[] {
  const outer = new DerReader(extnValue);
  const names = outer.enter(Tag.SEQUENCE, "subjectAltName");
  outer.finish("subjectAltName");
  const result: San[] = [];
  const seen = new Set<string>();
  while (!names.atEnd()) {
    if (result.length >= MAX_SANS) {
      let total = result.length;
      while (!names.atEnd()) {
        names.next(undefined, "GeneralName");
        total++;
      }
      throw new PkiError("CSR_TOO_MANY_SANS", `It has ${total}; the limit is ${MAX_SANS}.`, {
        count: total,
      });
    }
    const el = names.next(undefined, "GeneralName");
    const value = names.value(el);
    let san: San;
    switch (el.tag) {
      case GN_DNS:
        san = { type: "dns", value: checkDnsName(ia5(value, "dNSName")) };
        break;
      case GN_IP:
        san = { type: "ip", value: ipToText(value) };
        break;
      case GN_EMAIL:
        san = { type: "email", value: checkEmail(ia5(value, "rfc822Name")) };
        break;
      case GN_URI:
        san = { type: "uri", value: checkUri(ia5(value, "uniformResourceIdentifier")) };
        break;
      default: {
        const kind = unsupportedKinds[el.tag];
        if (kind === undefined)
          throw new DerError(`GeneralName: unknown tag 0x${el.tag.toString(16)}`);
        throw new PkiError(
          "CSR_SAN_UNSUPPORTED_TYPE",
          `A ${kind} SAN was requested; only DNS, IP, email and URI names are issued.`,
        );
      }
    }
    const key = `${san.type}:${san.type === "ip" ? san.value : san.value.toLowerCase()}`;
    if (seen.has(key)) {
      throw new PkiError("CSR_SAN_DUPLICATE", `${san.type} ${san.value} is listed twice.`);
    }
    seen.add(key);
    result.push(san);
  }
  return result;
}

/** Decodes an IA5String value, refusing control characters and anything outside ASCII. */
function ia5(value: Uint8Array, what: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c < 0x20 || c === 0x7f) {
      throw new PkiError(
        "CSR_NAME_CONTROL_CHARACTER",
        `The ${what} contains byte 0x${c.toString(16).padStart(2, "0")} at offset ${i}.`,
      );
    }
    if (c > 0x7f) {
      const code =
        what === "dNSName"
          ? "CSR_SAN_INVALID_DNS"
          : what === "rfc822Name"
            ? "CSR_SAN_INVALID_EMAIL"
            : "CSR_SAN_INVALID_URI";
      throw new PkiError(
        code,
        `The ${what} contains non-ASCII bytes; internationalised names must use their ASCII (xn--) form.`,
      );
    }
  }
  return String.fromCharCode(...value);
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * A host name in preferred name syntax (RFC 1034 3.5 as amended by RFC 1123), optionally with
 * one leading "*" label. Returns the name as given.
 */
export function checkDnsName(name: string): string {
  const fail = (why: string): never => {
    throw new PkiError("CSR_SAN_INVALID_DNS", `"${name}" ${why}`, { name });
  };
  if (name.length === 0) fail("is empty.");
  if (name.length > 253) fail("is longer than 253 characters.");
  if (name.endsWith(".")) fail("ends with a dot; give the name without the trailing root dot.");
  const labels = name.split(".");
  labels.forEach((label, index) => {
    if (label.length === 0) fail("has an empty label.");
    if (label === "*") {
      if (index !== 0) fail("has a wildcard that is not the leftmost label.");
      if (labels.length < 3) fail("is a wildcard directly under a top-level domain.");
      return;
    }
    if (label.length > 63) fail(`has a label longer than 63 characters.`);
    if (!LDH_LABEL.test(label))
      fail(`has the label "${label}", which is not letters, digits and inner hyphens.`);
    if (label.length >= 4 && label[2] === "-" && label[3] === "-") {
      if (label.slice(0, 2).toLowerCase() !== "xn")
        fail(`has the reserved label "${label}" (hyphens in positions 3 and 4).`);
      // Node returns an undecodable label unchanged; a decodable one must not hide controls.
      const unicode = domainToUnicode(label);
      if (
        unicode === "" ||
        unicode.toLowerCase() === label.toLowerCase() ||
        /[\p{Cc}\p{Cf}]/u.test(unicode)
      ) {
        fail(`has the label "${label}", which is not valid Punycode.`);
      }
    }
  });
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) {
    fail("ends in an all-numeric label; an IP address must be an IP SAN.");
  }
  return name;
}

function checkEmail(address: string): string {
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at);
  if (at <= 0 || local.length > 64 || address.length > 254 || /[\s()<>[\]\\,;:"@]/.test(local)) {
    throw new PkiError("CSR_SAN_INVALID_EMAIL", `"${address}" is not a mailbox address.`);
  }
  try {
    checkDnsName(address.slice(at + 1));
  } catch {
    throw new PkiError("CSR_SAN_INVALID_EMAIL", `"${address}" has an invalid domain.`);
  }
  return address;
}

function checkUri(uri: string): string {
  const parsed = URL.parse(uri);
  if (
    !parsed ||
    /\s/.test(uri) ||
    !/^[a-z][a-z0-9+.-]*:/i.test(uri) ||
    parsed.protocol.length < 2
  ) {
    throw new PkiError("CSR_SAN_INVALID_URI", `"${uri}" is not an absolute URI.`);
  }
  return uri;
}

/** Canonical text of a 4- or 16-byte iPAddress value (RFC 5952 for IPv6). */
export function ipToText(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) {
    throw new PkiError(
      "CSR_SAN_INVALID_IP",
      `An IP address has ${bytes.length} bytes; it must have 4 (IPv4) or 16 (IPv6).`,
    );
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** Parses IPv4 dotted or IPv6 text into bytes; undefined when it is neither. */
export function textToIp(text: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p, i) => p > 255 || (v4[i + 1]!.length > 1 && v4[i + 1]!.startsWith("0"))))
      return undefined;
    return Uint8Array.from(parts);
  }
  if (!/^[0-9a-f:]+$/i.test(text) || text.split("::").length > 2) return undefined;
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string | undefined): number[] | undefined => {
    if (!s) return [];
    const groups = s.split(":");
    if (groups.some((g) => g.length === 0 || g.length > 4)) return undefined;
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const a = parse(head);
  const b = parse(tail);
  if (!a || !b) return undefined;
  const missing = 8 - a.length - b.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...a, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...b];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** pkijs GeneralName types (the CHOICE's context tag numbers). */
const generalNameTypes = { email: 1, dns: 2, uri: 6, ip: 7 } as const;

/** One approved SAN as a pkijs GeneralName (IA5String text, or the address's octets). */
function generalNameOf(san: San): pkijs.GeneralName {
  if (san.type !== "ip") {
    ascii(san.value);
    return new pkijs.GeneralName({ type: generalNameTypes[san.type], value: san.value });
  }
  const bytes = textToIp(san.value);
  if (!bytes) throw new RangeError(`not an IP address: ${san.value}`);
  return new pkijs.GeneralName({
    type: generalNameTypes.ip,
    value: new asn1js.OctetString({ valueHex: bytes }),
  });
}

/** GeneralNames for the approved SANs (the subjectAltName extension's value). */
export function generalNamesOf(sans: readonly San[]): pkijs.GeneralNames {
  return new pkijs.GeneralNames({ names: sans.map(generalNameOf) });
}

/** A URI GeneralName, as CRL distribution points and AIA use. */
export function uriName(uri: string): pkijs.GeneralName {
  return generalNameOf({ type: "uri", value: uri });
}

/** Values are checked before they are encoded; anything outside IA5 text here is a bug. */
function ascii(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new RangeError(`not printable ASCII: ${JSON.stringify(text)}`);
  }
}
