/**
 * Readable summaries of a CSR, certificate or CRL (PEM or DER), for `pki inspect` and for
 * people reading approval requests. Description only: validity verdicts come from checkCsr.
 */
import { createHash } from "node:crypto";
import { parseCrl } from "./crl/parse.ts";
import { checkCsr } from "./csr/intake.ts";
import { parseCsrStructure } from "./csr/parse.ts";
import { OID, oidName } from "./der/oids.ts";
import { DerReader, Tag } from "./der/reader.ts";
import { decodePemBlocks, looksLikePem } from "./encoding/pem.ts";
import { isPkiError, PkiError } from "./errors.ts";
import { describeKey, parsePublicKey } from "./keys/public-key.ts";
import { algorithmFromIdentifier } from "./signer/algorithms.ts";
import { findExtension, parseCertificate } from "./x509/certificate.ts";
import { parseSubjectAltNames } from "./x509/general-names.ts";
import { describeName } from "./x509/name.ts";

type Kind = "csr" | "certificate" | "crl";

export function inspect(input: Uint8Array): string {
  const { kind, der } = identify(input);
  const lines: string[] = [];
  const add = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(22)}${value}`);
  const fingerprint = createHash("sha256")
    .update(der)
    .digest("hex")
    .replace(/(..)(?!$)/g, "$1:");
  if (kind === "csr") {
    const csr = parseCsrStructure(der);
    add("Type", "Certificate signing request (PKCS#10)");
    add("Subject", describeName(csr.subject) || "(empty)");
    add(
      "Public key",
      safe(() => describeKey(parsePublicKey(csr.spki))),
    );
    add("Signature algorithm", algorithmName(csr.signatureAlgorithm));
    try {
      const checked = checkCsr(der);
      add("SANs", checked.sans.map((s) => `${s.type}:${s.value}`).join(", "));
      add("Verdict", "acceptable to the CA's intake rules");
    } catch (e) {
      if (!isPkiError(e)) throw e;
      add("Verdict", `rejected: ${e.code}: ${e.message}`);
    }
  } else if (kind === "certificate") {
    const cert = parseCertificate(der);
    add("Type", `X.509 certificate (v${cert.version + 1})`);
    add("Serial", cert.serialHex);
    add("Subject", describeName(cert.subject) || "(empty)");
    add("Issuer", describeName(cert.issuer));
    add("Not before", cert.notBefore.toISOString());
    add("Not after", cert.notAfter.toISOString());
    add(
      "Public key",
      safe(() => describeKey(parsePublicKey(cert.spki))),
    );
    add("Signature algorithm", algorithmName(cert.signatureAlgorithm));
    const san = findExtension(cert, OID.subjectAltName);
    if (san)
      add(
        "SANs",
        safe(() =>
          parseSubjectAltNames(san.value)
            .map((s) => `${s.type}:${s.value}`)
            .join(", "),
        ),
      );
    add(
      "Extensions",
      cert.extensions.map((e) => `${oidName(e.oid)}${e.critical ? " (critical)" : ""}`).join(", "),
    );
  } else {
    const crl = parseCrl(der);
    add("Type", "Certificate revocation list");
    add("Issuer", describeName(crl.issuer));
    add("CRL number", crl.number?.toString() ?? "(none)");
    add("This update", crl.thisUpdate.toISOString());
    add("Next update", crl.nextUpdate?.toISOString() ?? "(none)");
    add("Signature algorithm", algorithmName(crl.signatureAlgorithm));
    let count = 0;
    const shown: string[] = [];
    for (const entry of crl.entries()) {
      if (count++ < 20)
        shown.push(`  ${entry.serialHex}  ${entry.revokedAt.toISOString()}  ${entry.reason}`);
    }
    add("Revoked entries", String(count));
    lines.push(...shown);
    if (count > 20) lines.push(`  … and ${count - 20} more`);
  }
  add("SHA-256 fingerprint", fingerprint);
  return `${lines.join("\n")}\n`;
}

const labels: Record<string, Kind> = {
  "CERTIFICATE REQUEST": "csr",
  "NEW CERTIFICATE REQUEST": "csr",
  CERTIFICATE: "certificate",
  "X509 CRL": "crl",
};

function identify(input: Uint8Array): { kind: Kind; der: Uint8Array } {
  if (looksLikePem(input)) {
    let blocks: ReturnType<typeof decodePemBlocks>;
    try {
      blocks = decodePemBlocks(Buffer.from(input).toString("latin1"));
    } catch (e) {
      throw new PkiError("INPUT_INVALID", (e as Error).message);
    }
    const block = blocks[0];
    const kind = block ? labels[block.label] : undefined;
    if (!block || !kind)
      throw new PkiError("INPUT_INVALID", `Unsupported PEM block ${block?.label ?? "(none)"}.`);
    return { kind, der: block.der };
  }
  // DER: tell the three apart by the shape of the first element inside the signed part.
  try {
    const outer = new DerReader(input).enter(Tag.SEQUENCE);
    const tbs = outer.enter(Tag.SEQUENCE);
    const first = tbs.peekTag();
    if (first === 0xa0) return { kind: "certificate", der: input };
    if (first === Tag.INTEGER) {
      tbs.next();
      if (tbs.peekTag() === Tag.INTEGER) return { kind: "certificate", der: input };
      tbs.next();
      tbs.next();
      // CSR: version, subject, key, [0] attributes. CRL: version, algorithm, issuer, thisUpdate.
      return { kind: tbs.peekTag() === 0xa0 ? "csr" : "crl", der: input };
    }
    return { kind: "crl", der: input };
  } catch {
    throw new PkiError("INPUT_INVALID", "It is neither PEM nor DER of a CSR, certificate or CRL.");
  }
}

function algorithmName(identifier: Uint8Array): string {
  const known = algorithmFromIdentifier(identifier);
  if (known) return known.name;
  try {
    return oidName(new DerReader(identifier).enter(Tag.SEQUENCE).oid());
  } catch {
    return "(unparsable)";
  }
}

function safe(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return `(unreadable: ${(e as Error).message})`;
  }
}
