/**
 * The pages in real Chromium against `npm start`'s runtime (its own process, scratch data
 * folder, public base URL on its real port so the mailed links work as they are):
 *   sign in through the local OpenID provider as a requester and submit through the page → the
 *   approver signs in too and approves from the link the SES stand-in holds → download the
 *   certificate and full chain, verified by OpenSSL, GnuTLS and NSS → a second requester sees
 *   neither request nor certificate, on the pages or through the API with their access token;
 *   a rejection with a reason; an expired link; a replayed link; no-JavaScript approval with
 *   keyboard only; an operator revoking a certificate and watching the CRL number rise.
 * Every page is screenshot, checked for accessibility and narrow screens, and must load
 * nothing from another origin and break no CSP rule.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { ChainFiles, opensslVerify, verifyWithAll } from "../../core/test/support/verifiers.ts";
import {
  mails,
  mailsTo,
  type Running,
  startService,
  stop,
  waitFor,
  waitForStatus,
  writeConfig,
} from "../../functions/test/support/local-service.ts";
import { signInWithoutBrowser } from "../../functions/test/support/oidc-browserless.ts";
import {
  accessibilityViolations,
  checkPage,
  launchChromium,
  type Watched,
  watchedContext,
} from "./support/browser.ts";

const work = mkdtempSync(join(tmpdir(), "pki-pages-"));
let service: Running;
let browser: Browser;
let origin: string;
let requesterKey: string;
/** The OpenID provider stand-in (runtime.json) and the service's client there. */
let oidc: { issuer: string; clientId: string; clientSecret: string };
const contexts: Watched[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

before(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const config = writeConfig(join(work, "pki.config.json"), (c) => {
    c.publicBaseUrl = origin;
    // The local provider's users: one per role, and a second requester.
    c.identity = {
      localUsers: [
        { email: "requester@example.com", name: "Rita Requester", groups: ["pki-requesters"] },
        { email: "other@example.com", name: "Oskar Other", groups: ["pki-requesters"] },
        { email: "security@example.com", name: "Sam Security", groups: ["pki-approvers"] },
        { email: "admin@example.com", name: "Ada Admin", groups: ["pki-admins"] },
      ],
    };
    // "quick": the server profile with links that expire after about four seconds.
    c.profiles.quick = {
      ...structuredClone(c.profiles.server!),
      description: "Server certificates whose approval links expire at once (tests).",
      approval: {
        mode: "manual",
        approvers: ["security@example.com"],
        quorum: 1,
        timeoutHours: 0.001,
      },
    };
  });
  service = await startService(join(work, "data"), { configPath: config, port });
  const created = await fetch(`${origin}/v1/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${service.key}`, "content-type": "application/json" },
    body: JSON.stringify({ role: "requester", label: "browser tests", owner: "dev@example.com" }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  requesterKey = ((await created.json()) as { key: string }).key;
  oidc = JSON.parse(readFileSync(join(service.dataDir, "runtime.json"), "utf8")).oidc;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (service) await stop(service);
  rmSync(work, { recursive: true, force: true });
});

/** A new browser (own cookies) whose problems are asserted empty at the end of the test. */
async function newBrowserContext(options?: Parameters<typeof watchedContext>[2]): Promise<Watched> {
  // The provider's sign-in is the one other origin a page may lead to.
  const watched = await watchedContext(browser, origin, {
    ...options,
    alsoAllowed: [new URL(oidc.issuer).origin],
  });
  contexts.push(watched);
  return watched;
}

function assertNoProblems(watched: Watched): void {
  assert.deepEqual(watched.problems, [], "requests to other origins, console or CSP errors");
}

async function signIn(page: Page, key: string, next = "/"): Promise<void> {
  await page.goto(`${origin}/sign-in?next=${encodeURIComponent(next)}`);
  // People sign in at the provider; the key form waits behind its disclosure.
  await page.getByText("Sign in with an API key instead").click();
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${origin}${next}`);
}

/** Signs in as `email` through the provider's own login page, from our sign-in page. */
async function signInAtProvider(page: Page, email: string, next = "/"): Promise<void> {
  await page.goto(`${origin}/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByRole("link", { name: "Sign in with your organisation's account" }).click();
  await page.waitForURL(`${new URL(oidc.issuer).origin}/**`);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${origin}${next}`);
}

/** The approval link the SES stand-in holds for `approver` about request `id`, as mailed. */
async function mailedApprovalLink(approver: string, id: string): Promise<string> {
  return waitFor(`the approval mail to ${approver}`, async () => {
    const mail = mailsTo(await mails(service), approver).find((m) =>
      m.body.text.includes(`/approvals/${id}?token=`),
    );
    return mail
      ? /(https?:\/\/\S+\/approvals\/\S+?token=[A-Za-z0-9_-]{43})/.exec(mail.body.text)![1]
      : undefined;
  });
}

/** Submits a CSR through the API (for the flows that start after submission). */
async function submitByApi(name: string, profile: string, comment?: string) {
  const res = await fetch(`${origin}/v1/requests`, {
    method: "POST",
    headers: { authorization: `Bearer ${requesterKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      csr: ecCsrFor(work, name).toString("utf8"),
      email: "dev@example.com",
      profile,
      ...(comment ? { comment } : {}),
    }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  const body = (await res.json()) as { id: string; links: { page: string } };
  return { id: body.id, page: `${origin}${body.links.page}` };
}

const mainText = (page: Page) => page.locator("main").innerText();

describe("the pages in Chromium", () => {
  let issuedSerial: string;

  test("the page checks catch what they look for", async () => {
    const watched = await newBrowserContext();
    const page = await watched.context.newPage();
    // axe: an unlabelled field and grey-on-grey text are violations.
    await page.setContent(
      `<!doctype html><html lang="en"><title>t</title><main><input id="x"><p style="color:#bbb;background:#ccc">faint</p></main></html>`,
    );
    const violations = (await accessibilityViolations(page)).join("\n");
    assert.match(violations, /label/);
    assert.match(violations, /color-contrast/);
    // Our CSP refuses inline script, and the refusal is recorded as a problem.
    await page.goto(`${origin}/sign-in`);
    await page.evaluate(
      "const s = document.createElement('script'); s.textContent = 'window.inline = 1'; document.body.append(s)",
    );
    assert.equal(await page.evaluate("window.inline"), undefined);
    // Anything from another origin is blocked and recorded.
    await page.goto("https://cdn.example.com/lib.js").catch(() => undefined);
    await waitFor("both problems", async () => (watched.problems.length >= 2 ? true : undefined));
    assert.ok(
      watched.problems.some((p) => /Content Security Policy/.test(p)),
      watched.problems.join("\n"),
    );
    assert.ok(
      watched.problems.some((p) => p.includes("cdn.example.com")),
      watched.problems.join("\n"),
    );
  });

  test("sign in at the provider, submit, approve from the mailed link, verify; another requester sees nothing", async () => {
    const watched = await newBrowserContext();
    const page = await watched.context.newPage();

    // Submission needs a signed-in requester (local mode is not open): the page says so.
    await page.goto(`${origin}/`);
    assert.match(await mainText(page), /Submitting needs you to sign in/);
    await checkPage(page, "submit-signed-out");
    await page.getByRole("link", { name: "Sign in" }).last().click();
    await page.waitForURL(`${origin}/sign-in?next=/`);
    await checkPage(page, "sign-in");
    await signInAtProvider(page, "requester@example.com");
    assert.match(await page.locator("header").innerText(), /requester@example\.com/);

    // A DER file: the page turns it into PEM and previews it before anything is sent.
    const der = ecCsrFor(work, "web.example.com", "DER");
    writeFileSync(join(work, "web.der"), der);
    await page.getByLabel("Profile").selectOption("server");
    await page.getByLabel("…or a CSR file").setInputFiles(join(work, "web.der"));
    const preview = page.locator("#csr-preview");
    await preview.getByText("Profile server accepts this CSR.").waitFor();
    const shown = await preview.innerText();
    assert.match(shown, /CN=web\.example\.com/);
    assert.match(shown, /DNS\s+web\.example\.com/);
    assert.match(shown, /EC P-256/);
    assert.match(
      await page.getByLabel("CSR (PEM)").inputValue(),
      /^-----BEGIN CERTIFICATE REQUEST-----/,
    );

    // Errors appear inline and name the problem, and nothing is submitted.
    await page.getByLabel(/^Email for notifications/).fill("not an address");
    await page.getByRole("button", { name: "Submit request" }).click();
    await page.waitForLoadState();
    assert.match(
      await page.locator("#email-error").innerText(),
      /Enter the address for mails about this request/,
    );
    assert.equal(
      await page.getByLabel(/^Email for notifications/).getAttribute("aria-invalid"),
      "true",
    );
    await checkPage(page, "submit-errors");

    // Empty: the mails go to the signed-in requester's own address.
    await page.getByLabel(/^Email for notifications/).fill("");
    await page
      .getByLabel("Comment for the approvers")
      .fill("New internal web service, ticket OPS-42.");
    await page.locator("#csr-preview").getByText("Profile server accepts this CSR.").waitFor();
    await checkPage(page, "submit-preview");
    await page.getByRole("button", { name: "Submit request" }).click();
    await page.waitForURL(/\/requests\/[0-9a-f-]{36}\?token=[A-Za-z0-9_-]{43}$/);
    const requestPage = page.url();
    const id = /\/requests\/([0-9a-f-]{36})/.exec(requestPage)![1]!;
    await page.locator("#status").getByText("Waiting for approval").waitFor();
    await checkPage(page, "request-pending");

    // The approver opens the link exactly as mailed, in their own browser.
    const link = await mailedApprovalLink("security@example.com", id);
    assert.ok(link.startsWith(`${origin}/approvals/${id}?token=`), link);
    // They sign in as themselves first: a signed-in decider must be the link's approver.
    const approver = await newBrowserContext();
    const approval = await approver.context.newPage();
    await signInAtProvider(approval, "security@example.com", "/operators");
    // Signed in, they could decide on the operators' request page as well.
    await approval.goto(`${origin}/operators/requests/${id}`);
    assert.match(await mainText(approval), /You are asked as security@example\.com\./);
    await checkPage(approval, "operator-request");
    const response = await approval.goto(link);
    assert.equal(response?.status(), 200);
    const facts = await mainText(approval);
    assert.match(facts, /Requested by\s+requester@example\.com \(oidc:[^)]+\)/);
    for (const expected of [
      "requester@example.com",
      "New internal web service, ticket OPS-42.",
      "CN=web.example.com",
      "EC P-256",
      "0 of 1 approval",
      "security@example.com",
    ]) {
      assert.ok(facts.includes(expected), `the approval page shows ${expected}:\n${facts}`);
    }
    assert.match(facts, /CSR SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.match(facts, /Policy checks passed/);
    assert.ok((await approval.locator("ul.checks li").count()) > 0, "the checks are listed");
    await checkPage(approval, "approval");
    await approval.getByRole("button", { name: "Approve", exact: true }).click();
    await approval.waitForURL(link);
    assert.match(await mainText(approval), /This link has been used: you approved this request/);
    await checkPage(approval, "approval-done");

    // The requester's page follows the status by itself until the certificate is there.
    await page.locator("#status").getByText("Issued").waitFor({ timeout: 20_000 });
    await checkPage(page, "request-issued");
    const certificateDownload = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download the certificate (PEM)" }).click();
    const certificatePem = readFileSync((await (await certificateDownload).path())!, "utf8");
    const chainDownload = page.waitForEvent("download");
    await page.getByRole("link", { name: /Download the full chain/ }).click();
    const fullChain = readFileSync((await (await chainDownload).path())!, "utf8");
    const blocks = fullChain.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g,
    )!;
    assert.equal(blocks.length, 3, "certificate, issuing CA and root");
    assert.equal(blocks[0], certificatePem);
    for (const [tool, verdict] of verifyWithAll(
      new ChainFiles(blocks[0]!, blocks.slice(1)),
      "serverAuth",
    )) {
      assert.ok(verdict.ok, `${tool}: ${verdict.output}`);
    }
    issuedSerial = (await waitForStatus(service, id, "issued")).serial!;

    // A second requester, signed in: the request and its certificate are not theirs to see.
    const others = await newBrowserContext();
    const other = await others.context.newPage();
    await signInAtProvider(other, "other@example.com");
    for (const path of [
      `/requests/${id}`,
      `/requests/${id}/certificate.pem`,
      `/operators/certificates/${issuedSerial}`,
    ]) {
      const refused = await other.goto(`${origin}${path}`);
      assert.ok([403, 404].includes(refused!.status()), `${path}: ${refused!.status()}`);
      assert.doesNotMatch(await mainText(other), /BEGIN CERTIFICATE|CN=web\.example\.com/);
    }
    // Nor through the API, with an access token the provider gave them.
    const { accessToken } = await signInWithoutBrowser(oidc.issuer, {
      clientId: oidc.clientId,
      clientSecret: oidc.clientSecret,
      redirectUri: `${origin}/auth/callback`,
      email: "other@example.com",
    });
    const bearer = { authorization: `Bearer ${accessToken}` };
    for (const path of [`/v1/requests/${id}`, `/v1/certificates/${issuedSerial}`]) {
      const res = await fetch(`${origin}${path}`, { headers: bearer });
      assert.equal(res.status, 404, `${path}: ${await res.text()}`);
    }
    assertNoProblems(watched);
    assertNoProblems(approver);
    assertNoProblems(others);
  });

  test("a rejection needs a reason, and the request page shows it", async () => {
    const { id, page: statusPage } = await submitByApi("reject.example.com", "server", "Please.");
    const approver = await newBrowserContext();
    const approval = await approver.context.newPage();
    await approval.goto(await mailedApprovalLink("security@example.com", id));
    await approval.getByRole("button", { name: "Reject" }).click();
    await approval.waitForLoadState();
    assert.match(
      await approval.locator("#reason-error").innerText(),
      /Give a reason for the rejection/,
    );
    await checkPage(approval, "approval-reason-missing");
    await approval.getByLabel(/^Reason/).fill("Use the shared ingress certificate instead.");
    await approval.getByRole("button", { name: "Reject" }).click();
    await approval.locator("main").getByText("you rejected this request").waitFor();

    const requester = await newBrowserContext();
    const page = await requester.context.newPage();
    await page.goto(statusPage);
    await page.locator("#status").getByText("Rejected").waitFor({ timeout: 10_000 });
    assert.match(await mainText(page), /Reason: Use the shared ingress certificate instead\./);
    assert.equal(await page.getByRole("link", { name: /Download/ }).count(), 0);
    await checkPage(page, "request-rejected");
    assertNoProblems(approver);
    assertNoProblems(requester);
  });

  test("an expired link says so, shows no form, and a decision sent anyway is refused", async () => {
    const { id } = await submitByApi("late.example.com", "quick");
    const link = await mailedApprovalLink("security@example.com", id);
    const approver = await newBrowserContext();
    const stale = await approver.context.newPage();
    await stale.goto(link); // opened in time, left open
    await stale.getByRole("button", { name: "Approve" }).waitFor();
    await waitForStatus(service, id, "expired", 20_000);

    const approval = await approver.context.newPage();
    const response = await approval.goto(link);
    assert.equal(response?.status(), 410);
    assert.match(await mainText(approval), /This approval link has expired/);
    assert.equal(await approval.getByRole("button", { name: "Approve" }).count(), 0);
    await checkPage(approval, "approval-expired");

    // The tab left open still has the form: sending it records nothing and says why.
    const [refused] = await Promise.all([
      stale.waitForResponse((r) => r.request().method() === "POST"),
      stale.getByRole("button", { name: "Approve" }).click(),
    ]);
    assert.equal(refused.status(), 409);
    assert.match(await mainText(stale), /nothing was recorded/);
    assert.match(await mainText(stale), /This approval link has expired/);
    assert.equal((await waitForStatus(service, id, "expired")).status, "expired");
    assertNoProblems(approver);
  });

  test("a replayed link: the second decision is refused and the first one stands", async () => {
    const { id, page: statusPage } = await submitByApi("replay.example.com", "server");
    const link = await mailedApprovalLink("security@example.com", id);
    const approver = await newBrowserContext();
    const first = await approver.context.newPage();
    const second = await approver.context.newPage();
    await first.goto(link);
    await second.goto(link);
    await first.getByRole("button", { name: "Approve" }).click();
    await first.waitForURL(link);
    // The other tab still shows the form: sending it again is refused, plainly.
    await second.getByLabel(/^Reason/).fill("Rejecting after all");
    const [refused] = await Promise.all([
      second.waitForResponse((r) => r.request().method() === "POST"),
      second.getByRole("button", { name: "Reject" }).click(),
    ]);
    assert.equal(refused.status(), 409);
    assert.match(await mainText(second), /This link was already used: its decision stands/);
    await checkPage(second, "approval-replayed");
    // Opening the link again only shows what was decided.
    await first.goto(link);
    assert.match(await mainText(first), /This link has been used: you approved this request/);
    await waitForStatus(service, id, "issued", 20_000);
    const requester = await newBrowserContext();
    const page = await requester.context.newPage();
    await page.goto(statusPage);
    await page.locator("#status").getByText("Issued").waitFor();
    assertNoProblems(approver);
  });

  test("without JavaScript, by keyboard alone: the approval form still works", async () => {
    const { id } = await submitByApi("nojs.example.com", "server", "No scripts here.");
    const approver = await newBrowserContext({ javaScriptEnabled: false });
    const approval = await approver.context.newPage();
    await approval.goto(await mailedApprovalLink("security@example.com", id));
    await approval.getByLabel(/^Reason/).focus();
    await approval.keyboard.type("Fine by me.");
    await approval.keyboard.press("Tab"); // to Approve
    assert.equal(await approval.evaluate("document.activeElement.textContent"), "Approve");
    await approval.keyboard.press("Enter");
    await approval.locator("main").getByText("you approved this request").waitFor();
    await waitForStatus(service, id, "issued", 20_000);
    assertNoProblems(approver);
  });

  test("an operator revokes a certificate and sees the CRL number rise", async () => {
    assert.ok(issuedSerial, "the first test issued a certificate");
    const operator = await newBrowserContext();
    const page = await operator.context.newPage();
    await signIn(page, service.key, "/operators");
    await checkPage(page, "operators");
    const before = BigInt(await page.locator("#crl-number").innerText());

    await page.getByRole("link", { name: "Certificates", exact: true }).click();
    await page.waitForURL(`${origin}/operators/certificates`);
    await checkPage(page, "operators-certificates");
    await page.getByRole("link", { name: issuedSerial }).click();
    await page.waitForURL(`${origin}/operators/certificates/${issuedSerial}`);
    await page.getByLabel("Reason").selectOption("keyCompromise");
    await checkPage(page, "certificate");
    await page.getByRole("button", { name: "Revoke certificate" }).click();
    await page.waitForURL(`${origin}/operators/certificates/${issuedSerial}?revoked=1`);
    assert.match(await mainText(page), /The certificate is revoked/);

    const risen = await waitFor("the CRL number to rise", async () => {
      await page.reload();
      const number = BigInt(await page.locator("#crl-number").innerText());
      return number > before ? number : undefined;
    });
    assert.ok(risen > before);
    assert.match(await page.locator("#crl-entries").innerText(), /^[1-9]/);
    await checkPage(page, "certificate-revoked");

    // The search finds it, and the published CRL really lists it.
    await page.getByRole("link", { name: "Operators", exact: true }).click();
    await page.getByLabel("Search requests and certificates").fill(issuedSerial);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(`${origin}/operators?q=${issuedSerial}`);
    assert.match(await mainText(page), /Revoked/);
    await checkPage(page, "operators-search");
    await page.goto(`${origin}/no-such-page`);
    assert.match(await mainText(page), /Page not found/);
    await checkPage(page, "not-found");
    const certificate = await (
      await fetch(`${origin}/v1/certificates/${issuedSerial}?chain=true`, {
        headers: { authorization: `Bearer ${service.key}`, accept: "application/x-pem-file" },
      })
    ).text();
    const blocks = certificate.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g,
    )!;
    const crl = await (
      await fetch(`${origin}/v1/crl`, { headers: { accept: "application/x-pem-file" } })
    ).text();
    const chain = new ChainFiles(blocks[0]!, blocks.slice(1));
    const verdict = opensslVerify(chain, "serverAuth", chain.write("crl.pem", crl));
    assert.equal(verdict.ok, false);
    assert.match(verdict.output, /certificate revoked/);
    assertNoProblems(operator);
  });

  test("the certificate inventory: filters, and what ends soon marked in words", async () => {
    // A client certificate for ten days (the profile approves automatically): it ends soon.
    const res = await fetch(`${origin}/v1/requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${requesterKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        csr: ecCsrFor(work, "soon.example.internal").toString("utf8"),
        email: "dev@example.com",
        profile: "client",
        validityDays: 10,
      }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    await waitForStatus(service, id, "issued", 20_000);

    const operator = await newBrowserContext();
    const page = await operator.context.newPage();
    await signIn(page, service.key, "/operators/certificates");
    const soon = page.locator("tr.row-expiring", { hasText: "soon.example.internal" });
    await soon.getByText(/^Expires in (9|10) days$/).waitFor();
    await checkPage(page, "inventory");

    // Filtered to what ends within 30 days, by the form alone.
    await page.getByLabel("Expiring within (days)").fill("30");
    await page.getByLabel("Status").selectOption("valid");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(`${origin}/operators/certificates?status=valid**within=30`);
    const listed = await page.locator("table.inventory tbody tr").allInnerTexts();
    assert.ok(listed.length >= 1);
    assert.ok(
      listed.every((row) => /Expires (in \d+ days?|today)/.test(row)),
      listed.join("\n"),
    );
    await checkPage(page, "inventory-expiring");
    assertNoProblems(operator);

    // The requester's own inventory, from the main navigation; a row opens its request page.
    const requester = await newBrowserContext();
    const own = await requester.context.newPage();
    await signIn(own, requesterKey, "/");
    await own.getByRole("link", { name: "My certificates" }).click();
    await own.waitForURL(`${origin}/certificates`);
    const mine = own.locator("tr.row-expiring", { hasText: "soon.example.internal" });
    await mine.getByText(/^Expires in (9|10) days$/).waitFor();
    await checkPage(own, "my-certificates");
    await mine.getByRole("link").click();
    await own.waitForURL(`${origin}/requests/${id}`);
    assertNoProblems(requester);
  });
});
