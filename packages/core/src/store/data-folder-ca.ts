/**
 * The CA as it lives in a data folder: CA keys (local files, or references to KMS keys), CA
 * certificates, issued certificates, revocations and the CRL counter. This is what the `pki`
 * CLI operates on. Layout:
 *
 *   ca.json                       which keys and certificates make up the CA
 *   keys/{root,issuing}.key.pem   local CA keys, mode 0600
 *   ca/{root,issuing}.pem         CA certificates
 *   certificates/<serial>.json    every issued certificate
 *   revocations/<serial>.json     every revocation
 *   crl/<ca-id>.number            the last cRLNumber used
 *   crl/<ca-id>.crl               the last CRL signed (DER), for `pki crl status`
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Authority, caIdOf, openAuthority } from "../ca/authority.ts";
import { createCaCsr, createIssuingCertificate, createRootCertificate } from "../ca/create.ts";
import { validateCaImport } from "../ca/import.ts";
import { type IssuedCertificate, issueCertificate } from "../certificate/issue.ts";
import { normaliseSerial } from "../certificate/serial.ts";
import { buildCrl, type RevokedEntry } from "../crl/build.ts";
import type { RevocationReason } from "../crl/reasons.ts";
import { checkCsr } from "../csr/intake.ts";
import { decodePemBlocks, encodePem } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import type { Config } from "../policy/config.ts";
import { evaluatePolicy, findProfile } from "../policy/evaluate.ts";
import type { KeySpec, SigningAlgorithm } from "../signer/algorithms.ts";
import { LocalSigner } from "../signer/local-signer.ts";
import type { Signer } from "../signer/signer.ts";
import { parseCertificate } from "../x509/certificate.ts";
import { parseNameText } from "../x509/name.ts";
import { createOnce, readJson, withLock, writeAtomic } from "./files.ts";

export type SignerRef =
  | { readonly type: "local"; readonly keyFile: string; readonly algorithm: SigningAlgorithm }
  | { readonly type: "kms"; readonly keyId: string; readonly algorithm: SigningAlgorithm };

interface CaRecord {
  readonly signer: SignerRef;
  /** Relative path of the CA certificate; absent while waiting for `pki ca import`. */
  readonly certificate?: string;
  readonly chain: readonly string[];
}

interface CaState {
  readonly version: 1;
  readonly issuing: CaRecord;
  readonly root?: CaRecord;
}

export interface IssuedRecord {
  readonly serial: string;
  readonly pem: string;
  readonly subject: string;
  readonly sans: IssuedCertificate["sans"];
  readonly profile: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
}

export interface RevocationRecord {
  readonly serial: string;
  readonly reason: RevocationReason;
  readonly revokedAt: string;
}

export interface SignerChoice {
  readonly keySpec?: KeySpec;
  readonly signingAlgorithm?: SigningAlgorithm;
  readonly kmsKeyId?: string;
}

export class DataFolderCa {
  readonly dir: string;
  readonly config: Config;

  constructor(dir: string, config: Config) {
    this.dir = dir;
    this.config = config;
  }

  private path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private state(): CaState | undefined {
    return readJson<CaState>(this.path("ca.json"));
  }

  private requireState(): CaState {
    const state = this.state();
    if (!state)
      throw new PkiError("CA_NOT_INITIALISED", `Run "pki ca init" (data folder ${this.dir}).`);
    return state;
  }

