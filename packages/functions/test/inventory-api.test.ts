/**
 * The certificate inventory over real HTTP (GET /v1/certificates and /v1/certificates/export)
 * on the real registration authority over dynalite: every filter, the refusals of bad queries
 * as precise problem+json 400s, paging through a thousand certificates, what a requester may
 * see of others', and the exports parsed back into the listing's rows.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { InventoryRow } from "@spca/core/inventory/rows";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import {
  type InventoryWorld,
  inDays,
  inventoryWorld,
  NOW,
  parseCsv,
  person,
  type Seed,
} from "./support/inventory-world.ts";

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => {
  await dynamo.close();
});

type Headers = Record<string, string>;
interface Listing {
  readonly items: InventoryRow[];
  readonly next: string | null;
}

async function get(world: InventoryWorld, path: string, headers: Headers) {
  return fetch(`${world.api}${path}`, { headers });
}

async function list(world: InventoryWorld, query: string, headers: Headers): Promise<Listing> {
  const res = await get(world, `/v1/certificates${query ? `?${query}` : ""}`, headers);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/json");
  return (await res.json()) as Listing;
}

async function serials(world: InventoryWorld, query: string, headers: Headers) {
  return (await list(world, query, headers)).items.map((r) => r.serial);
}

/** A 400 problem+json with this code; its detail. */
async function refused(res: Response, code: string, status = 400): Promise<string> {
  assert.equal(res.status, status, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = (await res.json()) as { code: string; detail: string };
  assert.equal(body.code, code);
  return body.detail;
}

describe("GET /v1/certificates: filters", () => {
  const alice = person("alice@example.com");
  const bob = person("bob@example.com", ["team-db"]);
  const seeds: Seed[] = [
    {
      serial: "a1",
      principal: alice,
      notAfter: inDays(10),
      subject: "CN=web.alice.example",
      sans: [
        { type: "dns", value: "web.alice.example" },
        { type: "dns", value: "api.alice.example" },
      ],
      caId: "aa01",
    },
    {
      serial: "a2",
      principal: alice,
      notAfter: inDays(100),
      subject: "CN=Alice Client,O=Example",
      sans: [{ type: "email", value: "alice@example.com" }],
      profile: "client",
      caId: "bb02",
    },
    { serial: "a3", principal: alice, notAfter: inDays(-5), subject: "CN=old.alice.example" },
    {
      serial: "b1",
      principal: bob,
      notAfter: inDays(40),
      subject: "CN=db.bob.example",
      caId: "aa01",
    },
    { serial: "b2", principal: bob, notAfter: inDays(200), profile: "client" },
  ];
  let world: InventoryWorld;
  let admin: Headers;
  let aliceKey: Headers;
  let bobKey: Headers;
  let carol: Headers;
  before(async () => {
    world = await inventoryWorld(dynamo);
    await world.seed(seeds);
    await world.repository.markCertificateRevoked("b1", inDays(-1), "keyCompromise");
    admin = await world.keyFor("admin", "admin@example.com");
    aliceKey = await world.keyFor("requester", "alice@example.com");
    bobKey = await world.keyFor("requester", "bob@example.com");
    carol = await world.keyFor("requester", "carol@example.com");
  });
  after(async () => {
    assert.deepEqual(world.errors, []);
    await world.close();
  });

  test("everything, soonest to expire first, with every field", async () => {
    const page = await list(world, "", admin);
    assert.deepEqual(
      page.items.map((r) => r.serial),
      ["a3", "a1", "b1", "a2", "b2"],
    );
    assert.equal(page.next, null);
    assert.deepEqual(page.items[1], {
      serial: "a1",
      status: "valid",
      subject: "CN=web.alice.example",
      sans: [
        { type: "dns", value: "web.alice.example" },
        { type: "dns", value: "api.alice.example" },
      ],
      profile: "server",
      requester: "alice@example.com",
      requestedBy: "alice@example.com (oidc:alice@example.com)",
      caId: "aa01",
      notBefore: inDays(-30),
      notAfter: inDays(10),
      issuedAt: NOW.toISOString(),
      requestId: "00000000-0000-4000-8000-0000000000a1",
      renews: null,
      renewedBy: null,
      revokedAt: null,
      revocationReason: null,
    });
    const revoked = page.items[2]!;
    assert.equal(revoked.status, "revoked");
    assert.equal(revoked.revocationReason, "keyCompromise");
    assert.equal(page.items[0]!.status, "expired");
  });

  test("each filter, and filters together", async () => {
    const cases: [string, string[]][] = [
      ["status=valid", ["a1", "a2", "b2"]],
      ["status=revoked", ["b1"]],
      ["status=expired", ["a3"]],
      ["profile=client", ["a2", "b2"]],
      ["profile=nothing", []],
      ["requester=bob%40example.com", ["b1", "b2"]],
      // A mailbox: case and +tags ignored; or the principal's id.
      ["requester=BOB%2Bcerts%40Example.com", ["b1", "b2"]],
      ["requester=oidc%3Aalice%40example.com", ["a3", "a1", "a2"]],
      ["ca=aa01", ["a1", "b1"]],
      // Text in a SAN only, in a subject only, any case.
      ["q=api.alice", ["a1"]],
      ["q=alice%20CLIENT", ["a2"]],
      ["q=example", ["a3", "a1", "b1", "a2", "b2"]],
      [`expiresAfter=${inDays(1)}&expiresBefore=${inDays(50)}`, ["a1", "b1"]],
      // Dates alone are midnight UTC; the upper bound is exclusive.
      ["expiresAfter=2027-03-02&expiresBefore=2027-06-09", ["a1", "b1"]],
      ["expiresAfter=2027-03-02&expiresBefore=2027-06-10", ["a1", "b1", "a2"]],
      [`expiresBefore=${encodeURIComponent("2027-03-11T00:00:00+00:00")}`, ["a3"]],
      ["status=valid&profile=server", ["a1"]],
      ["status=valid&expiresBefore=2027-04-01", ["a1"]],
      ["status=expired&profile=client", []],
    ];
    for (const [query, expected] of cases) {
      assert.deepEqual(await serials(world, query, admin), expected, query);
    }
  });

  test("a requester sees their own and their groups' certificates, in listings and exports", async () => {
    assert.deepEqual(await serials(world, "", aliceKey), ["a3", "a1", "a2"]);
    assert.deepEqual(await serials(world, "", bobKey), ["b1", "b2"]);
    assert.deepEqual(await serials(world, "", carol), []);
    // Naming someone else is no way in.
    assert.deepEqual(await serials(world, "requester=bob%40example.com", aliceKey), []);
    assert.deepEqual(await serials(world, "q=bob", aliceKey), []);
    for (const format of ["csv", "jsonl"]) {
      const res = await get(world, `/v1/certificates/export?format=${format}`, aliceKey);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.doesNotMatch(text, /bob/, format);
      assert.match(text, /web\.alice\.example/, format);
    }
    // An auditor reads everyone's.
    const auditor = await world.keyFor("auditor", "audit@example.com");
    assert.deepEqual(await serials(world, "", auditor), ["a3", "a1", "b1", "a2", "b2"]);
  });

  test("bad queries are 400 problems that say what is wrong", async () => {
    const cases: [string, RegExp][] = [
      ["colour=red", /unknown query parameter "colour": allowed query parameters are status, /],
      ["status=valid&status=revoked", /^status is given 2 times; give it once\.$/],
      ["status=bogus", /status must be one of valid, revoked, expired/],
      ["limit=0", /limit must be a whole number from 1 to 500/],
      ["limit=501", /limit must be a whole number from 1 to 500/],
      ["limit=ten", /limit must be a whole number from 1 to 500/],
      ["expiresBefore=tomorrow", /expiresBefore must be a date \(2027-01-31\) or an ISO 8601/],
      ["expiresAfter=2027-13-01", /expiresAfter must be a date/],
      // An instant needs its offset: a local time means a different instant to every reader.
      ["expiresAfter=2027-03-01T10:00:00", /expiresAfter must be a date/],
      ["expiresAfter=2027-05-01&expiresBefore=2027-04-01", /expiresAfter must be earlier/],
      ["ca=CA-1", /ca must be a CA id \(lowercase hex\)/],
      ["profile=", /profile must not be empty/],
      [`q=${"x".repeat(257)}`, /q must be at most 256 characters/],
    ];
    for (const [query, detail] of cases) {
      const message = await refused(
        await get(world, `/v1/certificates?${query}`, admin),
        "QUERY_INVALID",
      );
      assert.match(message, detail, query);
    }
    // Unauthenticated.
    await refused(await get(world, "/v1/certificates", {}), "UNAUTHENTICATED", 401);
  });

  test("a crafted cursor, or one reused with other filters, is PAGE_CURSOR_INVALID", async () => {
    const crafted = [
      "AAAA",
      Buffer.from('{"a":1}').toString("base64url"),
      Buffer.from(JSON.stringify({ after: "x", filter: "y" })).toString("base64url"),
      Buffer.from(JSON.stringify({ after: `${inDays(1)}#zz`, filter: "0" })).toString("base64url"),
    ];
    for (const cursor of crafted) {
      const detail = await refused(
        await get(world, `/v1/certificates?cursor=${cursor}`, admin),
        "PAGE_CURSOR_INVALID",
      );
      assert.match(detail, /not one this listing gave out/, cursor);
    }
    const first = await list(world, "profile=server&limit=1", admin);
    assert.deepEqual(
      first.items.map((r) => r.serial),
      ["a3"],
    );
    assert.ok(first.next);
    const second = await list(world, `profile=server&limit=1&cursor=${first.next}`, admin);
    assert.deepEqual(
      second.items.map((r) => r.serial),
      ["a1"],
    );
    const detail = await refused(
      await get(world, `/v1/certificates?profile=client&limit=1&cursor=${first.next}`, admin),
      "PAGE_CURSOR_INVALID",
    );
    assert.match(detail, /belongs to a listing with other filters/);
  });

  test("export queries are checked as strictly", async () => {
    const cases: [string, RegExp][] = [
      ["", /format is required/],
      ["format=xml", /format must be one of csv, jsonl/],
      ["format=csv&format=jsonl", /format is given 2 times/],
      ["format=csv&limit=10", /unknown query parameter "limit"/],
      ["format=csv&cursor=abc", /unknown query parameter "cursor"/],
      ["format=csv&status=gone", /status must be one of/],
    ];
    for (const [query, detail] of cases) {
      const message = await refused(
        await get(world, `/v1/certificates/export?${query}`, admin),
        "QUERY_INVALID",
      );
      assert.match(message, detail, query);
    }
  });
});

describe("a thousand certificates", () => {
  const people = ["ann", "ben", "cat", "dan", "eve"].map((n) => person(`${n}@example.com`));
  let world: InventoryWorld;
  let admin: Headers;
  let seeds: Seed[];
  before(async () => {
    world = await inventoryWorld(dynamo);
    // Several certificates share each notAfter: the serial orders them.
    seeds = Array.from({ length: 1000 }, (_, i) => ({
      serial: (0x1000 + i).toString(16),
      principal: people[i % people.length]!,
      notAfter: inDays(((i * 7919) % 400) - 50),
      subject: i % 97 === 0 ? `CN="Quoted, Inc." ${i},O=Example` : `CN=host-${i}.example`,
      profile: i % 3 === 0 ? "client" : "server",
    }));
    await world.seed(seeds);
    admin = await world.keyFor("admin", "admin@example.com");
  });
  after(async () => {
    assert.deepEqual(world.errors, []);
    await world.close();
  });

  const ordered = (rows: readonly Pick<Seed, "serial" | "notAfter">[]) =>
    [...rows]
      .sort((a, b) =>
        a.notAfter === b.notAfter
          ? a.serial.localeCompare(b.serial)
          : a.notAfter.localeCompare(b.notAfter),
      )
      .map((r) => r.serial);

  async function everyPage(query: string, headers: Headers, limit: number) {
    const rows: InventoryRow[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Listing = await list(
        world,
        `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`,
        headers,
      );
      assert.ok(page.items.length <= limit);
      rows.push(...page.items);
      cursor = page.next;
      assert.ok(++pages <= 1000, "the paging ends");
    } while (cursor);
    return { rows, pages };
  }

  test("pages hold every serial once, in notAfter order", async () => {
    const { rows, pages } = await everyPage("", admin, 37);
    assert.deepEqual(
      rows.map((r) => r.serial),
      ordered(seeds),
    );
    assert.equal(new Set(rows.map((r) => r.serial)).size, 1000);
    assert.ok(pages >= 28, `${pages} pages`);
    // Filtered, the same: only what matches, still in order.
    const valid = await everyPage("status=valid&profile=client", admin, 50);
    assert.deepEqual(
      valid.rows.map((r) => r.serial),
      // Valid through notAfter itself (RFC 5280): some certificates end exactly now.
      ordered(seeds.filter((s) => s.profile === "client" && s.notAfter >= NOW.toISOString())),
    );
  });

  test("a requester pages through exactly their own", async () => {
    const key = await world.keyFor("requester", "cat@example.com");
    const { rows } = await everyPage("", key, 50);
    assert.deepEqual(
      rows.map((r) => r.serial),
      ordered(seeds.filter((s) => s.principal.email === "cat@example.com")),
    );
    assert.equal(rows.length, 200);
  });

  test("the CSV and JSON Lines exports hold the listing's rows", async () => {
    const { rows } = await everyPage("", admin, 500);

    const csv = await get(world, "/v1/certificates/export?format=csv", admin);
    assert.equal(csv.status, 200);
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.equal(
      csv.headers.get("content-disposition"),
      `attachment; filename="certificates-${new Date().toISOString().slice(0, 10)}.csv"`,
    );
    const [header, ...lines] = parseCsv(await csv.text());
    assert.deepEqual(header, [
      "serial",
      "status",
      "subject",
      "sans",
      "profile",
      "requester",
      "requestedBy",
      "caId",
      "notBefore",
      "notAfter",
      "issuedAt",
      "requestId",
      "renews",
      "renewedBy",
      "revokedAt",
      "revocationReason",
    ]);
    assert.equal(lines.length, 1000);
    const asCsv = (r: InventoryRow) =>
      header!.map((column) => {
        if (column === "sans") return r.sans.map((s) => `${s.type}:${s.value}`).join(" ");
        const value = r[column as keyof InventoryRow];
        return value === null ? "" : String(value);
      });
    assert.deepEqual(lines, rows.map(asCsv));
    assert.ok(lines.some((cells) => cells[2]!.startsWith('CN="Quoted, Inc."')));

    const jsonl = await get(world, "/v1/certificates/export?format=jsonl", admin);
    assert.equal(jsonl.status, 200);
    assert.equal(jsonl.headers.get("content-type"), "application/jsonl");
    const text = await jsonl.text();
    assert.ok(text.endsWith("\n"));
    assert.deepEqual(
      text
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line)),
      rows,
    );

    // With filters: the same rows as the filtered listing.
    const filtered = await get(
      world,
      "/v1/certificates/export?format=jsonl&status=expired&q=host-1",
      admin,
    );
    const listed = await everyPage("status=expired&q=host-1", admin, 500);
    assert.deepEqual(
      (await filtered.text())
        .split("\n")
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as InventoryRow).serial),
      listed.rows.map((r) => r.serial),
    );
    assert.ok(listed.rows.length > 0);
  });

  test("an export of nothing is a header alone, or nothing", async () => {
    const csv = await get(world, "/v1/certificates/export?format=csv&profile=none", admin);
    assert.equal(csv.status, 200);
    assert.equal((await csv.text()).split("\r\n").length, 2);
    const jsonl = await get(world, "/v1/certificates/export?format=jsonl&profile=none", admin);
    assert.equal(await jsonl.text(), "");
  });
});

