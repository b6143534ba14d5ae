/**
 * Child process of the `authorizer` bench: our revocation authorizer's decision times.
 * Usage: node bench/authorizer-decide.ts CRL_URL BUNDLE_URL LEAVES_FILE COLD_RUNS DECISIONS
 *
 * Cold: a new RevocationAuthorizer's first decision, which downloads the CRL and the bundle from
 * the bench's HTTP server, parses both, verifies the CRL's signature, fills the Set of serials
 * and decides; first in this process (modules loaded, nothing else warm), then COLD_RUNS fresh
 * instances. Warm: DECISIONS decisions over a mix of good and revoked leaves, each timed (wall
 * and process CPU) after an untimed warm-up, with the certificate cache (a client's repeat
 * requests) and without it (every certificate parsed and its signature checked). Refresh:
 * decisions with max-age 0, each confirming both objects with a conditional GET (304). Every
 * outcome is checked. Prints one JSON line.
 */
import { readFileSync } from "node:fs";
import type { Decision } from "@spca/core/authorizer/client-certificate-check";
import { RevocationAuthorizer } from "@spca/core/authorizer/revocation-authorizer";

const [crlUrl, caBundleUrl, leavesFile, coldRunsText, decisionsText] = process.argv.slice(2);
const coldRuns = Number(coldRunsText);
const decisions = Number(decisionsText);
if (!crlUrl || !caBundleUrl || !leavesFile || !(coldRuns >= 0) || !(decisions > 0)) {
  console.error("usage: authorizer-decide.ts CRL_URL BUNDLE_URL LEAVES_FILE COLD_RUNS DECISIONS");
  process.exit(2);
}
const leaves = JSON.parse(readFileSync(leavesFile, "utf8")) as { pem: string; revoked: boolean }[];

let mismatches = 0;
const check = (decision: Decision, leaf: { revoked: boolean }) => {
  const right = leaf.revoked ? !decision.allow && /revoked/.test(decision.reason) : decision.allow;
  if (!right) mismatches++;
};
const make = (maxAgeSeconds: number) =>
  new RevocationAuthorizer({ crlUrl, caBundleUrl, maxAgeSeconds });

const cold: number[] = [];
let rssKb = 0;
for (let run = 0; run <= coldRuns; run++) {
  const authorizer = make(3600);
  const started = performance.now();
  const decision = await authorizer.decide(leaves[0]!.pem);
  cold.push(performance.now() - started);
  check(decision, leaves[0]!);
  if (run === 0) rssKb = process.memoryUsage().rss / 1024;
}

/** Wall and process CPU time of each decision, after an untimed warm-up. */
async function warm(authorizer: RevocationAuthorizer, count: number) {
  await authorizer.decide(leaves[0]!.pem);
  for (let i = 0; i < 1000; i++) {
    const leaf = leaves[i % leaves.length]!;
    check(await authorizer.decide(leaf.pem), leaf);
  }
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const leaf = leaves[i % leaves.length]!;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const decision = await authorizer.decide(leaf.pem);
    wallMs.push(performance.now() - started);
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
    check(decision, leaf);
  }
  return { wallMs, cpuMs };
}

const cached = await warm(make(3600), decisions);
const uncached = await warm(
  new RevocationAuthorizer({ crlUrl, caBundleUrl, maxAgeSeconds: 3600, certificateCacheSize: 0 }),
  decisions,
);
const refresh = await warm(make(0), 200);

console.log(
  JSON.stringify({
    coldFirstMs: cold[0],
    coldMs: cold.slice(1),
    cached,
    uncached,
    refreshMs: refresh.wallMs,
    rssKb,
    mismatches,
  }),
);
