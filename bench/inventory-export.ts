/**
 * Child process: export the whole certificate inventory as CSV from the bench's dynalite,
 * then report the time and this process's peak RSS as one JSON line. Run alone so the RSS is
 * the export's. Two ways:
 *   stream  GET /v1/certificates/export?format=csv through the API app (the real route, an
 *           admin's key), its body written to the file as it arrives
 *   naive   the same rows collected in memory, then serialised and written in one go
 * Usage: node bench/inventory-export.ts ENDPOINT TABLE stream|naive OUT_FILE
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBus } from "@spca/core/events/bus";
import { principalOfKey } from "@spca/core/identity/principal";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { csvHeader, csvLine, type InventoryRow } from "@spca/core/inventory/rows";
import { loadConfig } from "@spca/core/policy/config";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import { createApi } from "../packages/functions/src/api/app.ts";
import { shippedConfig } from "./bench-ca.ts";

const [endpoint, tableName, mode, out] = process.argv.slice(2);
if (!endpoint || !tableName || (mode !== "stream" && mode !== "naive") || !out) {
  console.error("usage: inventory-export.ts ENDPOINT TABLE stream|naive OUT_FILE");
  process.exit(2);
}
const client = new DynamoDBClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
});
// Nothing is signed, started, published or stored on the export's path.
const unused = () => Promise.reject(new Error("not on the export's path"));
const ra = new RegistrationAuthority({
  repository: new DynamoRequestRepository({ client, tableName }),
  inventory: new DynamoCertificateInventory({ client, tableName }),
  revocations: new DynamoRevocationStore({ client, tableName }),
  engine: { startExecution: unused, sendTaskSuccess: unused, sendTaskFailure: unused },
  bus: { publish: unused } as EventBus,
  config: loadConfig(shippedConfig),
  ca: { issuingAuthority: unused, chainPem: unused },
  objects: {} as never,
});

/**
 * This process's peak RSS in kB: VmHWM, which starts afresh at exec (getrusage's maxRSS keeps
 * the forking parent's), else maxRSS where /proc is not there.
 */
function peakRss(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

const rssBeforeKb = peakRss();
const hash = createHash("sha256");
let bytes = 0;
let started: bigint;
if (mode === "stream") {
  const { key } = await ra.createApiKey("admin", "bench", "bench@example.com");
  const app = createApi({
    services: ra,
    clientAddress: () => "127.0.0.1",
    rateLimit: { burst: 1000, perSecond: 1000 },
  });
  started = process.hrtime.bigint();
  const res = await app.request("/v1/certificates/export?format=csv", {
    headers: { authorization: `Bearer ${key}` },
  });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  const file = createWriteStream(out);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    if (!file.write(chunk)) await once(file, "drain");
  }
  file.end();
  await once(file, "finish");
} else {
  started = process.hrtime.bigint();
  const admin = principalOfKey({ id: "bench", role: "admin", owner: "bench@example.com" });
  const rows: InventoryRow[] = [];
  for await (const row of ra.exportCertificateInventory({}, admin)) rows.push(row);
  const text = csvHeader() + rows.map(csvLine).join("");
  const data = Buffer.from(text, "utf8");
  hash.update(data);
  bytes = data.byteLength;
  writeFileSync(out, data);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const peakRssKb = peakRss();
client.destroy();
console.log(JSON.stringify({ seconds, peakRssKb, rssBeforeKb, bytes, sha256: hash.digest("hex") }));
