/**
 * The operators' certificate inventory page (/operators/certificates) on the real registration
 * authority over dynalite: rows soonest to expire first, each filter of the form, rows that end
 * within 30 days marked with a text badge (expired and revoked ones set apart the same way),
 * paging that keeps its filters, and bad filters or cursors answered with a 400 page that says
 * what is wrong. Certificate records are stored straight through the repository.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { RequestPrincipal } from "@spca/core/identity/principal";
import type { San } from "@spca/core/x509/general-names";
import { CONTENT_SECURITY_POLICY } from "../src/security/headers.ts";
import { Browser, closeShared, setUp, signedIn, type World } from "./support/pages-world.ts";

after(closeShared);

async function page(response: Response, status: number): Promise<string> {
  const html = await response.text();
  assert.equal(response.status, status, html.slice(0, 3000));
  assert.equal(response.headers.get("content-type"), "text/html; charset=UTF-8");
  assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
  assert.doesNotMatch(html, /<script(?![^>]*src="\/assets\/)/);
  assert.doesNotMatch(html, /\sstyle=/);
  return html;
}
const has = (html: string, text: string) =>
  assert.ok(html.includes(text), `expected ${JSON.stringify(text)} in the page`);
const hasNot = (html: string, text: string) =>
  assert.ok(!html.includes(text), `unexpected ${JSON.stringify(text)} in the page`);

const DAY = 86_400_000;
const who = (email: string): RequestPrincipal => ({ id: `oidc:${email}`, email, groups: [] });

interface Seed {
  readonly serial: string;
  readonly days: number;
  readonly principal?: RequestPrincipal;
  readonly profile?: string;
  readonly subject?: string;
  readonly sans?: readonly San[];
}

async function seed(world: World, seeds: readonly Seed[]) {
  const now = world.clock.now.getTime();
  for (const s of seeds) {
    const principal = s.principal ?? who("dev@example.com");
    await world.repository.putCertificate({
      serial: s.serial,
      requestId: `00000000-0000-4000-8000-${s.serial.padStart(12, "0")}`,
      objectKey: `certificates/${s.serial}.pem`,
      subject: s.subject ?? `CN=${s.serial}.example.internal`,
      sans: s.sans ?? [{ type: "dns", value: `${s.serial}.example.internal` }],
      profile: s.profile ?? "server",
      notBefore: new Date(now - 30 * DAY).toISOString(),
      notAfter: new Date(now + s.days * DAY).toISOString(),
      requester: principal.email!,
      principal,
      caId: "ca01",
      renews: null,
    });
  }
}

/** The listed rows: serial and the row's class. */
function rows(html: string): [string, string][] {
  return [
    ...html.matchAll(
      /<tr(?: class="([a-z-]+)")?>\n<td><a href="\/operators\/certificates\/([0-9a-f]+)">/g,
    ),
  ].map((m) => [m[2]!, m[1] ?? ""]);
}

const serials = (html: string) => rows(html).map(([serial]) => serial);

