/**
 * Expiry reminders on a clock the test moves, against the real store (dynalite), the real
 * inventory index, a memory mailer and a bus that validates every event against the catalogue:
 * the right mails at 30, 7 and 1 days and after expiry, to the requester and the profile's
 * owners; none twice when the job runs twice or died after the first of two mails; none after
 * a renewal or a revocation; each event once.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { createEvent, type EventBus } from "../src/events/bus.ts";
import type { DomainEvent } from "../src/events/catalogue.ts";
import {
  dueReminder,
  type ExpiryReminderDependencies,
  type ExpiryReport,
  reminderKind,
  runExpiryReminders,
} from "../src/expiry/reminders.ts";
import { startExpiryReminderTimer } from "../src/expiry/timer.ts";
import { DynamoCertificateInventory } from "../src/inventory/dynamo-inventory.ts";
import { hashSecret } from "../src/links/secrets.ts";
import type { Mailer, OutgoingMail } from "../src/notifications/mailer.ts";
import { MemoryMailer } from "../src/notifications/memory-mailer.ts";
import { parseConfig } from "../src/policy/config.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { FIXTURE_REQUESTER, freshRepository, newRequest } from "./support/request-fixtures.ts";
import { shippedConfigPath } from "./support/test-ca.ts";

const DAY = 86_400_000;
const OWNER = "ops@example.com";
const T0 = new Date("2030-01-01T00:00:00.000Z");

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(() => dynamo.close());

/** The shipped configuration, the server profile with an owner (and the requester again). */
function config(reminderDays?: number[]) {
  const json = JSON.parse(readFileSync(shippedConfigPath, "utf8"));
  json.profiles.server.owners = [OWNER, "Requester+certs@Example.com"];
  if (reminderDays) json.notifications = { expiryReminderDays: reminderDays };
  return parseConfig(json);
}

async function world(options: { reminderDays?: number[]; mailer?: Mailer } = {}) {
  const { repo, clock, advance, tableName } = await freshRepository(dynamo, T0);
  const memory = new MemoryMailer();
  const events: DomainEvent[] = [];
  const bus: EventBus = {
    async publish(type, detail) {
      const event = createEvent(type, detail);
      events.push(event);
      return event;
    },
  };
  const deps: ExpiryReminderDependencies = {
    inventory: new DynamoCertificateInventory({ client: dynamo.client, tableName }),
    repository: repo,
    mailer: options.mailer ?? memory,
    bus,
    config: config(options.reminderDays),
  };
  let serials = 0;
  /** A stored 90-day certificate of the server profile expiring `days` after T0. */
  const certificate = async (days: number) => {
    const { request } = await repo.createRequest(newRequest());
    const serial = (0x1000 + ++serials).toString(16);
    const notAfter = new Date(T0.getTime() + days * DAY);
    await repo.putCertificate({
      serial,
      requestId: request.id,
      objectKey: `certificates/${serial}.pem`,
      subject: "CN=app.example.com",
      sans: [{ type: "dns", value: "app.example.com" }],
      profile: "server",
      requester: FIXTURE_REQUESTER,
      principal: request.principal,
      caId: "ca-1",
      renews: null,
      notBefore: new Date(notAfter.getTime() - 90 * DAY).toISOString(),
      notAfter: notAfter.toISOString(),
    });
    return { serial, requestId: request.id };
  };
  /** Runs the job with the store's clock at `at`. */
  const run = (at: Date) => {
    clock.now = at;
    return runExpiryReminders(deps, at);
  };
  return { repo, memory, events, deps, certificate, run, advance };
}

/** `to → subject` of each mail, in sending order. */
const sent = (mailer: MemoryMailer, from = 0) =>
  mailer.sent.slice(from).map((s) => `${s.message.to[0]} ${s.message.subject}`);

const at = (days: number) => new Date(T0.getTime() + days * DAY);

