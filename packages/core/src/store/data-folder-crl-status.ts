/**
 * `pki crl status` for a CA in a data folder (`pki issue`'s file registry): the last CRL `pki
 * crl` signed, read back from the copy it keeps, and the revocations recorded since that it
 * does not list yet. Nothing is signed and no key is opened.
 */
import { parseCrl } from "../crl/parse.ts";
import { PkiError } from "../errors.ts";
import type { DataFolderCa } from "./data-folder-ca.ts";

export interface DataFolderCrlStatus {
  readonly caId: string;
  /** cRLNumber, decimal. */
  readonly number: string;
  readonly thisUpdate: string;
  readonly nextUpdate: string;
  readonly entries: number;
  /** Bytes of DER. */
  readonly size: number;
  /** Revocations recorded here that the CRL does not list: `pki crl` signs one that does. */
  readonly unlisted: number;
  /** The copy of the CRL in the data folder. */
  readonly file: string;
}

export function dataFolderCrlStatus(
  ca: DataFolderCa,
  which: "issuing" | "root" = "issuing",
): DataFolderCrlStatus {
  const last = ca.lastCrl(which);
  const revoked = which === "root" ? [] : [...ca.revocations()].map((r) => r.serialHex);
  if (!last.der) {
    throw new PkiError(
      "CRL_NOT_PUBLISHED",
      last.number === undefined
        ? `No CRL of CA ${last.caId} has been signed in ${ca.dir} yet: "pki crl${which === "root" ? " --ca root" : ""}" signs one${which === "root" ? "" : ` (${revoked.length} revocation(s) to list)`}.`
        : `CRL ${last.number} of CA ${last.caId} was signed before pki kept a copy of what it signs; run "pki crl${which === "root" ? " --ca root" : ""}" to sign the next one, which pki crl status then reports.`,
    );
  }
  const crl = parseCrl(last.der);
  const listed = new Set<string>();
  for (const entry of crl.entries()) listed.add(entry.serialHex);
  return {
    caId: last.caId,
    number: (crl.number ?? 0n).toString(),
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate?.toISOString() ?? "none",
    entries: listed.size,
    size: last.der.length,
    unlisted: revoked.filter((serial) => !listed.has(serial)).length,
    file: last.file,
  };
}
