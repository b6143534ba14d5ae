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
/** The largest CRL built with pkijs: it holds an object tree per entry (over 1 GB at 100k). */
const PKIJS_MAX = 100_000;

export async function crl(): Promise<void> {
  console.log("\nCRL build and sign (P-256 CA key, 16-byte serials, reasons on 4 of 5 entries).");
  console.log("Ours: time inside the process; peak RSS of the whole Node process.");
  console.log("openssl ca -gencrl: the whole command, reading its index.txt and writing PEM.");
  console.log(
    "pkijs: the same CRL built directly with pkijs objects, at 100k only (its memory grows with every entry).\n",
  );
  const { dir } = await benchCa("ECC_NIST_P256");
  const rows: string[][] = [
    [
      "entries",
      "ours s",
      "ours peak RSS",
      "openssl s",
      "openssl peak RSS",
      "pkijs s",
      "pkijs peak RSS",
      "CRL bytes",
    ],
  ];
  let million: { ours: number; openssl: number | undefined; rss: number } | undefined;
  let versusPkijs: { ours: number; pkijs: number; oursRss: number; pkijsRss: number } | undefined;
  try {
    for (const count of [100_000, 1_000_000]) {
      const ours = runJson<{
        seconds: number;
        peakRssKb: number;
        rssBeforeKb: number;
        entries: string;
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
      const pkijs =
        count <= PKIJS_MAX
          ? runJson<{ seconds: number; peakRssKb: number; entries: string }>([
              node,
              join(here, "crl-pkijs.ts"),
              dir,
              String(count),
              join(dir, "pkijs.crl"),
            ])
          : undefined;
      if (pkijs && pkijs.entries !== ours.entries) {
        throw new Error("pkijs's CRL does not encode the same entries as ours");
      }
      rmSync(work, { recursive: true, force: true });
      if (pkijs) {
        versusPkijs = {
          ours: ours.seconds,
          pkijs: pkijs.seconds,
          oursRss: ours.peakRssKb,
          pkijsRss: pkijs.peakRssKb,
        };
      }
      if (count === 1_000_000)
        million = { ours: ours.seconds, openssl: reference?.seconds, rss: ours.peakRssKb };
      rows.push([
        count.toLocaleString("en"),
        ours.seconds.toFixed(2),
        `${mb(ours.peakRssKb)} (${mb(ours.rssBeforeKb)} before)`,
        reference ? reference.seconds.toFixed(2) : "n/a (no /usr/bin/time)",
        reference ? mb(reference.peakRssKb) : "n/a",
        pkijs ? pkijs.seconds.toFixed(2) : "not run",
        pkijs ? mb(pkijs.peakRssKb) : "not run",
        ours.bytes.toLocaleString("en"),
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  if (versusPkijs) {
    verdict(
      `100k-entry CRL: our encoder faster and smaller in memory than pkijs: ${versusPkijs.ours.toFixed(2)} s, ${mb(versusPkijs.oursRss)} vs ${versusPkijs.pkijs.toFixed(2)} s, ${mb(versusPkijs.pkijsRss)}`,
      versusPkijs.ours < versusPkijs.pkijs && versusPkijs.oursRss < versusPkijs.pkijsRss,
    );
  }
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