describe("expiry reminders", () => {
  test("certificates at 40, 30, 7, 1 and -1 days: the reminder due now, to requester and owner, each once", async () => {
    const w = await world();
    const in40 = await w.certificate(40);
    const in30 = await w.certificate(30);
    const in7 = await w.certificate(7);
    const in1 = await w.certificate(1);
    const gone = await w.certificate(-1);
    await w.certificate(-10); // expired before the lookback: left alone

    const report = await w.run(T0);
    // One index read: the 40-day one is beyond the largest threshold, the long-expired one
    // before the lookback.
    assert.equal(report.checked, 4);
    assert.equal(report.due, 4);
    assert.deepEqual(report.failed, []);
    // One mail per mailbox: the owner list's second address is the requester's mailbox.
    assert.deepEqual(sent(w.memory), [
      `${FIXTURE_REQUESTER} Certificate expired: CN=app.example.com`,
      `${OWNER} Certificate expired: CN=app.example.com`,
      `${FIXTURE_REQUESTER} Certificate expires in 1 day: CN=app.example.com`,
      `${OWNER} Certificate expires in 1 day: CN=app.example.com`,
      `${FIXTURE_REQUESTER} Certificate expires in 7 days: CN=app.example.com`,
      `${OWNER} Certificate expires in 7 days: CN=app.example.com`,
      `${FIXTURE_REQUESTER} Certificate expires in 30 days: CN=app.example.com`,
      `${OWNER} Certificate expires in 30 days: CN=app.example.com`,
    ]);
    assert.deepEqual(
      report.mailed.map((m) => [m.serial, m.reminder, m.to]),
      [gone, in1, in7, in30].flatMap(({ serial }, i) =>
        [FIXTURE_REQUESTER, OWNER].map((to) => [serial, ["expired", 1, 7, 30][i], to]),
      ),
    );
    assert.deepEqual(
      w.events.map((e) => [e.type, e.id, (e.detail as { serial: string }).serial]),
      [
        ["certificate.expired", `certificate.expired/${gone.serial}`, gone.serial],
        ["certificate.expiring", `certificate.expiring/${in1.serial}/1d`, in1.serial],
        ["certificate.expiring", `certificate.expiring/${in7.serial}/7d`, in7.serial],
        ["certificate.expiring", `certificate.expiring/${in30.serial}/30d`, in30.serial],
      ],
    );
    const expiring = w.events[1] as DomainEvent<"certificate.expiring">;
    assert.equal(expiring.detail.thresholdDays, 1);
    assert.equal(expiring.detail.requestId, in1.requestId);
    assert.deepEqual(expiring.detail.recipients, [FIXTURE_REQUESTER, OWNER]);

    // Again, an hour later: nothing new, every mail found sent.
    const again = await w.run(new Date(T0.getTime() + 3_600_000));
    assert.equal(w.memory.sent.length, 8);
    assert.equal(w.events.length, 4);
    assert.deepEqual(again.mailed, []);
    assert.deepEqual(again.published, []);
    assert.equal(again.alreadySent, 8);
    assert.ok(!w.memory.sent.some((s) => s.message.text.includes(in40.serial)));
  });

  test("a daily job across a certificate's last 45 days mails at 30, 7 and 1 days and after expiry, nothing else", async () => {
    const w = await world();
    const cert = await w.certificate(40);
    const byDay: Record<number, string[]> = {};
    for (let day = 0; day <= 45; day++) {
      const before = w.memory.sent.length;
      await w.run(new Date(at(day).getTime() + 3 * 3_600_000)); // 03:00 each day
      if (w.memory.sent.length > before) byDay[day] = sent(w.memory, before);
    }
    // notAfter is at 00:00 of day 40: 30 days left is reached on day 10, 7 on day 33, ...
    assert.deepEqual(byDay, {
      10: [
        `${FIXTURE_REQUESTER} Certificate expires in 30 days: CN=app.example.com`,
        `${OWNER} Certificate expires in 30 days: CN=app.example.com`,
      ],
      33: [
        `${FIXTURE_REQUESTER} Certificate expires in 7 days: CN=app.example.com`,
        `${OWNER} Certificate expires in 7 days: CN=app.example.com`,
      ],
      39: [
        `${FIXTURE_REQUESTER} Certificate expires in 1 day: CN=app.example.com`,
        `${OWNER} Certificate expires in 1 day: CN=app.example.com`,
      ],
      40: [
        `${FIXTURE_REQUESTER} Certificate expired: CN=app.example.com`,
        `${OWNER} Certificate expired: CN=app.example.com`,
      ],
    });
    assert.deepEqual(
      w.events.map((e) => e.id),
      [
        `certificate.expiring/${cert.serial}/30d`,
        `certificate.expiring/${cert.serial}/7d`,
        `certificate.expiring/${cert.serial}/1d`,
        `certificate.expired/${cert.serial}`,
      ],
    );
  });

  test("a job that was down sends only the reminder due now, not the ones it missed", async () => {
    const w = await world();
    await w.certificate(5);
    const report = await w.run(T0);
    assert.deepEqual(
      report.mailed.map((m) => m.reminder),
      [7, 7],
    );
    assert.deepEqual(
      w.events.map((e) => (e.detail as { thresholdDays?: number }).thresholdDays),
      [7],
    );
  });

  test("the mail says what expires when, its names and how to renew; the requester's links to the status page", async () => {
    const w = await world();
    const cert = await w.certificate(7);
    await w.run(T0);
    const [toRequester, toOwner] = w.memory.sent.map((s) => s.message) as [
      OutgoingMail,
      OutgoingMail,
    ];
    for (const mail of [toRequester, toOwner]) {
      assert.match(mail.text, /expires on 2030-01-08 00:00:00 UTC/);
      assert.match(mail.text, new RegExp(`Serial: +${cert.serial}`));
      assert.match(mail.text, /DNS:app\.example\.com/);
      assert.match(mail.text, /pki renew --cert cert\.pem --key key\.pem/);
      assert.ok(mail.text.includes(`POST /v1/certificates/${cert.serial}/renew`));
      assert.ok(mail.html.includes("pki renew --cert cert.pem --key key.pem"));
    }
    const link = /\/requests\/([^?\s]+)\?token=([A-Za-z0-9_-]{43})/.exec(toRequester.text);
    assert.ok(link, toRequester.text);
    assert.equal(link[1], cert.requestId);
    // The link opens the request: its secret's hash was stored with it.
    const opened = await w.repo.findRequestByStatusSecret(cert.requestId, hashSecret(link[2]!));
    assert.equal(opened?.id, cert.requestId);
    assert.doesNotMatch(toOwner.text, /token=/, "the owners get no link to the request's page");
  });

  test("a mailer that fails after the first of two mails: the rerun sends only the second", async () => {
    const memory = new MemoryMailer();
    let sends = 0;
    // Dies on the second send of its first run, as a process whose SES call failed would.
    const flaky: Mailer = {
      send(message) {
        if (++sends === 2) return Promise.reject(new Error("connection reset"));
        return memory.send(message);
      },
    };
    const w = await world({ mailer: flaky });
    await w.certificate(7);
    const first = await w.run(T0);
    assert.deepEqual(sent(memory), [
      `${FIXTURE_REQUESTER} Certificate expires in 7 days: CN=app.example.com`,
    ]);
    assert.deepEqual(
      first.failed.map((f) => [f.to, f.error]),
      [[OWNER, "connection reset"]],
    );
    const second = await w.run(new Date(T0.getTime() + 60_000));
    assert.deepEqual(sent(memory, 1), [
      `${OWNER} Certificate expires in 7 days: CN=app.example.com`,
    ]);
    assert.equal(second.alreadySent, 1);
    assert.deepEqual(second.failed, []);
    // The event went out once, with the first run.
    assert.equal(w.events.length, 1);
  });

  test("a run that died holding the second mail's claim: skipped while its lease holds, then sent once", async () => {
    const w = await world();
    const cert = await w.certificate(7);
    // What the dead run left: the requester's mail sent, the owner's claimed and never sent.
    const requesterKind = reminderKind(cert.serial, 7, FIXTURE_REQUESTER);
    const claim = await w.repo.claimMessage(cert.requestId, requesterKind);
    assert.equal(claim.state, "claimed");
    if (claim.state === "claimed") {
      await w.repo.markMessageSent(cert.requestId, requesterKind, claim.claimId, {
        messageId: "sent-before-the-crash",
      });
    }
    await w.repo.claimMessage(cert.requestId, reminderKind(cert.serial, 7, OWNER));

    const during = await w.run(new Date(T0.getTime() + 60_000));
    assert.deepEqual(w.memory.sent, []);
    assert.deepEqual(
      during.inProgress.map((m) => m.to),
      [OWNER],
    );
    // Past the claim's lease (five minutes), the next run sends it, and only it.
    const later = await w.run(new Date(T0.getTime() + 10 * 60_000));
    assert.deepEqual(sent(w.memory), [
      `${OWNER} Certificate expires in 7 days: CN=app.example.com`,
    ]);
    assert.equal(later.alreadySent, 1);
    await w.run(new Date(T0.getTime() + 20 * 60_000));
    assert.equal(w.memory.sent.length, 1);
  });

  test("a renewed or revoked certificate gets no more reminders", async () => {
    const w = await world();
    const renewed = await w.certificate(8);
    const revoked = await w.certificate(8);
    await w.run(at(1)); // 7 days left: both mailed
    assert.equal(w.memory.sent.length, 4);
    await w.repo.markCertificateRenewed(renewed.serial, "abcdef");
    await w.repo.markCertificateRevoked(revoked.serial, at(2).toISOString(), "superseded");
    for (const day of [7.5, 8.1, 9]) {
      const report = await w.run(at(day));
      assert.equal(report.due, 0, `day ${day}`);
    }
    assert.equal(w.memory.sent.length, 4);
    assert.equal(w.events.length, 2);
  });

  test("thresholds come from notifications.expiryReminderDays; one as long as the certificate's life is skipped", async () => {
    const w = await world({ reminderDays: [90, 14] });
    await w.certificate(60);
    await w.run(T0);
    assert.deepEqual(w.memory.sent, [], "a 90-day certificate is within 90 days all its life");
    await w.run(at(46));
    assert.deepEqual(sent(w.memory), [
      `${FIXTURE_REQUESTER} Certificate expires in 14 days: CN=app.example.com`,
      `${OWNER} Certificate expires in 14 days: CN=app.example.com`,
    ]);
  });

  test("dueReminder", () => {
    const record = {
      notBefore: at(-30).toISOString(),
      notAfter: at(30).toISOString(),
      renewedBy: null,
      revokedAt: null,
    };
    const thresholds = [30, 7, 1];
    assert.equal(dueReminder(record, thresholds, at(-0.5)), undefined);
    assert.equal(dueReminder(record, thresholds, at(0)), 30);
    assert.equal(dueReminder(record, thresholds, at(23)), 7);
    assert.equal(dueReminder(record, thresholds, at(29.5)), 1);
    assert.equal(dueReminder(record, thresholds, at(30)), "expired");
    assert.equal(dueReminder(record, thresholds, at(37)), "expired");
    assert.equal(dueReminder(record, thresholds, at(37.1)), undefined);
    assert.equal(dueReminder({ ...record, renewedBy: "ab" }, thresholds, at(29.5)), undefined);
    assert.equal(
      dueReminder({ ...record, revokedAt: at(1).toISOString() }, thresholds, at(31)),
      undefined,
    );
  });
});

