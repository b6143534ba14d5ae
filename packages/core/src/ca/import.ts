/**
 * Importing a CA certificate signed elsewhere (an offline root): the PEM bundle holds the CA
 * certificate first, then its chain up to and including a self-signed root. It must match the
 * CA key, be a CA certificate, and each link must be signed by the next.
 */

import { decodePemBlocks } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import {
  ALLOWED_ALGORITHMS,
  algorithmFromIdentifier,
  unsupportedAlgorithmName,
} from "../signer/algorithms.ts";
import type { Signer } from "../signer/signer.ts";
import { type ParsedCertificate, parseCertificate } from "../x509/certificate.ts";
import { signatureVerifies } from "../x509/verify-signature.ts";
import { caCertificateProblems } from "./authority.ts";

export interface ImportedCa {
  readonly certificate: Uint8Array;
  /** Issuers above it, nearest first, ending with the self-signed root. */
  readonly chain: Uint8Array[];
}

/** Binary input read as UTF-8 shows control characters or U+FFFD replacement characters. */
function looksLikeText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x09 || (c > 0x0d && c < 0x20) || c === 0x7f || c === 0xfffd) return false;
  }
  return true;
}

export async function validateCaImport(
  pem: string,
  signer: Signer,
  now = new Date(),
): Promise<ImportedCa> {
  const fail = (why: string): never => {
    throw new PkiError("CA_IMPORT_INVALID", why);
  };
  if (!looksLikeText(pem)) {
    fail(
      "The file is not PEM text (DER?); convert it with openssl x509 -inform DER -outform PEM, and append the chain.",
    );
  }
  let blocks: ReturnType<typeof decodePemBlocks> = [];
  try {
    // Bundles from openssl x509 -text or s_client -showcerts carry text between blocks.
    blocks = decodePemBlocks(pem, { explanatoryText: true });
  } catch (e) {
    fail(`The file is not PEM: ${(e as Error).message}.`);
  }
  if (blocks.length === 0) fail("The file holds no certificate.");
  const certs: ParsedCertificate[] = blocks.map((b, i) => {
    if (b.label !== "CERTIFICATE") fail(`Block ${i + 1} is a ${b.label}, not a CERTIFICATE.`);
    try {
      return parseCertificate(b.der);
    } catch (e) {
      return fail(`Certificate ${i + 1} is malformed: ${(e as Error).message}.`);
    }
  });
  const [leaf] = certs;
  const key = await signer.publicKey();
  if (!Buffer.from(leaf!.spki).equals(Buffer.from(key))) {
    throw new PkiError(
      "CA_KEY_MISMATCH",
      `The first certificate's public key is not the key of ${signer.description}.`,
    );
  }
  certs.forEach((cert, i) => {
    const problems = caCertificateProblems(cert, i);
    if (problems.length > 0) fail(`Certificate ${i + 1}: ${problems.join(" ")}`);
    if (cert.notAfter < now)
      fail(`Certificate ${i + 1} expired on ${cert.notAfter.toISOString()}.`);
    const issuer = certs[i + 1] ?? cert;
    if (!Buffer.from(cert.issuer).equals(Buffer.from(issuer.subject))) {
      fail(
        i + 1 === certs.length
          ? `The chain does not end in a self-signed root (certificate ${i + 1} is not self-issued); include the root.`
          : `Certificate ${i + 1} was not issued by certificate ${i + 2}.`,
      );
    }
    if (!algorithmFromIdentifier(cert.signatureAlgorithm)) {
      fail(
        `Certificate ${i + 1} is signed with ${unsupportedAlgorithmName(cert.signatureAlgorithm)}; ${ALLOWED_ALGORITHMS}.`,
      );
    }
    if (!signatureVerifies(cert.tbs, cert.signatureAlgorithm, cert.signature, issuer.spki)) {
      fail(
        `Certificate ${i + 1}'s signature does not verify under ${i + 1 === certs.length ? "its own key" : `certificate ${i + 2}'s key`}.`,
      );
    }
  });
  return { certificate: leaf!.der, chain: certs.slice(1).map((c) => c.der) };
}
