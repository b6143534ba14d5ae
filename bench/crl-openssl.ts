/**
 * The reference CRL builder: `openssl ca -gencrl` over an index.txt holding the same revoked
 * serials, signed with the same CA key. Its time includes reading index.txt, the only input
 * form it has.
 */
import { createWriteStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchEntries, indexLine } from "./revoked-entries.ts";

/** Writes an `openssl ca` database and config for `count` revoked entries; returns the config. */
export async function opensslCaFolder(
  dir: string,
  caKeyFile: string,
  caCertFile: string,
  count: number,
): Promise<string> {
  const index = join(dir, "index.txt");
  const out = createWriteStream(index);
  let chunk = "";
  for (const entry of benchEntries(count)) {
    chunk += indexLine(entry);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = "";
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.once("close", () => r()));
  writeFileSync(`${index}.attr`, "unique_subject = no\n");
  writeFileSync(join(dir, "crlnumber"), "01\n");
  const config = join(dir, "openssl-ca.cnf");
  writeFileSync(
    config,
    `[ ca ]
default_ca = bench
[ bench ]
database = ${index}
crlnumber = ${join(dir, "crlnumber")}
certificate = ${caCertFile}
private_key = ${caKeyFile}
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
`,
  );
  return config;
}
