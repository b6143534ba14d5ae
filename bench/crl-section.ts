/** The `crl` section: CRL build and sign time and peak RSS, next to openssl ca -gencrl. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCrl } from "@spca/core/crl/parse";
import { decodePemBlocks } from "@spca/core/encoding/pem";
import { benchCa } from "./bench-ca.ts";
import { opensslCaFolder } from "./crl-openssl.ts";
import { node, runJson, timeCommand } from "./measure.ts";
import { mb, printTable, verdict } from "./report.ts";

const here = new URL(".", import.meta.url).pathname;

export async function crl(): Promise<void> {
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
