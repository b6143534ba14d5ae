/**
 * An Authority is a CA ready to sign: its certificate, the chain above it, its Signer, and
 * the values every certificate it issues repeats (issuer name, key identifier, URLs).
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { OID } from "../der/oids.ts";
import { DerReader } from "../der/reader.ts";
import { decodePemBlocks } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import { type AlgorithmDetails, algorithms } from "../signer/algorithms.ts";
import type { Signer } from "../signer/signer.ts";
import { findExtension, type ParsedCertificate, parseCertificate } from "../x509/certificate.ts";
import { keyUsageBits, parseBasicConstraints } from "../x509/extension-values.ts";
import { KeyUsageBit, keyIdentifier } from "../x509/extensions.ts";
import { type PublicationUrls, publicationUrls } from "./publication-urls.ts";

export interface Authority {
  /** Stable short id: the first 16 hex digits of SHA-256 over the CA's public key. */
  readonly id: string;
  readonly certificate: ParsedCertificate;
  /** Certificates above this CA, nearest first, ending with the root (empty for a root). */
  readonly chain: readonly Uint8Array[];
  readonly keyIdentifier: Uint8Array;
  readonly signer: Signer;
  readonly algorithm: AlgorithmDetails;
  readonly verificationKey: KeyObject;
  /** Where this CA's own CRL and certificate are published (what its leaves point to). */
  readonly urls: PublicationUrls;
}

export function caIdOf(spki: Uint8Array): string {
  return createHash("sha256").update(spki).digest("hex").slice(0, 16);
}

export async function openAuthority(
  certificateDer: Uint8Array,
  chain: readonly Uint8Array[],
  signer: Signer,
  publicBaseUrl: string,
): Promise<Authority> {
  const certificate = parseCertificate(certificateDer);
  const signerKey = await signer.publicKey();
  if (!Buffer.from(signerKey).equals(Buffer.from(certificate.spki))) {
    throw new PkiError(
      "CA_KEY_MISMATCH",
      `The certificate does not belong to ${signer.description}.`,
    );
  }
  const problems = caCertificateProblems(certificate);
  if (problems.length > 0) throw new PkiError("CA_IMPORT_INVALID", problems.join(" "));
  const ski = findExtension(certificate, OID.subjectKeyIdentifier);
  const id = caIdOf(certificate.spki);
  return {
    id,
    certificate,
    chain,
    keyIdentifier: ski ? readOctetString(ski.value) : keyIdentifier(certificate.spki),
    signer,
    algorithm: algorithms[signer.algorithm],
    verificationKey: createPublicKey({
      key: Buffer.from(certificate.spki),
      format: "der",
      type: "spki",
    }),
    urls: publicationUrls(publicBaseUrl, id),
  };
}

/**
 * What stops a certificate from serving as a CA here (empty when it can). `casBelow` counts the
 * CA certificates between it and the leaves, which its pathLenConstraint must allow.
 */
export function caCertificateProblems(cert: ParsedCertificate, casBelow = 0): string[] {
  const problems: string[] = [];
  if (cert.version !== 2) problems.push("It is not an X.509 v3 certificate.");
  const bc = findExtension(cert, OID.basicConstraints);
  const basic = bc
    ? readOrProblem(() => parseBasicConstraints(bc.value), "basicConstraints")
    : undefined;
  if (!bc?.critical || !basic?.ca) {
    problems.push("It lacks a critical basicConstraints extension with cA=TRUE.");
  }
  if (basic?.pathLength !== undefined && basic.pathLength < casBelow) {
    problems.push(
      `Its pathLenConstraint of ${basic.pathLength} allows fewer than the ${casBelow} CA certificate(s) below it, so no leaf would verify.`,
    );
  }
  const ku = findExtension(cert, OID.keyUsage);
  const bits = (ku && readOrProblem(() => keyUsageBits(ku.value), "keyUsage")) ?? new Set<number>();
  if (!ku || !bits.has(KeyUsageBit.keyCertSign) || !bits.has(KeyUsageBit.cRLSign)) {
    problems.push("Its keyUsage does not include both keyCertSign and cRLSign.");
  }
  if (ku && !ku.critical) problems.push("Its keyUsage extension is not critical.");
  return problems;

  function readOrProblem<T>(read: () => T, what: string): T | undefined {
    try {
      return read();
    } catch (e) {
      problems.push(`Its ${what} extension is malformed: ${(e as Error).message}.`);
      return undefined;
    }
  }
}

function readOctetString(value: Uint8Array): Uint8Array {
  return new DerReader(value).octetString("keyIdentifier");
}

/** The id of the CA whose certificate opens a chain PEM, without opening its key. */
export function caIdOfChainPem(chainPem: string): string {
  const first = decodePemBlocks(chainPem)[0];
  if (first?.label !== "CERTIFICATE")
    throw new PkiError("CA_NOT_INITIALISED", "The CA chain holds no certificate.");
  return caIdOf(parseCertificate(first.der).spki);
}