describe("GET /v1/certificates/export where responses are buffered (Lambda)", () => {
  test("an export over the limit is a 413 that says how to page instead; one within it is whole", async () => {
    const world = await inventoryWorld(dynamo, { exportLimitBytes: 4_000 });
    try {
      const owner = { id: "api-key:0000000000000001", email: "a@example.com", groups: [] };
      await world.seed(
        Array.from({ length: 40 }, (_, i) => ({
          serial: (0x7000 + i).toString(16),
          notAfter: inDays(10 + i),
          principal: owner,
          profile: i < 3 ? "client" : "server",
        })),
      );
      const admin = await world.keyFor("admin", "admin@example.com");
      const detail = await refused(
        await get(world, "/v1/certificates/export?format=csv", admin),
        "EXPORT_TOO_LARGE",
        413,
      );
      assert.match(detail, /at most 4000 bytes/);
      assert.match(detail, /page through GET \/v1\/certificates/);
      const small = await get(world, "/v1/certificates/export?format=jsonl&profile=client", admin);
      assert.equal(small.status, 200);
      const lines = (await small.text()).trim().split("\n");
      assert.deepEqual(
        lines.map((line) => (JSON.parse(line) as { serial: string }).serial),
        ["7000", "7001", "7002"],
      );
      assert.deepEqual(world.errors, []);
    } finally {
      await world.close();
    }
  });
});
