/**
 * Distinguished names: strict parsing of a CSR subject and encoding of the names the CA
 * writes. Only single-valued RDNs and the everyday attribute types are accepted, as
 * UTF8String or PrintableString (Baseline Requirements 7.1.4), within RFC 5280's upper bounds.
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID, oidName } from "../der/oids.ts";
import { DerError, DerReader, Tag } from "../der/reader.ts";
import { PkiError } from "../errors.ts";

export type NameAttribute = "CN" | "O" | "OU" | "C" | "ST" | "L";

export interface NameEntry {
  readonly type: NameAttribute;
  readonly value: string;
}

const attributeTypes: Record<NameAttribute, { oid: string; maxLength: number }> = {
  CN: { oid: OID.commonName, maxLength: 64 },
  O: { oid: OID.organizationName, maxLength: 64 },
  OU: { oid: OID.organizationalUnitName, maxLength: 64 },
  C: { oid: OID.countryName, maxLength: 2 },
  ST: { oid: OID.stateOrProvinceName, maxLength: 128 },
  L: { oid: OID.localityName, maxLength: 128 },
};
const typesByOid = new Map(
  Object.entries(attributeTypes).map(([name, t]) => [t.oid, name as NameAttribute]),
);

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Parses a Name (RDNSequence) and checks every attribute. `raw` is the whole Name element. */
export function parseName(raw: Uint8Array): NameEntry[] {
  const outer = new DerReader(raw);
  const rdns = outer.enter(Tag.SEQUENCE, "Name");
  outer.finish("Name");
  const entries: NameEntry[] = [];
  while (!rdns.atEnd()) {
    const rdn = rdns.enter(Tag.SET, "RelativeDistinguishedName");
    const atv = rdn.enter(Tag.SEQUENCE, "AttributeTypeAndValue");
    if (!rdn.atEnd()) {
      throw new PkiError(
        "CSR_SUBJECT_INVALID",
        "Multi-valued RDNs are not accepted; put each attribute in its own RDN.",
      );
    }
    const typeOid = atv.oid("attribute type");
    const valueEl = atv.next(undefined, "attribute value");
    atv.finish("AttributeTypeAndValue");
    const type = typesByOid.get(typeOid);
    if (type === undefined) {
      throw new PkiError(
        "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
        `The subject has ${oidName(typeOid)}; only CN, O, OU, C, ST and L are issued.`,
        { attribute: typeOid },
      );
    }
    const value = decodeDirectoryString(valueEl.tag, atv.value(valueEl), type);
    const { maxLength } = attributeTypes[type];
    if (type === "C" && !/^[A-Z]{2}$/.test(value)) {
      throw new PkiError(
        "CSR_SUBJECT_INVALID",
        `The country "${value}" is not a two-letter ISO 3166 code.`,
      );
    }
    if ([...value].length > maxLength) {
      if (type === "CN")
        throw new PkiError("CSR_CN_TOO_LONG", `It has ${[...value].length} characters.`);
      throw new PkiError("CSR_SUBJECT_INVALID", `${type} is longer than ${maxLength} characters.`);
    }
    if (value.length === 0) throw new PkiError("CSR_SUBJECT_INVALID", `${type} is empty.`);
    entries.push({ type, value });
  }
  return entries;
}

function decodeDirectoryString(tag: number, value: Uint8Array, type: NameAttribute): string {
  let text: string;
  if (tag === Tag.UTF8_STRING) {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(value);
    } catch {
      throw new DerError(`${type}: invalid UTF-8`);
    }
  } else if (tag === Tag.PRINTABLE_STRING) {
    text = String.fromCharCode(...value);
    // Controls get their own code even where the string type forbids them anyway.
    if (!hasControlCharacter(text) && !PRINTABLE.test(text)) {
      throw new DerError(`${type}: characters outside PrintableString`);
    }
  } else {
    throw new PkiError("CSR_SUBJECT_INVALID", `${type} must be a UTF8String or PrintableString.`);
  }
  // C0 and C1 controls, DEL, and NUL smuggled into a name are a classic spoofing trick.
  if (hasControlCharacter(text)) {
    throw new PkiError(
      "CSR_NAME_CONTROL_CHARACTER",
      `The subject ${type} contains a control character.`,
    );
  }
  return text;
}