describe("the local timer", () => {
  const report = (failed = 0): ExpiryReport => ({
    ranAt: T0.toISOString(),
    checked: 0,
    due: 0,
    mailed: [],
    alreadySent: 0,
    inProgress: [],
    published: [],
    failed: Array.from({ length: failed }, () => ({
      serial: "ab",
      requestId: "r",
      reminder: 7,
      to: "a@example.com",
      error: "down",
    })),
  });

  test("runs soon after start, then on its interval; a failed run is logged and retried sooner", async () => {
    const outcomes = [
      () => Promise.reject(new Error("table unreachable")),
      () => Promise.resolve(report(1)),
      () => Promise.resolve(report()),
    ];
    const calls: number[] = [];
    const errors: string[] = [];
    const started = Date.now();
    const timer = startExpiryReminderTimer(
      () => {
        calls.push(Date.now() - started);
        return (outcomes.shift() ?? (() => Promise.resolve(report())))();
      },
      {
        firstRunMs: 10,
        retryMs: 20,
        intervalMs: 60_000,
        onError: (e) => errors.push((e as Error).message),
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    await timer.close();
    // Two quick retries after the failures, then the long interval: three runs in 300 ms.
    assert.equal(calls.length, 3);
    assert.deepEqual(errors, [
      "table unreachable",
      "1 reminder(s) not sent (down); retrying later",
    ]);
  });

  test("close stops it before its first run", async () => {
    let runs = 0;
    const timer = startExpiryReminderTimer(
      async () => {
        runs++;
        return report();
      },
      { firstRunMs: 50 },
    );
    await timer.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(runs, 0);
  });
});
