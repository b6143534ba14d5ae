/**
 * `pki certs list` and `pki certs export` (cli/certs.ts) against the real API over real HTTP
 * (the registration authority over dynalite), through the same service client the CLI uses
 * with the running service's admin key: the JSON and the table of a page, the cursor hint,
 * exports to stdout and atomically to a file, and usage errors that name the flag and reach
 * no service. The `pki` process's own wiring and exit codes are checked at the end.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { InventoryRow } from "@spca/core/inventory/rows";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { UsageError } from "../src/cli/arguments.ts";
import { certs } from "../src/cli/certs.ts";
import { serviceClient } from "../src/cli/service-client.ts";
import { pki } from "./support/cli.ts";
import {
  type InventoryWorld,
  inDays,
  inventoryWorld,
  parseCsv,
  person,
} from "./support/inventory-world.ts";

let dynamo: LocalDynamo;
let world: InventoryWorld;
let adminKey: string;
const folder = mkdtempSync(join(tmpdir(), "cli-certs-"));

before(async () => {
  dynamo = await startDynalite();
  world = await inventoryWorld(dynamo);
  const alice = person("alice@example.com");
  const bob = person("bob@example.com");
  await world.seed(
    Array.from({ length: 30 }, (_, i) => ({
      serial: (0x1000 + i).toString(16),
      principal: i % 2 === 0 ? alice : bob,
      notAfter: inDays(i * 3 - 10),
      profile: i % 5 === 0 ? "client" : "server",
      subject: i === 7 ? 'CN=odd, "quoted" name' : `CN=host-${i}.example`,
    })),
  );
  adminKey = (await world.ra.createApiKey("admin", "cli", "admin@example.com")).key;
});
after(async () => {
  assert.deepEqual(world.errors, []);
  await world.close();
  await dynamo.close();
  rmSync(folder, { recursive: true, force: true });
});

/** Runs `pki certs sub` in-process; stdout and stderr as text. */
async function run(
  sub: string,
  values: Record<string, string | boolean | undefined>,
  rest: string[] = [],
) {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  let stderr = "";
  let asked = 0;
  const status = await certs(sub, rest, values, {
    service: () => {
      asked++;
      return serviceClient(world.api, adminKey);
    },
    dataDir: folder,
    stdout,
    stderr: (text) => {
      stderr += text;
    },
  });
  return { status, stdout: Buffer.concat(chunks).toString("utf8"), stderr, asked };
}