/**
 * A Name the CA writes, one attribute per RDN, PrintableString for C (X.520 requires it) and
 * UTF8String otherwise (RFC 5280 4.1.2.6). pkijs puts every attribute of a
 * RelativeDistinguishedNames into one multi-valued RDN, so the RDNSequence is framed with
 * asn1js and read back: pkijs then writes a parsed name with the bytes it was read from.
 */
export function nameObject(entries: readonly NameEntry[]): pkijs.RelativeDistinguishedNames {
  const rdns = entries.map(
    ({ type, value }) =>
      new asn1js.Set({
        value: [
          new pkijs.AttributeTypeAndValue({
            type: attributeTypes[type].oid,
            value:
              type === "C"
                ? new asn1js.PrintableString({ value })
                : new asn1js.Utf8String({ value }),
          }).toSchema(),
        ],
      }),
  );
  return nameFromDer(new Uint8Array(new asn1js.Sequence({ value: rdns }).toBER(false)));
}

/** A pkijs name that encodes to exactly `der` (a CSR's subject, a CA's subject as issuer). */
export function nameFromDer(der: Uint8Array): pkijs.RelativeDistinguishedNames {
  return pkijs.RelativeDistinguishedNames.fromBER(der);
}

/** "CN=a.example.com, O=Example": RFC 4514 order reversed to the way people read it. */
export function formatName(entries: readonly NameEntry[]): string {
  return entries
    .map(({ type, value }) => `${type}=${value.replace(/([,+"\\<>;])/g, "\\$1")}`)
    .join(", ");
}

/** Parses "CN=Example Root CA, O=Example" (the CLI's --subject) into entries. */
export function parseNameText(text: string): NameEntry[] {
  const parts = text
    .split(/(?<!\\),/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new RangeError("a name needs at least one attribute");
  return parts.map((part) => {
    const eq = part.indexOf("=");
    const type = part.slice(0, eq).trim().toUpperCase() as NameAttribute;
    const value = part
      .slice(eq + 1)
      .trim()
      .replace(/\\(.)/g, "$1");
    if (eq < 1 || !(type in attributeTypes) || value.length === 0) {
      throw new RangeError(`"${part}" is not TYPE=value with TYPE one of CN, O, OU, C, ST, L`);
    }
    if ([...value].length > attributeTypes[type].maxLength) {
      throw new RangeError(`${type} is longer than ${attributeTypes[type].maxLength} characters`);
    }
    // The rules parseName applies to a request's subject hold for the CA's own names too.
    if (type === "C" && !/^[A-Z]{2}$/.test(value)) {
      throw new RangeError(`C "${value}" is not a two-letter ISO 3166 country code such as DE`);
    }
    if (hasControlCharacter(value)) throw new RangeError(`${type} contains a control character`);
    return { type, value };
  });
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** Best-effort text for any Name (foreign certificates included), for display only. */
export function describeName(raw: Uint8Array): string {
  try {
    const rdns = new DerReader(raw).enter(Tag.SEQUENCE, "Name");
    const parts: string[] = [];
    while (!rdns.atEnd()) {
      const rdn = rdns.enter(Tag.SET);
      while (!rdn.atEnd()) {
        const atv = rdn.enter(Tag.SEQUENCE);
        const type = atv.oid();
        const value = atv.value(atv.next());
        const label = typesByOid.get(type) ?? oidName(type);
        parts.push(`${label}=${Buffer.from(value).toString("utf8")}`);
      }
    }
    return parts.join(", ");
  } catch {
    return "(unparsable name)";
  }
}
