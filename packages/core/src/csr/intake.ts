/**
 * CSR intake: turns untrusted bytes or text into a CheckedCsr, or throws a PkiError whose
 * code names the one rule the request broke. This is everything that holds for every
 * profile; which names, keys and lifetimes a given profile allows is policy (policy/evaluate).
 */
import { createHash } from "node:crypto";
import { OID, oidName } from "../der/oids.ts";
import { DerError, DerReader, Tag } from "../der/reader.ts";
import { decodePemBlocks, looksLikePem, PemError } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import { describeKey, type PublicKeyInfo, parsePublicKey } from "../keys/public-key.ts";
import { checkRsaModulus } from "../keys/rsa-weakness.ts";
import {
  ALLOWED_ALGORITHMS,
  algorithmFromIdentifier,
  type SigningAlgorithm,
  unsupportedAlgorithmName,
} from "../signer/algorithms.ts";
import { DuplicateExtensionError, readExtensions } from "../x509/extension-list.ts";
import { parseBasicConstraints } from "../x509/extension-values.ts";
import { ipToText, parseSubjectAltNames, type San, textToIp } from "../x509/general-names.ts";
import { formatName, type NameEntry, parseName } from "../x509/name.ts";
import { verifiesUnder } from "../x509/verify-signature.ts";
import { parseCsrStructure } from "./parse.ts";

export const MAX_CSR_BYTES = 64 * 1024;

export interface CheckedCsr {
  readonly der: Uint8Array;
  readonly subject: {
    readonly der: Uint8Array;
    readonly entries: readonly NameEntry[];
    readonly text: string;
    readonly commonName: string | undefined;
  };
  readonly publicKey: PublicKeyInfo;
  readonly keyDescription: string;
  readonly sans: readonly San[];
  readonly signatureAlgorithm: SigningAlgorithm;
  /** Requested extensions the certificate will not copy (the profile decides them). */
  readonly ignoredExtensions: readonly string[];
  /** SHA-256 of the SubjectPublicKeyInfo, lowercase hex: what approvers compare. */
  readonly publicKeySha256: string;
  /** The checks this request passed, in words, for approvers and the audit trail. */
  readonly checks: readonly string[];
}

/** Extensions a CSR may request that we understand, even when marked critical. */
const understood = new Set<string>([
  OID.subjectAltName,
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectKeyIdentifier,
]);

export function checkCsr(input: Uint8Array | string): CheckedCsr {
  const der = decodeInput(input);
  const csr = (() => {
    try {
      const first = new DerReader(der).next(Tag.SEQUENCE, "CertificationRequest");
      if (first.end !== der.length) {
        throw new PkiError(
          "CSR_TRAILING_DATA",
          `${der.length - first.end} bytes follow the CSR's ${first.end}.`,
        );
      }
      return parseCsrStructure(der);
    } catch (e) {
      throw malformed(e);
    }
  })();
  if (csr.version !== 0) {
    throw new PkiError("CSR_VERSION_UNSUPPORTED", `The CSR has version ${csr.version}.`);
  }

  const algorithm = algorithmFromIdentifier(csr.signatureAlgorithm);
  if (!algorithm) throw forbiddenAlgorithm(csr.signatureAlgorithm);

  const publicKey = guardDer(() => parsePublicKey(csr.spki));
  if (algorithm.keyKind !== publicKey.kind) {
    throw new PkiError(
      "CSR_SIGNATURE_ALGORITHM_FORBIDDEN",
      `${algorithm.name} cannot be made by a ${describeKey(publicKey)} key.`,
    );
  }
  if (!verifiesUnder(algorithm, csr.info, csr.signature, csr.spki)) {
    throw new PkiError(
      "CSR_SIGNATURE_INVALID",
      "The request was not signed by the private key of the public key it contains.",
    );
  }
  if (publicKey.kind === "rsa") checkRsaModulus(publicKey.modulus);

  const extensions = requestedExtensions(csr.attributes);
  let sans: San[] = [];
  const ignoredExtensions: string[] = [];
  for (const ext of extensions) {
    if (ext.oid === OID.subjectAltName) {
      sans = guardExtension(() => parseSubjectAltNames(ext.value), "subjectAltName");
    } else if (ext.oid === OID.basicConstraints) {
      if (guardExtension(() => parseBasicConstraints(ext.value).ca, "basicConstraints")) {
        throw new PkiError("CSR_CA_REQUESTED", "This CA issues end-entity certificates only.");
      }
      ignoredExtensions.push(oidName(ext.oid));
    } else if (ext.critical && !understood.has(ext.oid)) {
      throw new PkiError(
        "CSR_UNKNOWN_CRITICAL_EXTENSION",
        `The CSR marks ${oidName(ext.oid)} critical.`,
        { oid: ext.oid },
      );
    } else {
      ignoredExtensions.push(oidName(ext.oid));
    }
  }

  const entries = (() => {
    try {
      return parseName(csr.subject);
    } catch (e) {
      if (e instanceof DerError) throw new PkiError("CSR_SUBJECT_INVALID", e.message);
      throw e;
    }
  })();
  if (sans.length === 0) {
    throw new PkiError(
      "CSR_SAN_MISSING",
      "Put every DNS name or IP address in the subjectAltName extension.",
    );
  }
  const commonNames = entries.filter((e) => e.type === "CN");
  if (commonNames.length > 1)
    throw new PkiError("CSR_SUBJECT_INVALID", "The subject has more than one CN.");
  const commonName = commonNames[0]?.value;
  if (commonName !== undefined && !sans.some((san) => sanMatchesCommonName(san, commonName))) {
    throw new PkiError("CSR_CN_NOT_IN_SANS", `CN "${commonName}" must also be listed as a SAN.`);
  }

  return {
    der,
    subject: { der: csr.subject, entries, text: formatName(entries), commonName },
    publicKey,
    keyDescription: describeKey(publicKey),
    sans,
    signatureAlgorithm: algorithm.name,
    ignoredExtensions,
    publicKeySha256: createHash("sha256").update(csr.spki).digest("hex"),
    checks: [
      "strict DER with nothing trailing",
      `self-signature verifies (${algorithm.name})`,
      publicKey.kind === "rsa"
        ? `${describeKey(publicKey)} key, not weak (small factors, Debian, ROCA, Fermat)`
        : `${describeKey(publicKey)} key with a valid point`,
      `${sans.length} well-formed SAN${sans.length === 1 ? "" : "s"}`,
      commonName === undefined ? "no CN" : "CN is one of the SANs",
      "no CA or unknown critical extension requested",
    ],
  };
}

