/**
 * `npm run bench`: speed and memory figures, each next to a reference tool measured in the
 * same run. Sections can be picked by name: `npm run bench -- crl`.
 *   issuance  certificates per second on one core, next to raw node:crypto sign+verify
 *   crl       CRL build+sign time and peak RSS at 100k and 1M entries, next to openssl ca -gencrl
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCrl } from "@spca/core/crl/parse";
import { decodePemBlocks } from "@spca/core/encoding/pem";
import { benchCa } from "./bench-ca.ts";
import { opensslCaFolder } from "./crl-openssl.ts";
import { node, oneCore, runJson, timeCommand } from "./measure.ts";

const here = new URL(".", import.meta.url).pathname;
const sections: Record<string, () => Promise<void>> = { issuance, crl };
const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!Object.hasOwn(sections, name)) {
    console.error(
      `bench: unknown section "${name}"; choose from ${Object.keys(sections).join(", ")}`,
    );
    process.exit(2);
  }
}
for (const [name, run] of Object.entries(sections)) {
  if (chosen.length === 0 || chosen.includes(name)) await run();
}

async function issuance(): Promise<void> {
  console.log("\nIssuance on one core: CSR checks and signature, policy, TBS build, CA signature,");
  console.log(
    "self-check (parse back, verify). Reference: node:crypto, one CA sign + one CSR verify.\n",
  );
  const rows: string[][] = [["CA and leaf key", "issued/s", "node:crypto sign+verify/s", "ratio"]];
  let p256 = 0;
  for (const [spec, algorithm] of [
    ["ECC_NIST_P256"],
    ["ECC_NIST_P384"],
    ["RSA_2048"],
    ["RSA_2048", "RSASSA_PSS_SHA_256"],
    ["RSA_3072"],
  ] as const) {
    const result = runJson<{ issued: number; reference: number }>([
      ...oneCore,
      node,
      join(here, "issuance.ts"),
      spec,
      ...(algorithm ? [algorithm] : []),
    ]);
    if (spec === "ECC_NIST_P256") p256 = result.issued;
    rows.push([
      algorithm ? `${spec} (${algorithm})` : spec,
      Math.round(result.issued).toLocaleString("en"),
      Math.round(result.reference).toLocaleString("en"),
      `${(result.issued / result.reference).toFixed(2)}x`,
    ]);
  }
  printTable(rows);
  verdict(`P-256 issuance ≥ 5,000/s: ${Math.round(p256).toLocaleString("en")}/s`, p256 >= 5000);
}

async function crl(): Promise<void> {
  console.log("\nCRL build and sign (P-256 CA key, 16-byte serials, reasons on 4 of 5 entries).");
  console.log("Ours: time inside the process; peak RSS of the whole Node process.");
  console.log("openssl ca -gencrl: the whole command, reading its index.txt and writing PEM.\n");
  const { dir } = await benchCa("ECC_NIST_P256");
  const rows: string[][] = [
    ["entries", "ours s", "ours peak RSS", "openssl s", "openssl peak RSS", "CRL bytes"],
  ];
  let million: { ours: number; openssl: number | undefined; rss: number } | undefined;
  try {
    for (const count of [100_000, 1_000_000]) {
      const ours = runJson<{
        seconds: number;
        peakRssKb: number;
        rssBeforeKb: number;
        bytes: number;
      }>([node, join(here, "crl-build.ts"), dir, String(count), join(dir, "ours.crl")]);
      const work = mkdtempSync(join(tmpdir(), "pki-bench-openssl-"));
      const config = await opensslCaFolder(
        work,
        join(dir, "keys", "issuing.key.pem"),
        join(dir, "ca", "issuing.pem"),
        count,
      );
      const out = join(work, "crl.pem");
      const reference = timeCommand([
        "openssl",
        "ca",
        "-batch",
        "-gencrl",
        "-config",
        config,
        "-out",
        out,
      ]);
      if (reference) assertEntries(out, count);
      rmSync(work, { recursive: true, force: true });
      if (count === 1_000_000)
        million = { ours: ours.seconds, openssl: reference?.seconds, rss: ours.peakRssKb };
      rows.push([
        count.toLocaleString("en"),
        ours.seconds.toFixed(2),
        `${mb(ours.peakRssKb)} (${mb(ours.rssBeforeKb)} before)`,
        reference ? reference.seconds.toFixed(2) : "n/a (no /usr/bin/time)",
        reference ? mb(reference.peakRssKb) : "n/a",
        ours.bytes.toLocaleString("en"),
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  if (million) {
    verdict(
      `1M-entry CRL no slower than OpenSSL: ${million.ours.toFixed(2)} s vs ${million.openssl?.toFixed(2) ?? "?"} s`,
      million.openssl !== undefined && million.ours <= million.openssl,
    );
    verdict(`1M-entry CRL under 500 MB peak RSS: ${mb(million.rss)}`, million.rss < 500 * 1024);
  }
}

/** The reference must have done the same work: every entry is in its CRL. */
function assertEntries(pemFile: string, expected: number): void {
  const [block] = decodePemBlocks(readFileSync(pemFile, "utf8"));
  let count = 0;
  for (const _ of parseCrl(block!.der).entries()) count++;
  if (count !== expected) throw new Error(`openssl's CRL has ${count} entries, not ${expected}`);
}

function mb(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [n, row] of rows.entries()) {
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join("  "),
    );
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

function verdict(text: string, met: boolean): void {
  console.log(`${met ? "MET " : "MISS"}  ${text}`);
}
