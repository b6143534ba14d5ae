import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  InternalServiceErrorException,
  LimitExceededException,
  MailFromDomainNotVerifiedException,
  MessageRejected,
  SESv2Client,
  SendEmailCommand,
  SendingPausedException,
  TooManyRequestsException,
} from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import sesLocal from "aws-ses-v2-local";
import { decodePemBlocks, encodePem } from "../src/encoding/pem.ts";
import { isPkiError, isTransientError, PkiError, TransientError } from "../src/errors.ts";
import { checkMessage, type OutgoingMail } from "../src/notifications/mailer.ts";
import { MemoryMailer } from "../src/notifications/memory-mailer.ts";
import {
  type ApprovalNeededInput,
  approvalNeededMail,
  approvalUrl,
  type CertificateIssuedInput,
  certificateIssuedMail,
  certificateRevokedMail,
  type RequestSummary,
  requestDownloadPath,
  requestDownloadUrl,
  requestExpiredMail,
  requestFailedMail,
  requestPageUrl,
  requestReceivedMail,
  requestRejectedMail,
} from "../src/notifications/messages.ts";
import { escapeHtml } from "../src/notifications/render.ts";
import { classifySesError, SesMailer } from "../src/notifications/ses-mailer.ts";

const BASE = "https://pki.example.com";
const FROM = "PKI <pki@example.com>";
const REQUESTER = "alice@example.com";
const APPROVER = "bob@example.com";

const summary: RequestSummary = {
  requestId: "01JQ8Z6W5Y3N4V7K2M9P0R1S2T",
  profile: "server",
  subject: "CN=www.example.com, O=Example Ltd",
  sans: ["DNS:www.example.com", "DNS:example.com", "IP:192.0.2.10"],
};
/** The status secret a requester's mail carries (minted per mail by the sender). */
const STATUS_TOKEN = "Zk3-vQ_9aLm0xWc8sT1uYhRrP4eLaN6gQ0oIiEwTq7s";
const addressed = { to: REQUESTER, publicBaseUrl: `${BASE}/`, statusToken: STATUS_TOKEN };
const statusPage = `${BASE}/requests/${summary.requestId}?token=${STATUS_TOKEN}`;

/** A DER-shaped blob in CERTIFICATE armour: the transport must carry it byte for byte. */
function fakeCertificate(size: number): { der: Uint8Array; pem: string } {
  const der = new Uint8Array(randomBytes(size));
  der[0] = 0x30;
  return { der, pem: encodePem("CERTIFICATE", der) };
}
const leaf = fakeCertificate(900);
const intermediate = fakeCertificate(1100);
const chainPem = leaf.pem + intermediate.pem;

const approvalInput: ApprovalNeededInput = {
  ...summary,
  to: APPROVER,
  publicBaseUrl: BASE,
  approvalId: "apr_01JQ8Z7",
  token: "q8Vd0zXbJf3-Kk_2mWc9sT1uYhRrP4eLaN6gQ0oIiEw",
  requester: REQUESTER,
  keyType: "EC P-256",
  keyBits: 256,
  sha256Fingerprint: "3f1c2b9a7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a3928170615f4e3",
  comment: "Needed for the new load balancer.\nTicket OPS-1234.",
  checks: ["Proof of possession verified", "Key is EC P-256", "All names within example.com"],
  deadline: new Date("2025-03-08T12:00:00Z"),
};

const issuedInput: CertificateIssuedInput = {
  ...summary,
  ...addressed,
  serial: "5A0F3C9E1B2D4F6081A3C5E7092B4D6F",
  notBefore: new Date("2025-03-01T11:55:00Z"),
  notAfter: new Date("2026-03-01T11:55:00Z"),
  certificatePem: leaf.pem,
  chainPem,
};

function allMessages(): { kind: string; mail: OutgoingMail }[] {
  return [
    { kind: "received", mail: requestReceivedMail({ ...summary, ...addressed }) },
    { kind: "approval", mail: approvalNeededMail(approvalInput) },
    { kind: "issued", mail: certificateIssuedMail(issuedInput) },
    {
      kind: "rejected",
      mail: requestRejectedMail({
        ...summary,
        ...addressed,
        reason: "Not an approved host.",
        rejectedBy: APPROVER,
      }),
    },
    {
      kind: "expired",
      mail: requestExpiredMail({ ...summary, ...addressed, deadline: approvalInput.deadline }),
    },
    {
      kind: "failed",
      mail: requestFailedMail({ ...summary, ...addressed, reason: "The signer is unavailable." }),
    },
    {
      kind: "revoked",
      mail: certificateRevokedMail({
        ...summary,
        ...addressed,
        serial: issuedInput.serial,
        reason: "keyCompromise",
        revokedAt: new Date("2025-06-01T08:00:00Z"),
      }),
    },
  ];
}

