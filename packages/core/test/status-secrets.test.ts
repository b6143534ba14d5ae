/**
 * A request's status-page secrets in the store (dynalite): the submission's single hash (the
 * legacy `statusSecretHash`) and the set each mail adds its own to (`statusSecretHashes`), its
 * bound, and that only hashes are stored. Then the requester's mails through the real workflow:
 * each carries its own secret, which opens the request, and a mail sent once mints once.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { isPkiError } from "../src/errors.ts";
import { principalOfKey } from "../src/identity/principal.ts";
import { hashSecret, isWellFormedSecret } from "../src/links/secrets.ts";
import { mintStatusSecret } from "../src/links/status-link.ts";
import { type NewRequest, newRequestId } from "../src/requests/request.ts";
import { MAX_STATUS_SECRETS } from "../src/store/dynamo-status-secrets.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { ecCsrFor } from "./support/openssl.ts";
import { newRequest as fixtureRequest, freshRepository } from "./support/request-fixtures.ts";
import { setUp } from "./support/world.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const secret = () => randomBytes(32).toString("base64url");

/** A client-profile request, automatically approved, by a key acting for the requester. */
const newRequest = (overrides: Partial<NewRequest> = {}) =>
  fixtureRequest({ profile: "client", ...overrides });

describe("status-page secrets in the store", () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => {
    await dynamo.close();
  });

  async function setup() {
    const { repo, tableName } = await freshRepository(dynamo);
    const rawItem = async (id: string) =>
      (
        await dynamo.client.send(
          new GetItemCommand({
            TableName: tableName,
            Key: { pk: { S: `REQ#${id}` }, sk: { S: "REQUEST" } },
            ConsistentRead: true,
          }),
        )
      ).Item!;
    return { repo, rawItem };
  }

  test("the submission's single hash and every mail's added hash each open the request", async () => {
    const { repo, rawItem } = await setup();
    const submitted = secret();
    const { request } = await repo.createRequest(
      newRequest({ statusSecretHash: sha256(submitted) }),
    );
    const first = secret();
    const second = secret();
    await repo.addStatusSecret(request.id, sha256(first));
    await repo.addStatusSecret(request.id, sha256(second));
    for (const s of [submitted, first, second]) {
      assert.deepEqual(await repo.findRequestByStatusSecret(request.id, sha256(s)), request, s);
    }
    // Only hashes are stored: the single one as before, the mails' in a string set.
    const item = await rawItem(request.id);
    assert.equal(item.statusSecretHash?.S, sha256(submitted));
    assert.deepEqual([...(item.statusSecretHashes?.SS ?? [])].sort(), [
      ...[sha256(first), sha256(second)].sort(),
    ]);
    const dump = JSON.stringify(item);
    for (const s of [submitted, first, second]) assert.ok(!dump.includes(s), "no raw secret");
    // The hashes stay beside the request, never in it; adding one is not a change to it.
    const read = (await repo.getRequest(request.id))!;
    assert.deepEqual(read, request);
    assert.ok(!JSON.stringify(read).includes(sha256(first)));
    assert.equal(item.version?.N, "1");

    // Nothing else opens it: another hash, a malformed one, another request's.
    assert.equal(await repo.findRequestByStatusSecret(request.id, sha256(secret())), undefined);
    for (const bad of [first, sha256(first).toUpperCase(), sha256(first).slice(1), ""]) {
      assert.equal(await repo.findRequestByStatusSecret(request.id, bad), undefined);
    }
    const other = await repo.createRequest(newRequest());
    assert.equal(await repo.findRequestByStatusSecret(other.request.id, sha256(first)), undefined);
  });

  test("a request created without a secret gains links from mails; adding one twice is harmless", async () => {
    const { repo, rawItem } = await setup();
    const { request } = await repo.createRequest(newRequest());
    const mailed = secret();
    assert.equal(await repo.findRequestByStatusSecret(request.id, sha256(mailed)), undefined);
    await repo.addStatusSecret(request.id, sha256(mailed));
    await repo.addStatusSecret(request.id, sha256(mailed));
    assert.equal(
      (await repo.findRequestByStatusSecret(request.id, sha256(mailed)))?.id,
      request.id,
    );
    const item = await rawItem(request.id);
    assert.deepEqual(item.statusSecretHashes?.SS, [sha256(mailed)]);
    assert.ok(!("statusSecretHash" in item));
  });

  test("the hashes survive status changes, and status changes survive the hashes", async () => {
    const { repo } = await setup();
    const { request } = await repo.createRequest(newRequest());
    const before = secret();
    await repo.addStatusSecret(request.id, sha256(before));
    await repo.transition(request.id, { from: "submitted", to: "approved", actor: "workflow" });
    const after = secret();
    await repo.addStatusSecret(request.id, sha256(after));
    await repo.transition(request.id, {
      from: "approved",
      to: "issued",
      actor: "workflow",
      patch: { serial: "0a1b2c" },
    });
    for (const s of [before, after]) {
      const found = await repo.findRequestByStatusSecret(request.id, sha256(s));
      assert.equal(found?.status, "issued");
      assert.equal(found?.serial, "0a1b2c");
    }
  });

  test(`a request holds at most ${MAX_STATUS_SECRETS} mail secrets; the earlier keep working`, async () => {
    const { repo, rawItem } = await setup();
    const { request } = await repo.createRequest(newRequest({ statusSecretHash: sha256("sub") }));
    const hashes = Array.from({ length: MAX_STATUS_SECRETS }, (_, i) => sha256(`mail ${i}`));
    for (const hash of hashes) await repo.addStatusSecret(request.id, hash);
    await assert.rejects(repo.addStatusSecret(request.id, sha256("one too many")), (e) =>
      isPkiError(e, "STATUS_LINKS_EXHAUSTED"),
    );
    // One already there may be added again (a retried write), and nothing was lost.
    await repo.addStatusSecret(request.id, hashes[0]!);
    assert.equal((await rawItem(request.id)).statusSecretHashes?.SS?.length, MAX_STATUS_SECRETS);
    for (const hash of [sha256("sub"), hashes[0]!, hashes.at(-1)!]) {
      assert.equal((await repo.findRequestByStatusSecret(request.id, hash))?.id, request.id);
    }
    assert.equal(
      await repo.findRequestByStatusSecret(request.id, sha256("one too many")),
      undefined,
    );
  });

  test("refuses an unknown request and a malformed hash, writing nothing", async () => {
    const { repo } = await setup();
    for (const id of [newRequestId(), "../../etc", ""]) {
      await assert.rejects(repo.addStatusSecret(id, sha256("x")), (e) =>
        isPkiError(e, "REQUEST_NOT_FOUND"),
      );
    }
    assert.equal(await repo.getRequest(newRequestId()), undefined);
    const { request } = await repo.createRequest(newRequest());
    for (const bad of ["x", sha256("x").toUpperCase(), `${sha256("x")}0`, ""]) {
      await assert.rejects(repo.addStatusSecret(request.id, bad), TypeError);
    }
  });

  test("mintStatusSecret: a well-formed secret whose hash alone is stored", async () => {
    const { repo, rawItem } = await setup();
    const { request } = await repo.createRequest(newRequest());
    const minted = await mintStatusSecret(repo, request.id);
    const again = await mintStatusSecret(repo, request.id);
    assert.ok(isWellFormedSecret(minted) && isWellFormedSecret(again));
    assert.notEqual(minted, again);
    for (const s of [minted, again]) {
      assert.equal(
        (await repo.findRequestByStatusSecret(request.id, hashSecret(s)))?.id,
        request.id,
      );
    }
    const dump = JSON.stringify(await rawItem(request.id));
    assert.ok(!dump.includes(minted) && !dump.includes(again));
  });
});

