/**
 * The operators' request page over HTTP (`app.request`), on the real registration authority and
 * dynalite (support/pages-world.ts), the workflow driven by hand: the list links to it; an
 * admin's "Resend approval mails" replaces the links (the old link's page is then not valid,
 * the new mail's link decides) and nobody else gets the button or may post it; an approver
 * signed in in person approves or rejects there, reaching the workflow's task token as a link
 * decision does; and every refusal (an API key's session, the submitter, a stranger, decided
 * already, too late, no longer pending, a forged form) is a clear page and, for decisions, an
 * `approval.refused` entry in the audit trail.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { hashSecret } from "@spca/core/links/secrets";
import { CONTENT_SECURITY_POLICY } from "../src/security/headers.ts";
import {
  Browser,
  closeShared,
  csrfField,
  openApprovalLink,
  setUp,
  signedIn,
  signedInPerson,
  submitted,
  type World,
} from "./support/pages-world.ts";

after(closeShared);

const SECURITY = "security@example.com";
const PLATFORM = "platform@example.com";

async function page(response: Response, status: number): Promise<string> {
  const html = await response.text();
  assert.equal(response.status, status, html.slice(0, 3000));
  assert.equal(response.headers.get("content-type"), "text/html; charset=UTF-8");
  assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
  assert.doesNotMatch(html, /<script(?![^>]*src="\/assets\/)/);
  return html;
}
const has = (html: string, text: string) =>
  assert.ok(html.includes(text), `expected ${JSON.stringify(text)} in the page`);
const hasNot = (html: string, text: string) =>
  assert.ok(!html.includes(text), `unexpected ${JSON.stringify(text)} in the page`);
function location(response: Response): string {
  assert.equal(response.status, 303);
  return response.headers.get("location")!;
}

/** A request waiting for approval with its links open (as RequestApproval leaves it). */
async function pending(world: World, profile = "server", options: { expiresAt?: string } = {}) {
  const { request } = await submitted(world, "approve.example.com", { profile });
  const link = await openApprovalLink(world, request.id, options);
  return { id: request.id, path: `/operators/requests/${request.id}`, ...link };
}

/** The token in the newest approval mail to `approver` about `id`. */
function mailedToken(world: World, approver: string, id: string): string | undefined {
  const mail = world.mailer
    .to(approver)
    .filter((m) => m.text.includes(`/approvals/${id}?token=`))
    .at(-1);
  return mail && /\?token=([A-Za-z0-9_-]{43})/.exec(mail.text)![1];
}

async function refusedCodes(world: World, id: string) {
  return (await world.repository.history(id))
    .filter((h) => h.action === "approval.refused")
    .map((h) => h.details?.code);
}

