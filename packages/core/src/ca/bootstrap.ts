/**
 * The deployed CA's certificate, created once for its KMS key. The deploy runs this every time
 * (stacks/ca-bootstrap.ts), so it must be idempotent: an existing certificate for the key is
 * kept as it is, whatever the configuration says now, and a certificate for another key is
 * never overwritten (that would orphan every certificate issued so far).
 */
import { encodePem } from "../encoding/pem.ts";
import { isPkiError, PkiError } from "../errors.ts";
import type { Signer } from "../signer/signer.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { parseCertificate } from "../x509/certificate.ts";
import { describeName, parseNameText } from "../x509/name.ts";
import { createCaCsr, createRootCertificate } from "./create.ts";
import { validateCaImport } from "./import.ts";
import { CA_CHAIN_OBJECT_KEY, readCaChain } from "./object-store-ca.ts";

export type BootstrapMode = "self-signed" | "external";

export interface CaSummary {
  readonly subject: string;
  readonly serial: string;
  readonly notAfter: string;
  /** Certificates above it (0 for a self-signed CA). */
  readonly chainLength: number;
}

export type BootstrapResult =
  | ({ readonly status: "created" | "existing" } & CaSummary)
  | { readonly status: "awaiting-import"; readonly csr: string };

export interface BootstrapInput {
  readonly objects: ObjectStore;
  readonly signer: Signer;
  readonly mode: BootstrapMode;
  /** The CA subject and validity for a self-signed certificate (config.ca). */
  readonly subject: string;
  readonly validityDays: number;
  readonly now?: Date;
}

export async function bootstrapCa(input: BootstrapInput): Promise<BootstrapResult> {
  const existing = await readCaChain(input.objects);
  if (existing) {
    await assertSameKey(existing, input.signer);
    return { status: "existing", ...caSummary(existing) };
  }
  if (input.mode === "external") {
    const csr = await createCaCsr(input.signer, parseNameText(input.subject));
    return { status: "awaiting-import", csr: encodePem("CERTIFICATE REQUEST", csr) };
  }
  const der = await createRootCertificate(input.signer, {
    subject: parseNameText(input.subject),
    validityDays: input.validityDays,
    ...(input.now ? { now: input.now } : {}),
  });
  const pem = encodePem("CERTIFICATE", der);
  await input.objects.put(CA_CHAIN_OBJECT_KEY, pem, "application/x-pem-file");
  return { status: "created", ...caSummary([der]) };
}

/**
 * Installs a CA certificate signed elsewhere (an offline root) for the KMS key: the bundle is
 * the certificate, then its chain up to the root. Replacing an earlier certificate for the same
 * key is allowed (a renewal); a bundle for another key is refused by validateCaImport, and a
 * stored chain of another key is kept, as the bootstrap keeps it. A stored object that is not
 * a chain at all is replaced (its earlier versions stay in the bucket).
 */
export async function importCaChain(
  objects: ObjectStore,
  signer: Signer,
  pem: string,
  now = new Date(),
): Promise<CaSummary> {
  const imported = await validateCaImport(pem, signer, now);
  const existing = await readCaChain(objects).catch((error: unknown) => {
    if (isPkiError(error, "CA_NOT_INITIALISED")) return undefined;
    throw error;
  });
  if (existing) await assertSameKey(existing, signer);
  const chain = [imported.certificate, ...imported.chain];
  await objects.put(
    CA_CHAIN_OBJECT_KEY,
    chain.map((der) => encodePem("CERTIFICATE", der)).join(""),
    "application/x-pem-file",
  );
  return caSummary(chain);
}

/** Whether a stored chain (certificate first) is the signer's key's. */
export async function isChainOfKey(chain: readonly Uint8Array[], signer: Signer): Promise<boolean> {
  const key = await signer.publicKey();
  return Buffer.from(parseCertificate(chain[0]!).spki).equals(Buffer.from(key));
}

async function assertSameKey(chain: readonly Uint8Array[], signer: Signer): Promise<void> {
  if (!(await isChainOfKey(chain, signer))) {
    const certificate = parseCertificate(chain[0]!);
    throw new PkiError(
      "CA_KEY_MISMATCH",
      `${CA_CHAIN_OBJECT_KEY} holds the certificate of another key (serial ${certificate.serialHex}); it is kept, not replaced. Deploy with the key it belongs to, or move the object away deliberately.`,
    );
  }
}

export function caSummary(chain: readonly Uint8Array[]): CaSummary {
  const certificate = parseCertificate(chain[0]!);
  return {
    subject: describeName(certificate.subject),
    serial: certificate.serialHex,
    notAfter: certificate.notAfter.toISOString(),
    chainLength: chain.length - 1,
  };
}
