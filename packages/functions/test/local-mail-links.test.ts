/**
 * Every link in every mail opens in a browser with no API key (issue 18): against `npm start`'s
 * runtime on the shipped pki.config.json, a request issued automatically and then revoked, one
 * approved and one rejected by security@example.com. Every link of every mail the SES stand-in
 * holds (received, approval needed, issued, rejected, revoked) is fetched as a browser that is
 * signed in nowhere would: no Authorization header, no cookie, no redirect followed. Each must
 * answer 200 and show what it names: the status page its request, the certificate download the
 * issued certificate, the full chain the certificate, the issuing CA and the root.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodePemBlocks, encodePem } from "../../core/src/encoding/pem.ts";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import {
  approvalToken,
  decide,
  issueThrough,
  mails,
  mailsTo,
  type Running,
  revoke,
  type StoredMail,
  startService,
  stop,
  submit,
  waitFor,
  waitForStatus,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-mail-links-"));
const REQUESTER = "dev@example.com";
const SECURITY = "security@example.com";

/** Subjects of every kind of mail the flows below send, by the start of their subject. */
const KINDS = [
  "Certificate request received",
  "Approval needed",
  "Certificate issued",
  "Certificate request rejected",
  "Certificate revoked",
] as const;

/** The distinct links of a mail: its HTML's hrefs, which its text body must show alike. */
function linksOf(mail: StoredMail): string[] {
  const hrefs = [...(mail.body.html ?? "").matchAll(/href="([^"]*)"/g)].map((m) =>
    m[1]!.replaceAll("&amp;", "&"),
  );
  const inText = [...mail.body.text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]);
  const distinct = [...new Set(hrefs)];
  assert.deepEqual([...new Set(inText)], distinct, `"${mail.subject}": text and HTML link alike`);
  return distinct;
}

/** A GET as a browser signed in nowhere: no key, no cookie, and a redirect is not a page. */
function plainGet(url: string): Promise<Response> {
  return fetch(url, { redirect: "manual" });
}

const pemCertificates = (text: string) =>
  decodePemBlocks(text).map((b) => {
    assert.equal(b.label, "CERTIFICATE");
    return new X509Certificate(b.der);
  });

