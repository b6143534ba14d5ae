/**
 * The independent verifiers: OpenSSL (-x509_strict), GnuTLS certtool and NSS vfychain. Each
 * returns { ok, output } so a test can assert both acceptance and the reason for a refusal.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./scratch.ts";

export interface Verdict {
  readonly ok: boolean;
  readonly output: string;
}

function run(command: string, args: readonly string[]): Verdict {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error)
    throw new Error(
      `${command} could not run: ${result.error.message} (install openssl, gnutls-bin, libnss3-tools)`,
    );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

export const EKU = { serverAuth: "1.3.6.1.5.5.7.3.1", clientAuth: "1.3.6.1.5.5.7.3.2" } as const;
export type Purpose = keyof typeof EKU;

/** Files for one chain: leaf, intermediates (nearest first) and the trusted root. */
export class ChainFiles {
  readonly dir = scratchDir("chain-");
  readonly leaf: string;
  readonly intermediates: string;
  readonly root: string;
  readonly hasIntermediates: boolean;

  constructor(leafPem: string, chainPems: readonly string[]) {
    this.leaf = this.write("leaf.pem", leafPem);
    const root = chainPems[chainPems.length - 1]!;
    const intermediates = chainPems.slice(0, -1);
    this.hasIntermediates = intermediates.length > 0;
    this.intermediates = this.write("intermediates.pem", intermediates.join(""));
    this.root = this.write("root.pem", root);
  }

  write(name: string, content: string | Uint8Array): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }
}

export function opensslVerify(chain: ChainFiles, purpose: Purpose, crl?: string): Verdict {
  return run("openssl", [
    "verify",
    "-x509_strict",
    "-purpose",
    purpose === "serverAuth" ? "sslserver" : "sslclient",
    "-CAfile",
    chain.root,
    ...(chain.hasIntermediates ? ["-untrusted", chain.intermediates] : []),
    ...(crl ? ["-crl_check", "-CRLfile", crl] : []),
    chain.leaf,
  ]);
}

export function certtoolVerify(chain: ChainFiles, purpose: Purpose): Verdict {
  const bundle = chain.write(
    "leaf-and-intermediates.pem",
    `${readText(chain.leaf)}${readText(chain.intermediates)}`,
  );
  return run("certtool", [
    "--verify",
    `--verify-purpose=${EKU[purpose]}`,
    "--load-ca-certificate",
    chain.root,
    "--infile",
    bundle,
  ]);
}

let nssDb: string | undefined;

export function vfychain(chain: ChainFiles, purpose: Purpose): Verdict {
  if (!nssDb) {
    nssDb = scratchDir("nssdb-");
    const created = run("certutil", ["-N", "-d", `sql:${nssDb}`, "--empty-password"]);
    if (!created.ok) throw new Error(`certutil -N failed: ${created.output}`);
  }
  const usage = purpose === "serverAuth" ? "1" : "0";
  const intermediates = chain.hasIntermediates ? ["-a", chain.intermediates] : [];
  return run("vfychain", [
    "-d",
    `sql:${nssDb}`,
    "-pp",
    "-u",
    usage,
    "-a",
    chain.leaf,
    ...intermediates,
    "-t",
    "-a",
    chain.root,
  ]);
}

/** The three independent verifiers' verdicts on one chain, by tool name. */
export function verifyWithAll(chain: ChainFiles, purpose: Purpose): [string, Verdict][] {
  return [
    ["openssl -x509_strict", opensslVerify(chain, purpose)],
    ["certtool --verify", certtoolVerify(chain, purpose)],
    ["vfychain", vfychain(chain, purpose)],
  ];
}

export function opensslCrlVerify(crlPem: string, issuerPem: string): Verdict {
  return run("openssl", ["crl", "-in", crlPem, "-CAfile", issuerPem, "-noout", "-verify"]);
}

export function certtoolCrlVerify(crlPem: string, issuerPem: string): Verdict {
  return run("certtool", ["--verify-crl", "--load-ca-certificate", issuerPem, "--infile", crlPem]);
}

function readText(path: string): string {
  return readFileSync(path, "utf8");
}