describe("the operators' request page", () => {
  test("the list links each request here; the page shows the approval and the resend button", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const { id, path } = await pending(world, "server-client");
    const list = await page(await browser.get("/operators"), 200);
    has(list, `<a href="${path}">`);
    const html = await page(await browser.get(path), 200);
    has(html, `<h1>Request <code>${id}</code></h1>`);
    has(html, `<dd id="quorum">0 of 2 approvals</dd>`);
    has(html, `<tr><td>${SECURITY}</td><td><span class="muted">Not decided yet</span></td></tr>`);
    has(html, `<tr><td>${PLATFORM}</td><td><span class="muted">Not decided yet</span></td></tr>`);
    has(html, `<form method="post" action="${path}/approval-mails"`);
    has(html, "Resend approval mails");
    // An admin's API key is no approver of it: no decision form, and nothing to say about it.
    hasNot(html, `action="${path}/decision"`);
    hasNot(html, "You cannot decide");
    await page(await browser.get("/operators/requests/not-a-request"), 404);
    await page(await browser.get(`/operators/requests/${crypto.randomUUID()}`), 404);
  });

  test("resend: new links by mail; the old link's page is not valid; the new one decides", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const { id, path, secrets, taskToken } = await pending(world);
    const old = secrets[SECURITY]!;
    const html = await page(await browser.get(path), 200);
    const sent = await browser.post(`${path}/approval-mails`, { csrf: csrfField(html)! });
    assert.equal(location(sent), `${path}?resent=1`);
    const after = await page(await browser.get(location(sent)), 200);
    has(after, "New approval mails are sent to every approver who has not decided.");
    has(after, "Approval mails resent (new links; the earlier ones no longer work)");
    has(after, "admin@example.com (api-key:");

    const fresh = mailedToken(world, SECURITY, id);
    assert.ok(fresh, "a new approval mail to security@example.com");
    assert.notEqual(fresh, old);
    const visitor = new Browser(world);
    const stale = await page(await visitor.get(`/approvals/${id}?token=${old}`), 404);
    has(stale, "This approval link is not valid");
    const open = await page(await visitor.get(`/approvals/${id}?token=${fresh}`), 200);
    const decided = await visitor.post(`/approvals/${id}`, {
      csrf: csrfField(open)!,
      token: fresh,
      decision: "approve",
      reason: "",
    });
    assert.equal(location(decided), `/approvals/${id}?token=${fresh}`);
    assert.equal((await world.repository.getRequest(id))!.status, "approved");
    // The workflow's task token was kept through the resend, and gets the outcome.
    assert.deepEqual(world.tasks, [
      { kind: "success", taskToken, detail: { decision: "approved", approvers: [SECURITY] } },
    ]);
    // Approved: no button any more, and a resend is refused.
    const settled = await page(await browser.get(path), 200);
    hasNot(settled, "Resend approval mails");
    const late = await page(
      await browser.post(`${path}/approval-mails`, { csrf: csrfField(settled)! }),
      409,
    );
    has(late, "Nothing was resent: the request no longer waits for approval.");
    assert.equal(world.mailer.to(SECURITY).length, 1);
  });

  test("only admins resend: others see no button and their POST is refused; a forged form changes nothing", async () => {
    const world = await setUp();
    const { id, path, secrets } = await pending(world);
    for (const role of ["approver", "auditor"] as const) {
      const { browser } = await signedIn(world, role, `${role}-x`);
      const html = await page(await browser.get(path), 200);
      hasNot(html, "Resend approval mails");
      hasNot(html, `${path}/approval-mails`);
      const refused = await page(
        await browser.post(`${path}/approval-mails`, { csrf: csrfField(html)! }),
        403,
      );
      has(refused, "This needs the admin role.");
    }
    const { browser: approver } = await signedInPerson(world, SECURITY);
    const personHtml = await page(await approver.get(path), 200);
    hasNot(personHtml, "Resend approval mails");
    await page(
      await approver.post(`${path}/approval-mails`, { csrf: csrfField(personHtml)! }),
      403,
    );
    const { browser: requester } = await signedIn(world, "requester");
    await page(await requester.post(`${path}/approval-mails`, { csrf: "x" }), 403);
    const signedOut = await new Browser(world).post(`${path}/approval-mails`, { csrf: "x" });
    assert.match(location(signedOut), /^\/sign-in\?next=/);

    const { browser: admin } = await signedIn(world, "admin");
    const adminHtml = await page(await admin.get(path), 200);
    const forged = await page(
      await admin.post(`${path}/approval-mails`, { csrf: "not-the-token" }),
      400,
    );
    has(forged, "Nothing was resent: the form had expired or did not come from this site.");
    const crossSite = await page(
      await admin.post(
        `${path}/approval-mails`,
        { csrf: csrfField(adminHtml)! },
        { site: "cross-site" },
      ),
      400,
    );
    has(crossSite, "Nothing was resent");
    // Nothing was mailed, and the first link still works.
    assert.equal(world.mailer.sent.length, 0);
    assert.ok(await world.repository.findApprovalLink(id, hashSecret(secrets[SECURITY]!)));
    assert.ok(!(await world.repository.history(id)).some((h) => h.action === "approval.resent"));
  });

  test("a mail that fails is said: the page names who was not mailed and asks to resend", async () => {
    const world = await setUp();
    const { browser } = await signedIn(world, "admin");
    const { id, path } = await pending(world, "server-client");
    const html = await page(await browser.get(path), 200);
    world.mailer.failNext = new Error("SES is throttling");
    const failed = await page(
      await browser.post(`${path}/approval-mails`, { csrf: csrfField(html)! }),
      503,
    );
    has(failed, "The approval links were replaced, but not every mail was sent.");
    has(failed, `the mail to ${SECURITY} (SES is throttling) was not sent; ${PLATFORM} got theirs`);
    has(failed, "A resent approval mail was not sent");
    // The second resend mends it: both get a new link.
    const again = await browser.post(`${path}/approval-mails`, { csrf: csrfField(failed)! });
    assert.equal(location(again), `${path}?resent=1`);
    assert.ok(mailedToken(world, SECURITY, id));
    assert.equal(world.mailer.to(PLATFORM).length, 2);
  });
});