  /** Creates a root CA, or a root plus an issuing CA, in an empty data folder. */
  async init(options: {
    issuing: SignerChoice;
    root?: SignerChoice;
    twoTier: boolean;
    subject?: string;
    rootSubject?: string;
  }): Promise<void> {
    await this.exclusive(async () => {
      if (this.state())
        throw new PkiError("CA_ALREADY_EXISTS", `See "pki ca show" (data folder ${this.dir}).`);
      const ca = this.config.ca;
      const subject = parseNameText(options.subject ?? ca.subject);
      if (!options.twoTier) {
        const signer = await this.newSigner("issuing", options.issuing);
        const der = await createRootCertificate(signer.signer, {
          subject,
          validityDays: ca.validityDays,
        });
        writeAtomic(this.path("ca", "issuing.pem"), encodePem("CERTIFICATE", der));
        this.saveState({
          version: 1,
          issuing: { signer: signer.ref, certificate: "ca/issuing.pem", chain: [] },
        });
        return;
      }
      const rootSubject = parseNameText(
        options.rootSubject ??
          ca.rootSubject ??
          `CN=${subject.find((e) => e.type === "CN")?.value ?? "Private"} Root`,
      );
      const root = await this.newSigner("root", options.root ?? options.issuing);
      const rootDer = await createRootCertificate(root.signer, {
        subject: rootSubject,
        validityDays: ca.rootValidityDays,
      });
      const rootAuthority = await openAuthority(
        rootDer,
        [],
        root.signer,
        this.config.publicBaseUrl,
      );
      const issuing = await this.newSigner("issuing", options.issuing);
      const issuingDer = await createIssuingCertificate(
        rootAuthority,
        await issuing.signer.publicKey(),
        {
          subject,
          validityDays: Math.min(ca.validityDays, ca.rootValidityDays),
        },
      );
      writeAtomic(this.path("ca", "root.pem"), encodePem("CERTIFICATE", rootDer));
      writeAtomic(this.path("ca", "issuing.pem"), encodePem("CERTIFICATE", issuingDer));
      this.saveState({
        version: 1,
        root: { signer: root.ref, certificate: "ca/root.pem", chain: [] },
        issuing: { signer: issuing.ref, certificate: "ca/issuing.pem", chain: ["ca/root.pem"] },
      });
    });
  }

  /** A CSR for the issuing CA key, creating the key first when the folder has no CA yet. */
  async csr(options: { issuing: SignerChoice; subject?: string }): Promise<string> {
    return this.exclusive(async () => {
      let state = this.state();
      if (!state) {
        const signer = await this.newSigner("issuing", options.issuing);
        state = { version: 1, issuing: { signer: signer.ref, chain: [] } };
        this.saveState(state);
      }
      const signer = await this.openSigner(state.issuing.signer);
      const der = await createCaCsr(
        signer,
        parseNameText(options.subject ?? this.config.ca.subject),
      );
      return encodePem("CERTIFICATE REQUEST", der);
    });
  }

  /** Installs a CA certificate (and its chain) signed elsewhere for the issuing key. */
  async import(pem: string): Promise<void> {
    await this.exclusive(async () => {
      const state = this.state();
      if (!state) {
        throw new PkiError(
          "CA_NOT_INITIALISED",
          `There is no CA key to import a certificate for: run "pki ca csr" first, have the CSR signed, then import (data folder ${this.dir}).`,
        );
      }
      const signer = await this.openSigner(state.issuing.signer);
      const imported = await validateCaImport(pem, signer);
      const chain = imported.chain.map((der, i) => {
        const file = `ca/chain-${i + 1}.pem`;
        writeAtomic(this.path(file), encodePem("CERTIFICATE", der));
        return file;
      });
      writeAtomic(this.path("ca", "issuing.pem"), encodePem("CERTIFICATE", imported.certificate));
      this.saveState({
        ...state,
        issuing: { ...state.issuing, certificate: "ca/issuing.pem", chain },
      });
    });
  }

  /** The issuing CA as an Authority, ready to sign. */
  async issuingAuthority(): Promise<Authority> {
    return this.authority(this.requireState().issuing, "issuing");
  }

  async rootAuthority(): Promise<Authority> {
    return this.authority(this.caRecord("root"), "root");
  }

  private caRecord(which: "issuing" | "root"): CaRecord {
    const state = this.requireState();
    if (which === "issuing") return state.issuing;
    if (!state.root)
      throw new PkiError(
        "CA_ROOT_NOT_HELD",
        state.issuing.chain.length === 0
          ? 'This CA is a single self-signed root; "pki crl" signs its CRL.'
          : "The root that signed this CA is held elsewhere (offline); it publishes its own CRL.",
      );
    return state.root;
  }