describe("the certificate inventory page", () => {
  async function world() {
    const w = await setUp();
    await seed(w, [
      {
        serial: "0a01",
        days: 5.5,
        principal: who("alice@example.com"),
        subject: "CN=soon.example",
        sans: [
          { type: "dns", value: "soon.example" },
          { type: "dns", value: "alt-soon.example" },
        ],
      },
      {
        serial: "0a02",
        days: 90,
        principal: who("bob@example.com"),
        profile: "client",
        subject: "CN=later.example",
      },
      { serial: "0a03", days: -2, principal: who("alice@example.com"), subject: "CN=gone.example" },
      { serial: "0a04", days: 60, principal: who("bob@example.com"), subject: "CN=pulled.example" },
      {
        serial: "0a05",
        days: 0.5,
        principal: who("carol@example.com"),
        subject: "CN=today.example",
      },
    ]);
    await w.repository.markCertificateRevoked(
      "0a04",
      new Date(w.clock.now.getTime() - DAY).toISOString().replace(/\.\d{3}Z$/, ".000Z"),
      "superseded",
    );
    return w;
  }

  test("soonest to expire first; what ends within 30 days, expired or revoked is marked in words", async () => {
    const w = await world();
    const { browser } = await signedIn(w, "auditor");
    const html = await page(await browser.get("/operators/certificates"), 200);
    assert.deepEqual(rows(html), [
      ["0a03", "row-expired"],
      ["0a05", "row-expiring"],
      ["0a01", "row-expiring"],
      ["0a04", "row-revoked"],
      ["0a02", ""],
    ]);
    has(html, `<span class="badge badge-expiring">Expires today</span>`);
    has(html, `<span class="badge badge-expiring">Expires in 5 days</span>`);
    assert.equal((html.match(/badge-expiring/g) ?? []).length, 2, "the revoked one is not due");
    has(html, `<span class="badge badge-expired">Expired</span>`);
    has(html, `<span class="badge badge-revoked">Revoked</span>`);
    has(html, "<td>CN=soon.example</td>");
    has(html, "<td>alice@example.com (oidc:alice@example.com)</td>");
    has(html, "are marked “Expires in …”");
    // The form, empty.
    has(html, `<form method="get" action="/operators/certificates" class="filters"`);
    has(html, `<option value="" selected>Any</option>`);
    has(html, `<option value="client">client</option>`);
    hasNot(html, `rel="next"`);
    assert.deepEqual(w.errors, []);
  });

  test("each filter, and the form keeps what was asked", async () => {
    const w = await world();
    const { browser } = await signedIn(w, "admin");
    const cases: [string, string[]][] = [
      ["status=valid", ["0a05", "0a01", "0a02"]],
      ["status=expired", ["0a03"]],
      ["status=revoked", ["0a04"]],
      ["profile=client", ["0a02"]],
      ["requester=bob%40example.com", ["0a04", "0a02"]],
      ["requester=BOB%40EXAMPLE.COM", ["0a04", "0a02"]],
      ["q=alt-soon", ["0a01"]],
      ["q=LATER", ["0a02"]],
      // Within: from now, so the expired one is not "expiring".
      ["within=30", ["0a05", "0a01"]],
      ["within=1", ["0a05"]],
      ["within=30&status=valid&profile=server&q=soon", ["0a01"]],
      // An empty form is no filter.
      ["status=&profile=&requester=&q=&within=", ["0a03", "0a05", "0a01", "0a04", "0a02"]],
    ];
    for (const [query, expected] of cases) {
      const html = await page(await browser.get(`/operators/certificates?${query}`), 200);
      assert.deepEqual(serials(html), expected, query);
    }
    const kept = await page(
      await browser.get("/operators/certificates?status=expired&profile=server&q=gone&within=400"),
      200,
    );
    has(kept, `<option value="expired" selected>Expired</option>`);
    has(kept, `<option value="server" selected>server</option>`);
    has(kept, `name="q" value="gone"`);
    has(kept, `name="within" value="400"`);
    assert.deepEqual(serials(kept), [], "expired, yet within 400 days from now: none");
    const none = await page(await browser.get("/operators/certificates?q=nothing-like-it"), 200);
    has(none, "None.");
  });

  test("bad filters are a 400 page saying which, and crafted cursors a link to the first page", async () => {
    const w = await world();
    const { browser } = await signedIn(w, "approver");
    const cases: [string, string][] = [
      ["within=0", "Expiring within must be a whole number of days from 1 to 3650."],
      ["within=soon", "Expiring within must be a whole number of days from 1 to 3650."],
      ["within=3651", "Expiring within must be a whole number of days from 1 to 3650."],
      ["status=issued", "Status must be one of valid, revoked, expired."],
      [`q=${"x".repeat(300)}`, "Text must be at most 256 characters."],
      ["expiresBefore=tomorrow", "The end of the expiry window must be a date"],
    ];
    for (const [query, message] of cases) {
      const html = await page(await browser.get(`/operators/certificates?${query}`), 400);
      has(html, "These filters cannot be used.");
      has(html, message);
      has(html, `action="/operators/certificates" class="filters"`);
      assert.deepEqual(serials(html), [], query);
    }
    for (const cursor of [
      "AAAA",
      Buffer.from(JSON.stringify({ after: "x", filter: "y" })).toString("base64url"),
      "%E2%80%AE",
    ]) {
      const html = await page(
        await browser.get(`/operators/certificates?status=valid&cursor=${cursor}`),
        400,
      );
      has(html, "This page link is not valid");
      has(html, `<a href="/operators/certificates?status=valid">Go to the first page</a>`);
    }
    assert.deepEqual(w.errors, []);
  });

  test("a requester is not an operator", async () => {
    const w = await world();
    const { browser } = await signedIn(w, "requester", "alice", "alice@example.com");
    const html = await page(await browser.get("/operators/certificates"), 403);
    has(html, "These pages are for approvers, auditors and admins.");
    hasNot(html, "soon.example");
  });
});

