/**
 * The `revocation` section: revocation-to-published-CRL latency on npm start's runtime with
 * 100k revocations stored, next to openssl ca -revoke + -gencrl over the same entries.
 */
import { join } from "node:path";
import { crlFingerprint } from "@spca/core/crl/build";
import { CRL_DEBOUNCE_MS } from "../packages/functions/src/local/runtime.ts";
import { stop } from "../packages/functions/test/support/local-service.ts";
import { POLL_MS as CRL_POLL_MS } from "./crl-watch.ts";
import { percentile } from "./load.ts";
import { makeLeaf } from "./local-leaf.ts";
import { printTable } from "./report.ts";
import { checkCrl } from "./revocation-check.ts";
import { crlDer, opensslRevocationCa, revokeAndPublish } from "./revocation-openssl.ts";
import { crlStatusOf, revokeOurs, setUpOurs } from "./revocation-ours.ts";
import { scratch } from "./scratch.ts";

export async function revocation(): Promise<void> {
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
