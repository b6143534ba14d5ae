/**
 * Child process: build and sign one CRL of N entries with our streaming encoder, then report
 * the time and this process's peak RSS as one JSON line. Run alone so the RSS is the CRL's.
 * Usage: node bench/crl-build.ts DATA_DIR N OUT_FILE
 */
import { writeFileSync } from "node:fs";
import { buildCrl } from "@spca/core/crl/build";
import { parseCrl } from "@spca/core/crl/parse";
import { loadConfig } from "@spca/core/policy/config";
import { DataFolderCa } from "@spca/core/store/data-folder-ca";
import { shippedConfig } from "./bench-ca.ts";
import { entriesDigest } from "./crl-entries-digest.ts";
import { benchEntries } from "./revoked-entries.ts";

const [dir, countText, out] = process.argv.slice(2);
const count = Number(countText);
if (!dir || !Number.isInteger(count) || count < 0 || !out) {
  console.error("usage: crl-build.ts DATA_DIR N OUT_FILE");
  process.exit(2);
}
const authority = await new DataFolderCa(dir, loadConfig(shippedConfig)).issuingAuthority();
const rssBeforeKb = process.resourceUsage().maxRSS;
const now = new Date();
const started = process.hrtime.bigint();
const crl = await buildCrl(authority, {
  number: 1n,
  thisUpdate: now,
  nextUpdate: new Date(now.getTime() + 7 * 86400_000),
  entries: benchEntries(count),
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const peakRssKb = process.resourceUsage().maxRSS;
writeFileSync(out, crl);

// Not timed: read it back, so a broken CRL can never pass for a fast one.
let entries = 0;
for (const _ of parseCrl(crl).entries()) entries++;
if (entries !== count) throw new Error(`CRL holds ${entries} entries, expected ${count}`);

console.log(
  JSON.stringify({
    seconds,
    peakRssKb,
    rssBeforeKb,
    entries: entriesDigest(crl),
    bytes: crl.length,
  }),
);