describe("one CSRF token per page", () => {
  test("a browser with no CSRF cookie yet gets the same token in every form of the page", async () => {
    const world = await setUp();
    const { id, path } = await pending(world, "server-client");
    // An approver who is also an admin: the sign-out, resend and decision forms on one page.
    const { browser } = await signedInPerson(world, SECURITY, ["pki-approvers", "pki-admins"]);
    assert.equal(browser.cookies.get("csrf"), undefined);
    const html = await page(await browser.get(path), 200);
    const tokens = [...html.matchAll(/<input type="hidden" name="csrf" value="([^"]*)">/g)].map(
      (m) => m[1],
    );
    assert.equal(tokens.length, 3, "sign-out, resend and decision forms");
    assert.deepEqual(new Set(tokens), new Set([browser.cookies.get("csrf")]));
    // So the resend form (not the first on the page) works at once.
    const resent = await browser.post(`${path}/approval-mails`, { csrf: tokens[1]! });
    assert.equal(location(resent), `${path}?resent=1`);
    assert.ok(mailedToken(world, PLATFORM, id));
  });
});

describe("deciding on the operators' request page", () => {
  test("an approver signed in in person approves; the task token gets it, as through the link", async () => {
    const world = await setUp();
    const { id, path, secrets, taskToken } = await pending(world);
    const { browser } = await signedInPerson(world, SECURITY);
    const html = await page(await browser.get(path), 200);
    has(html, `<form method="post" action="${path}/decision"`);
    has(html, `You are asked as ${SECURITY}.`);
    const response = await browser.post(`${path}/decision`, {
      csrf: csrfField(html)!,
      decision: "approve",
      reason: "known service",
    });
    assert.equal(location(response), `${path}?decided=approve`);
    const done = await page(await browser.get(location(response)), 200);
    has(done, "Your approval is recorded.");
    has(done, "Approved by an approver, signed in on the operators&#39; page");
    hasNot(done, `action="${path}/decision"`);
    assert.equal((await world.repository.getRequest(id))!.status, "approved");
    assert.deepEqual(world.tasks, [
      { kind: "success", taskToken, detail: { decision: "approved", approvers: [SECURITY] } },
    ]);
    const entry = (await world.repository.history(id)).find(
      (h) => h.action === "approval.approve",
    )!;
    assert.equal(entry.actor, `${SECURITY} (oidc:sub-${SECURITY})`);
    assert.deepEqual(entry.details, {
      reason: "known service",
      approvals: 1,
      quorum: 1,
      via: "operators-page",
    });
    // The mailed link is used up: its page says so.
    const link = await page(
      await new Browser(world).get(`/approvals/${id}?token=${secrets[SECURITY]}`),
      200,
    );
    has(link, "This link has been used: you approved this request.");
  });

  test("reject needs a reason of at most 1000 characters; then it fails the task", async () => {
    const world = await setUp();
    const { id, path, taskToken } = await pending(world);
    const { browser } = await signedInPerson(world, SECURITY);
    const html = await page(await browser.get(path), 200);
    const csrf = csrfField(html)!;
    const bare = await page(
      await browser.post(`${path}/decision`, { csrf, decision: "reject", reason: "  " }),
      400,
    );
    has(bare, "Give a reason for the rejection; the requester sees it.");
    const long = await page(
      await browser.post(`${path}/decision`, {
        csrf,
        decision: "reject",
        reason: "x".repeat(1001),
      }),
      400,
    );
    has(long, "The reason has 1001 characters; the limit is 1000.");
    const neither = await page(
      await browser.post(`${path}/decision`, { csrf, decision: "maybe", reason: "" }),
      400,
    );
    has(neither, "Choose Approve or Reject.");
    assert.equal((await world.repository.getRequest(id))!.status, "pending_approval");
    const rejected = await browser.post(`${path}/decision`, {
      csrf,
      decision: "reject",
      reason: "x".repeat(1000),
    });
    assert.equal(location(rejected), `${path}?decided=reject`);
    assert.equal((await world.repository.getRequest(id))!.status, "rejected");
    assert.deepEqual(world.tasks, [
      { kind: "failure", taskToken, detail: { error: "Rejected", cause: "x".repeat(1000) } },
    ]);
  });

  test("refusals: an API key, the submitter, a stranger, decided, not pending, a forged form; each audited", async () => {
    const world = await setUp();
    const { id, path } = await pending(world, "server-client");

    // An API key acting for the approver: no form, a notice; its POST is refused.
    const { browser: key } = await signedIn(world, "approver", "sec-key", SECURITY);
    const keyPage = await page(await key.get(path), 200);
    hasNot(keyPage, `action="${path}/decision"`);
    has(keyPage, "You cannot decide this request here.");
    const keyPost = await page(
      await key.post(`${path}/decision`, { csrf: csrfField(keyPage)!, decision: "approve" }),
      403,
    );
    has(keyPost, "Deciding here needs you signed in in person, not with an API key");

    // The submitter (dev@example.com's key submitted it), signed in as a person under an alias.
    const { browser: self } = await signedInPerson(world, "Dev+ops@example.com");
    const selfPage = await page(await self.get(path), 200);
    hasNot(selfPage, `action="${path}/decision"`);
    has(selfPage, "submitted request");
    has(
      await page(
        await self.post(`${path}/decision`, { csrf: csrfField(selfPage)!, decision: "approve" }),
        403,
      ),
      "You submitted this request, so you cannot decide it",
    );

    // Another approver-group member the profile does not list: no form, no notice.
    const { browser: stranger } = await signedInPerson(world, "mallory@example.com");
    const strangerPage = await page(await stranger.get(path), 200);
    hasNot(strangerPage, `action="${path}/decision"`);
    hasNot(strangerPage, "You cannot decide");
    has(
      await page(
        await stranger.post(`${path}/decision`, {
          csrf: csrfField(strangerPage)!,
          decision: "approve",
        }),
        403,
      ),
      "You are not an approver of this request; nothing was recorded.",
    );

    // A forged form records nothing and is not a refusal of a decision.
    const { browser: security } = await signedInPerson(world, SECURITY);
    const securityPage = await page(await security.get(path), 200);
    has(
      await page(
        await security.post(`${path}/decision`, { csrf: "forged", decision: "approve" }),
        400,
      ),
      "Nothing was recorded: the form had expired or did not come from this site.",
    );
    assert.equal((await world.repository.getRequest(id))!.decisions.length, 0);

    // Decided once; the second is refused and the first stands.
    const csrf = csrfField(securityPage)!;
    assert.equal(
      location(await security.post(`${path}/decision`, { csrf, decision: "approve" })),
      `${path}?decided=approve`,
    );
    const twice = await page(
      await security.post(`${path}/decision`, { csrf, decision: "reject", reason: "no" }),
      409,
    );
    has(twice, "You have decided this request already");
    const afterwards = await page(await security.get(path), 200);
    has(afterwards, "You cannot decide this request here.");
    has(afterwards, `<tr><td>${SECURITY}</td><td>Approved <time`);

    // The other approver settles it; then nothing is left to decide.
    const { browser: platform } = await signedInPerson(world, PLATFORM);
    const platformPage = await page(await platform.get(path), 200);
    const platformCsrf = csrfField(platformPage)!;
    await platform.post(`${path}/decision`, { csrf: platformCsrf, decision: "approve" });
    assert.equal((await world.repository.getRequest(id))!.status, "approved");
    has(
      await page(
        await platform.post(`${path}/decision`, { csrf: platformCsrf, decision: "approve" }),
        409,
      ),
      "The request no longer waits for approval; nothing was recorded.",
    );
    assert.equal((await world.repository.getRequest(id))!.decisions.length, 2);
    assert.deepEqual(await refusedCodes(world, id), [
      "APPROVAL_PERSON_REQUIRED",
      "APPROVAL_SELF",
      "APPROVER_NOT_LISTED",
      "APPROVAL_ALREADY_DECIDED",
      "APPROVAL_NOT_PENDING",
    ]);
  });

  test("past the link's expiry: no form, and a POST is refused with 410 and audited", async () => {
    const world = await setUp();
    const expiresAt = new Date(world.clock.now.getTime() + 60_000).toISOString();
    const { id, path } = await pending(world, "server", { expiresAt });
    const { browser } = await signedInPerson(world, SECURITY);
    const html = await page(await browser.get(path), 200);
    world.advance(120);
    const later = await page(await browser.get(path), 200);
    hasNot(later, `action="${path}/decision"`);
    has(later, "You cannot decide this request here.");
    // Nor is there anything to resend past the deadline.
    const { browser: admin } = await signedIn(world, "admin");
    const adminLater = await page(await admin.get(path), 200);
    hasNot(adminLater, "Resend approval mails");
    has(
      await page(await admin.post(`${path}/approval-mails`, { csrf: csrfField(adminLater)! }), 410),
      "Nothing was resent: the time to decide has passed.",
    );
    const refused = await page(
      await browser.post(`${path}/decision`, { csrf: csrfField(html)!, decision: "approve" }),
      410,
    );
    has(refused, "The time to decide this request has passed; nothing was recorded.");
    assert.deepEqual(await refusedCodes(world, id), ["APPROVAL_EXPIRED"]);
    assert.equal((await world.repository.getRequest(id))!.status, "pending_approval");
  });

  test("signed out, the decision form sends to sign-in; a requester is refused the page", async () => {
    const world = await setUp();
    const { id, path } = await pending(world);
    const out = await new Browser(world).post(`${path}/decision`, {
      csrf: "x",
      decision: "approve",
    });
    assert.match(location(out), /^\/sign-in\?next=/);
    const { browser } = await signedIn(world, "requester");
    await page(await browser.get(path), 403);
    await page(await browser.post(`${path}/decision`, { csrf: "x", decision: "approve" }), 403);
    assert.equal((await world.repository.getRequest(id))!.decisions.length, 0);
  });
});
