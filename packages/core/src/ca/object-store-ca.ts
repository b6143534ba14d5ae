/**
 * The issuing CA as deployed: its certificate and the chain above it are one PEM object in the
 * bucket (written once by the CA bootstrap), and its key is behind a Signer (AWS KMS). Reading
 * the chain needs no key; the Signer is only opened to sign, so functions that merely attach
 * the chain to a mail never call KMS.
 */
import { decodePemBlocks, PemError } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import type { Signer } from "../signer/signer.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";
import { type Authority, openAuthority } from "./authority.ts";

/** The bucket key of the issuing CA certificate followed by its chain, root last. */
export const CA_CHAIN_OBJECT_KEY = "ca/issuing-chain.pem";

export interface ObjectStoreCaOptions {
  readonly objects: ObjectStore;
  /** Opens the CA key (e.g. createKmsSigner); called once, when signing is first needed. */
  readonly openSigner: () => Promise<Signer>;
  readonly publicBaseUrl: string;
}

export class ObjectStoreCa implements IssuingCa {
  private readonly options: ObjectStoreCaOptions;
  private authority: Promise<Authority> | undefined;

  constructor(options: ObjectStoreCaOptions) {
    this.options = options;
  }

  async chainPem(): Promise<string> {
    const object = await this.options.objects.get(CA_CHAIN_OBJECT_KEY);
    if (!object) {
      throw new PkiError(
        "CA_NOT_INITIALISED",
        `The bucket has no ${CA_CHAIN_OBJECT_KEY}: the CA bootstrap has not run.`,
      );
    }
    return Buffer.from(object.body).toString("utf8");
  }

  /** Opened once per process; a failed attempt is forgotten so the next call tries again. */
  issuingAuthority(): Promise<Authority> {
    this.authority ??= this.open().catch((error: unknown) => {
      this.authority = undefined;
      throw error;
    });
    return this.authority;
  }

  private async open(): Promise<Authority> {
    const chain = await readCaChain(this.options.objects);
    if (!chain) {
      throw new PkiError(
        "CA_NOT_INITIALISED",
        `The bucket has no ${CA_CHAIN_OBJECT_KEY}: the CA bootstrap has not run.`,
      );
    }
    const [certificate, ...above] = chain;
    return openAuthority(
      certificate!,
      above,
      await this.options.openSigner(),
      this.options.publicBaseUrl,
    );
  }
}

/**
 * The stored CA certificate followed by its chain (DER, root last), or undefined when the store
 * has none. An object that is not a PEM chain of certificates is CA_NOT_INITIALISED.
 */
export async function readCaChain(objects: ObjectStore): Promise<Uint8Array[] | undefined> {
  const object = await objects.get(CA_CHAIN_OBJECT_KEY);
  if (!object) return undefined;
  let blocks: ReturnType<typeof decodePemBlocks> = [];
  try {
    blocks = decodePemBlocks(Buffer.from(object.body).toString("utf8"));
  } catch (error) {
    // Not PEM at all: as unusable as PEM of something else.
    if (!(error instanceof PemError)) throw error;
  }
  if (blocks.length === 0 || blocks.some((b) => b.label !== "CERTIFICATE")) {
    throw new PkiError(
      "CA_NOT_INITIALISED",
      `${CA_CHAIN_OBJECT_KEY} must hold the CA certificate followed by its chain, as CERTIFICATE blocks; restore it from the bucket's versions.`,
    );
  }
  return blocks.map((b) => b.der);
}