describe("pki certs list", () => {
  test("--json is the API's page; --cursor goes on from it", async () => {
    const first = await run("list", { json: true, limit: "20", "expires-after": "2027-02-25" });
    assert.equal(first.status, 0);
    const page = JSON.parse(first.stdout) as { items: InventoryRow[]; next: string | null };
    assert.equal(page.items.length, 20);
    assert.ok(page.items.every((r) => r.notAfter >= "2027-02-25"));
    assert.ok(page.next);
    const second = await run("list", {
      json: true,
      limit: "20",
      "expires-after": "2027-02-25",
      cursor: page.next,
    });
    const rest = JSON.parse(second.stdout) as { items: InventoryRow[]; next: string | null };
    assert.equal(rest.next, null);
    const all = [...page.items, ...rest.items].map((r) => r.serial);
    assert.equal(new Set(all).size, all.length);
    // 2027-02-25 is 4 days before the world's now: i * 3 - 10 >= -4, i >= 2.
    assert.equal(all.length, 28);
  });

  test("a table with the filters applied, and a hint for the next page", async () => {
    const { status, stdout } = await run("list", {
      status: "valid",
      profile: "server",
      requester: "bob@example.com",
      limit: "3",
    });
    assert.equal(status, 0);
    const lines = stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^SERIAL +STATUS +NOT AFTER +PROFILE +SUBJECT +REQUESTER$/);
    assert.equal(lines.length, 5);
    // Bob has the odd i; valid from i = 4 (notAfter >= now); server unless i % 5 = 0.
    assert.match(
      lines[1]!,
      /^1007 +valid +2027-03-12T00:00:00\.000Z +server +CN=odd, "quoted" name +bob@example\.com$/,
    );
    assert.match(lines[2]!, /^1009 +valid +2027-03-18/);
    assert.match(lines[3]!, /^100b +valid +2027-03-24/);
    assert.match(lines[4]!, /^More: run again with the same filters and --cursor [A-Za-z0-9_-]+$/);
    const none = await run("list", { q: "no-such-host" });
    assert.equal(none.stdout, "No certificates match.\n");
  });

  test("bad flags are usage errors naming the flag, before any service is asked", async () => {
    const cases: [string, Record<string, string | boolean>, RegExp][] = [
      ["list", { limit: "0" }, /^--limit must be a whole number from 1 to 500$/],
      ["list", { "expires-before": "soon" }, /^--expires-before must be a date/],
      ["list", { status: "gone" }, /^--status must be one of valid, revoked, expired$/],
      ["list", { ca: "CA" }, /^--ca must be a CA id/],
      ["list", { format: "csv" }, /does not take --format; it is for pki certs export/],
      ["list", { der: true }, /^pki certs list does not take --der$/],
      ["export", {}, /needs --format csv\|jsonl$/],
      ["export", { format: "xml" }, /needs --format csv\|jsonl, not "xml"/],
      ["export", { format: "csv", limit: "5" }, /does not take --limit; it is for pki certs list/],
      ["export", { format: "csv", output: "" }, /^--output needs a file name/],
      ["nothing", {}, /unknown command "certs nothing"/],
    ];
    for (const [sub, values, message] of cases) {
      let asked = 0;
      await assert.rejects(
        certs(sub, [], values, {
          service: () => {
            asked++;
            return undefined;
          },
          dataDir: folder,
          stdout: new PassThrough(),
          stderr: () => {},
        }),
        (error: Error) => error instanceof UsageError && message.test(error.message),
        `${sub} ${JSON.stringify(values)}`,
      );
      assert.equal(asked, 0);
    }
  });
});

describe("pki certs export", () => {
  test("CSV to stdout: the header and every matching certificate", async () => {
    const { status, stdout } = await run("export", { format: "csv", profile: "client" });
    assert.equal(status, 0);
    const [header, ...rows] = parseCsv(stdout);
    assert.equal(header![0], "serial");
    // client: i = 0, 5, ..., 25, in notAfter order.
    assert.deepEqual(
      rows.map((r) => r[0]),
      ["1000", "1005", "100a", "100f", "1014", "1019"],
    );
  });

  test("JSON Lines to a file, written whole with nothing left beside it", async () => {
    const file = join(folder, "inventory.jsonl");
    writeFileSync(file, "an older export\n");
    const { status, stdout, stderr } = await run("export", { format: "jsonl", output: file });
    assert.equal(status, 0);
    assert.equal(stdout, "");
    assert.match(stderr, /^Wrote .*inventory\.jsonl \(jsonl, \d+ bytes\)\.\n$/);
    const rows = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as InventoryRow);
    assert.equal(rows.length, 30);
    assert.deepEqual(rows.find((r) => r.serial === "1007")?.subject, 'CN=odd, "quoted" name');
    assert.deepEqual(readdirSync(folder), ["inventory.jsonl"]);
  });

  test("a file that cannot be written is an error and leaves nothing", async () => {
    const file = join(folder, "missing", "inventory.csv");
    await assert.rejects(run("export", { format: "csv", output: file }), /Cannot write .*ENOENT/);
    assert.ok(!readdirSync(folder).some((name) => name.endsWith(".part")));
  });
});

test("the pki command: certs with no service running, and a bad flag", () => {
  const down = pki(["certs", "list", "--data-dir", join(folder, "none")]);
  assert.equal(down.status, 1);
  assert.match(down.stderr, /RUNTIME_NOT_RUNNING: .*pki certs reads the inventory/);
  const bad = pki(["certs", "export", "--format", "pdf", "--data-dir", join(folder, "none")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /pki certs export needs --format csv\|jsonl, not "pdf"/);
  assert.match(pki(["--help"]).stdout, /pki certs export --format csv\|jsonl/);
});
