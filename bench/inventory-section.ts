/**
 * The `inventory` section: exporting 100,000 certificate records as CSV through the streaming
 * export (GET /v1/certificates/export, the real route) against the same rows collected in
 * memory first and serialised at the end (the naive way), both on the same dynalite table in
 * the same run, and `aws dynamodb query` piped to `jq @csv` (skipped without aws or jq).
 * Each export runs in its own process, so its peak RSS is its own; each runs again with its
 * JavaScript heap capped at 64 MB, which only an export holding a page at a time survives.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { node } from "./measure.ts";
import { mb, printTable, verdict } from "./report.ts";
import { type CleanupStep, scratch } from "./scratch.ts";

const here = new URL(".", import.meta.url).pathname;
const COUNT = 100_000;
/** A heap far smaller than 100,000 rows take held at once. */
const SMALL_HEAP_MB = 64;

interface Figures {
  readonly seconds: number;
  readonly peakRssKb: number;
  readonly rssBeforeKb: number;
  readonly bytes: number;
  readonly sha256: string;
}

export async function inventory(): Promise<void> {
  console.log(
    `\nCertificate inventory export: ${COUNT.toLocaleString("en")} records as CSV, read in notAfter order from gsi1.`,
  );
  console.log("Ours: time from the request to the last byte written; peak RSS of the process.");
  console.log("Naive: the same rows collected in memory, then serialised and written at once.");
  console.log("aws + jq: aws dynamodb query (all pages) | jq @csv, the whole pipeline.\n");
  const { work, cleanups, cleanUp } = scratch("pki-bench-inventory-");
  try {
    const store = await startStore(cleanups);
    console.log(
      `Seeded ${COUNT.toLocaleString("en")} records into dynalite (BatchWriteItem, not measured): ${store.seconds.toFixed(1)} s\n`,
    );
    const run = (mode: "stream" | "naive", heapMb?: number) =>
      runJsonAsync<Figures>([
        node,
        ...(heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`]),
        join(here, "inventory-export.ts"),
        store.endpoint,
        store.table,
        mode,
        join(work, `${mode}${heapMb ?? ""}.csv`),
      ]);
    const stream = await run("stream");
    const naive = await run("naive");
    // Bounded memory shown outright: with the JavaScript heap capped, which still finishes?
    const capped = async (mode: "stream" | "naive") => {
      try {
        const figures = await run(mode, SMALL_HEAP_MB);
        return figures.sha256 === stream.sha256 ? "finishes" : "finishes, but with other rows";
      } catch {
        return "runs out of memory";
      }
    };
    const streamCapped = await capped("stream");
    const naiveCapped = await capped("naive");
    const lines = readFileSync(join(work, "stream.csv"), "utf8").split("\r\n").length - 1;
    if (lines !== COUNT + 1)
      throw new Error(`the streamed CSV has ${lines} lines, not ${COUNT + 1}`);
    if (stream.sha256 !== naive.sha256) throw new Error("the streamed and naive CSVs differ");
    const reference = await awsJq(store.endpoint, store.table, join(work, "aws.csv"));
    const rows: string[][] = [
      ["export", "seconds", "rows/s", "peak RSS", "RSS before", "bytes"],
      figures("ours, streamed", stream),
      figures("naive, in memory", naive),
      reference
        ? [
            "aws dynamodb query | jq",
            reference.seconds.toFixed(2),
            Math.round(COUNT / reference.seconds).toLocaleString("en"),
            mb(reference.peakRssKb),
            "-",
            reference.bytes.toLocaleString("en"),
          ]
        : ["aws dynamodb query | jq", "n/a (no aws, jq or /usr/bin/time)", "", "", "", ""],
    ];
    printTable(rows);
    console.log(`\nPeak RSS of the streamed export: ${mb(stream.peakRssKb)}`);
    verdict(
      `streamed export's peak RSS below the naive one's: ${mb(stream.peakRssKb)} vs ${mb(naive.peakRssKb)}`,
      stream.peakRssKb < naive.peakRssKb,
    );
    console.log(
      `With the heap capped at ${SMALL_HEAP_MB} MB (--max-old-space-size): ours ${streamCapped}, the naive one ${naiveCapped}`,
    );
    verdict(
      `streamed export finishes with a ${SMALL_HEAP_MB} MB heap: ${streamCapped}`,
      streamCapped === "finishes",
    );
    verdict(
      `streamed export within 10% of the naive one's time: ${stream.seconds.toFixed(2)} s vs ${naive.seconds.toFixed(2)} s`,
      stream.seconds <= naive.seconds * 1.1,
    );
  } finally {
    await cleanUp();
  }
}

/** The seeded dynalite, in its own process (inventory-seed.ts); stopped on clean-up. */
async function startStore(cleanups: CleanupStep[]) {
  const child = spawn(node, [join(here, "inventory-seed.ts"), String(COUNT)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  cleanups.push(() => {
    child.stdin.end();
    child.kill();
  });
  let output = "";
  child.stdout.setEncoding("utf8");
  for await (const chunk of child.stdout) {
    output += chunk;
    if (output.includes("\n")) break;
  }
  if (!output.includes("\n")) {
    const [code] = await once(child, "exit");
    throw new Error(`the inventory store exited (${code}) before it was seeded`);
  }
  return JSON.parse(output.split("\n")[0]!) as { endpoint: string; table: string; seconds: number };
}

function figures(name: string, f: Figures): string[] {
  return [
    name,
    f.seconds.toFixed(2),
    Math.round(COUNT / f.seconds).toLocaleString("en"),
    mb(f.peakRssKb),
    mb(f.rssBeforeKb),
    f.bytes.toLocaleString("en"),
  ];
}

/** The reference pipeline, timed with GNU time (its peak: the largest of aws and jq). */
async function awsJq(endpoint: string, table: string, out: string) {
  const onPath = (tool: string) =>
    process.env.PATH?.split(":").some((dir) => existsSync(join(dir, tool)));
  if (!onPath("aws") || !onPath("jq")) return undefined;
  const values = JSON.stringify({ ":p": { S: "CERTS" } });
  const jq =
    '.Items[] | [.serial.S, .subject.S, .profile.S, .requester.S, .caId.S, .notBefore.S, .notAfter.S, .issuedAt.S, .requestId.S, (.revokedAt.S // ""), (.revocationReason.S // "")] | @csv';
  const pipeline = `AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench aws dynamodb query --endpoint-url ${endpoint} --region us-east-1 --table-name ${table} --index-name gsi1 --key-condition-expression 'gsi1pk = :p' --expression-attribute-values '${values}' --output json | jq -r '${jq}' > ${out}`;
  const timed = await timeCommandAsync(["bash", "-c", `set -o pipefail; ${pipeline}`]);
  if (!timed) return undefined;
  const text = readFileSync(out, "utf8");
  const lines = text.split("\n").length - 1;
  if (lines !== COUNT) throw new Error(`aws + jq wrote ${lines} lines, not ${COUNT}`);
  return { ...timed, bytes: Buffer.byteLength(text) };
}

// dynalite answers from this process, so the children are awaited, never waited for in sync.
const execFileAsync = promisify(execFile);

/** Runs a child that prints one JSON line; returns it parsed. */
async function runJsonAsync<T>(command: string[]): Promise<T> {
  const [file, ...args] = command;
  const { stdout } = await execFileAsync(file!, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

/** Wall time and peak RSS of a command through GNU time; undefined without it. */
async function timeCommandAsync(command: string[]) {
  if (!existsSync("/usr/bin/time")) return undefined;
  const { stderr } = await execFileAsync("/usr/bin/time", ["-f", "%e %M", ...command], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  const [seconds, rss] = stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  return { seconds: seconds!, peakRssKb: rss! };
}
