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
 *             same CRL (skipped without it: apt-get install -y python3-cryptography)
 *   lambdas   every Lambda entry point (each src/lambda file exporting `handler`) bundled as
 *             SST 4 deploys it (esbuild, ESM, minified, AWS SDK included): size, gzip size and
 *             cold module init in a fresh Node.js process, next to a minimal Hono + DynamoDB
 *             client Lambda bundled and measured the same way
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { crlFingerprint } from "@spca/core/crl/build";
import { parseCrl } from "@spca/core/crl/parse";
import { decodePemBlocks } from "@spca/core/encoding/pem";
import { CRL_DEBOUNCE_MS } from "../packages/functions/src/local/runtime.ts";
import { stop } from "../packages/functions/test/support/local-service.ts";
import {
  ENTRIES as AUTHORIZER_ENTRIES,
  LEAVES as AUTHORIZER_LEAVES,
  type AuthorizerSetUp,
  PYTHON_CRYPTOGRAPHY_INSTALL,
  pythonCryptographyVersion,
  setUpAuthorizerBench,
  spawnJson,
} from "./authorizer.ts";
import { benchCa } from "./bench-ca.ts";
import { opensslCaFolder } from "./crl-openssl.ts";
import { POLL_MS as CRL_POLL_MS } from "./crl-watch.ts";
import {
  BENCH_LAMBDA_OUT,
  bundleLambda,
  bytesByPackage,
  findLambdaEntries,
  type LambdaBundle,
  lambdaName,
  unbundledImports,
} from "./lambda-bundle.ts";
import { type InitMeasurement, measureInit } from "./lambda-init.ts";
import { type LoadResult, percentile, runLoad } from "./load.ts";
import { CFSSL_INSTALL, cfsslVersion, signCfssl, startCfssl, stopCfssl } from "./local-cfssl.ts";
import { checkLeaf, type Leaf, makeLeaf } from "./local-leaf.ts";
import { auditOurs, type Issued, issueOurs, POLL_MS, startOurs } from "./local-ours.ts";
import { node, oneCore, runJson, timeCommand } from "./measure.ts";
import { checkCrl } from "./revocation-check.ts";
import { crlDer, opensslRevocationCa, revokeAndPublish } from "./revocation-openssl.ts";
import { crlStatusOf, revokeOurs, setUpOurs } from "./revocation-ours.ts";
import { type CleanupStep, scratch } from "./scratch.ts";