describe("links in mails open in a browser with no API key", () => {
  let s: Running;
  /** Request id → the certificate the API holds for it (PEM), once issued. */
  const issued = new Map<string, string>();
  let caChain: X509Certificate[];

  before(async () => {
    s = await startService(join(work, "data"));
  });
  after(async () => {
    if (s) await stop(s);
    rmSync(work, { recursive: true, force: true });
  });

  test("issued, approved, rejected and revoked requests: every mailed link answers 200", async () => {
    // Links name the address the service really listens on (no publicBaseUrl is configured).
    assert.match(s.api, /^http:\/\/127\.0\.0\.1:\d+$/);

    // Automatic (client): received and issued; then revoked by an admin.
    const auto = await issueThrough(
      s,
      ecCsrFor(work, "auto.example.internal", "DER"),
      "client",
      REQUESTER,
    );
    issued.set(auto.id, auto.pem);

    // Needs approval (server): approved by security@example.com, whose link page opens first.
    const approved = await submit(s, ecCsrFor(work, "web.example.com", "DER"), "server", REQUESTER);
    const approveToken = await approvalToken(s, SECURITY, approved);
    const page = await plainGet(`${s.api}/approvals/${approved}?token=${approveToken}`);
    assert.equal(page.status, 200, await page.text());
    const yes = await decide(s, approved, { decision: "approve", token: approveToken });
    assert.equal(yes.status, 200, await yes.text());
    const { serial } = await waitForStatus(s, approved, "issued", 20_000);
    const cert = await fetch(`${s.api}/v1/certificates/${serial}`, {
      headers: { authorization: `Bearer ${s.key}`, accept: "application/x-pem-file" },
    });
    assert.equal(cert.status, 200);
    issued.set(approved, await cert.text());

    // Rejected by security@example.com.
    const rejected = await submit(s, ecCsrFor(work, "no.example.com", "DER"), "server", REQUESTER);
    const rejectToken = await approvalToken(s, SECURITY, rejected);
    const no = await decide(s, rejected, {
      decision: "reject",
      token: rejectToken,
      reason: "Not a host we run.",
    });
    assert.equal(no.status, 200, await no.text());
    await waitForStatus(s, rejected, "rejected");

    const revoked = await revoke(s, auto.serial, "superseded");
    assert.equal(revoked.status, 200, await revoked.text());

    const chain = await fetch(`${s.api}/v1/ca`, {
      headers: { accept: "application/pem-certificate-chain" },
    });
    caChain = pemCertificates(await chain.text());
    assert.equal(caChain.length, 2, "issuing CA and root");

    // Every mail, once the last of them (issued ×2, rejected, revoked) has arrived.
    const all = await waitFor(
      "every mail",
      async () => {
        const held = await mails(s);
        const toRequester = mailsTo(held, REQUESTER);
        const count = (prefix: string) =>
          toRequester.filter((m) => m.subject.startsWith(prefix)).length;
        return count("Certificate request received") === 3 &&
          count("Certificate issued") === 2 &&
          count("Certificate request rejected") === 1 &&
          count("Certificate revoked") === 1 &&
          mailsTo(held, SECURITY).length === 2
          ? held
          : undefined;
      },
      20_000,
    );

    const requestIds = new Set([auto.id, approved, rejected]);
    const kindsSeen = new Set<string>();
    let fetched = 0;
    for (const mail of all) {
      const kind = KINDS.find((k) => mail.subject.startsWith(k));
      assert.ok(kind, `an unexpected mail: "${mail.subject}"`);
      kindsSeen.add(kind);
      const links = linksOf(mail);
      assert.ok(links.length > 0, `"${mail.subject}" has no link`);
      for (const link of links) {
        assert.ok(link.startsWith(`${s.api}/`), `${link} is not on the service's address`);
        const url = new URL(link);
        assert.ok(!url.pathname.startsWith("/v1/"), `${link} is an API route, needing a key`);
        const res = await plainGet(link);
        const body = await res.text();
        assert.equal(res.status, 200, `"${mail.subject}": ${link}: ${body.slice(0, 300)}`);
        fetched++;
        const match = /^\/(requests|approvals)\/([^/]+)(?:\/(certificate|fullchain)\.pem)?$/.exec(
          url.pathname,
        );
        assert.ok(match, `"${mail.subject}": ${link} is neither a status nor an approval page`);
        const [, what, id, file] = match;
        assert.ok(requestIds.has(id!), `${link} names another request`);
        if (what === "approvals") {
          assert.equal(kind, "Approval needed");
          assert.ok(body.includes(id!), "the approval page shows its request");
        } else if (file === undefined) {
          assert.ok(body.includes(id!), "the status page shows its request");
          assert.match(body, /<h1>Certificate request<\/h1>/);
        } else {
          assert.equal(kind, "Certificate issued", `${link}: downloads are in the issued mail`);
          const certificate = issued.get(id!)!;
          if (file === "certificate") {
            assert.equal(body, certificate, "the download is the issued certificate");
          } else {
            const [leaf, issuing, root, ...rest] = pemCertificates(body);
            assert.equal(rest.length, 0, "certificate, issuing CA, root: nothing more");
            assert.ok(leaf && issuing && root, "the full chain holds three certificates");
            assert.equal(
              leaf.raw.toString("base64"),
              pemCertificates(certificate)[0]!.raw.toString("base64"),
            );
            assert.ok(leaf.checkIssued(issuing) && leaf.verify(issuing.publicKey));
            assert.ok(issuing.checkIssued(root) && issuing.verify(root.publicKey));
            assert.ok(
              root.checkIssued(root) && root.verify(root.publicKey),
              "the root signs itself",
            );
            assert.deepEqual(
              [issuing, root].map((c) => encodePem("CERTIFICATE", c.raw)),
              caChain.map((c) => encodePem("CERTIFICATE", c.raw)),
            );
          }
        }
      }
    }
    assert.deepEqual([...kindsSeen].sort(), [...KINDS].sort());
    // 3 received, 2 issued (status + 2 downloads each), 1 rejected, 1 revoked, 2 approvals.
    assert.equal(fetched, 3 + 2 * 3 + 1 + 1 + 2);
  });
});
