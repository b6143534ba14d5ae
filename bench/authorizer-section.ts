/**
 * The `authorizer` section: the mTLS revocation authorizer's decision time with a 100k-entry
 * CRL, cold and warm, next to Python `cryptography` over the same CRL.
 */
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import {
  ENTRIES as AUTHORIZER_ENTRIES,
  LEAVES as AUTHORIZER_LEAVES,
  type AuthorizerSetUp,
  setUpAuthorizerBench,
  spawnJson,
} from "./authorizer.ts";
import {
  describePythonCryptography,
  findPythonCryptography,
  PYTHON_CANDIDATES,
  PYTHON_CRYPTOGRAPHY_INSTALL,
} from "./authorizer-python.ts";
import { percentile } from "./load.ts";
import { node, oneCore } from "./measure.ts";
import { mb, printTable, verdict } from "./report.ts";
import { scratch } from "./scratch.ts";

const here = new URL(".", import.meta.url).pathname;

export async function authorizer(): Promise<void> {
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
      "  python  cryptography (Debian's python3-cryptography under /usr/bin/python3, else python3 on",
      "          PATH): urllib + load_der_x509_crl + is_signature_valid (cold); the lookup alone",
      "          (get_revoked_certificate_by_serial_number), and a whole decision (load_pem_x509_",
      "          certificate, verify_directly_issued_by or its checks by hand before cryptography 40,",
      `          validity, lookup); ${pythonDecisions.toLocaleString("en")} of each\n`,
    ].join("\n"),
  );
  const python = findPythonCryptography();
  if (python === undefined)
    console.log(
      `No ${PYTHON_CANDIDATES.join(" or ")} imports cryptography (${PYTHON_CRYPTOGRAPHY_INSTALL}): its rows are skipped.\n`,
    );
  else {
    const fallback =
      python.candidate === PYTHON_CANDIDATES[0]
        ? ""
        : `; ${PYTHON_CANDIDATES[0]} has no cryptography (${PYTHON_CRYPTOGRAPHY_INSTALL})`;
    console.log(`Python measured: ${describePythonCryptography(python)}${fallback}.\n`);
  }
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
    if (python !== undefined) {
      const reference = await spawnJson<{
        coldFirstMs: number;
        coldMs: number[];
        lookup: Timed;
        decision: Timed;
        mismatches: number;
      }>([
        ...oneCore,
        python.executable,
        join(here, "authorizer_reference.py"),
        set.crlUrl,
        set.bundleFile,
        set.leavesFile,
        String(coldRuns),
        String(pythonDecisions),
      ]);
      const label = `python cryptography ${python.version}`;
      row(`${label}, lookup`, reference.coldFirstMs, reference.coldMs, reference.lookup);
      row(`${label}, whole decision`, reference.coldFirstMs, reference.coldMs, reference.decision);
      check(reference.mismatches === 0, `python: ${reference.mismatches} wrong decisions`);
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
