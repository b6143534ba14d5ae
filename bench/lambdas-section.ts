/**
 * The `lambdas` section: every Lambda entry point bundled as SST 4 deploys it, its size and
 * cold module init, next to a minimal Hono + DynamoDB Lambda bundled and measured the same way.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
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
import { percentile } from "./load.ts";
import { printTable } from "./report.ts";

const here = new URL(".", import.meta.url).pathname;

export async function lambdas(): Promise<void> {
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