  /**
   * What `pki crl` last signed for the CA, from its files alone (no key is opened): the CA's
   * id, the last cRLNumber used and the copy of that CRL, where one was kept.
   */
  lastCrl(which: "issuing" | "root" = "issuing"): {
    caId: string;
    number: string | undefined;
    der: Uint8Array | undefined;
    file: string;
  } {
    const caId = caIdOf(parseCertificate(this.certificateOf(this.caRecord(which), which)).spki);
    const file = this.path("crl", `${caId}.crl`);
    let der: Uint8Array | undefined;
    try {
      der = new Uint8Array(readFileSync(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    return { caId, number: readJson<string>(this.path("crl", `${caId}.number`)), der, file };
  }

  private async authority(record: CaRecord, which: string): Promise<Authority> {
    const der = this.certificateOf(record, which);
    const chain = record.chain.map((c) => this.readCertificate(c));
    return openAuthority(
      der,
      chain,
      await this.openSigner(record.signer),
      this.config.publicBaseUrl,
    );
  }

  /** The issuing CA certificate followed by its chain, as PEM. */
  async chainPem(): Promise<string> {
    const authority = await this.issuingAuthority();
    return [authority.certificate.der, ...authority.chain]
      .map((der) => encodePem("CERTIFICATE", der))
      .join("");
  }

  async issue(
    csr: Uint8Array | string,
    profileName: string,
    days?: number,
  ): Promise<IssuedCertificate> {
    const checked = checkCsr(csr);
    const decision = evaluatePolicy(
      checked,
      profileName,
      findProfile(this.config, profileName),
      days,
    );
    const issued = await issueCertificate(await this.issuingAuthority(), checked, decision);
    const record: IssuedRecord = {
      serial: issued.serialHex,
      pem: issued.pem,
      subject: issued.subject,
      sans: issued.sans,
      profile: issued.profile,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      issuedAt: new Date().toISOString(),
    };
    // 128 random bits make a collision practically impossible; createOnce makes it impossible.
    if (
      !createOnce(
        this.path("certificates", `${issued.serialHex}.json`),
        JSON.stringify(record, null, 2),
      )
    ) {
      throw new PkiError(
        "SELF_CHECK_FAILED",
        `Serial ${issued.serialHex} already exists; nothing was issued.`,
      );
    }
    return issued;
  }

  /** Whether `pki issue` has recorded certificates (or `pki revoke` revocations) here. */
  hasRegistry(): boolean {
    return ["certificates", "revocations"].some((folder) => {
      try {
        return readdirSync(this.path(folder)).some((f) => f.endsWith(".json"));
      } catch {
        return false;
      }
    });
  }

  findIssued(serialText: string): IssuedRecord | undefined {
    const serial = normaliseSerial(serialText);
    return serial ? readJson<IssuedRecord>(this.path("certificates", `${serial}.json`)) : undefined;
  }

  /** Revokes an issued certificate; revoking again returns the first revocation unchanged. */
  async revoke(
    serialText: string,
    reason: RevocationReason,
    now = new Date(),
  ): Promise<{ record: RevocationRecord; created: boolean }> {
    const serial = normaliseSerial(serialText);
    if (!serial)
      throw new PkiError("CERT_NOT_FOUND", `"${serialText}" is not a hexadecimal serial number.`);
    const issued = this.findIssued(serial);
    if (!issued)
      throw new PkiError("CERT_NOT_FOUND", `No certificate with serial ${serial} was issued here.`);
    const path = this.path("revocations", `${serial}.json`);
    const existing = readJson<RevocationRecord>(path);
    if (existing) return { record: existing, created: false };
    if (new Date(issued.notAfter) < now) {
      throw new PkiError(
        "CERT_EXPIRED",
        `Certificate ${serial} expired on ${issued.notAfter}; it cannot be revoked.`,
      );
    }
    const record: RevocationRecord = {
      serial,
      reason,
      revokedAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
    };
    if (createOnce(path, JSON.stringify(record, null, 2))) return { record, created: true };
    return { record: readJson<RevocationRecord>(path)!, created: false };
  }

  *revocations(): Generator<RevokedEntry> {
    let files: string[];
    try {
      files = readdirSync(this.path("revocations"));
    } catch {
      return;
    }
    for (const file of files) {
      if (!file.endsWith(".json")) continue;
      const record = readJson<RevocationRecord>(this.path("revocations", file));
      if (record)
        yield {
          serialHex: record.serial,
          reason: record.reason,
          revokedAt: Date.parse(record.revokedAt) / 1000,
        };
    }
  }

  /** Builds and signs a fresh CRL with the next cRLNumber (the root's CRL when `root`). */
  async crl(which: "issuing" | "root" = "issuing", now = new Date()): Promise<Uint8Array> {
    const authority = which === "root" ? await this.rootAuthority() : await this.issuingAuthority();
    const hours = this.config.crl.validityHours;
    return this.exclusive(async () => {
      const counter = this.path("crl", `${authority.id}.number`);
      const previous = readJson<string>(counter);
      const number = previous === undefined ? 1n : BigInt(previous) + 1n;
      writeAtomic(counter, JSON.stringify(number.toString()));
      const der = await buildCrl(authority, {
        number,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + hours * 3600_000),
        // The root revokes only issuing CAs, none of which this folder records as revoked.
        entries: which === "root" ? [] : this.revocations(),
      });
      // A copy of the last one signed, for `pki crl status`.
      writeAtomic(this.path("crl", `${authority.id}.crl`), der);
      return der;
    });
  }

  private async newSigner(
    name: "issuing" | "root",
    choice: SignerChoice,
  ): Promise<{ signer: Signer; ref: SignerRef }> {
    if (choice.kmsKeyId) {
      const signer = await kmsSigner(choice.kmsKeyId, choice.signingAlgorithm);
      return { signer, ref: { type: "kms", keyId: choice.kmsKeyId, algorithm: signer.algorithm } };
    }
    const keyFile = `keys/${name}.key.pem`;
    const signer = LocalSigner.generate(
      this.path(keyFile),
      choice.keySpec ?? "ECC_NIST_P256",
      choice.signingAlgorithm,
    );
    return { signer, ref: { type: "local", keyFile, algorithm: signer.algorithm } };
  }

  private async openSigner(ref: SignerRef): Promise<Signer> {
    return ref.type === "local"
      ? LocalSigner.load(this.path(ref.keyFile), ref.algorithm)
      : kmsSigner(ref.keyId, ref.algorithm);
  }

  private certificateOf(record: CaRecord, which: string): Uint8Array {
    if (!record.certificate) {
      throw new PkiError(
        "CA_NOT_INITIALISED",
        `The ${which} CA has a key but no certificate yet: have its CSR signed, then run "pki ca import FILE".`,
      );
    }
    return this.readCertificate(record.certificate);
  }

  private readCertificate(file: string): Uint8Array {
    const blocks = decodePemBlocks(readFileSync(this.path(file), "utf8"));
    if (blocks.length !== 1 || blocks[0]!.label !== "CERTIFICATE")
      throw new Error(`${file} must hold one certificate`);
    return blocks[0]!.der;
  }

  private saveState(state: CaState): void {
    writeAtomic(this.path("ca.json"), `${JSON.stringify(state, null, 2)}\n`);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.path(".lock"), fn);
  }
}

async function kmsSigner(keyId: string, algorithm?: SigningAlgorithm): Promise<Signer> {
  // Loaded on demand so local-only use never loads the AWS SDK.
  const { createKmsSigner } = await import("../signer/kms-signer.ts");
  return createKmsSigner({ keyId, ...(algorithm ? { signingAlgorithm: algorithm } : {}) });
}
