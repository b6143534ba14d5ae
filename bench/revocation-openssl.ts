/**
 * The `revocation` bench's reference: revoking with OpenSSL as hand-rolled CA scripts do, one
 * `openssl ca -revoke cert.pem` (marks the certificate in index.txt) followed by one
 * `openssl ca -gencrl` (writes a fresh CRL from the whole index) per revocation. The index
 * starts with the seeded revoked entries (the same serials as ours, revoked-entries.ts), as
 * many valid ones, and the certificates to revoke, issued by `openssl ca` itself.
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { appendFileSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { normaliseSerial } from "@spca/core/certificate/serial";
import { decodePemBlocks } from "@spca/core/encoding/pem";
import { opensslCaFolder } from "./crl-openssl.ts";
import { derInteger } from "./crl-watch.ts";
import { opensslTime } from "./revoked-entries.ts";

export interface OpensslCa {
  readonly config: string;
  readonly dir: string;
  /** The certificates issued for revoking, in order, with their serials (lowercase hex). */
  readonly certificates: readonly { readonly file: string; readonly serial: string }[];
  /** Time to write the index and issue the certificates (not measured). */
  readonly setUpSeconds: number;
}

/** An `openssl ca` folder signing with the given CA key, holding `seeded` revoked entries. */
export async function opensslRevocationCa(
  dir: string,
  caKeyFile: string,
  caCertFile: string,
  csrPem: string,
  seeded: number,
  toRevoke: number,
): Promise<OpensslCa> {
  const started = performance.now();
  mkdirSync(join(dir, "certs"), { recursive: true });
  const config = await opensslCaFolder(dir, caKeyFile, caCertFile, seeded);
  await appendValid(join(dir, "index.txt"), seeded);
  // More of the [ bench ] section (OpenSSL adds a repeated section's keys to the first one).
  appendFileSync(
    config,
    `[ bench ]
new_certs_dir = ${join(dir, "certs")}
rand_serial = yes
default_days = 365
policy = any
[ any ]
commonName = supplied
`,
  );
  const csr = join(dir, "leaf.csr");
  writeFileSync(csr, csrPem);
  const certificates: { file: string; serial: string }[] = [];
  for (let i = 0; i < toRevoke; i++) {
    const file = join(dir, `leaf-${i}.pem`);
    openssl(["ca", "-batch", "-notext", "-config", config, "-in", csr, "-out", file]);
    const serial = normaliseSerial(new X509Certificate(readFileSync(file)).serialNumber)!;
    certificates.push({ file, serial });
  }
  return { config, dir, certificates, setUpSeconds: (performance.now() - started) / 1000 };
}

/**
 * Revokes `file` and writes a new CRL; returns the milliseconds both commands took. Then
 * (untimed) checks that the CRL lists `serial`.
 */
export function revokeAndPublish(ca: OpensslCa, file: string, serial: string): number {
  const crl = join(ca.dir, "crl.pem");
  const sent = performance.now();
  openssl(["ca", "-config", ca.config, "-revoke", file, "-crl_reason", "keyCompromise"]);
  openssl(["ca", "-config", ca.config, "-gencrl", "-out", crl]);
  const ms = performance.now() - sent;
  if (Buffer.from(crlDer(ca)).indexOf(derInteger(serial)) < 0)
    throw new Error(`openssl's CRL does not list ${serial} after revoking it`);
  return ms;
}

/** The last CRL `openssl ca -gencrl` wrote, as DER. */
export function crlDer(ca: OpensslCa): Uint8Array {
  const [block] = decodePemBlocks(readFileSync(join(ca.dir, "crl.pem"), "utf8"));
  return block!.der;
}

/**
 * `count` valid certificates in the index, as a CA that has revoked that many has issued at
 * least as many more: `openssl ca` reads and rewrites all of them on every command.
 */
async function appendValid(index: string, count: number): Promise<void> {
  const out = createWriteStream(index, { flags: "a" });
  const expiry = opensslTime(Math.floor(Date.now() / 1000) + 365 * 86400);
  let chunk = "";
  for (let i = 0; i < count; i++) {
    // 16-byte serials unlike the seeded ones (those come from a PRNG; these count up from 4…).
    chunk += `V\t${expiry}\t\t4${i.toString(16).toUpperCase().padStart(31, "0")}\tunknown\t/CN=valid\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = "";
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.once("close", () => r()));
}

function openssl(args: string[]): void {
  const result = spawnSync("openssl", args, { encoding: "utf8" });
  if (result.status !== 0)
    throw new Error(`openssl ${args.slice(0, 2).join(" ")} failed:\n${result.stderr}`);
}
