/**
 * The certificate inventory on dynalite: records in notAfter order from the index, every
 * filter, cursors across a thousand records, per-requester views (own, mailbox, shared
 * group; never another requester's), revocation and renewal marks, and cursors that the
 * listing did not make.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { type RequestPrincipal, visibilityKeys } from "../src/identity/principal.ts";
import { backfillInventory } from "../src/inventory/backfill.ts";
import {
  type InventoryScope,
  listInventory,
  MAX_SCANNED,
} from "../src/inventory/certificate-inventory.ts";
import { DynamoCertificateInventory } from "../src/inventory/dynamo-inventory.ts";
import type { InventoryFilter } from "../src/inventory/filter.ts";
import { csvHeader, csvLine, inventoryRow } from "../src/inventory/rows.ts";
import { DynamoAccess } from "../src/store/dynamo-access.ts";
import type { CertificateRecord } from "../src/store/request-repository.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { rejectsWith } from "./support/pki-error.ts";
import { freshRepository, newRequest } from "./support/request-fixtures.ts";

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(() => dynamo.close());

const NOW = new Date("2030-06-01T00:00:00.000Z");
const DAY = 86_400_000;

const alice: RequestPrincipal = {
  id: "api-key:aaaaaaaaaaaaaaaa",
  email: "Alice+ci@Example.com",
  groups: [],
};
const bob = { id: "oidc:bob", email: "bob@example.com", groups: ["team-payments"] };
const carol = { id: "oidc:carol", email: "carol@example.com", groups: ["team-payments"] };

interface Seed {
  readonly serial: string;
  readonly days: number;
  readonly principal?: RequestPrincipal;
  readonly profile?: string;
  readonly caId?: string;
  readonly dns?: string;
  readonly subject?: string;
}

async function setup(seeds: readonly Seed[]) {
  const { repo, tableName } = await freshRepository(dynamo, NOW);
  const inventory = new DynamoCertificateInventory({ client: dynamo.client, tableName });
  // Written in parallel batches: the order of writing must not be the order of listing.
  for (let i = 0; i < seeds.length; i += 50) {
    await Promise.all(seeds.slice(i, i + 50).map((seed) => put(repo, seed)));
  }
  return { repo, inventory };
}

function put(repo: Awaited<ReturnType<typeof freshRepository>>["repo"], seed: Seed) {
  const principal = seed.principal ?? alice;
  const dns = seed.dns ?? `host-${seed.serial}.example.internal`;
  return repo.putCertificate({
    serial: seed.serial,
    requestId: `req-${seed.serial}`,
    objectKey: `certificates/${seed.serial}.pem`,
    subject: seed.subject ?? `CN=${dns}, O=Example`,
    sans: [{ type: "dns", value: dns }],
    profile: seed.profile ?? "server",
    notBefore: new Date(NOW.getTime() - 30 * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + seed.days * DAY).toISOString(),
    requester: principal.email ?? "nobody@example.com",
    principal,
    caId: seed.caId ?? "ca01",
    renews: null,
  });
}

async function all(
  inventory: DynamoCertificateInventory,
  filter: InventoryFilter,
  scope: InventoryScope = { all: true },
  limit = 50,
) {
  const seen: CertificateRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listInventory(inventory, {
      filter,
      scope,
      limit,
      now: NOW,
      ...(cursor ? { cursor } : {}),
    });
    assert.ok(page.items.length <= limit);
    seen.push(...page.items);
    cursor = page.next ?? undefined;
    pages++;
  } while (cursor);
  return { serials: seen.map((r) => r.serial), records: seen, pages };
}

describe("the certificate inventory", () => {
  test("a thousand certificates page in notAfter order, each once", async () => {
    const seeds = Array.from({ length: 1000 }, (_, i) => ({
      serial: (0x1000 + i).toString(16),
      // Days spread and repeated so that ties are broken by serial.
      days: ((i * 37) % 400) - 100,
    }));
    const { inventory } = await setup(seeds);
    const { records, pages } = await all(inventory, {}, { all: true }, 37);
    assert.equal(records.length, 1000);
    assert.equal(new Set(records.map((r) => r.serial)).size, 1000);
    assert.ok(pages >= 1000 / 37);
    const keys = records.map((r) => `${r.notAfter}#${r.serial}`);
    assert.deepEqual(keys, [...keys].sort());

    const expired = await all(inventory, { status: "expired" });
    const valid = await all(inventory, { status: "valid" });
    assert.equal(expired.serials.length + valid.serials.length, 1000);
    // Valid through notAfter itself (RFC 5280): three expire exactly now.
    assert.ok(expired.records.every((r) => r.notAfter < NOW.toISOString()));
    assert.ok(valid.records.every((r) => r.notAfter >= NOW.toISOString()));
    assert.equal(valid.records.filter((r) => r.notAfter === NOW.toISOString()).length, 3);
    const expectedExpired = seeds.filter((s) => s.days < 0).length;
    assert.equal(expired.serials.length, expectedExpired);
  });

  test("filters: status, profile, CA, requester, text, expiry window", async () => {
    const { repo, inventory } = await setup([
      { serial: "a1", days: 10, profile: "server", dns: "api.example.com" },
      { serial: "a2", days: 20, profile: "client", caId: "ca02", principal: bob },
      {
        serial: "a3",
        days: 40,
        profile: "server",
        principal: carol,
        subject: "CN=Payments Gateway",
      },
      { serial: "a4", days: -5, profile: "server" },
      { serial: "a5", days: 60, profile: "client", dns: "db.example.internal" },
    ]);
    await repo.markCertificateRevoked("a5", "2030-05-30T00:00:00.000Z", "keyCompromise");
    const serials = async (filter: InventoryFilter) => (await all(inventory, filter)).serials;
    assert.deepEqual(await serials({}), ["a4", "a1", "a2", "a3", "a5"]);
    assert.deepEqual(await serials({ status: "valid" }), ["a1", "a2", "a3"]);
    assert.deepEqual(await serials({ status: "expired" }), ["a4"]);
    assert.deepEqual(await serials({ status: "revoked" }), ["a5"]);
    assert.deepEqual(await serials({ profile: "client" }), ["a2", "a5"]);
    assert.deepEqual(await serials({ ca: "ca02" }), ["a2"]);
    // The mailbox rule: case and +tags do not make another person.
    assert.deepEqual(await serials({ requester: "alice@example.com" }), ["a4", "a1", "a5"]);
    assert.deepEqual(await serials({ requester: "oidc:bob" }), ["a2"]);
    assert.deepEqual(await serials({ q: "API.EXAMPLE" }), ["a1"]);
    assert.deepEqual(await serials({ q: "payments gateway" }), ["a3"]);
    const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();
    assert.deepEqual(await serials({ expiresAfter: at(0), expiresBefore: at(30) }), ["a1", "a2"]);
    // notAfter exactly at the upper bound is outside, at the lower bound inside.
    assert.deepEqual(await serials({ expiresAfter: at(20), expiresBefore: at(40) }), ["a2"]);

    const revoked = (await all(inventory, { status: "revoked" })).records[0]!;
    assert.equal(revoked.revocationReason, "keyCompromise");
    // The first revocation stands.
    await repo.markCertificateRevoked("a5", "2030-05-31T00:00:00.000Z", "superseded");
    assert.equal((await repo.getCertificate("a5"))?.revocationReason, "keyCompromise");
    await rejectsWith(repo.markCertificateRevoked("ff", NOW.toISOString(), "x"), "CERT_NOT_FOUND");
    await repo.markCertificateRenewed("a1", "b1");
    assert.equal((await repo.getCertificate("a1"))?.renewedBy, "b1");
  });

  test("a requester sees their own, their mailbox's and their shared groups', nobody else's", async () => {
    const seeds = [
      ...Array.from({ length: 120 }, (_, i) => ({
        serial: `1${i.toString(16).padStart(3, "0")}`,
        days: i,
        principal: alice,
      })),
      ...Array.from({ length: 80 }, (_, i) => ({
        serial: `2${i.toString(16).padStart(3, "0")}`,
        days: i,
        principal: bob,
      })),
      ...Array.from({ length: 30 }, (_, i) => ({
        serial: `3${i.toString(16).padStart(3, "0")}`,
        days: i,
        principal: carol,
      })),
    ];
    const { inventory } = await setup(seeds);
    // Another key of Alice's, the same mailbox: her certificates, not Bob's or Carol's.
    const aliceAgain = { id: "api-key:bbbbbbbbbbbbbbbb", email: "alice@example.com", groups: [] };
    const hers = await all(inventory, {}, { visibilityKeys: visibilityKeys(aliceAgain) }, 25);
    assert.equal(hers.serials.length, 120);
    assert.ok(hers.serials.every((s) => s.startsWith("1")));
    // Bob shares team-payments with Carol: both of theirs, merged in order, each once.
    const bobs = await all(inventory, {}, { visibilityKeys: visibilityKeys(bob) }, 25);
    assert.equal(bobs.serials.length, 110);
    assert.ok(bobs.serials.every((s) => s.startsWith("2") || s.startsWith("3")));
    const keys = bobs.records.map((r) => `${r.notAfter}#${r.serial}`);
    assert.deepEqual(keys, [...keys].sort());
    // A stranger sees nothing.
    const stranger = { id: "oidc:eve", email: "eve@example.com", groups: ["team-x"] };
    assert.equal(
      (await all(inventory, {}, { visibilityKeys: visibilityKeys(stranger) })).serials.length,
      0,
    );
  });

  test("a page looks at MAX_SCANNED records at most; a short page still leads on", async () => {
    const seeds = Array.from({ length: MAX_SCANNED + 20 }, (_, i) => ({
      serial: (0x100000 + i).toString(16),
      days: 1 + i / 100,
      profile: i === MAX_SCANNED + 10 ? "rare" : "server",
    }));
    const { inventory } = await setup(seeds);
    const first = await listInventory(inventory, {
      filter: { profile: "rare" },
      scope: { all: true },
      now: NOW,
    });
    assert.deepEqual(first.items, []);
    assert.ok(first.next);
    const second = await listInventory(inventory, {
      filter: { profile: "rare" },
      scope: { all: true },
      now: NOW,
      cursor: first.next,
    });
    assert.deepEqual(
      second.items.map((r) => r.serial),
      [(0x100000 + MAX_SCANNED + 10).toString(16)],
    );
    assert.equal(second.next, null);
  });

  test("a cursor it did not make, or made for other filters, is PAGE_CURSOR_INVALID", async () => {
    const { inventory } = await setup([
      { serial: "c1", days: 1 },
      { serial: "c2", days: 2 },
    ]);
    const page = await listInventory(inventory, {
      filter: {},
      scope: { all: true },
      limit: 1,
      now: NOW,
    });
    assert.ok(page.next);
    await rejectsWith(
      listInventory(inventory, {
        filter: { profile: "server" },
        scope: { all: true },
        now: NOW,
        cursor: page.next,
      }),
      "PAGE_CURSOR_INVALID",
    );
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const fingerprint = JSON.parse(Buffer.from(page.next, "base64url").toString()).filter;
    for (const cursor of [
      "not base64 at all!",
      encode([1, 2]),
      encode({ after: "2030-06-02T00:00:00.000Z#c1" }),
      encode({ after: "2030-06-02T00:00:00.000Z#c1", filter: fingerprint, extra: 1 }),
      encode({ after: "x#c1", filter: fingerprint }),
      encode({ after: "2030-06-02T00:00:00.000Z#ZZ", filter: fingerprint }),
      encode({ after: { S: "x" }, filter: fingerprint }),
    ]) {
      await rejectsWith(
        listInventory(inventory, { filter: {}, scope: { all: true }, now: NOW, cursor }),
        "PAGE_CURSOR_INVALID",
      );
    }
  });

  test("certificates stored before the inventory are filled in once, with their request's owner and revocation", async () => {
    const { repo, tableName } = await freshRepository(dynamo, NOW);
    const inventory = new DynamoCertificateInventory({ client: dynamo.client, tableName });
    const db = new DynamoAccess(dynamo.client, tableName);
    const old = async (serial: string, revoke: boolean) => {
      const { request } = await repo.createRequest(
        newRequest({ principal: bob, requester: "bob+mail@example.com" }),
      );
      await repo.transition(request.id, { from: "submitted", to: "approved", actor: "t" });
      await repo.transition(request.id, {
        from: "approved",
        to: "issued",
        actor: "t",
        patch: { serial },
      });
      if (revoke) {
        await repo.transition(request.id, {
          from: "issued",
          to: "revoked",
          actor: "cli",
          details: { serial, reason: "keyCompromise", revokedAt: "2030-05-20T00:00:00.000Z" },
        });
      }
      // The item as it was stored before: no index keys, no requester, CA or marks.
      await db.doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: `CERT#${serial}`,
            sk: "CERTIFICATE",
            type: "certificate",
            serial,
            requestId: request.id,
            objectKey: `certificates/${serial}.pem`,
            subject: "CN=old.example.com",
            sans: [{ type: "dns", value: "old.example.com" }],
            profile: "server",
            notBefore: "2030-01-01T00:00:00.000Z",
            notAfter: "2030-09-01T00:00:00.000Z",
            issuedAt: "2030-01-01T00:00:00.000Z",
          },
        }),
      );
    };
    await old("0d01", false);
    await old("0d02", true);
    assert.deepEqual((await all(inventory, {})).serials, []);
    assert.equal(await backfillInventory({ client: dynamo.client, tableName }, "ca09"), 2);
    // Done once: a later start reads one marker item, not the whole table.
    await old("0d03", false);
    assert.equal(await backfillInventory({ client: dynamo.client, tableName }, "ca09"), 0);
    assert.equal((await repo.getCertificate("0d03"))?.caId, "");
    const { records } = await all(inventory, {});
    assert.deepEqual(
      records.map((r) => [r.serial, r.principal.id, r.requester, r.caId, r.revocationReason]),
      [
        ["0d01", "oidc:bob", "bob+mail@example.com", "ca09", null],
        ["0d02", "oidc:bob", "bob+mail@example.com", "ca09", "keyCompromise"],
      ],
    );
    assert.deepEqual((await all(inventory, { status: "revoked" })).serials, ["0d02"]);
    // Bob's own view lists both; Carol shares his group.
    assert.equal(
      (await all(inventory, {}, { visibilityKeys: visibilityKeys(carol) })).serials.length,
      2,
    );
  });

  test("CSV rows quote what needs quoting and defuse formulas", () => {
    const row = inventoryRow(
      {
        serial: "0a",
        requestId: "r",
        objectKey: "k",
        subject: 'CN=a, O="Quoted, Inc"',
        sans: [
          { type: "dns", value: "a.example.com" },
          { type: "ip", value: "10.0.0.1" },
        ],
        profile: "server",
        notBefore: "2030-01-01T00:00:00.000Z",
        notAfter: "2030-02-01T00:00:00.000Z",
        requester: "=HYPERLINK(1)",
        principal: { id: "api-key:x", email: null, groups: [] },
        caId: "ca",
        renews: null,
        issuedAt: "2030-01-01T00:00:00.000Z",
        renewedBy: null,
        revokedAt: null,
        revocationReason: null,
      },
      NOW,
    );
    assert.equal(row.status, "expired");
    const line = csvLine(row);
    assert.ok(line.endsWith("\r\n"));
    assert.ok(line.includes('"CN=a, O=""Quoted, Inc"""'));
    assert.ok(line.includes("dns:a.example.com ip:10.0.0.1"));
    assert.ok(line.includes(",'=HYPERLINK(1),"));
    assert.equal(csvHeader().split(",").length, line.split(",").length - 2);
  });
});
