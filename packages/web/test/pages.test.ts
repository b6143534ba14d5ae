/**
 * The pages over HTTP, without a browser: `app.request` on the API app with the pages mounted
 * (createApi + createPages), in front of the real registration authority on dynalite with a
 * data-folder CA (support/pages-world.ts). The workflow is driven by hand: approval links are
 * opened as RequestApproval opens them, certificates signed and stored by the real steps.
 * Checked: the security headers and the absence of inline script or style on every page, the
 * HTML 404, the assets' caching, CSRF on every form, sign-in and sessions, submitting without
 * JavaScript, the scripted preview, the request, approval and operators' pages.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { hashSecret, newLinkSecret } from "@spca/core/links/secrets";
import { fingerprint } from "../src/html/components.ts";
import { safeNext } from "../src/routes/sign-in.ts";
import { CONTENT_SECURITY_POLICY } from "../src/security/headers.ts";
import {
  Browser,
  closeShared,
  csrFor,
  csrfField,
  csrPem,
  csrWithSubject,
  type FormFields,
  HTTPS_BASE,
  issue,
  openApprovalLink,
  operator,
  type RequestOptions,
  setCookie,
  setUp,
  signedIn,
  submitted,
  type World,
} from "./support/pages-world.ts";

after(closeShared);

// ---------------------------------------------------------------------------------------------
// What every page must be

function assertPageHeaders(response: Response, https: boolean, what = response.url): void {
  const h = response.headers;
  assert.equal(h.get("content-security-policy"), CONTENT_SECURITY_POLICY, `CSP of ${what}`);
  assert.equal(h.get("x-content-type-options"), "nosniff", what);
  assert.equal(h.get("x-frame-options"), "DENY", what);
  assert.equal(h.get("referrer-policy"), "no-referrer", what);
  assert.equal(h.get("cache-control"), "no-store", what);
  assert.equal(
    h.get("strict-transport-security"),
    https ? "max-age=31536000; includeSubDomains" : null,
    `HSTS of ${what}`,
  );
}

interface Tag {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly end: number;
}

/** Every start tag of the page with its attributes (entities left as they are). */
function tagsOf(html: string): Tag[] {
  const tags: Tag[] = [];
  const tag =
    /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
  const attribute = /([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of html.matchAll(tag)) {
    const attributes = new Map<string, string>();
    for (const a of (m[2] ?? "").matchAll(attribute)) {
      attributes.set(a[1]!.toLowerCase(), a[2] ?? a[3] ?? a[4] ?? "");
    }
    tags.push({ name: m[1]!.toLowerCase(), attributes, end: m.index + m[0].length });
  }
  return tags;
}

/**
 * No inline script or style anywhere (the CSP would block them, so they would be bugs): no
 * <style>, no style= or on...= attribute, no javascript: URL, scripts only from /assets/ with
 * nothing between the tags, stylesheets only from /assets/, and forms posting to this origin.
 */
function assertNoInlineCode(html: string, what: string): void {
  assert.match(html, /^<!doctype html>/, `${what} is a page`);
  const tags = tagsOf(html);
  assert.ok(tags.length > 10, `${what} has tags`);
  let scripts = 0;
  for (const t of tags) {
    for (const [name, value] of t.attributes) {
      assert.ok(!name.startsWith("on"), `${what}: <${t.name} ${name}=…> is an inline handler`);
      assert.notEqual(name, "style", `${what}: <${t.name} style=…> is an inline style`);
      assert.ok(!/^\s*javascript:/i.test(value), `${what}: javascript: URL in <${t.name}>`);
      if (name === "src") assert.match(value, /^\/assets\//, `${what}: src of <${t.name}>`);
    }
    assert.ok(
      !["style", "iframe", "object", "embed", "base"].includes(t.name),
      `${what}: <${t.name}>`,
    );
    if (t.name === "script") {
      scripts++;
      assert.match(t.attributes.get("src") ?? "", /^\/assets\/app\.js\?v=[0-9a-f]{16}$/, what);
      assert.ok(html.startsWith("</script>", t.end), `${what}: a script with inline content`);
    }
    if (t.name === "link")
      assert.match(t.attributes.get("href") ?? "", /^\/assets\/[a-z]+\.css\?v=[0-9a-f]{16}$/, what);
    if (t.name === "form")
      assert.match(t.attributes.get("action") ?? "", /^\/(?![/\\])/, `${what}: form action`);
  }
  assert.equal(scripts, 1, `${what} loads the one script`);
  assert.equal((html.match(/<script/gi) ?? []).length, 1, `${what}: a <script the scan missed`);
  assert.equal((html.match(/<style/gi) ?? []).length, 0, `${what}: <style>`);
}

/** The response's body, after checking that it is a page of this status with the headers. */
async function page(response: Response, status: number, https = false): Promise<string> {
  const html = await response.text();
  assert.equal(response.status, status, html.slice(0, 2000));
  assert.equal(response.headers.get("content-type"), "text/html; charset=UTF-8");
  assertPageHeaders(response, https, `${response.status} page`);
  assertNoInlineCode(html, `${response.status} page`);
  return html;
}

const has = (html: string, text: string) =>
  assert.ok(html.includes(text), `expected ${JSON.stringify(text)} in the page`);
const hasNot = (html: string, text: string) =>
  assert.ok(!html.includes(text), `unexpected ${JSON.stringify(text)} in the page`);

/** What a redirect points to (a path on this origin). */
function location(response: Response, status = 303): string {
  assert.equal(response.status, status);
  const to = response.headers.get("location");
  assert.ok(to, "a Location");
  return to;
}

async function requestsIn(world: World): Promise<number> {
  let n = 0;
  for (const status of ["submitted", "pending_approval", "approved", "issued"] as const) {
    n += (await world.ra.listRequests(status, {})).items.length;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------

describe("security headers and markup", () => {
  for (const https of [false, true]) {
    test(`every kind of response carries the headers (${https ? "https" : "http"})`, async () => {
      const world = await setUp(https ? { publicBaseUrl: HTTPS_BASE } : {});
      const browser = new Browser(world);
      const pages: [string, number][] = [
        ["/", 200],
        ["/sign-in", 200],
        ["/requests/x", 404],
        [`/requests/x?token=${newLinkSecret()}`, 404],
        [`/approvals/x?token=${newLinkSecret()}`, 404],
        ["/approvals/x", 404],
        ["/no/such/page", 404],
        ["/requests/x/nothing-here", 404],
      ];
      for (const [path, status] of pages) {
        const response = await browser.get(path);
        assert.equal(response.status, status, path);
        assertPageHeaders(response, https, path);
        assertNoInlineCode(await response.text(), path);
      }
      const redirect = await browser.get("/operators");
      assert.equal(location(redirect), "/sign-in?next=%2Foperators");
      assertPageHeaders(redirect, https, "/operators");
      for (const path of ["/assets/app.css", "/assets/app.js"]) {
        const asset = await browser.get(path);
        assert.equal(asset.headers.get("x-content-type-options"), "nosniff", path);
        assert.equal(asset.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
      }
    });
  }

  test("signed-in pages with data carry no inline code either", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const { request, statusToken } = await submitted(world, "markup.example.internal", {
      comment: "for the markup test",
    });
    const serial = await issue(world, request.id);
    const approvalRequest = await submitted(world, "approve.example.com", { profile: "server" });
    const { secrets } = await openApprovalLink(world, approvalRequest.request.id);
    const token = secrets["security@example.com"]!;
    for (const path of [
      "/",
      "/operators",
      "/operators?status=issued",
      "/operators?q=markup",
      "/operators/certificates",
      `/operators/certificates/${serial}`,
      `/requests/${request.id}`,
      `/requests/${request.id}?token=${statusToken}`,
      `/approvals/${approvalRequest.request.id}?token=${token}`,
    ]) {
      await page(await browser.get(path), 200);
    }
  });

  test("the HTML 404 escapes the path it names", async () => {
    const world = await setUp();
    const html = await page(
      await new Browser(world).get("/%3Cscript%3Ealert(1)%3C/script%3E"),
      404,
    );
    has(html, "Page not found");
    has(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  test("an error no page handles is a plain 500 page with the headers, and is reported", async () => {
    const world = await setUp();
    const { request, statusToken } = await submitted(world, "broken.example.internal");
    await issue(world, request.id);
    world.objects.objects.clear(); // the PEM is gone: getCertificate throws
    const response = await new Browser(world).get(
      `/requests/${request.id}/certificate.pem?token=${statusToken}`,
    );
    const html = await page(response, 500);
    has(html, "Something went wrong");
    hasNot(html, "PEM is missing");
    assert.equal(world.errors.length, 1);
  });
});

describe("not found", () => {
  test("a browser gets the HTML 404; an API client the problem+json it always got", async () => {
    const world = await setUp();
    const browser = new Browser(world);
    const html = await page(await browser.get("/nope"), 404);
    has(html, "Page not found");
    has(html, "Nothing is at /nope.");

    for (const accept of ["application/json", "*/*", undefined]) {
      const response = await world.app.request("/nope", {
        headers: accept ? { accept } : {},
      });
      assert.equal(response.status, 404, String(accept));
      assert.equal(response.headers.get("content-type"), "application/problem+json");
      const body = (await response.json()) as { code: string; detail: string };
      assert.equal(body.code, "NOT_FOUND");
      assert.equal(body.detail, "GET /nope");
    }
    // The API itself is unchanged.
    const api = await world.app.request("/v1/requests/x", { headers: { accept: "text/html" } });
    assert.equal(api.status, 401);
    assert.equal(api.headers.get("content-type"), "application/problem+json");
    assert.equal((await world.app.request("/healthz")).status, 200);
  });
});

describe("refused before any page runs", () => {
  test("a form body over the limit is an HTML 413 page for a browser, problem+json for the API", async () => {
    const world = await setUp();
    const big = "x".repeat(200 * 1024);
    const form = new FormData();
    form.set("csr", big);
    const html = await world.app.request("/", {
      method: "POST",
      body: form,
      headers: { accept: "text/html" },
    });
    assert.equal(html.status, 413);
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(html.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.match(await html.text(), /Too much data/);
    const api = await world.app.request("/v1/requests", {
      method: "POST",
      body: JSON.stringify({ csr: big }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(api.status, 413);
    assert.equal(api.headers.get("content-type"), "application/problem+json");
  });

  test("pages pay the per-address rate limit with an HTML 429 and Retry-After; assets do not", async () => {
    const world = await setUp({ rateLimit: { burst: 3, perSecond: 0.01 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (await world.app.request("/assets/app.css", { headers: { accept: "text/css" } })).status,
      );
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await world.app.request("/sign-in", { headers: { accept: "text/html" } })).status,
        200,
      );
    }
    const limited = await world.app.request("/sign-in", { headers: { accept: "text/html" } });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    assert.equal(limited.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.match(await limited.text(), /Too many requests/);
  });
});

describe("assets", () => {
  test("the current version is immutable; any other URL revalidates; others are 404", async () => {
    const world = await setUp();
    const browser = new Browser(world);
    const html = await (await browser.get("/sign-in")).text();
    const css = /href="(\/assets\/app\.css\?v=([0-9a-f]{16}))"/.exec(html)!;
    const js = /src="(\/assets\/app\.js\?v=([0-9a-f]{16}))"/.exec(html)!;
    assert.ok(css && js);

    const fresh = await browser.get(css[1]!);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(fresh.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(fresh.headers.get("etag"), `"${css[2]}"`);
    assert.ok((await fresh.text()).length > 100);

    const script = await browser.get(js[1]!);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(script.headers.get("cache-control"), "public, max-age=31536000, immutable");

    for (const path of [
      "/assets/app.css",
      "/assets/app.css?v=0000000000000000",
      `/assets/app.css?v=${js[2]}`,
      `/assets/app.js?v=${css[2]}`,
    ]) {
      const stale = await browser.get(path);
      assert.equal(stale.status, 200, path);
      assert.equal(stale.headers.get("cache-control"), "no-cache", path);
    }
    for (const path of ["/assets/nope.js", "/assets/%2e%2e%2fpackage.json", "/assets/app.CSS"]) {
      const missing = await browser.get(path);
      assert.equal(missing.status, 404, path);
      assert.notEqual(missing.headers.get("cache-control"), "public, max-age=31536000, immutable");
    }
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * The ways a form POST can fail the CSRF check, given the fields of a correct one (with the
 * browser's csrf token in `csrf`). Each is sent and handed to `check` with its name.
 */
async function forgeries(
  browser: Browser,
  path: string,
  fields: FormFields & { csrf: string },
  check: (name: string, response: Response) => Promise<void>,
): Promise<void> {
  const cookieName = browser.world.publicBaseUrl.startsWith("https:") ? "__Host-csrf" : "csrf";
  const otherCookies = [...browser.cookies]
    .filter(([k]) => k !== cookieName)
    .map(([k, v]) => `${k}=${v}`);
  const withCookie = (csrf: string | undefined): RequestOptions => ({
    headers: {
      cookie: [...otherCookies, ...(csrf === undefined ? [] : [`${cookieName}=${csrf}`])].join(
        "; ",
      ),
    },
  });
  const { csrf, ...rest } = fields;
  const variants: [string, FormFields, RequestOptions][] = [
    ["no csrf field", rest, {}],
    ["an empty csrf field", { ...rest, csrf: "" }, {}],
    ["a wrong csrf field", { ...rest, csrf: newLinkSecret() }, {}],
    ["no csrf cookie", fields, withCookie(undefined)],
    ["another csrf cookie", fields, withCookie(newLinkSecret())],
    ["a malformed cookie the field repeats", { ...rest, csrf: "abc" }, withCookie("abc")],
    ["Sec-Fetch-Site: cross-site", fields, { site: "cross-site" }],
    ["Sec-Fetch-Site: same-site", fields, { site: "same-site" }],
    [
      "Origin: https://evil.example",
      fields,
      { site: null, headers: { origin: "https://evil.example" } },
    ],
    ["Origin: null", fields, { site: null, headers: { origin: "null" } }],
  ];
  for (const [name, body, options] of variants) {
    // A refusal may hand out a fresh token; each variant starts from the browser's own cookies.
    const saved = new Map(browser.cookies);
    const response = await browser.post(path, body, options);
    browser.cookies.clear();
    for (const [k, v] of saved) browser.cookies.set(k, v);
    await check(name, response);
  }
}

describe("CSRF", () => {
  test("the token: set by a page with a form, HttpOnly and SameSite=Strict, stable", async () => {
    const world = await setUp();
    const browser = new Browser(world);
    const response = await browser.get("/sign-in");
    const cookie = setCookie(response, "csrf");
    assert.ok(cookie, "a csrf cookie");
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(cookie.attributes.get("httponly"), true);
    assert.equal(cookie.attributes.get("samesite"), "Strict");
    assert.equal(cookie.attributes.get("path"), "/");
    assert.equal(cookie.attributes.has("secure"), false);
    assert.equal(csrfField(await response.text()), cookie.value);
    // The next page repeats the browser's token and sets nothing.
    const again = await browser.get("/sign-in");
    assert.equal(setCookie(again, "csrf"), undefined);
    assert.equal(csrfField(await again.text()), cookie.value);
    // A malformed cookie is replaced.
    const replaced = await browser.get("/sign-in", { headers: { cookie: "csrf=abc" } });
    assert.match(setCookie(replaced, "csrf")?.value ?? "", /^[A-Za-z0-9_-]{43}$/);
  });

  test("on https the cookie is __Host-csrf, Secure", async () => {
    const world = await setUp({ publicBaseUrl: HTTPS_BASE });
    const browser = new Browser(world);
    const response = await browser.get("/sign-in");
    assert.equal(setCookie(response, "csrf"), undefined);
    const cookie = setCookie(response, "__Host-csrf");
    assert.ok(cookie);
    assert.equal(cookie.attributes.get("secure"), true);
    assert.equal(cookie.attributes.get("httponly"), true);
    assert.equal(cookie.attributes.get("samesite"), "Strict");
    assert.equal(cookie.attributes.get("path"), "/");
    assert.equal(cookie.attributes.has("domain"), false);
    assert.equal(csrfField(await response.text()), cookie.value);
    // And the token works there.
    const { key } = await world.ra.createApiKey("admin", "ops", "ops@example.com");
    const signIn = await browser.signIn(key);
    assert.equal(location(signIn), "/operators");
    const session = setCookie(signIn, "__Host-session");
    assert.ok(session);
    assert.equal(session.attributes.get("secure"), true);
    assert.equal(session.attributes.get("httponly"), true);
    assert.equal(session.attributes.get("samesite"), "Lax");
    assert.equal(setCookie(signIn, "session"), undefined);
    // The origin's own Origin header passes without Sec-Fetch-Site; another does not.
    const csrf = await browser.csrf("/operators");
    const evil = await browser.post(
      "/sign-out",
      { csrf },
      { site: null, headers: { origin: "http://ca.example.com" } },
    );
    assert.equal(evil.status, 403);
    const out = await browser.post(
      "/sign-out",
      { csrf },
      { site: null, headers: { origin: HTTPS_BASE } },
    );
    assert.equal(location(out), "/");
    const cleared = setCookie(out, "__Host-session");
    assert.ok(cleared);
    assert.equal(cleared.attributes.get("max-age"), "0");
    assert.equal(cleared.attributes.get("secure"), true);
    assert.equal(await world.ra.session(session.value), undefined);
  });

  test("sign-in: a forged form signs nobody in", async () => {
    const world = await setUp();
    const { key } = await world.ra.createApiKey("admin", "ops", "ops@example.com");
    const browser = new Browser(world);
    const csrf = await browser.csrf();
    await forgeries(browser, "/sign-in", { csrf, key }, async (name, response) => {
      const html = await page(response, 403);
      has(html, "did not come from this site");
      assert.equal(setCookie(response, "session"), undefined, name);
    });
    assert.equal(browser.cookies.has("session"), false);
    // The same form, unforged, works; so does one from a client that sends neither header.
    assert.equal((await browser.post("/sign-in", { csrf, key }, { site: null })).status, 303);
    const sameOrigin = await new Browser(world).signIn(key);
    assert.equal(sameOrigin.status, 303);
    const viaOrigin = new Browser(world);
    const token = await viaOrigin.csrf();
    const response = await viaOrigin.post(
      "/sign-in",
      { csrf: token, key },
      { site: null, headers: { origin: world.publicBaseUrl } },
    );
    assert.equal(response.status, 303);
  });

  test("submit: a forged form stores nothing", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const fields = {
      csrf,
      csr: csrPem("forged.example.internal"),
      email: "dev@example.com",
      profile: "client",
      action: "submit",
    };
    await forgeries(browser, "/", fields, async (name, response) => {
      const html = await page(response, 403);
      has(html, "did not come from this site");
      assert.equal(await requestsIn(world), 0, name);
    });
    assert.deepEqual(world.started, []);
    const real = await browser.post("/", fields);
    assert.match(location(real), /^\/requests\//);
    assert.equal(await requestsIn(world), 1);
  });

  test("approval: a forged decision records nothing", async () => {
    const world = await setUp();
    const { request } = await submitted(world, "csrf-approval.example.com", { profile: "server" });
    const { secrets } = await openApprovalLink(world, request.id);
    const token = secrets["security@example.com"]!;
    const browser = new Browser(world);
    const csrf = await browser.csrf(`/approvals/${request.id}?token=${token}`);
    const fields = { csrf, token, decision: "approve", reason: "" };
    await forgeries(browser, `/approvals/${request.id}`, fields, async (name, response) => {
      const html = await page(response, 403);
      has(html, "Nothing was recorded");
      has(html, `name="decision" value="approve"`); // the form is offered again
      const approval = (await world.repository.getApproval(request.id))!;
      assert.equal(approval.links[0]!.usedAt, null, name);
    });
    assert.equal((await world.repository.getRequest(request.id))!.status, "pending_approval");
    assert.deepEqual(world.tasks, []);
  });

  test("revoke: a forged form revokes nothing", async () => {
    const world = await setUp();
    const { request } = await submitted(world, "csrf-revoke.example.internal");
    const serial = await issue(world, request.id);
    const { browser } = await signedIn(world, "admin");
    const csrf = await browser.csrf(`/operators/certificates/${serial}`);
    const path = `/operators/certificates/${serial}/revoke`;
    await forgeries(browser, path, { csrf, reason: "keyCompromise" }, async (name, response) => {
      const html = await page(response, 400);
      has(html, "Nothing was revoked");
      assert.equal((await world.ra.getCertificate(serial, operator))!.status, "valid", name);
    });
    assert.equal((await world.repository.getRequest(request.id))!.status, "issued");
    assert.ok(!world.published.some((e) => e.type === "certificate.revoked"));
  });

  test("sign-out: a forged form leaves the session", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const csrf = await browser.csrf("/operators");
    await forgeries(browser, "/sign-out", { csrf }, async (name, response) => {
      const html = await page(response, 403);
      has(html, "did not come from this site");
      assert.equal(setCookie(response, "session"), undefined, name);
      assert.equal((await browser.get("/operators")).status, 200, name);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("sign-in and sessions", () => {
  test("safeNext keeps paths on this site only", () => {
    for (const ok of ["/", "/operators", "/operators/certificates?status=revoked", "/a\\b"]) {
      assert.equal(safeNext(ok), ok);
    }
    for (const bad of [
      "//evil.example",
      "//evil.example/operators",
      "/\\evil.example",
      "/\\/evil.example",
      "https://evil.example",
      "http:/evil.example",
      "javascript:alert(1)",
      "evil.example",
      "operators",
      "",
      "/ space",
      "/tab\there",
      "/new\nline",
      "/ünïcode",
      " /operators",
      undefined,
      null,
      42,
      ["/operators"],
    ]) {
      assert.equal(safeNext(bad), undefined, JSON.stringify(bad));
    }
  });

  test("a wrong, malformed or revoked key is a 401 with no session", async () => {
    const world = await setUp();
    const { key, record } = await world.ra.createApiKey("admin", "ops", "ops@example.com");
    await world.ra.revokeApiKey(record.id);
    const browser = new Browser(world);
    for (const wrong of [`spca_${"x".repeat(32)}`, "short", "", `${key}"><b>`, key]) {
      const response = await browser.signIn(wrong);
      const html = await page(response, 401);
      has(html, "That API key is not valid, or it has been revoked.");
      hasNot(html, wrong || "\u0000");
      assert.equal(setCookie(response, "session"), undefined);
    }
  });

  test("an admin key: session cookie, /operators, and sign-out ends it", async () => {
    const world = await setUp();
    const { key, record } = await world.ra.createApiKey("admin", "ops", "ops@example.com");
    const browser = new Browser(world);
    const response = await browser.signIn(` ${key} `);
    assert.equal(location(response), "/operators");
    const cookie = setCookie(response, "session");
    assert.ok(cookie);
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(cookie.value, key);
    assert.equal(cookie.attributes.get("httponly"), true);
    assert.equal(cookie.attributes.get("samesite"), "Lax");
    assert.equal(cookie.attributes.get("path"), "/");
    assert.equal(cookie.attributes.get("max-age"), String(8 * 3600));
    assert.equal(cookie.attributes.has("secure"), false);
    assert.equal((await world.ra.session(cookie.value))?.principal.id, `api-key:${record.id}`);

    const operators = await page(await browser.get("/operators"), 200);
    has(operators, "<h1>Operators</h1>");
    has(operators, `Sign out <span class="who">ops@example.com</span> (admin)`);

    const csrf = csrfField(operators)!;
    const out = await browser.post("/sign-out", { csrf });
    assert.equal(location(out), "/");
    const cleared = setCookie(out, "session");
    assert.ok(cleared);
    assert.equal(cleared.value, "");
    assert.equal(cleared.attributes.get("max-age"), "0");
    assert.equal(await world.ra.session(cookie.value), undefined);
    // The old cookie, kept by a browser that ignored the deletion, opens nothing.
    const replay = await browser.get("/operators", {
      headers: { cookie: `session=${cookie.value}` },
    });
    assert.equal(location(replay), "/sign-in?next=%2Foperators");
    const home = await page(await browser.get("/"), 200);
    has(home, `href="/sign-in"`);
    hasNot(home, "Sign out");
  });

  test("next: a path on this site is followed; anything else is ignored", async () => {
    const world = await setUp();
    const { key } = await world.ra.createApiKey("admin", "ops", "ops@example.com");
    const form = await page(
      await new Browser(world).get("/sign-in?next=%2Foperators%2Fcertificates"),
      200,
    );
    has(form, `<input type="hidden" name="next" value="/operators/certificates">`);
    const evil = await page(await new Browser(world).get("/sign-in?next=//evil.example"), 200);
    hasNot(evil, `name="next"`);

    assert.equal(
      location(await new Browser(world).signIn(key, "/operators/certificates?status=revoked")),
      "/operators/certificates?status=revoked",
    );
    for (const next of ["//evil.example", "https://evil.example", "/\\evil.example", "/\\/x"]) {
      assert.equal(location(await new Browser(world).signIn(key, next)), "/operators", next);
    }
    // A requester lands on the submit page.
    const requester = await world.ra.createApiKey("requester", "ci", "ci@example.com");
    assert.equal(location(await new Browser(world).signIn(requester.key)), "/");
  });

  test("a requester session is refused the operators' pages", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    for (const path of ["/operators", "/operators/certificates", "/operators/certificates/0a"]) {
      const html = await page(await browser.get(path), 403);
      has(html, "These pages are for approvers, auditors and admins.");
      has(html, `Sign out <span class="who">requester@example.com</span> (requester)`);
    }
  });

  test("revoking the API key ends its session at once", async () => {
    const world = await setUp();
    const { browser, record } = await signedIn(world, "admin");
    assert.equal((await browser.get("/operators")).status, 200);
    await world.ra.revokeApiKey(record.id);
    assert.equal(location(await browser.get("/operators")), "/sign-in?next=%2Foperators");
    const home = await page(await browser.get("/"), 200);
    has(home, "Submitting needs you to sign in.");
  });

  test("a forged or foreign session cookie is no session", async () => {
    const world = await setUp();
    const { key } = await world.ra.createApiKey("admin", "ops", "ops@example.com");
    for (const cookie of ["session=x", `session=${newLinkSecret()}`, `session=${key}`]) {
      const response = await world.app.request("/operators", { headers: { cookie } });
      assert.equal(location(response), "/sign-in?next=%2Foperators", cookie);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("submitting without JavaScript", () => {
  test("signed in without the requester role: a notice instead of the form, and POST is 403", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "auditor");
    const html = await page(await browser.get("/"), 200);
    has(html, "Submitting needs the requester role.");
    has(html, "You are signed in as auditor@example.com (auditor).");
    hasNot(html, `<form method="post" action="/"`);
    const refused = await page(
      await browser.post("/", {
        csrf: csrfField(html)!,
        csr: csrPem("auditor.example.internal"),
        profile: "client",
        action: "submit",
      }),
      403,
    );
    has(refused, "who has no requester role");
    assert.equal(await requestsIn(world), 0);
  });

  test("signed out where submission is not open: the sign-in notice, and POST is 403", async () => {
    const world = await setUp();
    const browser = new Browser(world);
    const html = await page(await browser.get("/"), 200);
    has(html, "Submitting needs you to sign in.");
    has(html, `href="/sign-in?next=/"`);
    hasNot(html, `<form method="post" action="/"`);
    const csrf = await browser.csrf();
    const response = await browser.post("/", {
      csrf,
      csr: csrPem("anon.example.internal"),
      email: "dev@example.com",
      profile: "client",
      action: "submit",
    });
    const refused = await page(response, 403);
    has(refused, "Sign in first.");
    assert.equal(await requestsIn(world), 0);
    assert.deepEqual(world.started, []);
  });

  test("preview of an uploaded DER file: the summary, and the PEM in the text box", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const form = await page(await browser.get("/"), 200);
    has(form, `enctype="multipart/form-data"`);
    const der = csrFor("upload.example.internal", "DER");
    const response = await browser.post("/", {
      csrf: csrfField(form)!,
      csr: "",
      csrFile: new Blob([der], { type: "application/pkcs10" }),
      email: "dev@example.com",
      profile: "client",
      comment: "",
      action: "preview",
    });
    const html = await page(response, 200);
    has(html, "What the CSR contains");
    has(html, "<dd>CN=upload.example.internal</dd>");
    has(html, `<li><span class="san-type">DNS</span> upload.example.internal</li>`);
    has(html, "<dd>EC P-256</dd>");
    has(html, "Profile client accepts this CSR.");
    const summary = world.ra.previewCsr(der, undefined, undefined).summary;
    has(html, fingerprint(summary.sha256));
    const textarea = /<textarea id="csr"[^>]*>([^<]*)<\/textarea>/.exec(html)?.[1];
    assert.equal(textarea, encodePem("CERTIFICATE REQUEST", der));
    has(html, `value="dev@example.com"`);
    has(html, `<option value="client" selected>`);
    assert.equal(await requestsIn(world), 0, "a preview stores nothing");
  });

  test("a preview needs only the CSR: no verdict and no field errors without profile and email", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const html = await page(
      await browser.post("/", {
        csrf,
        csr: csrPem("bare.example.internal"),
        email: "",
        profile: "",
        action: "preview",
      }),
      200,
    );
    has(html, "<dd>CN=bare.example.internal</dd>");
    hasNot(html, "accepts this CSR");
    hasNot(html, `aria-invalid="true"`);
    // Submitting the same form names the missing field, and stores nothing. Signed in, the
    // email may be left empty: mails then go to the principal's own address.
    has(html, "empty: to you, requester@example.com.");
    const refused = await page(
      await browser.post("/", { csrf, csr: csrPem("bare.example.internal"), action: "submit" }),
      400,
    );
    hasNot(refused, `id="email-error"`);
    has(refused, `id="profile-error"`);
    assert.equal(await requestsIn(world), 0);
  });

  test("a preview names the profile's objection", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const html = await page(
      await browser.post("/", {
        csrf,
        csr: csrPem("web.example.org"),
        email: "dev@example.com",
        profile: "server",
        action: "preview",
      }),
      200,
    );
    has(html, "Profile server will refuse this CSR.");
    has(html, "web.example.org");
  });

  test("submit: a 303 to the status link, whose page shows the request", async () => {
    const world = await setUp();
    const { browser, record } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const response = await browser.post(
      "/",
      {
        csrf,
        csr: csrPem("submit.example.internal"),
        email: " dev@example.com ",
        profile: "client",
        comment: "  for the build farm  ",
        action: "submit",
      },
      { encoding: "multipart" },
    );
    const to = location(response);
    const match = /^\/requests\/([0-9a-f-]{36})\?token=([A-Za-z0-9_-]{43})$/.exec(to);
    assert.ok(match, to);
    const [, id, token] = match;
    const stored = (await world.repository.getRequest(id!))!;
    assert.equal(stored.requester, "dev@example.com");
    assert.equal(stored.comment, "for the build farm");
    assert.equal(stored.submittedBy, `api-key:${record.id}`);
    assert.deepEqual(stored.principal, {
      id: `api-key:${record.id}`,
      email: "requester@example.com",
      groups: [],
    });
    assert.equal((await world.ra.getRequestByStatusToken(id!, token!))?.id, id);
    assert.deepEqual(world.started, [id]);

    // The link opens the page without the session too.
    const html = await page(await new Browser(world).get(to), 200);
    has(html, `<code>${id}</code>`);
    has(html, "<dd>dev@example.com</dd>");
    has(html, "<dd>CN=submit.example.internal</dd>");
    has(html, "Submitted");
    has(html, `data-poll="/requests/${id}/status?token=${token}"`);
    has(html, `<noscript><meta http-equiv="refresh" content="5"></noscript>`);
  });

  test("invalid fields: 400, inline errors on each (a preview minds only the CSR), values kept, nothing stored", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const good = {
      csrf,
      csr: csrPem("fields.example.internal"),
      email: "dev@example.com",
      profile: "client",
      comment: "",
      action: "submit",
    };
    const cases: [string, FormFields, string, string][] = [
      ["email", { ...good, email: "not an address" }, "email", "Enter the address for mails"],
      ["profile", { ...good, profile: "nope" }, "profile", "Choose one of the profiles."],
      ["no profile", { ...good, profile: "" }, "profile", "Choose one of the profiles."],
      ["prototype profile", { ...good, profile: "__proto__" }, "profile", "Choose one of"],
      ["csr", { ...good, csr: "   " }, "csr", "Paste a CSR or choose a PEM or DER file."],
      ["comment", { ...good, comment: "x".repeat(1001) }, "comment", "the limit is 1000"],
    ];
    for (const [name, fields, field, message] of cases) {
      for (const action of ["submit", "preview"]) {
        if (action === "preview" && field !== "csr") {
          // A preview needs only the CSR: the other fields wait for the submission.
          const shown = await page(await browser.post("/", { ...fields, action }), 200);
          has(shown, "What the CSR contains");
          hasNot(shown, `aria-invalid="true"`);
          continue;
        }
        const html = await page(await browser.post("/", { ...fields, action }), 400);
        has(html, "The request was not submitted. Fix the fields marked below.");
        const control = new RegExp(`<(?:input|select|textarea)[^>]* id="${field}"[^>]*>`).exec(
          html,
        )?.[0];
        assert.ok(control, name);
        assert.match(control, /aria-invalid="true"/, name);
        assert.match(control, new RegExp(`aria-describedby="[^"]*${field}-error"`), name);
        has(html, `<p class="field-error" id="${field}-error">`);
        has(html, message);
        // Only that field is marked.
        assert.equal((html.match(/aria-invalid="true"/g) ?? []).length, 1, name);
      }
    }
    const kept = await page(
      await browser.post("/", { ...good, email: "bad", comment: "keep <me>" }),
      400,
    );
    has(kept, `value="bad"`);
    has(kept, "keep &lt;me&gt;</textarea>");
    assert.equal(await requestsIn(world), 0);
    assert.deepEqual(world.started, []);
  });

  test("a CSR the policy refuses is a 422 that names the problem; nothing stored", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const base = { csrf, email: "dev@example.com", action: "submit" };
    const outside = await page(
      await browser.post("/", { ...base, csr: csrPem("evil.example.org"), profile: "client" }),
      422,
    );
    has(outside, `id="csr-error"`);
    assert.match(outside, /<p class="field-error" id="csr-error">[^<]*evil\.example\.org/);
    // The only approver asking for their own certificate, under an alias of their mailbox: who
    // is signed in counts, not the address typed for mails.
    const { browser: approver } = await signedIn(
      world,
      "requester",
      "alias",
      "Security+me@Example.com",
    );
    const self = await page(
      await approver.post("/", {
        ...base,
        csrf: await approver.csrf("/"),
        csr: csrPem("web.example.com"),
        profile: "server",
        email: "someone-else@example.com",
      }),
      422,
    );
    assert.match(self, /APPROVAL_QUORUM_UNREACHABLE|needs 1 approval\(s\) from others/);
    has(self, "other than Security+me@Example.com");
    // Garbage, and a CSR whose name is markup: the message is shown escaped.
    const garbage = await page(
      await browser.post("/", { ...base, csr: "hello", profile: "client" }),
      422,
    );
    has(garbage, `id="csr-error"`);
    const hostile = await page(
      await browser.post("/", {
        ...base,
        csr: csrWithSubject("/CN=<img src=x onerror=alert(1)>"),
        profile: "client",
      }),
      422,
    );
    has(hostile, "&lt;img src=x onerror=alert(1)&gt;");
    hasNot(hostile, "<img");
    assert.equal(await requestsIn(world), 0);
    assert.deepEqual(world.started, []);
  });

  test("markup in a CSR's subject is shown escaped in the preview", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "requester");
    const csrf = await browser.csrf("/");
    const html = await page(
      await browser.post("/", {
        csrf,
        csr: csrWithSubject("/CN=odd.example.internal/O=<img src=x onerror=alert(1)>"),
        email: "dev@example.com",
        profile: "client",
        action: "preview",
      }),
      200,
    );
    has(html, "&lt;img src=x onerror=alert(1)");
    hasNot(html, "<img");
  });

  test("with open submission, anyone may submit through the form", async () => {
    const world = await setUp({ openSubmission: true });
    const browser = new Browser(world);
    const form = await page(await browser.get("/"), 200);
    hasNot(form, "Submitting needs an API key.");
    const response = await browser.post("/", {
      csrf: csrfField(form)!,
      csr: csrPem("open.example.internal"),
      email: "dev@example.com",
      profile: "client",
      action: "submit",
    });
    const to = location(response);
    const id = /^\/requests\/([0-9a-f-]{36})\?token=/.exec(to)![1]!;
    assert.match((await world.repository.getRequest(id))!.submittedBy ?? "", /^anonymous:/);
    await page(await browser.get(to), 200);
    // Still not without the token.
    const forged = await browser.post("/", {
      csr: csrPem("open.example.internal"),
      email: "dev@example.com",
      profile: "client",
    });
    assert.equal(forged.status, 403);
    assert.equal(await requestsIn(world), 1);
  });
});

// ---------------------------------------------------------------------------------------------

describe("POST /csr/preview", () => {
  const preview = (world: World, body: string, type = "application/json") =>
    world.app.request("/csr/preview", {
      method: "POST",
      headers: { "content-type": type },
      body,
    });

  test("refuses what is not a JSON body with a CSR", async () => {
    const world = await setUp();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
      const response = await preview(world, JSON.stringify({ csr: "x" }), type);
      assert.equal(response.status, 415, type);
      assert.equal(((await response.json()) as { code: string }).code, "UNSUPPORTED_MEDIA_TYPE");
    }
    const noType = await world.app.request("/csr/preview", { method: "POST", body: "{}" });
    assert.equal(noType.status, 415);
    const bad = await preview(world, "{", "application/json; charset=utf-8");
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, "BODY_INVALID");
    for (const body of ["{}", "null", `{"csr":""}`, `{"csr":"  "}`, `{"csr":42}`, "[]", `"x"`]) {
      const response = await preview(world, body);
      assert.equal(response.status, 400, body);
      assert.equal(((await response.json()) as { code: string }).code, "CSR_EMPTY", body);
    }
  });

  test("garbage is a 422 with the CSR error code", async () => {
    const world = await setUp();
    for (const [csr, code] of [
      ["not a csr", "CSR_PEM_INVALID"],
      [
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        "CSR_DER_MALFORMED",
      ],
    ]) {
      const response = await preview(world, JSON.stringify({ csr, profile: "client" }));
      assert.equal(response.status, 422, csr);
      const body = (await response.json()) as { code: string; message: string };
      assert.equal(body.code, code);
      assert.equal(typeof body.message, "string");
    }
  });

  test("the summary, and the profile's verdict when one is named", async () => {
    const world = await setUp();
    const csr = csrPem("preview.example.com");
    const plain = await preview(world, JSON.stringify({ csr }));
    assert.equal(plain.status, 200);
    assertPageHeaders(plain, false);
    const body = (await plain.json()) as {
      summary: { subject: string; sans: unknown; key: string; sha256: string };
      policy: unknown;
    };
    assert.equal(body.summary.subject, "CN=preview.example.com");
    assert.deepEqual(body.summary.sans, [{ type: "dns", value: "preview.example.com" }]);
    assert.equal(body.summary.key, "EC P-256");
    assert.match(body.summary.sha256, /^[0-9a-f]{64}$/);
    assert.equal(body.policy, null);

    const ok = (await (
      await preview(world, JSON.stringify({ csr, profile: "server", email: "dev@example.com" }))
    ).json()) as { policy: unknown };
    assert.deepEqual(ok.policy, { ok: true });

    const refused = (await (
      await preview(world, JSON.stringify({ csr: csrPem("web.example.org"), profile: "server" }))
    ).json()) as { policy: { ok: boolean; code: string; message: string } };
    assert.equal(refused.policy.ok, false);
    assert.equal(refused.policy.code, "POLICY_DNS_NOT_ALLOWED");
    assert.match(refused.policy.message, /web\.example\.org/);

    const unknown = (await (
      await preview(world, JSON.stringify({ csr, profile: "nope" }))
    ).json()) as { policy: { ok: boolean; code: string } };
    assert.deepEqual([unknown.policy.ok, unknown.policy.code], [false, "PROFILE_UNKNOWN"]);

    const self = (await (
      await preview(
        world,
        JSON.stringify({ csr, profile: "server", email: "security@example.com" }),
      )
    ).json()) as { policy: { code: string } };
    assert.equal(self.policy.code, "APPROVAL_QUORUM_UNREACHABLE");
    assert.equal(await requestsIn(world), 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe("request status page", () => {
  test("a wrong, malformed or foreign token, or an unknown id, opens nothing", async () => {
    const world = await setUp();
    const a = await submitted(world, "a.example.internal");
    const b = await submitted(world, "b.example.internal");
    const browser = new Browser(world);
    for (const path of [
      `/requests/${a.request.id}`,
      `/requests/${a.request.id}?token=${newLinkSecret()}`,
      `/requests/${a.request.id}?token=${b.statusToken}`,
      `/requests/${a.request.id}?token=abc`,
      `/requests/${a.request.id}?token=${a.statusToken}x`,
      `/requests/${a.request.id}?token=${hashSecret(a.statusToken!)}`,
      `/requests/${crypto.randomUUID()}?token=${a.statusToken}`,
      `/requests/a.b?token=${a.statusToken}`,
      `/requests/${"x".repeat(65)}?token=${a.statusToken}`,
    ]) {
      const html = await page(await browser.get(path), 404);
      has(html, "This status link is not valid.");
      hasNot(html, "a.example.internal");
    }
    const status = await browser.get(`/requests/${a.request.id}/status?token=${b.statusToken}`);
    assert.equal(status.status, 404);
    assert.deepEqual(await status.json(), {
      code: "NOT_FOUND",
      message: "This status link is not valid.",
    });
    for (const file of ["certificate.pem", "fullchain.pem"]) {
      const html = await page(await browser.get(`/requests/${a.request.id}/${file}`), 404);
      has(html, "This status link is not valid.");
    }
  });

  test("status JSON; the submitter's session opens the page without a token, another's does not", async () => {
    const world = await setUp();
    const { request, statusToken } = await submitted(world, "json.example.internal");
    const browser = new Browser(world);
    const status = await browser.get(`/requests/${request.id}/status?token=${statusToken}`);
    assert.equal(status.status, 200);
    assertPageHeaders(status, false);
    assert.deepEqual(await status.json(), { status: "submitted", updatedAt: request.updatedAt });

    // Another key of the same person (dev@example.com submitted it).
    const { browser: requester } = await signedIn(world, "requester", "dev", "Dev@Example.com");
    const html = await page(await requester.get(`/requests/${request.id}`), 200);
    has(html, "<dd>CN=json.example.internal</dd>");
    has(html, `data-poll="/requests/${request.id}/status"`);
    const json = await requester.get(`/requests/${request.id}/status`);
    assert.equal(((await json.json()) as { status: string }).status, "submitted");
    // Someone else's requester session: as if there were no such request.
    const { browser: other } = await signedIn(world, "requester", "other");
    await page(await other.get(`/requests/${request.id}`), 404);
    assert.equal((await other.get(`/requests/${request.id}/status`)).status, 404);
  });

  test("downloads: 404 before issue; after, the certificate and chain as attachments", async () => {
    const world = await setUp();
    const { request, statusToken } = await submitted(world, "download.example.internal");
    const browser = new Browser(world);
    const q = `?token=${statusToken}`;
    for (const file of ["certificate.pem", "fullchain.pem"]) {
      const html = await page(await browser.get(`/requests/${request.id}/${file}${q}`), 404);
      has(html, "No certificate yet");
      has(html, `Request ${request.id} is submitted; it has no certificate to download.`);
    }
    const before = await page(await browser.get(`/requests/${request.id}${q}`), 200);
    hasNot(before, "certificate.pem");

    const serial = await issue(world, request.id);
    const html = await page(await browser.get(`/requests/${request.id}${q}`), 200);
    has(html, `Serial <code>${serial}</code>`);
    has(html, `href="/requests/${request.id}/certificate.pem${q}"`);
    has(html, `href="/requests/${request.id}/fullchain.pem${q}"`);
    has(html, `<span class="badge badge-issued">Issued</span>`);

    const certificate = await browser.get(`/requests/${request.id}/certificate.pem${q}`);
    assert.equal(certificate.status, 200);
    assert.equal(certificate.headers.get("content-type"), "application/x-pem-file");
    assert.equal(
      certificate.headers.get("content-disposition"),
      `attachment; filename="${serial}.pem"`,
    );
    assertPageHeaders(certificate, false);
    const pem = await certificate.text();
    const blocks = decodePemBlocks(pem);
    assert.deepEqual(
      blocks.map((b) => b.label),
      ["CERTIFICATE"],
    );
    assert.equal(pem, (await world.ra.getCertificate(serial, operator))!.pem);

    const chain = await browser.get(`/requests/${request.id}/fullchain.pem${q}`);
    assert.equal(chain.status, 200);
    assert.equal(chain.headers.get("content-type"), "application/pem-certificate-chain");
    assert.equal(
      chain.headers.get("content-disposition"),
      `attachment; filename="${serial}-fullchain.pem"`,
    );
    const full = await chain.text();
    assert.ok(full.startsWith(pem));
    assert.equal(decodePemBlocks(full).length, 3, "leaf, issuing CA, root");
    assert.equal(full, pem + (await world.ca.chainPem()));
  });

  test("the page follows a request in progress and stops once it is settled", async () => {
    const world = await setUp();
    const { request, statusToken } = await submitted(world, "settled.example.internal");
    const browser = new Browser(world);
    const link = `/requests/${request.id}?token=${statusToken}`;
    const following = (html: string) => {
      has(html, `<noscript><meta http-equiv="refresh" content="5"></noscript>`);
      has(html, `data-poll="/requests/${request.id}/status?token=${statusToken}"`);
    };
    following(await page(await browser.get(link), 200));
    await world.repository.transition(request.id, {
      from: "submitted",
      to: "approved",
      actor: "workflow",
    });
    const approved = await page(await browser.get(link), 200);
    following(approved);
    has(approved, `data-status="approved"`);
    const serial = await issue(world, request.id);
    const issued = await page(await browser.get(link), 200);
    has(issued, `<span class="badge badge-issued">Issued</span>`);
    hasNot(issued, `http-equiv="refresh"`);
    hasNot(issued, "data-poll");
    await world.ra.revokeCertificate(serial, "superseded", operator);
    const revoked = await page(await browser.get(link), 200);
    has(revoked, `<span class="badge badge-revoked">Revoked</span>`);
    has(revoked, "(revoked)");
    hasNot(revoked, "data-poll");
    // A revoked certificate can still be downloaded by its owner.
    assert.equal(
      (await browser.get(`/requests/${request.id}/certificate.pem?token=${statusToken}`)).status,
      200,
    );
  });

  test("markup in a rejection reason is escaped", async () => {
    const world = await setUp();
    const { request, statusToken } = await submitted(world, "escape.example.com", {
      profile: "server",
    });
    const { secrets } = await openApprovalLink(world, request.id);
    await world.ra.decide(
      request.id,
      secrets["security@example.com"]!,
      "reject",
      "<img src=x onerror=alert(2)>",
    );
    const html = await page(
      await new Browser(world).get(`/requests/${request.id}?token=${statusToken}`),
      200,
    );
    has(html, "The request was rejected.");
    has(html, `<span class="reason">&lt;img src=x onerror=alert(2)&gt;</span>`);
    hasNot(html, "<img");
  });
});

// ---------------------------------------------------------------------------------------------

describe("approval page", () => {
  async function pending(world: World, options: { comment?: string; profile?: string } = {}) {
    const { request } = await submitted(world, "approve.example.com", {
      profile: options.profile ?? "server",
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    });
    const link = await openApprovalLink(world, request.id);
    return { id: request.id, ...link };
  }

  test("control and bidi-override characters in a subject or comment are shown escaped", async () => {
    const world = await setUp();
    world.advance(1);
    // "moc.elgoog" after U+202E reads as "google.com"; NUL, ESC and BEL are there as well.
    const { request } = await world.ra.submit(
      {
        csr: csrWithSubject("/CN=odd.example.internal/O=\u202Emoc.elgoog", undefined, {
          utf8: true,
        }),
        email: "dev@example.com",
        profile: "server",
        comment: "see \u202Emoc.elgoog\u202C now\u0000\u001b[31m\u0007",
      },
      operator,
      undefined,
    );
    const stored = (await world.repository.getRequest(request.id))!;
    assert.ok(stored.csrSummary.subject.includes("\u202E"), stored.csrSummary.subject);
    const { secrets } = await openApprovalLink(world, request.id);
    const html = await page(
      await new Browser(world).get(
        `/approvals/${request.id}?token=${secrets["security@example.com"]}`,
      ),
      200,
    );
    has(html, "O=[U+202E]moc.elgoog");
    has(html, "see [U+202E]moc.elgoog[U+202C] now[U+0000][U+001B][31m[U+0007]");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: their absence is the point
    assert.doesNotMatch(html, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u202a-\u202e\u2066-\u2069]/);
    // The same on the request's own page and in the operators' list.
    const { browser } = await signedIn(world, "admin");
    for (const path of [`/requests/${request.id}`, "/operators?status=pending_approval"]) {
      const shown = await page(await browser.get(path), 200);
      has(shown, "[U+202E]moc.elgoog");
      assert.doesNotMatch(shown, /[\u202a-\u202e]/, path);
    }
  });

  test("a valid link shows the request; approving redirects and reaches the workflow", async () => {
    const world = await setUp();
    const { id, secrets, taskToken } = await pending(world, {
      comment: `<script>alert("comment")</script> please`,
    });
    const token = secrets["security@example.com"]!;
    const link = `/approvals/${id}?token=${token}`;
    const browser = new Browser(world);
    const html = await page(await browser.get(link), 200);
    const stored = (await world.repository.getRequest(id))!;
    has(html, "<dd>dev@example.com</dd>");
    has(html, "<dd>dev@example.com (api-key:0123456789abcdef)</dd>");
    has(html, "&lt;script&gt;alert(&quot;comment&quot;)&lt;/script&gt; please");
    has(html, fingerprint(stored.csrSummary.sha256));
    has(html, `<span id="quorum">0 of 1 approval</span>`);
    has(html, "<dd>security@example.com</dd>");
    has(html, "<dd>CN=approve.example.com</dd>");
    has(html, `<form method="post" action="/approvals/${id}"`);
    has(html, `<input type="hidden" name="token" value="${token}">`);
    hasNot(html, `action="/approvals/${id}?token`);

    const response = await browser.post(`/approvals/${id}`, {
      csrf: csrfField(html)!,
      token,
      decision: "approve",
      reason: "",
    });
    assert.equal(location(response), link);
    assert.equal((await world.repository.getRequest(id))!.status, "approved");
    const approval = (await world.repository.getApproval(id))!;
    assert.equal(approval.links[0]!.decision, "approve");
    assert.ok(approval.links[0]!.usedAt);
    assert.deepEqual(world.tasks, [
      {
        kind: "success",
        taskToken,
        detail: { decision: "approved", approvers: ["security@example.com"] },
      },
    ]);

    const used = await page(await browser.get(link), 200);
    has(used, "This link has been used: you approved this request.");
    has(used, "Approved, being signed");
    hasNot(used, `<form method="post" action="/approvals/`);

    const again = await browser.post(`/approvals/${id}`, {
      csrf: csrfField(html)!,
      token,
      decision: "reject",
      reason: "changed my mind",
    });
    const refused = await page(again, 409);
    has(refused, "This link was already used");
    assert.equal((await world.repository.getRequest(id))!.status, "approved");
    assert.equal((await world.repository.getApproval(id))!.links[0]!.decision, "approve");
    assert.ok(!world.tasks.some((t) => t.kind === "failure"));
  });

  test("a quorum of two: the count rises, the workflow waits for the second", async () => {
    const world = await setUp();
    const { id, secrets } = await pending(world, { profile: "server-client" });
    const browser = new Browser(world);
    const first = `/approvals/${id}?token=${secrets["security@example.com"]}`;
    const html = await page(await browser.get(first), 200);
    has(html, `<span id="quorum">0 of 2 approvals</span>`);
    const response = await browser.post(`/approvals/${id}`, {
      csrf: csrfField(html)!,
      token: secrets["security@example.com"]!,
      decision: "approve",
    });
    assert.equal(response.status, 303);
    assert.deepEqual(world.tasks, []);
    const second = await page(
      await browser.get(`/approvals/${id}?token=${secrets["platform@example.com"]}`),
      200,
    );
    has(second, `<span id="quorum">1 of 2 approvals</span>`);
    has(second, "<dd>platform@example.com</dd>");
    has(second, `name="decision" value="approve"`);
  });

  test("reject needs a reason of at most 1000 characters; then it fails the task", async () => {
    const world = await setUp();
    const { id, secrets, taskToken } = await pending(world);
    const token = secrets["security@example.com"]!;
    const browser = new Browser(world);
    const csrf = await browser.csrf(`/approvals/${id}?token=${token}`);
    const unused = async () => {
      const approval = (await world.repository.getApproval(id))!;
      assert.equal(approval.links[0]!.usedAt, null);
      assert.equal(approval.status, "pending_approval");
      assert.deepEqual(world.tasks, []);
    };

    const noReason = await page(
      await browser.post(`/approvals/${id}`, { csrf, token, decision: "reject", reason: "  " }),
      400,
    );
    has(noReason, "Give a reason for the rejection; the requester sees it.");
    assert.match(
      noReason,
      /<textarea id="reason"[^>]* aria-invalid="true" aria-describedby="reason-error"/,
    );
    has(noReason, `<p class="field-error" id="reason-error">`);
    await unused();

    for (const decision of ["reject", "approve"]) {
      const long = await page(
        await browser.post(`/approvals/${id}`, {
          csrf,
          token,
          decision,
          reason: "r".repeat(1001),
        }),
        400,
      );
      has(long, "The reason has 1001 characters; the limit is 1000.");
      assert.match(long, /<textarea id="reason"[^>]* aria-invalid="true"/);
      await unused();
    }

    for (const decision of [undefined, "", "maybe"]) {
      const html = await page(
        await browser.post(`/approvals/${id}`, { csrf, token, decision, reason: "x" }),
        400,
      );
      has(html, "Choose Approve or Reject.");
      await unused();
    }

    const reason = "r".repeat(1000);
    const rejected = await browser.post(`/approvals/${id}`, {
      csrf,
      token,
      decision: "reject",
      reason,
    });
    assert.equal(location(rejected), `/approvals/${id}?token=${token}`);
    const stored = (await world.repository.getRequest(id))!;
    assert.equal(stored.status, "rejected");
    assert.deepEqual(world.tasks, [
      { kind: "failure", taskToken, detail: { error: "Rejected", cause: reason } },
    ]);
    const used = await page(await browser.get(`/approvals/${id}?token=${token}`), 200);
    has(used, "This link has been used: you rejected this request.");
  });

  test("an invalid link is a 404 page, on GET and POST", async () => {
    const world = await setUp();
    const { id } = await pending(world);
    const browser = new Browser(world);
    for (const path of [
      `/approvals/${id}?token=${newLinkSecret()}`,
      `/approvals/${id}?token=short`,
      `/approvals/${id}`,
      `/approvals/${crypto.randomUUID()}?token=${newLinkSecret()}`,
      `/approvals/a.b?token=${newLinkSecret()}`,
    ]) {
      const html = await page(await browser.get(path), 404);
      has(html, "This approval link is not valid");
      hasNot(html, "approve.example.com");
    }
    const csrf = await browser.csrf();
    for (const token of [newLinkSecret(), "short", ""]) {
      const html = await page(
        await browser.post(`/approvals/${id}`, { csrf, token, decision: "approve" }),
        404,
      );
      has(html, "This approval link is not valid");
    }
    // Not a request id at all: refused before any lookup.
    const html = await page(
      await browser.post("/approvals/a.b", { csrf, token: newLinkSecret(), decision: "approve" }),
      404,
    );
    has(html, "This approval link is not valid");
    assert.equal((await world.repository.getApproval(id))!.links[0]!.usedAt, null);
    assert.deepEqual(world.tasks, []);
  });

  test("a failing store is a 500 page, never a link said to be invalid", async () => {
    const world = await setUp();
    const { id, secrets } = await pending(world);
    world.ra.getApproval = async () => {
      throw new Error("DynamoDB is unavailable");
    };
    const browser = new Browser(world);
    const html = await page(
      await browser.get(`/approvals/${id}?token=${secrets["security@example.com"]!}`),
      500,
    );
    hasNot(html, "not valid");
    has(html, "Something went wrong");
    assert.equal(world.errors.length, 1);
  });

  test("an expired link: 410, no form, and a POST records nothing", async () => {
    const world = await setUp();
    const { request } = await submitted(world, "late.example.com", { profile: "server" });
    const expiresAt = new Date(Date.now() - 60_000).toISOString();
    const { secrets } = await openApprovalLink(world, request.id, { expiresAt });
    const token = secrets["security@example.com"]!;
    const browser = new Browser(world);
    const link = `/approvals/${request.id}?token=${token}`;
    const html = await page(await browser.get(link), 410);
    has(html, "This approval link has expired.");
    hasNot(html, `<form method="post" action="/approvals/`);
    hasNot(html, `name="decision"`);

    const csrf = await browser.csrf();
    const post = await page(
      await browser.post(`/approvals/${request.id}`, { csrf, token, decision: "approve" }),
      410,
    );
    has(post, "This approval link has expired; nothing was recorded.");
    hasNot(post, `name="decision"`);
    assert.equal((await world.repository.getApproval(request.id))!.links[0]!.usedAt, null);
    assert.equal((await world.repository.getRequest(request.id))!.status, "pending_approval");
    assert.deepEqual(world.tasks, []);
  });

  test("a link that expires while the page is open: the POST is refused with 410", async () => {
    const world = await setUp();
    const { id, secrets, expiresAt } = await pending(world);
    const token = secrets["security@example.com"]!;
    const browser = new Browser(world);
    const csrf = await browser.csrf(`/approvals/${id}?token=${token}`);
    // The repository's clock passes the link's expiry.
    world.clock.now = new Date(Date.parse(expiresAt) + 1000);
    const html = await page(
      await browser.post(`/approvals/${id}`, { csrf, token, decision: "approve" }),
      410,
    );
    has(html, "nothing was recorded");
    assert.equal((await world.repository.getApproval(id))!.links[0]!.usedAt, null);
    assert.deepEqual(world.tasks, []);
    // Opened again, by the same clock: expired, and no form.
    const again = await page(await browser.get(`/approvals/${id}?token=${token}`), 410);
    has(again, "This approval link has expired.");
    hasNot(again, `name="decision"`);
  });

  test("a request that stopped waiting: no form, and a POST is a 409", async () => {
    const world = await setUp();
    const { id, secrets } = await pending(world);
    const token = secrets["security@example.com"]!;
    await world.repository.transition(id, {
      from: "pending_approval",
      to: "expired",
      actor: "workflow",
    });
    const browser = new Browser(world);
    const html = await page(await browser.get(`/approvals/${id}?token=${token}`), 410);
    has(html, "This approval link has expired.");
    hasNot(html, `name="decision"`);
    const failed = await submitted(world, "failed.example.com", { profile: "server" });
    const link = await openApprovalLink(world, failed.request.id);
    await world.repository.transition(failed.request.id, {
      from: "pending_approval",
      to: "failed",
      actor: "workflow",
    });
    const failedToken = link.secrets["security@example.com"]!;
    const closed = await page(
      await browser.get(`/approvals/${failed.request.id}?token=${failedToken}`),
      200,
    );
    has(closed, "This request no longer waits for approval.");
    hasNot(closed, `name="decision"`);
    const csrf = await browser.csrf();
    const post = await page(
      await browser.post(`/approvals/${failed.request.id}`, {
        csrf,
        token: failedToken,
        decision: "approve",
      }),
      409,
    );
    has(post, "The request no longer waits for approval; nothing was recorded.");
  });
});

// ---------------------------------------------------------------------------------------------

describe("operators' pages", () => {
  test("requests by status, newest first, 25 a page with a working next link", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const ids: string[] = [];
    for (let i = 0; i < 26; i++) {
      ids.push(
        (await submitted(world, "bulk.example.internal", { email: `u${i}@example.com` })).request
          .id,
      );
    }
    const rows = (html: string) =>
      [...html.matchAll(/<td><a href="\/operators\/requests\/([0-9a-f-]{36})">/g)].map((m) => m[1]);

    const first = await page(await browser.get("/operators?status=submitted"), 200);
    has(first, `<a href="/operators?status=submitted" aria-current="page">Submitted</a>`);
    assert.deepEqual(rows(first), [...ids].reverse().slice(0, 25));
    const next =
      /<a href="(\/operators\?status=submitted&(?:amp;)?cursor=[A-Za-z0-9_%-]+)" rel="next">Next page<\/a>/.exec(
        first,
      );
    assert.ok(next, "a Next page link");
    const second = await page(await browser.get(next[1]!.replaceAll("&amp;", "&")), 200);
    assert.deepEqual(rows(second), [ids[0]]);
    hasNot(second, "Next page");

    // The default tab is pending approval; an unknown status is the default.
    const pendingTab = await page(await browser.get("/operators?status=bogus"), 200);
    has(pendingTab, `aria-current="page">Waiting for approval</a>`);
    has(pendingTab, "None.");
  });

  test("a tampered, crafted or stale page cursor is a 400 with a link to the first page", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    await submitted(world, "cursor.example.internal");
    for (const path of [
      "/operators?status=submitted&cursor=AAAA",
      // A well-formed cursor of another listing (a JSON object, but not a key of this index).
      `/operators?status=submitted&cursor=${Buffer.from('{"a":1}').toString("base64url")}`,
      `/operators/certificates?cursor=${Buffer.from('{"a":1}').toString("base64url")}`,
      // Crafted: every key name right and the partition this listing's, the rest made up.
      `/operators?status=submitted&cursor=${Buffer.from(
        JSON.stringify({ gsi1pk: "STATUS#submitted", gsi1sk: "x".repeat(2000), pk: "", sk: "" }),
      ).toString("base64url")}`,
      `/operators?status=submitted&cursor=${Buffer.from(
        JSON.stringify({
          gsi1pk: "STATUS#submitted",
          gsi1sk: "2026-12-01T00:00:00.000Z#abc",
          pk: "REQ#other",
          sk: "REQUEST",
        }),
      ).toString("base64url")}`,
      "/operators?status=submitted&cursor=%E2%80%AE",
    ]) {
      const html = await page(await browser.get(path), 400);
      has(html, "This page link is not valid");
      const first = path.replace(/[?&]cursor=[^&]*/, "").replace(/\?$/, "");
      has(html, `<a href="${first.replace(/&/g, "&amp;")}">Go to the first page</a>`);
    }
    assert.deepEqual(world.errors, []);
  });

  test("search by serial, request id and requester", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const alice = await submitted(world, "alice.example.internal", { email: "alice@example.com" });
    const bob = await submitted(world, "bob.example.internal", { email: "bob@example.com" });
    const serial = await issue(world, bob.request.id);
    const found = (html: string) =>
      [...html.matchAll(/<td><a href="\/operators\/requests\/([0-9a-f-]{36})">/g)].map((m) => m[1]);
    const colons = serial.toUpperCase().match(/../g)!.join(":");
    for (const q of [serial, colons, ` ${bob.request.id} `, "bob@", "BOB.example"]) {
      const html = await page(await browser.get(`/operators?q=${encodeURIComponent(q)}`), 200);
      assert.deepEqual(found(html), [bob.request.id], q);
      has(html, `<a href="/operators/certificates/${serial}"><code>${serial}</code></a>`);
    }
    const both = await page(await browser.get("/operators?q=example.internal"), 200);
    assert.deepEqual(found(both), [bob.request.id, alice.request.id]);
    const none = await page(
      await browser.get(`/operators?q=${encodeURIComponent("<b>x</b>")}`),
      200,
    );
    has(none, "Requests matching “&lt;b&gt;x&lt;/b&gt;”");
    has(none, `value="&lt;b&gt;x&lt;/b&gt;"`);
    has(none, "None.");
  });

  test("certificates, the certificate page, and revoking it", async () => {
    const world = await setUp();
    const { browser, record } = await signedIn(world, "admin");
    const { request } = await submitted(world, "revoke.example.internal", {
      email: "owner@example.com",
    });
    const serial = await issue(world, request.id);

    const list = await page(await browser.get("/operators/certificates"), 200);
    has(list, `<a href="/operators/certificates/${serial}"><code>${serial}</code></a>`);
    has(list, "<td>CN=revoke.example.internal</td>");
    has(list, "<td>owner@example.com (api-key:0123456789abcdef)</td>");
    has(list, `<span class="badge badge-valid">Valid</span>`);
    has(list, "No CRL has been published yet.");
    has(await page(await browser.get("/operators/certificates?status=revoked"), 200), "None.");

    const html = await page(await browser.get(`/operators/certificates/${serial}`), 200);
    has(html, `<h1>Certificate <code>${serial}</code></h1>`);
    has(html, `<a href="/requests/${request.id}">${request.id}</a>`);
    has(html, `<form method="post" action="/operators/certificates/${serial}/revoke"`);
    for (const reason of ["keyCompromise", "superseded", "cessationOfOperation"])
      has(html, `<option value="${reason}">`);
    // Serials are found however they are typed.
    const upper = await page(
      await browser.get(`/operators/certificates/${serial.toUpperCase().match(/../g)!.join(":")}`),
      200,
    );
    has(upper, `<code>${serial}</code>`);
    const csrf = csrfField(html)!;

    const path = `/operators/certificates/${serial}/revoke`;
    for (const reason of ["", "because", "removeFromCRL", "toString"]) {
      const refused = await page(await browser.post(path, { csrf, reason }), 400);
      has(refused, "Choose a revocation reason.");
      assert.equal((await world.ra.getCertificate(serial, operator))!.status, "valid", reason);
    }

    const revoked = await browser.post(path, { csrf, reason: "keyCompromise" });
    assert.equal(location(revoked), `/operators/certificates/${serial}?revoked=1`);
    const view = (await world.ra.getCertificate(serial, operator))!;
    assert.equal(view.status, "revoked");
    assert.equal(view.revocation?.reason, "keyCompromise");
    assert.equal(view.revocation?.revokedBy, `admin@example.com (api-key:${record.id})`);
    assert.equal((await world.repository.getRequest(request.id))!.status, "revoked");
    assert.ok(world.published.some((e) => e.type === "certificate.revoked"));

    const after = await page(await browser.get(location(revoked)), 200);
    has(after, "The certificate is revoked.");
    has(after, `<span class="badge badge-revoked">Revoked</span>`);
    has(after, `Key compromise, by admin@example.com (api-key:${record.id})`);
    hasNot(after, `action="/operators/certificates/${serial}/revoke"`);
    const revokedList = await page(
      await browser.get("/operators/certificates?status=revoked"),
      200,
    );
    has(revokedList, `<code>${serial}</code>`);
    // Revoking again changes nothing: the first reason stands.
    const again = await browser.post(path, { csrf, reason: "superseded" });
    assert.equal(again.status, 303);
    assert.equal(
      (await world.ra.getCertificate(serial, operator))!.revocation?.reason,
      "keyCompromise",
    );
  });

  test("an expired certificate offers no revocation, and refuses one with 409", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const { request } = await submitted(world, "old.example.internal");
    const serial = await issue(world, request.id);
    world.advance(31 * 86400); // the client profile issues for 30 days
    // The first session has lapsed with the time.
    assert.equal(location(await browser.get("/operators")), "/sign-in?next=%2Foperators");
    const { browser: fresh } = await signedIn(world, "admin");
    const html = await page(await fresh.get(`/operators/certificates/${serial}`), 200);
    has(html, `<span class="badge badge-expired">`);
    hasNot(html, "/revoke");
    const refused = await page(
      await fresh.post(`/operators/certificates/${serial}/revoke`, {
        csrf: await fresh.csrf("/operators"),
        reason: "superseded",
      }),
      409,
    );
    has(refused, "The certificate was not revoked.");
    has(refused, "an expired certificate is not revoked");
    assert.equal((await world.ra.getCertificate(serial, operator))!.status, "expired");
  });

  test("an expired certificate is labelled as one", async () => {
    const world = await setUp();
    const { request } = await submitted(world, "label.example.internal");
    const serial = await issue(world, request.id);
    world.advance(31 * 86400);
    const { browser } = await signedIn(world, "admin");
    for (const path of [`/operators/certificates/${serial}`, "/operators/certificates"]) {
      const html = await page(await browser.get(path), 200);
      has(html, `<span class="badge badge-expired">`);
      hasNot(html, "Expired without a decision");
    }
  });

  test("an unknown or malformed serial is a 404 page that escapes it", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    for (const [serial, shown] of [
      ["0abc", "0abc"],
      ["%3Cscript%3E", "&lt;script&gt;"],
    ]) {
      const html = await page(await browser.get(`/operators/certificates/${serial}`), 404);
      has(html, `No certificate has the serial ${shown}.`);
    }
    const csrf = await browser.csrf("/operators");
    const post = await page(
      await browser.post("/operators/certificates/0abc/revoke", { csrf, reason: "superseded" }),
      404,
    );
    has(post, "No certificate has the serial 0abc.");
  });

  test("signed out: every operators' page and form sends to sign-in, and changes nothing", async () => {
    const world = await setUp();
    const { request } = await submitted(world, "anon-revoke.example.internal");
    const serial = await issue(world, request.id);
    const browser = new Browser(world);
    const csrf = await browser.csrf();
    const response = await browser.post(`/operators/certificates/${serial}/revoke`, {
      csrf,
      reason: "keyCompromise",
    });
    assert.equal(
      location(response),
      `/sign-in?next=${encodeURIComponent(`/operators/certificates/${serial}/revoke`)}`,
    );
    assert.equal((await world.ra.getCertificate(serial, operator))!.status, "valid");
    assert.equal(
      location(await browser.get(`/operators/certificates/${serial}`)),
      `/sign-in?next=${encodeURIComponent(`/operators/certificates/${serial}`)}`,
    );
  });
});
