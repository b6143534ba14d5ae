/**
 * The `local` section: end-to-end issuance through npm start's runtime, next to cfssl serve
 * signing the same CSR, and every returned certificate checked afterwards.
 */
import { join } from "node:path";
import { stop } from "../packages/functions/test/support/local-service.ts";
import { type LoadResult, percentile, runLoad } from "./load.ts";
import { CFSSL_INSTALL, cfsslVersion, signCfssl, startCfssl, stopCfssl } from "./local-cfssl.ts";
import { checkLeaf, type Leaf, makeLeaf } from "./local-leaf.ts";
import { auditOurs, type Issued, issueOurs, POLL_MS, startOurs } from "./local-ours.ts";
import { printTable } from "./report.ts";
import { type CleanupStep, scratch } from "./scratch.ts";

export async function local(): Promise<void> {
  const levels = [1, 16];
  const seconds = 8;
  console.log(
    [
      "\nLocal end-to-end issuance: one P-256 CSR (from OpenSSL) signed again and again under a",
      `P-256 CA by N clients, each sending its next request when the last is answered; ${seconds} s`,
      "per level after a warm-up. Every certificate returned is checked afterwards (subject, key,",
      "clientAuth, the CA's signature). A request covers:",
      '  ours   POST /v1/requests (profile "client", automatic approval) + the workflow (validate,',
      `         store, sign, file) + GET /v1/requests/{id} every ${POLL_MS} ms until issued`,
      "         + GET /v1/certificates/{serial}, on npm start's runtime (one Node process with",
      "         dynalite, s3rver and the SES stand-in), its per-client rate limit lifted (see below)",
      "  cfssl  one synchronous POST /api/v1/cfssl/sign to cfssl serve\n",
    ].join("\n"),
  );
  const version = cfsslVersion();
  if (version === undefined)
    console.log(`cfssl is not installed (${CFSSL_INSTALL}): its columns are skipped.\n`);

  const { work, cleanups, cleanUp } = scratch("pki-bench-local-");

  const notes: string[] = [];
  const checks: { ok: boolean; text: string }[] = [];
  const check = (ok: boolean, text: string) => checks.push({ ok, text });
  const ours: LoadResult<Issued>[] = [];
  let cfssl: LoadResult<string>[] | undefined;
  try {
    const leaf = makeLeaf(work);

    // Ours, the per-client rate limit lifted.
    const runtime = await startOurs(join(work, "ours"), false);
    cleanups.push(() => stop(runtime.service));
    const issue = () => issueOurs(runtime, leaf);
    const warm = await runLoad({ concurrency: 1, count: 20 }, issue);
    if (warm.errors) check(false, `ours warm-up: ${warm.errors} errors: ${warm.errorSamples}`);
    for (const concurrency of levels) ours.push(await runLoad({ concurrency, seconds }, issue));
    const all = [warm, ...ours];
    const fetched = all.reduce((n, r) => n + r.ok, 0);
    const bad = badCertificates(
      all.flatMap((r) => r.results),
      (i) => checkLeaf(i.pem, runtime.issuer, leaf) === i.serial || "serial differs from the API's",
    );
    check(bad.length === 0, `ours: ${fetched} certificates checked${failures(bad)}`);
    check(
      runtime.serials.size === fetched,
      `ours: ${runtime.serials.size} distinct serials for ${fetched} certificates`,
    );
    const audit = await auditOurs(runtime);
    check(audit.problems.length === 0, `ours: ${[audit.summary, ...audit.problems].join("; ")}`);
    const service = (r: LoadResult<Issued>, p: number) =>
      percentile(
        r.results.map((i) => i.serviceMs).sort((a, b) => a - b),
        p,
      ).toFixed(0);
    notes.push(
      `Ours inside the service (request history, submitted to issued): ${ours
        .map((r) => `p50 ${service(r, 0.5)} ms, p99 ${service(r, 0.99)} ms at ${r.concurrency}`)
        .join("; ")}.`,
      `Ours: ${(runtime.polls / runtime.submitted).toFixed(1)} polls per issuance on average.`,
    );

    // Ours as shipped: the rate limit on, 429s waited out as a client should.
    const shipped = await startOurs(join(work, "ours-shipped"), true);
    cleanups.push(() => stop(shipped.service));
    const issueShipped = () => issueOurs(shipped, leaf);
    await runLoad({ concurrency: 1, count: 20 }, issueShipped); // also spends the burst of 60
    const throttledBefore = shipped.throttled;
    const limited = await runLoad({ concurrency: 1, seconds }, issueShipped);
    notes.push(
      `Ours as shipped (API rate limit: a burst of 60 calls, then 10/s per key and per address;` +
        ` Retry-After waited out), 1 client after a warm-up that spends the burst: ` +
        `${limited.perSecond.toFixed(1)} issuances/s, p50 ${ms(limited.p50Ms)} ms, ` +
        `p99 ${ms(limited.p99Ms)} ms, ${shipped.throttled - throttledBefore} answers 429` +
        `${limited.errors ? `, ${limited.errors} errors` : ""}.`,
    );
    const shippedAudit = await auditOurs(shipped);
    check(
      shippedAudit.problems.length === 0 && limited.errors === 0,
      `ours as shipped: ${[shippedAudit.summary, ...shippedAudit.problems, ...limited.errorSamples].join("; ")}`,
    );

    // cfssl serve: a failure here is reported, and ours is still printed.
    if (version !== undefined) {
      try {
        cfssl = await measureCfssl(work, version, leaf, levels, seconds, cleanups, check, notes);
      } catch (error) {
        check(false, `cfssl ${version}: ${(error as Error).message}`);
      }
    }
  } finally {
    await cleanUp();
  }

  const rows: string[][] = [
    [
      "clients",
      "ours/s",
      "ours p50 ms",
      "ours p99 ms",
      "ours errors",
      `cfssl${version ? ` ${version}` : ""}/s`,
      "cfssl p50 ms",
      "cfssl p99 ms",
      "cfssl errors",
      "ours/cfssl",
    ],
  ];
  for (const [n, our] of ours.entries()) {
    const theirs = cfssl?.[n];
    rows.push([
      String(our.concurrency),
      rate(our.perSecond),
      ms(our.p50Ms),
      ms(our.p99Ms),
      String(our.errors),
      theirs ? rate(theirs.perSecond) : "n/a",
      theirs ? ms(theirs.p50Ms) : "n/a",
      theirs ? ms(theirs.p99Ms) : "n/a",
      theirs ? String(theirs.errors) : "n/a",
      theirs ? `${(our.perSecond / theirs.perSecond).toFixed(3)}x` : "n/a",
    ]);
  }
  printTable(rows);
  for (const note of notes) console.log(note);
  for (const [side, results] of [
    ["ours", ours],
    ["cfssl", cfssl ?? []],
  ] as const) {
    for (const r of results) {
      check(
        r.errors === 0,
        `${side} at ${r.concurrency}: ${r.ok} ok, ${r.errors} errors${r.errorSamples.length ? `: ${r.errorSamples.join(" | ")}` : ""}`,
      );
    }
  }
  for (const { ok, text } of checks) console.log(`${ok ? "OK  " : "FAIL"}  ${text}`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

async function measureCfssl(
  work: string,
  version: string,
  leaf: Leaf,
  levels: readonly number[],
  seconds: number,
  cleanups: CleanupStep[],
  check: (ok: boolean, text: string) => void,
  notes: string[],
): Promise<LoadResult<string>[]> {
  const server = await startCfssl(work, version);
  cleanups.push(() => stopCfssl(server));
  const sign = () => signCfssl(server, leaf);
  const warm = await runLoad({ concurrency: 1, count: 200 }, sign);
  if (warm.errors) check(false, `cfssl warm-up: ${warm.errors} errors: ${warm.errorSamples}`);
  const results: LoadResult<string>[] = [];
  for (const concurrency of levels) results.push(await runLoad({ concurrency, seconds }, sign));
  const pems = [warm, ...results].flatMap((r) => r.results);
  const serials = new Set<string>();
  const bad = badCertificates(pems, (pem) => {
    serials.add(checkLeaf(pem, server.issuer, leaf));
    return true;
  });
  check(
    bad.length === 0 && serials.size === pems.length,
    `cfssl ${version}: ${pems.length} certificates checked, ${serials.size} distinct serials${failures(bad)}`,
  );
  // Its start-up warnings (no OCSP signer, endpoints without a database) are expected.
  const logged = server.stderr
    .join("")
    .split("\n")
    .filter((l) => l && !/WARNING\] (couldn't initialize ocsp|endpoint ')/.test(l));
  if (logged.length) notes.push(`cfssl logged: ${logged.slice(0, 3).join(" | ")}`);
  return results;
}

/** The failures of `check` over `items`, as messages (a check returns true or a message). */
function badCertificates<T>(items: readonly T[], check: (item: T) => true | string): string[] {
  const bad: string[] = [];
  for (const item of items) {
    try {
      const result = check(item);
      if (result !== true) bad.push(result);
    } catch (error) {
      bad.push((error as Error).message);
    }
  }
  return bad;
}

function failures(bad: readonly string[]): string {
  return bad.length
    ? `, ${bad.length} BAD (${[...new Set(bad)].slice(0, 3).join(" | ")})`
    : ", all good";
}

function rate(perSecond: number): string {
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString("en") : perSecond.toFixed(1);
}

function ms(value: number): string {
  return Number.isNaN(value) ? "n/a" : value.toFixed(1);
}