describe("the requester's mails carry their own status links", () => {
  const work = mkdtempSync(join(tmpdir(), "status-links-"));
  let world: Awaited<ReturnType<typeof setUp>>;
  before(async () => {
    world = await setUp();
  });
  after(async () => {
    await world.close();
    rmSync(work, { recursive: true, force: true });
  });

  const alice = principalOfKey({
    id: "0123456789abcdef",
    role: "requester",
    owner: "a@example.com",
  });
  /** Every `?token=` of a request's status page or downloads in a mail's text. */
  const tokensIn = (text: string, id: string) =>
    new Set(
      [
        ...text.matchAll(
          new RegExp(
            `/requests/${id}(?:/(?:certificate|fullchain)\\.pem)?\\?token=([\\w-]{43})`,
            "g",
          ),
        ),
      ].map((m) => m[1]!),
    );

  test("each mail mints one secret that opens the request; redelivery sends and mints nothing", async () => {
    const { ra, engine, bus, mailer, repository } = world;
    const { request, statusToken } = await ra.submit(
      {
        csr: ecCsrFor(work, "links.example.internal").toString("utf8"),
        email: "dev@example.com",
        profile: "client",
      },
      alice,
      undefined,
    );
    assert.equal((await engine.waitForExecution(request.id)).status, "SUCCEEDED");
    await bus.drain();
    const mails = mailer.to("dev@example.com");
    assert.equal(mails.length, 2, "received + issued");
    const perMail = mails.map((m) => tokensIn(m.text, request.id));
    // One secret per mail, used by all its links (the issued mail's page and both downloads).
    assert.deepEqual(
      perMail.map((t) => t.size),
      [1, 1],
    );
    const [received, issued] = perMail.map((t) => [...t][0]!);
    assert.notEqual(received, issued);
    assert.notEqual(received, statusToken, "the submission's secret is never mailed");
    assert.equal(
      mails[1]!.text.match(new RegExp(`token=${issued}`, "g"))?.length,
      3,
      "status page, certificate and full chain",
    );
    for (const token of [statusToken!, received!, issued!]) {
      assert.equal((await ra.getRequestByStatusToken(request.id, token))?.status, "issued");
    }

    // The bus delivering certificate.issued again sends nothing and mints nothing.
    const minted = async () => {
      const item = await world.table.getItem({ pk: `REQ#${request.id}`, sk: "REQUEST" });
      return (item?.statusSecretHashes as Set<string> | undefined)?.size;
    };
    assert.equal(await minted(), 2);
    const stored = (await repository.getRequest(request.id))!;
    await bus.publish("certificate.issued", {
      requestId: request.id,
      serial: stored.serial!,
      profile: stored.profile,
      requester: stored.requester,
      notAfter: new Date(Date.now() + 86_400_000).toISOString(),
      issuedAt: stored.updatedAt,
    });
    await bus.drain();
    assert.equal(mailer.to("dev@example.com").length, 2);
    assert.equal(await minted(), 2);
  });
});
