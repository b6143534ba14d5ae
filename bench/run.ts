/**
 * `npm run bench`: speed and memory figures, each next to a reference tool measured in the
 * same run. Sections can be picked by name: `npm run bench -- crl`.
 *   issuance  certificates per second on one core, next to raw node:crypto sign+verify
 *   crl       CRL build+sign time and peak RSS at 100k and 1M entries, next to openssl ca -gencrl
 *   local     end-to-end issuance through npm start's runtime (submit, automatic approval,
 *             workflow, poll, fetch) at 1 and 16 concurrent clients, next to cfssl serve
 *             signing the same CSR (skipped without cfssl: apt-get install -y golang-cfssl);
 *             also the rate a client gets under the runtime's shipped API rate limit, and a
 *             check that every accepted request ran, was stored and mailed exactly once
 *   revocation  revocation-to-published-CRL latency (p50, p99) on npm start's runtime with
 *             100k revocations already stored, next to openssl ca -revoke + -gencrl over an
 *             index.txt of the same 100k revoked entries and 100k valid ones
 *   authorizer  the mTLS revocation authorizer's decision time with a 100k-entry CRL, cold (first
 *             download, parse and signature check) and warm (p50, p99), next to Python
 *             cryptography's load_der_x509_crl + get_revoked_certificate_by_serial_number over the
 *             same CRL, run by Debian's /usr/bin/python3 with its python3-cryptography, else by
 *             python3 on PATH (skipped without either: apt-get install -y python3-cryptography)
 *   inventory the certificate inventory's CSV export of 100k records (time, peak RSS) through
 *             the streaming API route, next to the same rows collected in memory first and to
 *             aws dynamodb query | jq @csv over the same dynalite table (skipped without them)
 *   lambdas   every Lambda entry point (each src/lambda file exporting `handler`) bundled as
 *             SST 4 deploys it (esbuild, ESM, minified, AWS SDK included): size, gzip size and
 *             cold module init in a fresh Node.js process, next to a minimal Hono + DynamoDB
 *             client Lambda bundled and measured the same way
 */
import { authorizer } from "./authorizer-section.ts";
import { crl } from "./crl-section.ts";
import { inventory } from "./inventory-section.ts";
import { issuance } from "./issuance-section.ts";
import { lambdas } from "./lambdas-section.ts";
import { local } from "./local-section.ts";
import { revocation } from "./revocation-section.ts";

const sections: Record<string, () => Promise<void>> = {
  issuance,
  crl,
  local,
  revocation,
  authorizer,
  lambdas,
  inventory,
};
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
