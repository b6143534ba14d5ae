/**
 * The deployed CA's certificate, created once for its KMS key. The deploy runs this every time
 * (stacks/ca-bootstrap.ts), so it must be idempotent: an existing certificate for the key is
 * kept as it is, whatever the configuration says now, and a certificate for another key is
 * never overwritten (that would orphan every certificate issued so far).
 */
import { decodePemBlocks, encodePem } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import type { Signer } from "../signer/signer.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { parseCertificate } from "../x509/certificate.ts";
import { describeName, parseNameText } from "../x509/name.ts";
import { createCaCsr, createRootCertificate } from "./create.ts";
import { validateCaImport } from "./import.ts";
import { CA_CHAIN_OBJECT_KEY } from "./object-store-ca.ts";

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
  const existing = await readChain(input.objects);
  if (existing) {
    await assertSameKey(existing, input.signer);
    return { status: "existing", ...summary(existing) };
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
  return { status: "created", ...summary([der]) };
}

/**
 * Installs a CA certificate signed elsewhere (an offline root) for the KMS key: the bundle is
 * the certificate, then its chain up to the root. Replacing an earlier certificate for the same
 * key is allowed (a renewal); a bundle for another key is refused by validateCaImport.
 */
export async function importCaChain(
  objects: ObjectStore,
  signer: Signer,
  pem: string,
  now = new Date(),
): Promise<CaSummary> {
  const imported = await validateCaImport(pem, signer, now);
  const chain = [imported.certificate, ...imported.chain];
  await objects.put(
    CA_CHAIN_OBJECT_KEY,
    chain.map((der) => encodePem("CERTIFICATE", der)).join(""),
    "application/x-pem-file",
  );
  return summary(chain);
}

async function readChain(objects: ObjectStore): Promise<Uint8Array[] | undefined> {
  const object = await objects.get(CA_CHAIN_OBJECT_KEY);
  if (!object) return undefined;
  const blocks = decodePemBlocks(Buffer.from(object.body).toString("utf8"));
  if (blocks.length === 0 || blocks.some((b) => b.label !== "CERTIFICATE")) {
    throw new PkiError(
      "CA_NOT_INITIALISED",
      `${CA_CHAIN_OBJECT_KEY} is not a PEM chain of certificates; restore it from the bucket's versions.`,
    );
  }
  return blocks.map((b) => b.der);
}

async function assertSameKey(chain: Uint8Array[], signer: Signer): Promise<void> {
  const certificate = parseCertificate(chain[0]!);
  const key = await signer.publicKey();
  if (!Buffer.from(certificate.spki).equals(Buffer.from(key))) {
    throw new PkiError(
      "CA_KEY_MISMATCH",
      `${CA_CHAIN_OBJECT_KEY} holds the certificate of another key (serial ${certificate.serialHex}); it is kept, not replaced. Deploy with the key it belongs to, or move the object away deliberately.`,
    );
  }
}

function summary(chain: Uint8Array[]): CaSummary {
  const certificate = parseCertificate(chain[0]!);
  return {
    subject: describeName(certificate.subject),
    serial: certificate.serialHex,
    notAfter: certificate.notAfter.toISOString(),
    chainLength: chain.length - 1,
  };
}
