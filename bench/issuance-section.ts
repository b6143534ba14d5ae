/** The `issuance` section: certificates per second on one core, next to node:crypto. */
import { join } from "node:path";
import { node, oneCore, runJson } from "./measure.ts";
import { printTable, verdict } from "./report.ts";

const here = new URL(".", import.meta.url).pathname;

export async function issuance(): Promise<void> {
  console.log("\nIssuance on one core: CSR checks and signature, policy, TBS built with pkijs and");
  console.log("read back strictly, CA signature, self-check (parse back, verify).");
  console.log("Reference: node:crypto, one CA sign + one CSR verify.\n");
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
  // In production each certificate is one KMS Sign call, and KMS's default account quota is
  // about 1,000 signatures per second: construction must never be the narrower limit.
  verdict(
    `P-256 issuance above the KMS quota of 1,000/s: ${Math.round(p256).toLocaleString("en")}/s`,
    p256 > 1000,
  );
}