function decodeInput(input: Uint8Array | string): Uint8Array {
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.length;
  if (size > MAX_CSR_BYTES) {
    throw new PkiError("CSR_TOO_LARGE", `It is ${size} bytes; the limit is ${MAX_CSR_BYTES}.`, {
      size,
    });
  }
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  if (Buffer.from(bytes).toString("latin1").trim().length === 0) throw new PkiError("CSR_EMPTY");
  if (typeof input === "string" || looksLikePem(bytes)) {
    let blocks: ReturnType<typeof decodePemBlocks>;
    try {
      blocks = decodePemBlocks(Buffer.from(bytes).toString("latin1"));
    } catch (e) {
      if (e instanceof PemError)
        throw new PkiError(
          "CSR_PEM_INVALID",
          `${e.message[0]!.toUpperCase()}${e.message.slice(1)}.`,
        );
      throw e;
    }
    if (blocks.length !== 1)
      throw new PkiError("CSR_PEM_INVALID", `Found ${blocks.length} PEM blocks; send exactly one.`);
    const block = blocks[0]!;
    if (block.label !== "CERTIFICATE REQUEST" && block.label !== "NEW CERTIFICATE REQUEST") {
      throw new PkiError("CSR_PEM_INVALID", `The block is a ${block.label}.`);
    }
    return block.der;
  }
  if (bytes[0] !== Tag.SEQUENCE) {
    throw new PkiError("CSR_DER_MALFORMED", "The input is neither PEM text nor a DER SEQUENCE.");
  }
  return bytes;
}

function malformed(e: unknown): unknown {
  return e instanceof DerError ? new PkiError("CSR_DER_MALFORMED", `${e.message}.`) : e;
}

function guardDer<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw malformed(e);
  }
}

function guardExtension<T>(f: () => T, name: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DerError)
      throw new PkiError("CSR_EXTENSION_MALFORMED", `${name}: ${e.message}.`);
    throw e;
  }
}

function requestedExtensions(attributes: ReturnType<typeof parseCsrStructure>["attributes"]) {
  if (attributes.length === 0) return [];
  const [first, ...rest] = attributes;
  const unsupported = attributes.find((a) => a.oid !== OID.extensionRequest);
  if (unsupported) {
    throw new PkiError(
      "CSR_ATTRIBUTE_UNSUPPORTED",
      `The CSR carries ${oidName(unsupported.oid)}.`,
      { oid: unsupported.oid },
    );
  }
  if (rest.length > 0)
    throw new PkiError("CSR_ATTRIBUTE_UNSUPPORTED", "extensionRequest appears more than once.");
  try {
    const values = new DerReader(first!.values);
    const list = values.enter(Tag.SEQUENCE, "Extensions");
    values.finish("extensionRequest values");
    return readExtensions(list);
  } catch (e) {
    if (e instanceof DuplicateExtensionError)
      throw new PkiError("CSR_EXTENSION_DUPLICATE", `${e.message}.`);
    if (e instanceof DerError) throw new PkiError("CSR_EXTENSION_MALFORMED", `${e.message}.`);
    throw e;
  }
}

function sanMatchesCommonName(san: San, cn: string): boolean {
  if (san.type === "ip") {
    const bytes = textToIp(cn);
    return bytes !== undefined && ipToText(bytes) === san.value;
  }
  return san.value.toLowerCase() === cn.toLowerCase();
}

function forbiddenAlgorithm(identifier: Uint8Array): PkiError {
  return new PkiError(
    "CSR_SIGNATURE_ALGORITHM_FORBIDDEN",
    `It is signed with ${unsupportedAlgorithmName(identifier)}; ${ALLOWED_ALGORITHMS}.`,
  );
}
