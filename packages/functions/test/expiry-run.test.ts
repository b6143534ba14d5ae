/**
 * `pki expiry run` end to end, short of the process: the CLI finds the service through the
 * data folder's lock and runtime.json, POSTs /v1/expiry-reminders/run with the admin key, and
 * the API (the real registration authority over dynalite) runs the real job, mailing into a
 * memory mailer. Admin only; again, nothing new; without the job wired in (AWS), a 404 that
 * says where the reminders run.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createEvent, type EventBus } from "@spca/core/events/bus";
import { type ExpiryReport, runExpiryReminders } from "@spca/core/expiry/reminders";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { MemoryMailer } from "@spca/core/notifications/memory-mailer";
import { loadConfig } from "@spca/core/policy/config";
import { createApiKey } from "@spca/core/ra/api-keys";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { MemoryObjects } from "../../core/test/support/memory-objects.ts";
import { newRequest } from "../../core/test/support/request-fixtures.ts";
import { scratchDir } from "../../core/test/support/scratch.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { createApi } from "../src/api/app.ts";
import { describe as describeReport, expiry } from "../src/cli/expiry.ts";
import { listenForApi } from "../src/local/api-listener.ts";
import { writeRuntimeInfo } from "../src/local/runtime-info.ts";
import { acquireLock } from "../src/local/runtime-lock.ts";

const NOW = new Date("2031-06-01T00:00:00.000Z");
const DAY = 86_400_000;

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(() => dynamo.close());

async function service(options: { wired: boolean }) {
  const tableName = await dynamo.freshTable();
  const repository = new DynamoRequestRepository({
    client: dynamo.client,
    tableName,
    now: () => NOW,
  });
  const inventory = new DynamoCertificateInventory({ client: dynamo.client, tableName });
  const bus: EventBus = { publish: async (type, detail) => createEvent(type, detail) };
  const config = loadConfig(shippedConfigPath);
  const nothing = () => Promise.reject(new Error("nothing is signed or started here"));
  const ra = new RegistrationAuthority({
    repository,
    inventory,
    revocations: new DynamoRevocationStore({ client: dynamo.client, tableName }),
    engine: { startExecution: nothing, sendTaskSuccess: nothing, sendTaskFailure: nothing },
    bus,
    config,
    ca: { issuingAuthority: nothing, chainPem: nothing },
    objects: new MemoryObjects(),
    now: () => NOW,
  });
  const mailer = new MemoryMailer();
  const app = createApi({
    services: ra,
    clientAddress: () => "198.51.100.7",
    ...(options.wired
      ? {
          expiryReminders: () =>
            runExpiryReminders({ inventory, repository, mailer, bus, config }, NOW),
        }
      : {}),
  });
  const listener = await listenForApi(0);
  listener.attach(app.fetch);
  const admin = await createApiKey(repository, {
    role: "admin",
    label: "ops",
    owner: "ops@example.com",
  });
  const requester = await createApiKey(repository, {
    role: "requester",
    label: "ci",
    owner: "ci@example.com",
  });
  const { request } = await repository.createRequest(newRequest({ requester: "dev@example.com" }));
  await repository.putCertificate({
    serial: "5e41a1",
    requestId: request.id,
    objectKey: "certificates/5e41a1.pem",
    subject: "CN=app.example.com",
    sans: [{ type: "dns", value: "app.example.com" }],
    profile: "server",
    requester: "dev@example.com",
    principal: request.principal,
    caId: "ca-1",
    renews: null,
    notBefore: new Date(NOW.getTime() - 80 * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + 6 * DAY).toISOString(),
  });
  // What the local service leaves for the CLI: its lock (this process) and runtime.json.
  const dataDir = scratchDir("pki-expiry-");
  const release = acquireLock(dataDir);
  writeRuntimeInfo(dataDir, {
    api: listener.url,
    adminKey: admin.key,
    pid: process.pid,
  } as unknown as Parameters<typeof writeRuntimeInfo>[1]);
  const post = (key: string) =>
    fetch(`${listener.url}/v1/expiry-reminders/run`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
    });
  return {
    mailer,
    dataDir,
    post,
    admin: admin.key,
    requester: requester.key,
    async close() {
      release();
      await listener.close();
    },
  };
}

describe("pki expiry run and POST /v1/expiry-reminders/run", () => {
  test("the CLI runs the job through the service and prints what it mailed; again, nothing new", async () => {
    const s = await service({ wired: true });
    try {
      let printed = "";
      assert.equal(await expiry(s.dataDir, "run", [], {}, (t) => (printed += t)), 0);
      assert.equal(s.mailer.sent.length, 1);
      assert.deepEqual(s.mailer.sent[0]!.message.to, ["dev@example.com"]);
      assert.match(s.mailer.sent[0]!.message.subject, /^Certificate expires in 7 days: /);
      assert.match(printed, /mailed dev@example\.com: expires within 7 days \(serial 5e41a1\)/);

      printed = "";
      assert.equal(await expiry(s.dataDir, "run", [], { json: true }, (t) => (printed += t)), 0);
      const report = JSON.parse(printed) as ExpiryReport;
      assert.deepEqual(report.mailed, []);
      assert.equal(report.alreadySent, 1);
      assert.equal(report.checked, 1);
      assert.equal(s.mailer.sent.length, 1, "nothing twice");
    } finally {
      await s.close();
    }
  });

  test("admins only; a service without the job says where the reminders run", async () => {
    const s = await service({ wired: false });
    try {
      const refused = await s.post(s.requester);
      assert.equal(refused.status, 403);
      const missing = await s.post(s.admin);
      assert.equal(missing.status, 404);
      assert.match(
        String(((await missing.json()) as { detail?: string }).detail),
        /daily schedule .*ExpiryReminders function/,
      );
      await assert.rejects(
        expiry(s.dataDir, "run", [], {}, () => undefined),
        /refused POST \/v1\/expiry-reminders\/run: 404 NOT_FOUND/,
      );
      await assert.rejects(
        expiry(s.dataDir, "go", [], {}, () => undefined),
        /pki expiry run/,
      );
      assert.equal(s.mailer.sent.length, 0);
    } finally {
      await s.close();
    }
  });

  test("with no service on the folder, the CLI says to start it", async () => {
    await assert.rejects(
      expiry(scratchDir("pki-expiry-none-"), "run", [], {}, () => undefined),
      /start it on .* \(npm start\) and run pki expiry run again/,
    );
  });

  test("the report in words names failures and runs in progress", () => {
    const text = describeReport({
      ranAt: NOW.toISOString(),
      checked: 2,
      due: 2,
      mailed: [],
      alreadySent: 0,
      inProgress: [{ serial: "ab", requestId: "r", reminder: 1, to: "a@example.com" }],
      published: [],
      failed: [
        { serial: "cd", requestId: "r", reminder: "expired", to: "b@example.com", error: "down" },
      ],
    });
    assert.match(text, /being sent by another run: a@example\.com \(serial ab\)/);
    assert.match(text, /FAILED b@example\.com: expired \(serial cd\): down/);
  });
});
