/** The `issuance` section: certificates per second on one core, next to node:crypto. */
import { join } from "node:path";
import { node, oneCore, runJson } from "./measure.ts";
import { printTable, verdict } from "./report.ts";

const here = new URL(".", import.meta.url).pathname;

export async function issuance(): Promise<void> {
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