/**
 * The distinct links of a mail, in order, as its HTML makes them (`href`); the text body must
 * show the same URLs.
 */
function links(mail: OutgoingMail): string[] {
  const hrefs = [...mail.html.matchAll(/href="([^"]*)"/g)].map((m) =>
    m[1]!.replaceAll("&#39;", "'").replaceAll("&amp;", "&"),
  );
  const inText = [...mail.text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]);
  const distinct = [...new Set(hrefs)];
  assert.deepEqual([...new Set(inText)], distinct, `${mail.subject}: text and HTML link alike`);
  return distinct;
}

/** Asserts `value` appears in the text body as is, and in the HTML body escaped. */
function assertShown(mail: OutgoingMail, value: string): void {
  assert.ok(mail.text.includes(value), `text lacks ${JSON.stringify(value)}`);
  assert.ok(mail.html.includes(escapeHtml(value)), `html lacks ${JSON.stringify(value)}`);
}

describe("message rendering", () => {
  it("builds the links exactly", () => {
    assert.equal(
      approvalUrl(`${BASE}/`, "apr_01JQ8Z7", "tok-en_1"),
      `${BASE}/approvals/apr_01JQ8Z7?token=tok-en_1`,
    );
    assert.equal(
      approvalUrl("http://127.0.0.1:8787", "a/b", "x+y=="),
      "http://127.0.0.1:8787/approvals/a%2Fb?token=x%2By%3D%3D",
    );
    assert.equal(requestPageUrl(`${BASE}/`, "r1", "t_1-x"), `${BASE}/requests/r1?token=t_1-x`);
    assert.equal(
      requestDownloadUrl(BASE, "r1", "certificate.pem", "t"),
      `${BASE}/requests/r1/certificate.pem?token=t`,
    );
    assert.equal(
      requestDownloadUrl("http://127.0.0.1:8787", "a/b", "fullchain.pem", "x+y=="),
      "http://127.0.0.1:8787/requests/a%2Fb/fullchain.pem?token=x%2By%3D%3D",
    );
    assert.equal(
      requestDownloadPath("r1", "fullchain.pem", "t"),
      "/requests/r1/fullchain.pem?token=t",
    );
    for (const bad of ["javascript:alert(1)", "ftp://x", "https://h/?q=1", "nope", 'https://h/"']) {
      assert.throws(
        () => approvalUrl(bad, "a", "t"),
        (e) => isPkiError(e, "CONFIG_INVALID"),
      );
    }
  });

  it("every link of every mail opens a browser page by its secret alone, never the API", () => {
    const seen = new Set<string>();
    for (const { kind, mail } of allMessages()) {
      const found = links(mail);
      assert.ok(found.length > 0, `${kind}: has a link`);
      for (const link of found) {
        const url = new URL(link);
        assert.equal(url.origin, BASE, `${kind}: ${link}`);
        assert.ok(!url.pathname.startsWith("/v1/"), `${kind}: ${link} is an API route`);
        assert.match(
          url.pathname,
          /^\/(requests|approvals)\/[^/]+(\/(certificate|fullchain)\.pem)?$/,
        );
        assert.deepEqual([...url.searchParams.keys()], ["token"], `${kind}: ${link}`);
        seen.add(`${kind}:${url.pathname.replace(summary.requestId, "<id>")}`);
      }
    }
    assert.deepEqual([...seen].sort(), [
      "approval:/approvals/apr_01JQ8Z7",
      "expired:/requests/<id>",
      "failed:/requests/<id>",
      "issued:/requests/<id>",
      "issued:/requests/<id>/certificate.pem",
      "issued:/requests/<id>/fullchain.pem",
      "received:/requests/<id>",
      "rejected:/requests/<id>",
      "revoked:/requests/<id>",
    ]);
    // The approver's mail links to their approval page only: no status secret is theirs.
    assert.deepEqual(links(approvalNeededMail(approvalInput)), [
      `${BASE}/approvals/${approvalInput.approvalId}?token=${approvalInput.token}`,
    ]);
  });

  it("request received: every field and the status link", () => {
    const mail = requestReceivedMail({ ...summary, ...addressed });
    assert.deepEqual(mail.to, [REQUESTER]);
    assert.equal(mail.subject, "Certificate request received: CN=www.example.com, O=Example Ltd");
    for (const v of [summary.requestId, summary.profile, summary.subject, ...summary.sans]) {
      assertShown(mail, v);
    }
    assertShown(mail, statusPage);
    assert.ok(mail.html.includes(`href="${statusPage}"`));
    assert.equal(mail.attachments, undefined);
  });

  it("approval needed: the exact link, the CSR summary and the no-effect note", () => {
    const mail = approvalNeededMail(approvalInput);
    const link = `${BASE}/approvals/${approvalInput.approvalId}?token=${approvalInput.token}`;
    assert.deepEqual(mail.to, [APPROVER]);
    assert.equal(mail.subject, "Approval needed: CN=www.example.com, O=Example Ltd");
    assert.ok(mail.text.includes(`\n${link}\n`), "the link stands on its own line");
    assert.ok(mail.html.includes(`href="${link}"`));
    for (const v of [
      summary.requestId,
      summary.profile,
      summary.subject,
      ...summary.sans,
      REQUESTER,
      "EC P-256, 256 bits",
      approvalInput.sha256Fingerprint,
      ...approvalInput.checks,
      "Needed for the new load balancer.",
      "Ticket OPS-1234.",
      "2025-03-08 12:00:00 UTC",
    ]) {
      assertShown(mail, v);
    }
    assertShown(mail, "Opening the link changes nothing");
    assert.ok(mail.text.includes("  > Ticket OPS-1234."), "the comment is quoted in text");
    assert.ok(!mail.text.includes("2 approvals"));
    const quorum = approvalNeededMail({ ...approvalInput, approvalsRequired: 2 });
    assertShown(quorum, "It needs 2 approvals from different approvers.");
    const noComment = approvalNeededMail({ ...approvalInput, comment: undefined });
    assert.ok(!noComment.text.includes("Comment from the requester"));
  });

  it("issued: serial, names, validity and both PEM files attached", () => {
    const mail = certificateIssuedMail(issuedInput);
    assert.deepEqual(mail.to, [REQUESTER]);
    assert.match(
      mail.subject,
      /^Certificate issued: CN=www\.example\.com, O=Example Ltd \(serial 5A0F/,
    );
    for (const v of [
      issuedInput.serial,
      summary.subject,
      ...summary.sans,
      "2025-03-01 11:55:00 UTC",
      "2026-03-01 11:55:00 UTC (365 days)",
    ]) {
      assertShown(mail, v);
    }
    // Both downloads and the status page, on the page's own secret: no API route, no key.
    const page = `${BASE}/requests/${summary.requestId}`;
    assert.deepEqual(links(mail), [
      `${page}/certificate.pem?token=${STATUS_TOKEN}`,
      `${page}/fullchain.pem?token=${STATUS_TOKEN}`,
      statusPage,
    ]);
    assert.deepEqual(mail.attachments, [
      {
        filename: `${issuedInput.serial}.pem`,
        contentType: "application/x-pem-file",
        content: leaf.pem,
      },
      {
        filename: `${issuedInput.serial}-chain.pem`,
        contentType: "application/x-pem-file",
        content: chainPem,
      },
    ]);
    assert.throws(
      () => certificateIssuedMail({ ...issuedInput, serial: "../etc" }),
      (e) => isPkiError(e, "EMAIL_MESSAGE_INVALID"),
    );
    assert.throws(
      () => certificateIssuedMail({ ...issuedInput, chainPem: "not pem" }),
      (e) => isPkiError(e, "EMAIL_MESSAGE_INVALID"),
    );
    assert.throws(
      () =>
        certificateIssuedMail({
          ...issuedInput,
          certificatePem: encodePem("PRIVATE KEY", new Uint8Array([1, 2, 3])),
        }),
      (e) => isPkiError(e, "EMAIL_MESSAGE_INVALID"),
    );
  });

  it("rejected, expired and failed: reason, who and deadline", () => {
    const rejected = requestRejectedMail({
      ...summary,
      ...addressed,
      reason: "Not an approved host.",
      rejectedBy: APPROVER,
    });
    assert.equal(
      rejected.subject,
      "Certificate request rejected: CN=www.example.com, O=Example Ltd",
    );
    for (const v of [summary.requestId, summary.subject, "Not an approved host.", APPROVER]) {
      assertShown(rejected, v);
    }
    const expired = requestExpiredMail({
      ...summary,
      ...addressed,
      deadline: approvalInput.deadline,
    });
    assert.equal(expired.subject, "Certificate request expired: CN=www.example.com, O=Example Ltd");
    assertShown(expired, "2025-03-08 12:00:00 UTC");
    assertShown(expired, summary.requestId);
    const failed = requestFailedMail({
      ...summary,
      ...addressed,
      reason: "The signer is unavailable.",
    });
    assert.equal(failed.subject, "Certificate request failed: CN=www.example.com, O=Example Ltd");
    assertShown(failed, "The signer is unavailable.");
    for (const m of [rejected, expired, failed]) {
      assertShown(m, statusPage);
    }
  });

  it("names the request by its first SAN when the subject is empty", () => {
    const mail = requestReceivedMail({ ...summary, ...addressed, subject: "" });
    assert.equal(mail.subject, "Certificate request received: DNS:www.example.com");
    assertShown(mail, "(empty)");
  });

  it("escapes every hostile value in HTML and keeps text plain", () => {
    const evil = `<script>alert("x")</script>'&`;
    const hostile = {
      requestId: `r-${evil}`,
      profile: `p${evil}`,
      subject: `CN=${evil}`,
      sans: [`DNS:${evil}`, `URI:javascript:"><img src=x onerror=alert(1)>`],
    };
    const mails = [
      requestReceivedMail({ ...hostile, ...addressed }),
      approvalNeededMail({
        ...approvalInput,
        ...hostile,
        requester: `"Mallory" <mallory@evil.example>${evil}`,
        keyType: `RSA${evil}`,
        sha256Fingerprint: `ab${evil}`,
        comment: `Please approve ${evil}\n<a href="https://evil.example/approve">Approve</a>`,
        checks: [`check ${evil}`],
      }),
      certificateIssuedMail({ ...issuedInput, ...hostile }),
      requestRejectedMail({
        ...hostile,
        ...addressed,
        reason: `no ${evil}`,
        rejectedBy: `x${evil}`,
      }),
      requestExpiredMail({ ...hostile, ...addressed, deadline: approvalInput.deadline }),
      requestFailedMail({ ...hostile, ...addressed, reason: `boom ${evil}` }),
    ];
    for (const mail of mails) {
      // The only tags are ours: none of the injected ones survive.
      assert.ok(!/<script|<img|<a href="https:\/\/evil/i.test(mail.html), mail.subject);
      assert.ok(!mail.html.includes(`"x"`), "double quotes are escaped");
      assert.ok(mail.html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;"));
      // Text stays plain: the hostile string is shown verbatim, not entity-encoded.
      assert.ok(mail.text.includes(evil));
      assert.ok(!mail.text.includes("&lt;"));
      assert.doesNotThrow(() => checkMessage(mail));
    }
    // Links built from hostile ids are percent-encoded (and the apostrophe, which
    // encodeURIComponent keeps, is escaped as HTML), so they cannot break out either.
    const link = "/requests/r-%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E'%26?token=";
    assert.ok(mails[0]!.text.includes(link));
    assert.ok(
      mails[0]!.html.includes(`href="${BASE}${link.replace("'", "&#39;")}${STATUS_TOKEN}"`),
    );
  });

  it("cannot forge lines, headers or reorder text with control characters", () => {
    const mail = approvalNeededMail({
      ...approvalInput,
      subject: "CN=a\r\nBcc: victim@example.com",
      sans: ["DNS:a.example.com\nApprove here: https://evil.example/"],
      requester: "x\u202Emoc.elpmaxe@evil",
      comment: "fine\r\nReview the request:\r\nhttps://evil.example/approvals/x?token=y",
    });
    assert.ok(!/[\r\n]/.test(mail.subject));
    assert.doesNotThrow(() => checkMessage(mail));
    assert.ok(mail.subject.includes("CN=a\uFFFD\uFFFDBcc: victim@example.com"));
    assert.ok(!mail.text.split("\n").some((l) => l.startsWith("Approve here")));
    assert.ok(mail.text.includes("DNS:a.example.com\uFFFDApprove here"));
    assert.ok(!mail.text.includes("\u202E") && !mail.html.includes("\u202E"));
    // The comment's lines are all quoted: none can pass for our own link line.
    const lines = mail.text.split("\n");
    assert.ok(lines.includes("  > https://evil.example/approvals/x?token=y"));
    assert.ok(!lines.includes("https://evil.example/approvals/x?token=y"));
  });

  it("refuses messages no adapter should send", () => {
    const ok = requestReceivedMail({ ...summary, ...addressed });
    const refused = (m: OutgoingMail) =>
      assert.throws(
        () => checkMessage(m),
        (e) => isPkiError(e, "EMAIL_MESSAGE_INVALID"),
      );
    refused({ ...ok, to: [] });
    refused({ ...ok, to: ["not-an-address"] });
    refused({ ...ok, to: ["a@example.com\r\nBcc: b@example.com"] });
    refused({ ...ok, subject: "a\nb" });
    refused({
      ...ok,
      attachments: [{ filename: "x.crt", contentType: "application/x-x509-ca-cert", content: "" }],
    });
    refused({
      ...ok,
      attachments: [{ filename: "../x.pem", contentType: "application/x-pem-file", content: "" }],
    });
    refused({ ...ok, to: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`) });
  });

  it("the memory mailer records what it sends", async () => {
    const mailer = new MemoryMailer();
    const mail = requestReceivedMail({ ...summary, ...addressed });
    assert.deepEqual(await mailer.send(mail), { messageId: "memory-1" });
    mailer.failNext = new TransientError("later");
    await assert.rejects(mailer.send(mail), (e) => isTransientError(e));
    assert.deepEqual(mailer.to(REQUESTER), [mail]);
  });
});

// ---------------------------------------------------------------------------------------------

interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  attachments: { content: string; contentType: string; filename?: string; size: number }[];
}

describe("SES adapter against aws-ses-v2-local", () => {
  let server: Server;
  let endpoint: string;
  let client: SESv2Client;
  let mailer: SesMailer;

  before(async () => {
    // Port 0: the OS picks a free port; the stand-in listens on 127.0.0.1 only.
    server = await sesLocal.default({ host: "127.0.0.1", port: 0 });
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await fetch(`${endpoint}/clear-store`, { method: "POST" });
    client = new SESv2Client({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    mailer = new SesMailer({ client, from: FROM });
  });

  after(() => {
    client?.destroy();
    server?.closeAllConnections();
    server?.close();
  });

  async function stored(messageId: string): Promise<StoredEmail> {
    const response = await fetch(`${endpoint}/store`);
    assert.equal(response.status, 200);
    const { emails } = (await response.json()) as { emails: StoredEmail[] };
    const found = emails.find((e) => e.messageId === messageId);
    assert.ok(found, `message ${messageId} is in the store`);
    return found;
  }

  it("delivers every message type intact", async () => {
    for (const { kind, mail } of allMessages()) {
      const { messageId } = await mailer.send(mail);
      const email = await stored(messageId);
      assert.equal(email.from, FROM, kind);
      assert.deepEqual(email.destination, { to: [...mail.to], cc: [], bcc: [] }, kind);
      assert.equal(email.subject, mail.subject, kind);
      assert.equal(email.body.text, mail.text, kind);
      assert.equal(email.body.html, mail.html, kind);
      assert.equal(email.attachments.length, mail.attachments?.length ?? 0, kind);
    }
  });

  it("attaches the certificate and chain as PEM files that decode to the same DER", async () => {
    const { messageId } = await mailer.send(certificateIssuedMail(issuedInput));
    const email = await stored(messageId);
    const [cert, chain] = email.attachments;
    assert.ok(cert && chain);
    assert.equal(cert.filename, `${issuedInput.serial}.pem`);
    assert.equal(cert.contentType, "application/x-pem-file");
    const certText = Buffer.from(cert.content, "base64").toString("utf8");
    assert.equal(certText, leaf.pem);
    assert.deepEqual(
      decodePemBlocks(certText).map((b) => b.der),
      [leaf.der],
    );
    assert.equal(chain.filename, `${issuedInput.serial}-chain.pem`);
    assert.equal(chain.contentType, "application/x-pem-file");
    const chainText = Buffer.from(chain.content, "base64").toString("utf8");
    assert.deepEqual(
      decodePemBlocks(chainText).map((b) => b.der),
      [leaf.der, intermediate.der],
    );
  });

  it("carries hostile text through unchanged and escaped", async () => {
    const mail = requestRejectedMail({
      ...summary,
      ...addressed,
      reason: `<script>alert("x")</script> — ünïcödé`,
      rejectedBy: APPROVER,
    });
    const email = await stored((await mailer.send(mail)).messageId);
    assert.equal(email.body.html, mail.html);
    assert.ok(email.body.text?.includes(`<script>alert("x")</script> — ünïcödé`));
    assert.ok(!email.body.html?.includes("<script>"));
  });

  it("reports an unreachable endpoint as transient", async () => {
    const closed = new SESv2Client({
      endpoint: "http://127.0.0.1:9", // discard port: nothing listens
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    try {
      const offline = new SesMailer({ client: closed, from: FROM });
      await assert.rejects(offline.send(allMessages()[0]!.mail), (e) => isTransientError(e));
    } finally {
      closed.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("SES error mapping", () => {
  const client = new SESv2Client({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
  });
  const ses = mockClient(client);
  const mailer = new SesMailer({
    client,
    from: FROM,
    replyTo: ["pki-team@example.com"],
    configurationSetName: "pki",
  });
  const mail = requestReceivedMail({ ...summary, ...addressed });
  after(() => ses.restore());

  const metadata = (httpStatusCode: number) => ({
    httpStatusCode,
    requestId: "11111111-2222-3333-4444-555555555555",
  });

  it("sends Simple content with the configured sender", async () => {
    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: "m-1", $metadata: metadata(200) });
    assert.deepEqual(await mailer.send(certificateIssuedMail(issuedInput)), { messageId: "m-1" });
    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    assert.equal(input.FromEmailAddress, FROM);
    assert.deepEqual(input.ReplyToAddresses, ["pki-team@example.com"]);
    assert.equal(input.ConfigurationSetName, "pki");
    assert.deepEqual(input.Destination, { ToAddresses: [REQUESTER] });
    const attachments = input.Content?.Simple?.Attachments ?? [];
    assert.deepEqual(
      attachments.map((a) => [a.FileName, a.ContentType, a.ContentDisposition]),
      [
        [`${issuedInput.serial}.pem`, "application/x-pem-file", "ATTACHMENT"],
        [`${issuedInput.serial}-chain.pem`, "application/x-pem-file", "ATTACHMENT"],
      ],
    );
    assert.equal(new TextDecoder().decode(attachments[0]!.RawContent), leaf.pem);
  });

  it("throws a TransientError for throttling and service errors", async () => {
    const transient = [
      new TooManyRequestsException({
        message: "Maximum sending rate exceeded.",
        $metadata: metadata(429),
      }),
      new LimitExceededException({
        message: "Daily message quota exceeded.",
        $metadata: metadata(400),
      }),
      new InternalServiceErrorException({ message: "Internal error", $metadata: metadata(500) }),
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
    ];
    for (const error of transient) {
      ses.reset();
      ses.on(SendEmailCommand).rejects(error);
      await assert.rejects(mailer.send(mail), (e: unknown) => {
        assert.ok(e instanceof TransientError, String(e));
        assert.equal(e.name, "TransientError");
        assert.equal(e.cause, error);
        return true;
      });
    }
  });

  it("throws a PkiError for what will fail again", async () => {
    const permanent = [
      [
        new MessageRejected({
          message: "Email address is not verified.",
          $metadata: metadata(400),
        }),
        "EMAIL_REJECTED",
      ],
      [
        new MailFromDomainNotVerifiedException({
          message: "not verified",
          $metadata: metadata(400),
        }),
        "EMAIL_SENDER_NOT_VERIFIED",
      ],
      [
        new SendingPausedException({ message: "paused", $metadata: metadata(400) }),
        "EMAIL_SENDING_DISABLED",
      ],
    ] as const;
    for (const [error, code] of permanent) {
      ses.reset();
      ses.on(SendEmailCommand).rejects(error);
      await assert.rejects(mailer.send(mail), (e: unknown) => {
        assert.ok(e instanceof PkiError, String(e));
        assert.equal(e.code, code);
        assert.ok(e.message.includes(error.message), e.message);
        assert.equal(e.details?.sesError, error.name);
        assert.equal(e.details?.httpStatusCode, 400);
        return true;
      });
    }
    assert.equal(classifySesError(new Error("odd")).name, "PkiError");
    assert.ok(isPkiError(classifySesError(new Error("odd")), "EMAIL_SEND_FAILED"));
  });

  it("checks the message before calling SES", async () => {
    ses.reset();
    await assert.rejects(mailer.send({ ...mail, to: [] }), (e) =>
      isPkiError(e, "EMAIL_MESSAGE_INVALID"),
    );
    assert.equal(ses.commandCalls(SendEmailCommand).length, 0);
    assert.throws(
      () => new SesMailer({ client, from: "nobody" }),
      (e) => isPkiError(e, "CONFIG_INVALID"),
    );
  });
});