describe("/certificates: a signed-in person's own inventory", () => {
  test("a requester sees their own certificates, each leading to its request page", async () => {
    const w = await setUp();
    await seed(w, [
      { serial: "0b01", days: 3.5, principal: who("alice@example.com") },
      { serial: "0b02", days: 50, principal: who("bob@example.com") },
      { serial: "0b03", days: -1, principal: who("alice@example.com") },
    ]);
    const { browser } = await signedIn(w, "requester", "alice", "alice@example.com");
    const html = await page(await browser.get("/certificates"), 200);
    has(html, "<h1>Your certificates</h1>");
    has(html, `<a href="/certificates" aria-current="page">My certificates</a>`);
    const links = [...html.matchAll(/<td><a href="([^"]+)"><code>([0-9a-f]+)<\/code>/g)].map(
      (m) => [m[2], m[1]],
    );
    assert.deepEqual(links, [
      ["0b03", "/requests/00000000-0000-4000-8000-000000000b03"],
      ["0b01", "/requests/00000000-0000-4000-8000-000000000b01"],
    ]);
    has(html, `<span class="badge badge-expiring">Expires in 3 days</span>`);
    has(html, `<form method="get" action="/certificates" class="filters"`);
    // Naming someone else finds nothing.
    const bobs = await page(await browser.get("/certificates?requester=bob%40example.com"), 200);
    has(bobs, "None.");
    // Operators see everyone's here too.
    const { browser: auditor } = await signedIn(w, "auditor");
    const all = await page(await auditor.get("/certificates"), 200);
    has(all, "Your role reads every certificate.");
    assert.equal((all.match(/<code>0b0[123]<\/code>/g) ?? []).length, 3);
    // Nobody signed in is sent to sign in, and back.
    const anonymous = await new Browser(w).get("/certificates?status=valid");
    assert.equal(anonymous.status, 303);
    assert.equal(
      anonymous.headers.get("location"),
      `/sign-in?next=${encodeURIComponent("/certificates?status=valid")}`,
    );
    assert.deepEqual(w.errors, []);
  });
});

test("paging keeps the filters, the expiry window included", async () => {
  const w = await setUp();
  await seed(
    w,
    Array.from({ length: 40 }, (_, i) => ({ serial: (0x1000 + i).toString(16), days: i + 0.5 })),
  );
  const { browser } = await signedIn(w, "admin");
  const first = await page(await browser.get("/operators/certificates?within=30"), 200);
  const firstRows = serials(first);
  assert.equal(firstRows.length, 25);
  const next = /<a href="([^"]+)" rel="next">Next page<\/a>/
    .exec(first)?.[1]
    ?.replaceAll("&amp;", "&");
  assert.ok(next, "a Next page link");
  const url = new URL(next, "http://x");
  assert.equal(url.searchParams.get("within"), "30");
  assert.ok(url.searchParams.get("expiresAfter"));
  assert.ok(url.searchParams.get("expiresBefore"));
  const second = await page(await browser.get(next), 200);
  has(second, `name="within" value="30"`);
  const all = [...firstRows, ...serials(second)];
  // Days 0.5 to 29.5: thirty certificates, each once, in order.
  assert.deepEqual(
    all,
    Array.from({ length: 30 }, (_, i) => (0x1000 + i).toString(16)),
  );
  hasNot(second, `rel="next"`);
  // The cursor with other filters is refused, not misread.
  const cursor = url.searchParams.get("cursor")!;
  const other = await page(
    await browser.get(`/operators/certificates?profile=client&cursor=${cursor}`),
    400,
  );
  has(other, "This page link is not valid");
  assert.deepEqual(w.errors, []);
});
