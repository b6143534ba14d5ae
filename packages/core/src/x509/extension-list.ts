/** Reading an Extensions SEQUENCE (certificates, CSRs and CRLs share the shape). */

import { oidName } from "../der/oids.ts";
import { DerError, type DerReader, Tag } from "../der/reader.ts";

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** extnValue contents: the DER of the extension's own structure. */
  readonly value: Uint8Array;
}

/** Splits an Extensions SEQUENCE's contents into entries; each OID may appear once. */
export function readExtensions(extensions: DerReader): Extension[] {
  const result: Extension[] = [];
  const seen = new Set<string>();
  while (!extensions.atEnd()) {
    const ext = extensions.enter(Tag.SEQUENCE, "Extension");
    const oid = ext.oid("extnID");
    let critical = false;
    if (ext.peekTag() === Tag.BOOLEAN) {
      critical = ext.boolean("critical");
      if (!critical)
        throw new DerError(
          `${oidName(oid)}: critical FALSE is the default and must be omitted in DER`,
        );
    }
    const value = ext.octetString("extnValue");
    ext.finish("Extension");
    if (seen.has(oid)) throw new DuplicateExtensionError(oid);
    seen.add(oid);
    result.push({ oid, critical, value });
  }
  return result;
}

export class DuplicateExtensionError extends Error {
  override readonly name = "DuplicateExtensionError";
  readonly oid: string;
  constructor(oid: string) {
    super(`the ${oidName(oid)} extension appears more than once`);
    this.oid = oid;
  }
}