const here = new URL(".", import.meta.url).pathname;
const sections: Record<string, () => Promise<void>> = {
  issuance,
  crl,
  local,
  revocation,
  authorizer,
  lambdas,
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

async function local(): Promise<void> {
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

async function revocation(): Promise<void> {
  const seeded = 100_000;
  const n = 20;
  console.log(
    [
      `\nRevocation to published CRL, ${seeded.toLocaleString("en")} revocations already held, P-256`,
      `issuing CA. ${n} certificates revoked one at a time, each after the last is published, plus`,
      "one untimed warm-up revocation before them on each side. A revocation covers:",
      "  ours     POST /v1/certificates/{serial}/revoke on npm start's runtime until the CRL object",
      `           in s3rver's bucket lists the serial (GetObject with If-None-Match every ${CRL_POLL_MS} ms,`,
      `           straight to s3rver); includes the runtime's ${CRL_DEBOUNCE_MS} ms debounce, the DynamoDB`,
      "           query of every entry, building and signing the DER CRL and writing it to the bucket",
      "  openssl  openssl ca -revoke cert.pem, then openssl ca -gencrl (PEM to a local file), over an",
      `           index.txt of the same ${seeded.toLocaleString("en")} revoked serials, as many valid certificates and`,
      "           the ones revoked (issued by openssl ca), signed with the same CA key\n",
    ].join("\n"),
  );
  const { work, cleanups, cleanUp } = scratch("pki-bench-revocation-");

  const checks: { ok: boolean; text: string }[] = [];
  const check = (ok: boolean, text: string) => checks.push({ ok, text });
  const notes: string[] = [];
  const rows: string[][] = [
    ["", "n", "p50 ms", "p99 ms", "warm-up ms", "CRL entries", "CRL bytes"],
  ];
  const row = (side: string, warm: number, timed: number[], entries: number, bytes: number) => {
    const sorted = [...timed].sort((a, b) => a - b);
    rows.push([
      side,
      String(sorted.length),
      percentile(sorted, 0.5).toFixed(0),
      percentile(sorted, 0.99).toFixed(0),
      warm.toFixed(0),
      entries.toLocaleString("en"),
      bytes.toLocaleString("en"),
    ]);
  };
  try {
    const leaf = makeLeaf(work);

    // Ours.
    const dataDir = join(work, "ours");
    const setUp = await setUpOurs(dataDir, leaf, seeded, n + 1, (ours) =>
      cleanups.push(() => stop(ours.service)),
    );
    console.log(
      `Seeding ${seeded.toLocaleString("en")} revocations into dynalite (BatchWriteItem, not measured): ` +
        `${setUp.seedSeconds.toFixed(1)} s, ${Math.round(seeded / setUp.seedSeconds).toLocaleString("en")}/s`,
    );
    const [first, ...rest] = setUp.serials;
    let last = await revokeOurs(setUp, first!);
    const oursWarm = last.ms;
    const ours: number[] = [];
    for (const serial of rest) {
      last = await revokeOurs(setUp, serial);
      ours.push(last.ms);
    }
    const status = await crlStatusOf(setUp, last.der);
    const { stderr } = setUp.ours;
    await stop(setUp.ours.service);
    const oursCheck = checkCrl(last.der, seeded, setUp.serials);
    check(
      oursCheck.problems.length === 0,
      `ours: the last CRL lists ${oursCheck.entries.toLocaleString("en")} entries: the seeded ones and all ${setUp.serials.length} revoked${oursCheck.problems.length ? `; ${oursCheck.problems.join("; ")}` : ""}`,
    );
    check(
      status.entries === oursCheck.entries &&
        status.size === last.der.length &&
        status.sha256 === crlFingerprint(last.der),
      `ours: GET /v1/crl/status (CRL ${status.number}, ${status.entries} entries, ${status.size} bytes) describes the CRL fetched from the bucket`,
    );
    const errors = stderr.join("").trim();
    check(
      errors === "",
      `ours: the runtime's stderr ${errors ? `: ${errors.slice(0, 300)}` : "is empty"}`,
    );
    const { watch, parts } = setUp;
    const oursP50 = percentile(
      [...ours].sort((a, b) => a - b),
      0.5,
    );
    notes.push(
      `Ours, parts of one publication timed alone on dynalite before the start (best of 3): ` +
        `query of ${parts.entries.toLocaleString("en")} revocations ${parts.queryMs.toFixed(0)} ms, ` +
        `build and sign ${parts.buildMs.toFixed(0)} ms; with the ${CRL_DEBOUNCE_MS} ms debounce ` +
        `${(CRL_DEBOUNCE_MS + parts.queryMs + parts.buildMs).toFixed(0)} of the p50's ${oursP50.toFixed(0)} ms.`,
    );
    notes.push(
      `Ours: ${watch.polls} conditional GETs to s3rver, ${watch.downloads} CRL downloads.`,
    );
    check(
      watch.torn === 0,
      `ours: ${watch.torn} reads of the bucket returned part of a CRL (S3 never does; local/s3rver-atomic.ts)`,
    );
    row("ours", oursWarm, ours, oursCheck.entries, last.der.length);

    // OpenSSL, with the runtime stopped.
    const ca = await opensslRevocationCa(
      join(work, "openssl"),
      join(dataDir, "keys", "issuing.key.pem"),
      join(dataDir, "ca", "issuing.pem"),
      leaf.csrPem,
      seeded,
      n + 1,
    );
    const [warmCert, ...timedCerts] = ca.certificates;
    const opensslWarm = revokeAndPublish(ca, warmCert!.file, warmCert!.serial);
    const openssl = timedCerts.map((c) => revokeAndPublish(ca, c.file, c.serial));
    const der = crlDer(ca);
    const opensslCheck = checkCrl(
      der,
      seeded,
      ca.certificates.map((c) => c.serial),
    );
    check(
      opensslCheck.problems.length === 0,
      `openssl: the last CRL lists ${opensslCheck.entries.toLocaleString("en")} entries: the seeded ones and all ${ca.certificates.length} revoked${opensslCheck.problems.length ? `; ${opensslCheck.problems.join("; ")}` : ""}`,
    );
    notes.push(
      `OpenSSL set-up (index.txt of ${(2 * seeded).toLocaleString("en")} lines, ${ca.certificates.length} certificates issued by openssl ca; not measured): ${ca.setUpSeconds.toFixed(1)} s.`,
    );
    row("openssl", opensslWarm, openssl, opensslCheck.entries, der.length);
  } catch (error) {
    check(false, (error as Error).stack ?? String(error));
  } finally {
    await cleanUp();
  }
  printTable(rows);
  console.log(
    `p99 of ${n} is the slowest of them; CRL bytes are DER (openssl writes PEM, decoded).`,
  );
  for (const note of notes) console.log(note);
  for (const { ok, text } of checks) console.log(`${ok ? "OK  " : "FAIL"}  ${text}`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

async function authorizer(): Promise<void> {
  const coldRuns = 7;
  const decisions = 10_000;
  const pythonDecisions = 1_000; // its lookup walks the CRL: ~20 ms each at 100k entries
  console.log(
    [
      `\nmTLS revocation authorizer: decision time with a ${AUTHORIZER_ENTRIES.toLocaleString("en")}-entry CRL (P-256 CA), ${AUTHORIZER_LEAVES}`,
      "client certificates of which half are revoked (spread through the CRL), the CRL and the CA",
      "bundle served over HTTP on 127.0.0.1 with ETags. Each side runs in its own process, one core.",
      "Cold: the first load (download, parse, CRL signature check) and first decision, first in the",
      `process and then the median of ${coldRuns} fresh loads. Warm: each decision timed, wall and CPU`,
      `(CPU time leaves out waiting for a core: load average now ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores).`,
      `  ours    RevocationAuthorizer, the mtls-authorizer Lambda's core; ${decisions.toLocaleString("en")} whole decisions (PEM,`,
      "          issuer and signature, validity, CRL lookup): repeat certificates, whose parse and",
      "          signature check are kept (a client's later requests), and with nothing kept",
      "  python  cryptography: urllib + load_der_x509_crl + is_signature_valid (cold); the lookup",
      `          alone (get_revoked_certificate_by_serial_number), and a whole decision (load_pem_x509_`,
      `          certificate, verify_directly_issued_by, validity, lookup); ${pythonDecisions.toLocaleString("en")} of each\n`,
    ].join("\n"),
  );
  const version = pythonCryptographyVersion();
  if (version === undefined)
    console.log(
      `python3 cryptography is not installed (${PYTHON_CRYPTOGRAPHY_INSTALL}): its rows are skipped.\n`,
    );
  const { work, cleanups, cleanUp } = scratch("pki-bench-authorizer-");
  const checks: { ok: boolean; text: string }[] = [];
  const check = (ok: boolean, text: string) => checks.push({ ok, text });
  const rows: string[][] = [
    ["", "cold first ms", "cold median ms", "warm p50 ms", "warm p99 ms", "CPU p99 ms"],
  ];
  const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
  const p99 = (values: readonly number[]) => percentile(sorted(values), 0.99);
  type Timed = { wallMs: number[]; cpuMs: number[] };
  const row = (side: string, coldFirst: number, cold: number[], warm: Timed) => {
    rows.push([
      side,
      coldFirst.toFixed(1),
      percentile(sorted(cold), 0.5).toFixed(1),
      percentile(sorted(warm.wallMs), 0.5).toFixed(3),
      p99(warm.wallMs).toFixed(3),
      p99(warm.cpuMs).toFixed(3),
    ]);
  };
  let set: AuthorizerSetUp | undefined;
  const notes: string[] = [];
  let ours: { coldFirstMs: number; cached: Timed; uncached: Timed } | undefined;
  try {
    set = await setUpAuthorizerBench(work, cleanups);
    const result = await spawnJson<{
      coldFirstMs: number;
      coldMs: number[];
      cached: Timed;
      uncached: Timed;
      refreshMs: number[];
      rssKb: number;
      mismatches: number;
    }>([
      ...oneCore,
      node,
      join(here, "authorizer-decide.ts"),
      set.crlUrl,
      set.bundleUrl,
      set.leavesFile,
      String(coldRuns),
      String(decisions),
    ]);
    ours = result;
    row("ours, repeat certificates", result.coldFirstMs, result.coldMs, result.cached);
    row("ours, nothing kept", result.coldFirstMs, result.coldMs, result.uncached);
    check(result.mismatches === 0, `ours: ${result.mismatches} wrong decisions`);
    notes.push(
      `Ours with max-age 0 (every decision confirms the CRL and the bundle with a conditional GET, ` +
        `answered 304): p50 ${percentile(sorted(result.refreshMs), 0.5).toFixed(2)} ms. ` +
        `RSS after the first load: ${mb(result.rssKb)}.`,
    );
    if (version !== undefined) {
      const python = await spawnJson<{
        coldFirstMs: number;
        coldMs: number[];
        lookup: Timed;
        decision: Timed;
        mismatches: number;
      }>([
        ...oneCore,
        "python3",
        join(here, "authorizer_reference.py"),
        set.crlUrl,
        set.bundleFile,
        set.leavesFile,
        String(coldRuns),
        String(pythonDecisions),
      ]);
      const label = `python cryptography ${version}`;
      row(`${label}, lookup`, python.coldFirstMs, python.coldMs, python.lookup);
      row(`${label}, whole decision`, python.coldFirstMs, python.coldMs, python.decision);
      check(python.mismatches === 0, `python: ${python.mismatches} wrong decisions`);
    }
  } catch (error) {
    check(false, (error as Error).stack ?? String(error));
  } finally {
    await cleanUp();
  }
  printTable(rows);
  if (set)
    console.log(
      `CRL: ${set.entries.toLocaleString("en")} entries, ${set.crlBytes.toLocaleString("en")} bytes DER.`,
    );
  for (const note of notes) console.log(note);
  if (ours) {
    for (const [what, timed] of [
      ["repeat certificates", ours.cached],
      ["nothing kept", ours.uncached],
    ] as const) {
      const wall = p99(timed.wallMs);
      verdict(
        `warm p99 under 1 ms, ${what}: ${wall.toFixed(3)} ms (CPU ${p99(timed.cpuMs).toFixed(3)} ms)`,
        wall < 1,
      );
    }
    verdict(
      `cold under 300 ms (first in the process): ${ours.coldFirstMs.toFixed(0)} ms`,
      ours.coldFirstMs < 300,
    );
  }
  for (const { ok, text } of checks) console.log(`${ok ? "OK  " : "FAIL"}  ${text}`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

async function lambdas(): Promise<void> {
  const runs = 7;
  const sizeLimit = 1_048_576; // 1 MiB
  const initLimitMs = 150;
  const { version: esbuildVersion } = await import("esbuild");
  console.log(
    [
      "\nLambda bundles: every file under packages/functions/src/lambda that exports `handler`,",
      `bundled as SST 4 deploys a nodejs24.x function (esbuild ${esbuildVersion}: bundle, ESM, node24,`,
      "minify, keepNames, no source map, SST's createRequire banner; nothing external, so the AWS",
      `SDK is in every bundle), written to ${relative(process.cwd(), BENCH_LAMBDA_OUT)}/. Cold init:`,
      `\`await import(bundle)\` timed inside a fresh Node.js ${process.version} process with a deployed`,
      "function's environment (PKI_*, AWS_REGION, dummy credentials, POWERTOOLS_TRACE_ENABLED=false,",
      `no _X_AMZN_TRACE_ID; network use is watched for), ${runs} processes per bundle, in turns across`,
      "bundles, after one untimed import each. Reference: a Hono app behind hono/aws-lambda with one",
      "DynamoDBClient made at init (bench/reference-lambda.ts), bundled and measured the same way.\n",
    ].join("\n"),
  );
  rmSync(BENCH_LAMBDA_OUT, { recursive: true, force: true });
  mkdirSync(BENCH_LAMBDA_OUT, { recursive: true });

  const referenceLabel = "reference: hono + DynamoDB";
  const targets = [
    ...findLambdaEntries().map((entry) => ({ label: lambdaName(entry), entry, outDir: "" })),
    { label: referenceLabel, entry: join(here, "reference-lambda.ts"), outDir: "_reference" },
  ];
  const notes: string[] = [];
  const started = performance.now();
  const settled = await Promise.allSettled(
    targets.map((t) => bundleLambda(t.entry, join(BENCH_LAMBDA_OUT, t.outDir))),
  );
  const bundleSeconds = (performance.now() - started) / 1000;
  const bundles = new Map<string, LambdaBundle>();
  for (const [i, result] of settled.entries()) {
    const { label } = targets[i]!;
    if (result.status === "fulfilled") {
      bundles.set(label, result.value);
      for (const w of result.value.warnings) notes.push(`${label}: esbuild warning: ${w.text}`);
      const left = unbundledImports(result.value.metafile);
      if (left.length) notes.push(`${label}: left outside the bundle: ${left.join(", ")}`);
    } else {
      const error = result.reason as { errors?: { text: string }[]; message?: string };
      const text = error.errors?.map((e) => e.text).join("; ") ?? error.message;
      notes.push(`${label}: the bundle does not build: ${text}`);
    }
  }

  // One untimed import each (also fills the page cache), then the timed ones in turns.
  const times = new Map<string, number[]>();
  const failed = new Map<string, string>();
  const network = new Map<string, Set<string>>();
  const record = (label: string, m: InitMeasurement, timed: boolean) => {
    if (timed) times.get(label)!.push(m.ms);
    if (m.handler !== "function") failed.set(label, `handler is ${m.handler}, not a function`);
    for (const use of m.network) network.get(label)!.add(use);
  };
  for (const label of bundles.keys()) {
    times.set(label, []);
    network.set(label, new Set());
  }
  for (let run = 0; run <= runs; run++) {
    for (const [label, bundle] of bundles) {
      if (failed.has(label)) continue;
      try {
        record(label, await measureInit(bundle.outfile, `pki-${bundle.name}`), run > 0);
      } catch (error) {
        failed.set(label, (error as Error).message.split("\n").slice(0, 3).join(" | "));
      }
    }
  }

  const rows: string[][] = [
    ["function", "bytes", "KiB", "gzip bytes", "init median ms", "init max ms", "targets"],
  ];
  for (const { label } of targets) {
    const bundle = bundles.get(label);
    if (!bundle) {
      rows.push([label, "n/a", "n/a", "n/a", "n/a", "n/a", "BUILD FAILED"]);
      continue;
    }
    const sorted = [...times.get(label)!].sort((a, b) => a - b);
    const median = percentile(sorted, 0.5);
    const max = sorted.at(-1) ?? Number.NaN;
    const misses = [
      ...(bundle.bytes >= sizeLimit ? ["size"] : []),
      ...(failed.has(label) ? ["IMPORT FAILED"] : median >= initLimitMs ? ["init"] : []),
      ...(network.get(label)!.size ? ["NETWORK"] : []),
    ];
    rows.push([
      label,
      bundle.bytes.toLocaleString("en"),
      (bundle.bytes / 1024).toFixed(0),
      bundle.gzipBytes.toLocaleString("en"),
      failed.has(label) ? "n/a" : median.toFixed(1),
      failed.has(label) ? "n/a" : max.toFixed(1),
      misses.length ? `OVER: ${misses.join(", ")}` : "ok",
    ]);
  }
  printTable(rows);
  console.log(
    `Targets: minified bundle under 1 MiB (${sizeLimit.toLocaleString("en")} bytes, not 1,000,000); ` +
      `cold init median under ${initLimitMs} ms. OVER marks a miss (the reference row is checked ` +
      "against the same targets, for comparison). gzip is zlib level 6, roughly the deployment zip.",
  );
  console.log(`Bundling all ${targets.length} in parallel took ${bundleSeconds.toFixed(1)} s.`);

  // What fills the bundles, from esbuild's metafile.
  const ours = [...bundles].filter(([label]) => label !== referenceLabel);
  const largest = ours.sort(([, a], [, b]) => b.bytes - a.bytes)[0];
  if (largest) {
    const [label, bundle] = largest;
    const packages = bytesByPackage(bundle);
    const sdk = packages
      .filter((p) => /^@(aws-sdk|smithy|aws-crypto|aws)\//.test(p.name))
      .reduce((n, p) => n + p.bytes, 0);
    const share = (bytes: number) => `${((100 * bytes) / bundle.bytes).toFixed(0)}%`;
    console.log(
      `Largest bundle, ${label} (${bundle.bytes.toLocaleString("en")} bytes), by package ` +
        `(bytes in the output): ${packages
          .slice(0, 8)
          .map((p) => `${p.name} ${p.bytes.toLocaleString("en")} (${share(p.bytes)})`)
          .join(", ")}; the AWS SDK (@aws-sdk/*, @smithy/*, @aws-crypto/*, @aws/*) ` +
        `${sdk.toLocaleString("en")} (${share(sdk)}) in all.`,
    );
  }
  for (const [label, uses] of network) {
    if (uses.size) notes.push(`${label}: network use during init: ${[...uses].join(", ")}`);
  }
  for (const [label, reason] of failed) notes.push(`${label}: ${reason}`);
  for (const note of notes) console.log(note);
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
