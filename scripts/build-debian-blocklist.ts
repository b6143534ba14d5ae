/**
 * Builds packages/core/src/keys/debian-weak-rsa.bin from openssl-vulnkey style lists (one
 * 20-hex-digit entry per line, "#" comments), such as Debian's openssl-blacklist files.
 *
 *   node scripts/build-debian-blocklist.ts [extra lists...]
 *
 * packages/core/data/debian-weak-rsa.txt is always included.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { encodeBlocklist } from "../packages/core/src/keys/debian-weak.ts";

const inputs = [
  new URL("../packages/core/data/debian-weak-rsa.txt", import.meta.url).pathname,
  ...process.argv.slice(2),
];
const values = new Set<bigint>();
for (const file of inputs) {
  for (const [index, raw] of readFileSync(file, "latin1").split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    if (!/^[0-9a-f]{20}$/i.test(line)) {
      console.error(`${file}:${index + 1}: not a 20-hex-digit openssl-vulnkey entry: ${line}`);
      process.exit(1);
    }
    values.add(BigInt(`0x${line.slice(4)}`));
  }
}
const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const out = new URL("../packages/core/src/keys/debian-weak-rsa.bin", import.meta.url);
writeFileSync(out, encodeBlocklist(sorted));
console.log(`wrote ${sorted.length} fingerprints to ${out.pathname}`);
