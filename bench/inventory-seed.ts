/**
 * Child process: the `inventory` bench's store, an in-memory dynalite whose table it fills with
 * certificate records as StoreCertificate leaves them on gsi1 (dynamo-certificates.ts
 * certificateItem), written with BatchWriteItem. Only the records: an admin's export reads
 * gsi1 and no requester's view items. It prints { endpoint, seconds } as one JSON line and
 * serves until its stdin closes. A process of its own, so the section's process stays small:
 * a child's peak RSS as the kernel counts it starts from its parent's at fork.
 * Usage: node bench/inventory-seed.ts COUNT
 */
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { certificateItem } from "@spca/core/store/dynamo-certificates";
import type { CertificateRecord } from "@spca/core/store/request-repository";
import { createTable } from "@spca/core/store/table";
import dynalite from "dynalite";

const TABLE = "spca-bench-inventory";
/** DynamoDB's limit per BatchWriteItem. */
const BATCH = 25;
/** Batches in flight; dynalite runs in this process, so more gains little. */
const IN_FLIGHT = 8;
const CREDENTIALS = { accessKeyId: "bench", secretAccessKey: "bench" };
const DAY_MS = 86_400_000;

async function seedInventory(count: number, now: Date) {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: CREDENTIALS });
  const doc = DynamoDBDocumentClient.from(client);
  const started = performance.now();
  try {
    await createTable(client, TABLE);
    const items = records(count, now);
    const worker = async () => {
      for (;;) {
        // next(), not for-of: leaving a for-of early would close the shared generator.
        const batch: Record<string, unknown>[] = [];
        for (let next = items.next(); !next.done; next = items.next()) {
          batch.push(certificateItem(next.value));
          if (batch.length === BATCH) break;
        }
        if (batch.length === 0) return;
        let requests = batch.map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 1; requests.length > 0; attempt++) {
          if (attempt > 10) throw new Error(`${requests.length} items still unprocessed`);
          const result = await doc.send(
            new BatchWriteCommand({ RequestItems: { [TABLE]: requests } }),
          );
          requests = (result.UnprocessedItems?.[TABLE] ?? []) as typeof requests;
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    client.destroy();
  }
  return { server, endpoint, seconds: (performance.now() - started) / 1000 };
}

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1) {
  console.error("usage: inventory-seed.ts COUNT");
  process.exit(2);
}
const { server, endpoint, seconds } = await seedInventory(count, new Date());
console.log(JSON.stringify({ endpoint, table: TABLE, seconds }));
process.stdin.resume();
process.stdin.on("close", () => server.close());
process.stdin.on("end", () => server.close());

/** Certificates of 1,000 people over two years, a tenth revoked, some names needing quotes. */
function* records(count: number, now: Date): Generator<CertificateRecord> {
  for (let i = 0; i < count; i++) {
    const serial = `1${i.toString(16).padStart(31, "0")}`;
    const person = `person-${i % 1000}@example.com`;
    const host = `host-${i}.svc-${i % 50}.example.internal`;
    yield {
      serial,
      requestId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
      objectKey: `certificates/${serial}.pem`,
      subject: i % 100 === 0 ? `CN=${host},O="Example, Inc."` : `CN=${host},O=Example`,
      sans: [
        { type: "dns", value: host },
        { type: "dns", value: `alt-${i}.example.internal` },
      ],
      profile: i % 3 === 0 ? "client" : "server",
      notBefore: new Date(now.getTime() - 30 * DAY_MS).toISOString(),
      notAfter: new Date(now.getTime() + (((i * 7919) % 730) - 30) * DAY_MS).toISOString(),
      requester: person,
      principal: { id: `oidc:${person}`, email: person, groups: [`team-${i % 20}`] },
      caId: "0123456789abcdef",
      renews: null,
      issuedAt: new Date(now.getTime() - 30 * DAY_MS).toISOString(),
      renewedBy: null,
      revokedAt: i % 10 === 0 ? new Date(now.getTime() - DAY_MS).toISOString() : null,
      revocationReason: i % 10 === 0 ? "superseded" : null,
    };
  }
}
