/**
 * A thin wrapper over the OpenSSL command line, for tests that want requests made by the most
 * common real-world CSR producer rather than by our own encoder.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Runs `openssl ...args` and returns its stdout; throws with OpenSSL's stderr on failure. */
export function openssl(args: readonly string[], input?: string | Uint8Array): Buffer {
  try {
    return execFileSync("openssl", args, {
      input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
      timeout: 60_000,
    });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`openssl ${args.slice(0, 3).join(" ")} ... failed: ${stderr || String(e)}`);
  }
}

/**
 * Writes a minimal openssl.cnf into `dir` (so that the system configuration adds nothing to
 * the requests) and returns its path. `req` lines are added to [req], `dn` lines to its
 * distinguished_name section, and `sections` (whole extra sections) at the end.
 */
export function writeOpensslConfig(
  dir: string,
  name = "openssl.cnf",
  options: { req?: readonly string[]; dn?: readonly string[]; sections?: string } = {},
): string {
  const path = join(dir, name);
  const lines = [
    "[req]",
    "distinguished_name = req_dn",
    "string_mask = utf8only",
    ...(options.req ?? []),
    "[req_dn]",
    ...(options.dn ?? []),
    options.sections ?? "",
    "",
  ];
  writeFileSync(path, lines.join("\n"));
  return path;
}

export interface ReqOptions {
  /** The openssl.cnf to use (see writeOpensslConfig). */
  readonly config: string;
  /** Path of the private key (PEM). */
  readonly key: string;
  /** -subj value, e.g. "/CN=a.example.com" ("/" for an empty subject); null: none. */
  readonly subject?: string | null;
  /** Each becomes one -addext. */
  readonly addext?: readonly string[];
  /** Digest option without the dash ("sha256", "sha1", "md5"); omitted for Ed25519/Ed448. */
  readonly digest?: string;
  /** Each becomes one -sigopt. */
  readonly sigopt?: readonly string[];
  readonly multivalueRdn?: boolean;
  /** Read the subject as UTF-8 (-utf8), for names beyond ASCII. */
  readonly utf8?: boolean;
  readonly format?: "DER" | "PEM";
}

/** `openssl req -new`: a CSR as DER bytes (or PEM text bytes). */
export function opensslReq(options: ReqOptions): Buffer {
  const args = ["req", "-new", "-config", options.config, "-key", options.key];
  if (options.subject !== null) args.push("-subj", options.subject ?? "/");
  if (options.multivalueRdn) args.push("-multivalue-rdn");
  if (options.utf8) args.push("-utf8");
  for (const ext of options.addext ?? []) args.push("-addext", ext);
  if (options.digest) args.push(`-${options.digest}`);
  for (const opt of options.sigopt ?? []) args.push("-sigopt", opt);
  args.push("-outform", options.format ?? "DER");
  return openssl(args);
}

/** A fresh P-256 key (written to `dir`) and an OpenSSL CSR for `name`, as CN and only DNS SAN. */
export function ecCsrFor(dir: string, name: string, format: "PEM" | "DER" = "PEM"): Buffer {
  return newKeyCsrFor(dir, name, ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], format);
}

/**
 * A fresh key made by `newKey` (OpenSSL's -newkey/-pkeyopt arguments, e.g. ["-newkey",
 * "rsa:3072"]), written to `dir`, and an OpenSSL CSR for `name`, as CN and only DNS SAN.
 */
export function newKeyCsrFor(
  dir: string,
  name: string,
  newKey: readonly string[],
  format: "PEM" | "DER" = "PEM",
): Buffer {
  return openssl([
    "req",
    "-new",
    ...newKey,
    "-nodes",
    "-keyout",
    join(dir, `${name}.key`),
    "-subj",
    `/CN=${name}`,
    "-addext",
    `subjectAltName=DNS:${name}`,
    "-outform",
    format,
  ]);
}

/**
 * `openssl verify -x509_strict -purpose <purpose>` of `leafPem` against the CA chain `caPem`
 * (written to `dir`). Returns the exit status and OpenSSL's output; does not throw.
 */
export function opensslVerifyPem(
  dir: string,
  caPem: string,
  leafPem: string,
  purpose: "sslserver" | "sslclient",
  /** With a CRL, the leaf is also checked against it (-crl_check). */
  crlPem?: string,
): { ok: boolean; output: string } {
  const caFile = join(dir, "verify-ca.pem");
  const leafFile = join(dir, "verify-leaf.pem");
  writeFileSync(caFile, caPem);
  writeFileSync(leafFile, leafPem);
  const crlArgs: string[] = [];
  if (crlPem !== undefined) {
    const crlFile = join(dir, "verify-crl.pem");
    writeFileSync(crlFile, crlPem);
    crlArgs.push("-crl_check", "-CRLfile", crlFile);
  }
  const result = spawnSync(
    "openssl",
    ["verify", "-x509_strict", "-purpose", purpose, ...crlArgs, "-CAfile", caFile, leafFile],
    { encoding: "utf8" },
  );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/**
 * A new self-signed P-256 CA made by OpenSSL, as an outside party's CA would be (basic
 * constraints and key usage critical); returns the paths of its key and certificate (PEM).
 */
export function opensslEcCa(
  dir: string,
  name: string,
  subject: string,
  days: number,
): { readonly key: string; readonly cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-subj",
    subject,
    "-days",
    String(days),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    cert,
  ]);
  return { key, cert };
}
