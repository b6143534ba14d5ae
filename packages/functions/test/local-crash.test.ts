/**
 * The crash matrix: `npm start`'s runtime killed with SIGKILL at each state of an automatic
 * and a manual request, right after a revocation is answered, and during 16 parallel
 * submissions, then started again on the same data folder. A CA may be slow but must never
 * forget: every acknowledged revocation is on the published CRL within 2 s of the restart,
 * every approved request is issued exactly once with one "issued" mail, no accepted request is
 * left stuck or failed, every listed request opens, and CRL numbers only increase.
 *
 * The workflow crashes are exact, not raced: PKI_CRASH_AT (src/local/crash-points.ts) makes
 * the service kill itself at the named point, and each case checks that it did.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseCrl } from "@spca/core/crl/parse";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import {
  approvalToken,
  decide,
  mails,
  mailsTo,
  type Running,
  requestView,
  startService,
  stop,
  waitFor,
  waitForStatus,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "local-crash-"));
after(() => rmSync(work, { recursive: true, force: true }));

const config = writeConfig(join(work, "config.json"), (c) => {
  c.api = { rateLimit: { burst: 100_000, perSecond: 100_000 } };
});
/** Generous: these wait on conditions, and a loaded CI machine is slow, not wrong. */
const SETTLE_MS = 60_000;
const APPROVER = "security@example.com";

let cases = 0;
/** A data folder of its own for a case; the case's keys and CSRs go in `<folder>-keys`. */
function freshFolder(name: string): string {
  const folder = join(
    work,
    `${String(++cases).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-")}`,
  );
  mkdirSync(`${folder}-keys`);
  return folder;
}

/** Starts the service set to kill itself at `point`; resolves `crashed` when it has. */
async function startCrashing(dataDir: string, point: string) {
  const s = await startService(dataDir, { configPath: config, env: { PKI_CRASH_AT: point } });
  let stderr = "";
  s.child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const crashed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      s.child.kill("SIGKILL");
      reject(new Error(`no crash at ${point} within ${SETTLE_MS} ms:\n${stderr}`));
    }, SETTLE_MS);
    s.child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL" && stderr.includes(`crashing at ${point}`)) resolve();
      else reject(new Error(`expected a crash at ${point}; exit ${code} ${signal}:\n${stderr}`));
    });
  });
  crashed.catch(() => {});
  return { s, crashed };
}

function restart(dataDir: string): Promise<Running> {
  return startService(dataDir, { configPath: config });
}

/** Submits with an Idempotency-Key; undefined when the service died before answering. */
async function submitOnce(
  s: Running,
  csr: Uint8Array,
  profile: string,
  email: string,
  key: string,
): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(
      `${s.api}/v1/requests?email=${encodeURIComponent(email)}&profile=${profile}`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${s.key}`,
          "content-type": "application/pkcs10",
          "idempotency-key": key,
        },
        body: csr,
      },
    );
  } catch {
    return undefined;
  }
  assert.ok(res.status === 202 || res.status === 200, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

/** What a client does after a dropped answer: the same submission with the same key. */
async function submitAgain(
  s: Running,
  csr: Uint8Array,
  profile: string,
  email: string,
  key: string,
): Promise<string> {
  const id = await submitOnce(s, csr, profile, email, key);
  assert.ok(id, "the service answers the repeated submission");
  return id;
}

async function runtimeInfo(s: Running): Promise<{ s3: string; bucket: string }> {
  return JSON.parse(readFileSync(join(s.dataDir, "runtime.json"), "utf8"));
}

/** The keys under `prefix` in the bucket (the S3 stand-in's ListObjectsV2). */
async function bucketKeys(s: Running, prefix: string): Promise<string[]> {
  const info = await runtimeInfo(s);
  const res = await fetch(`${info.s3}/${info.bucket}?list-type=2&prefix=${prefix}`);
  assert.equal(res.status, 200);
  return [...(await res.text()).matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]!);
}

async function bucketObject(s: Running, key: string): Promise<Uint8Array | undefined> {
  const info = await runtimeInfo(s);
  const res = await fetch(`${info.s3}/${info.bucket}/${key}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, key);
  return new Uint8Array(await res.arrayBuffer());
}

/** Exactly one certificate, one "issued" mail naming it, and no failure for the request. */
async function assertIssuedOnce(s: Running, id: string, requester: string): Promise<void> {
  const view = await waitForStatus(s, id, "issued", SETTLE_MS);
  const stored = await bucketKeys(s, "certificates/");
  assert.deepEqual(
    stored,
    [`certificates/${view.serial}.pem`],
    "one certificate, the recorded one",
  );
  const issuedMails = await waitFor(
    "the issued mail",
    async () => {
      const found = mailsTo(await mails(s), requester).filter((m) =>
        m.subject.startsWith("Certificate issued"),
      );
      return found.length > 0 ? found : undefined;
    },
    SETTLE_MS,
  );
  assert.equal(issuedMails.length, 1, "one issued mail");
  assert.match(issuedMails[0]!.subject, new RegExp(`serial ${view.serial}`));
  const failures = mailsTo(await mails(s), requester).filter((m) => /failed/i.test(m.subject));
  assert.deepEqual(failures, []);
  assert.ok(!view.history.some((h) => h.action === "failed"), JSON.stringify(view.history));
}

/** The numbers of the CRLs published so far, as the history of statuses seen. */
function crlNumberLog() {
  const seen: bigint[] = [];
  return {
    async note(s: Running) {
      const res = await fetch(`${s.api}/v1/crl/status`);
      if (res.status !== 200) return;
      seen.push(BigInt(((await res.json()) as { number: string }).number));
      for (let i = 1; i < seen.length; i++)
        assert.ok(seen[i]! >= seen[i - 1]!, `CRL numbers went back: ${seen.join(", ")}`);
    },
  };
}

const automaticPoints = [
  "enter:ValidateRequest",
  "return:ValidateRequest",
  "enter:StoreRequest",
  "return:StoreRequest",
  "enter:SignCertificate",
  "claim:step:sign",
  "return:SignCertificate",
  "enter:StoreCertificate",
  "return:StoreCertificate",
  "enter:NotifyIssued",
  "return:NotifyRequester",
  "claim:certificate.issued",
  "enter:Issued",
];

describe("kill -9 at each state of an automatic request", { concurrency: 2 }, () => {
  for (const point of automaticPoints) {
    test(point, async () => {
      const dataDir = freshFolder(`auto-${point}`);
      const requester = "owner@example.com";
      const csr = ecCsrFor(`${dataDir}-keys`, "crash.example.com", "DER");
      const { s, crashed } = await startCrashing(dataDir, point);
      const crls = crlNumberLog();
      await crls.note(s);
      const first = await submitOnce(s, csr, "client", requester, "k1");
      await crashed;
      const again = await restart(dataDir);
      try {
        await crls.note(again);
        const id = await submitAgain(again, csr, "client", requester, "k1");
        if (first) assert.equal(id, first, "the repeated submission is the same request");
        await assertIssuedOnce(again, id, requester);
        await crls.note(again);
      } finally {
        await stop(again);
      }
    });
  }
});

/** Crash points of a manual request, and whether they come before the approval. */
const manualPoints: readonly [string, "before" | "after"][] = [
  ["enter:StoreRequest", "before"],
  ["enter:RequestApproval", "before"],
  ["claim:approval-needed", "before"],
  // The mail went out, but was not recorded as sent: sent again, and the first link works.
  ["sent:approval-needed", "before"],
  ["return:RequestApproval", "before"],
  ["enter:SignCertificate", "after"],
  ["claim:step:sign", "after"],
  ["enter:StoreCertificate", "after"],
  ["claim:certificate.issued", "after"],
];

describe("kill -9 at each state of a manual request", { concurrency: 2 }, () => {
  for (const [point, when] of manualPoints) {
    test(`${point} (${when} the approval)`, async () => {
      const dataDir = freshFolder(`manual-${point}`);
      const requester = "dev@example.com";
      const csr = ecCsrFor(`${dataDir}-keys`, "crash-manual.example.com", "DER");
      const { s, crashed } = await startCrashing(dataDir, point);
      let id = await submitOnce(s, csr, "server", requester, "m1");
      if (when === "after") {
        assert.ok(id);
        const token = await approvalToken(s, APPROVER, id);
        // The answer may or may not come back: the crash follows the approval at once.
        await decide(s, id, { decision: "approve", token }).catch(() => undefined);
      }
      await crashed;
      const again = await restart(dataDir);
      try {
        id ??= await submitAgain(again, csr, "server", requester, "m1");
        if (when === "before") {
          await waitForStatus(again, id, "pending_approval", SETTLE_MS);
          const token = await approvalToken(again, APPROVER, id);
          const res = await decide(again, id, { decision: "approve", token });
          assert.equal(res.status, 200, await res.text());
        }
        await assertIssuedOnce(again, id, requester);
        const asked = mailsTo(await mails(again), APPROVER).filter((m) =>
          m.body.text.includes(`/approvals/${id}?token=`),
        );
        if (point.startsWith("sent:")) {
          assert.equal(asked.length, 2, "asked again: the first mail was not recorded as sent");
        } else {
          assert.equal(asked.length, 1, "the approver is asked once");
        }
      } finally {
        await stop(again);
      }
    });
  }
});

describe("kill -9 on the way to a rejection", { concurrency: 2 }, () => {
  for (const point of ["enter:RecordRejection", "enter:NotifyRejected", "claim:request.rejected"]) {
    test(point, async () => {
      const dataDir = freshFolder(`reject-${point}`);
      const requester = "turned-down@example.com";
      const csr = ecCsrFor(`${dataDir}-keys`, "crash-reject.example.com", "DER");
      const { s, crashed } = await startCrashing(dataDir, point);
      const id = await submitOnce(s, csr, "server", requester, "x1");
      assert.ok(id);
      const token = await approvalToken(s, APPROVER, id);
      await decide(s, id, { decision: "reject", token, reason: "not ours" }).catch(() => {});
      await crashed;
      const again = await restart(dataDir);
      try {
        await waitForStatus(again, id, "rejected", SETTLE_MS);
        const told = await waitFor(
          "the rejection mail",
          async () => {
            const found = mailsTo(await mails(again), requester).filter((m) =>
              m.subject.startsWith("Certificate request rejected"),
            );
            return found.length > 0 ? found : undefined;
          },
          SETTLE_MS,
        );
        assert.equal(told.length, 1, "one rejection mail");
        assert.deepEqual(await bucketKeys(again, "certificates/"), []);
      } finally {
        await stop(again);
      }
    });
  }
});

describe("kill -9 right after a revocation is answered", () => {
  test("the revocation is on the published CRL within 2 s of the restart", async () => {
    const dataDir = freshFolder("revocation");
    const s = await restart(dataDir);
    const crls = crlNumberLog();
    let serial: string;
    try {
      const id = await submitAgain(
        s,
        ecCsrFor(`${dataDir}-keys`, "r.example.com", "DER"),
        "client",
        "r@example.com",
        "r1",
      );
      ({ serial } = (await waitForStatus(s, id, "issued", SETTLE_MS)) as { serial: string });
      await crls.note(s);
      const res = await fetch(`${s.api}/v1/certificates/${serial}/revoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "keyCompromise" }),
      });
      assert.equal(res.status, 200, await res.clone().text());
    } finally {
      await stop(s, "SIGKILL");
    }
    const again = await restart(dataDir);
    try {
      const ready = Date.now();
      const caId = ((await (await fetch(`${again.api}/v1/crl/status`)).json()) as { caId: string })
        .caId;
      const listed = await waitFor(
        "the revoked serial on the published CRL",
        async () => {
          const der = await bucketObject(again, `crl/${caId}.crl`);
          const crl = der && parseCrl(der);
          const entries = crl ? [...crl.entries()] : [];
          return entries.some((e) => e.serialHex.toLowerCase() === serial.toLowerCase())
            ? entries
            : undefined;
        },
        2_000,
      );
      assert.ok(Date.now() - ready <= 2_000);
      assert.equal(listed.length, 1);
      await crls.note(again);
    } finally {
      await stop(again);
    }
  });
});

describe("kill -9 between storing a request and starting its workflow", () => {
  test("the stored request is started at the restart, with no help from the client", async () => {
    const dataDir = freshFolder("stranded");
    const requester = "stranded@example.com";
    const csr = ecCsrFor(`${dataDir}-keys`, "stranded.example.com", "DER");
    const { s, crashed } = await startCrashing(dataDir, "stored:request");
    assert.equal(await submitOnce(s, csr, "client", requester, "s1"), undefined, "no answer");
    await crashed;
    const again = await restart(dataDir);
    try {
      // The client never learnt the id: the operators' listing shows the request.
      const listing = await operatorListing(again);
      const [id, status] = await waitFor(
        "the stored request to be issued",
        async () => {
          const rows = [...(await listing())];
          return rows.length === 1 && rows[0]![1] === "issued" ? rows[0] : undefined;
        },
        SETTLE_MS,
      );
      assert.equal(status, "issued");
      await assertIssuedOnce(again, id, requester);
      const received = mailsTo(await mails(again), requester).filter((m) =>
        m.subject.startsWith("Certificate request received"),
      );
      assert.equal(received.length, 1, "the requester hears of the request once");
    } finally {
      await stop(again);
    }
  });
});

describe("kill -9 during 16 parallel submissions", () => {
  test("every accepted request goes on; every listed request opens", async () => {
    const dataDir = freshFolder("parallel");
    const s = await restart(dataDir);
    const submissions = Array.from({ length: 16 }, (_, i) => ({
      key: `p${i}`,
      profile: i % 2 === 0 ? "client" : "server",
      requester: `p${i}@example.com`,
      csr: ecCsrFor(`${dataDir}-keys`, `p${i}.example.com`, "DER"),
    }));
    const accepted: { id: string; profile: string; requester: string }[] = [];
    let answered = 0;
    const killed = Promise.withResolvers<void>();
    const attempts = submissions.map(async (sub) => {
      const id = await submitOnce(s, sub.csr, sub.profile, sub.requester, sub.key);
      if (id) accepted.push({ id, profile: sub.profile, requester: sub.requester });
      if (++answered === 8) {
        await stop(s, "SIGKILL");
        killed.resolve();
      }
    });
    await Promise.all(attempts);
    await killed.promise;
    const frozen = [...accepted];
    assert.ok(frozen.length >= 8);

    const again = await restart(dataDir);
    try {
      for (const { id, profile, requester } of frozen) {
        if (profile === "client") await assertIssuedOnceAmong(again, id, requester);
        else await waitForStatus(again, id, "pending_approval", SETTLE_MS);
      }
      // What the operators see: every request listed, in any status, settles and opens; a
      // request stored but not answered before the crash goes on too, and none is stuck.
      const listing = await operatorListing(again);
      const listed = await waitFor(
        "every listed request to be issued or pending approval",
        async () => {
          const now = await listing();
          return [...now.values()].every((s) => s === "issued" || s === "pending_approval")
            ? now
            : undefined;
        },
        SETTLE_MS,
      );
      for (const id of frozen.map((a) => a.id)) assert.ok(listed.has(id), `${id} is listed`);
      for (const [id, status] of listed) {
        assert.equal((await requestView(again, id)).status, status, `${id} opens`);
      }
      const issued = [...listed.values()].filter((s) => s === "issued").length;
      assert.equal((await bucketKeys(again, "certificates/")).length, issued);
    } finally {
      await stop(again);
    }
  });
});

/** As assertIssuedOnce, where the bucket holds other requests' certificates too. */
async function assertIssuedOnceAmong(s: Running, id: string, requester: string): Promise<void> {
  const view = await waitForStatus(s, id, "issued", SETTLE_MS);
  const issued = await waitFor(
    `the issued mail to ${requester}`,
    async () => {
      const found = mailsTo(await mails(s), requester).filter((m) =>
        m.subject.startsWith("Certificate issued"),
      );
      return found.length > 0 ? found : undefined;
    },
    SETTLE_MS,
  );
  assert.equal(issued.length, 1);
  assert.match(issued[0]!.subject, new RegExp(`serial ${view.serial}`));
}

/**
 * The operators' listing of every status, through the pages as an admin who signed in sees
 * it: a function that reads it afresh.
 */
async function operatorListing(s: Running): Promise<() => Promise<Map<string, string>>> {
  const form = await fetch(`${s.api}/sign-in`);
  const csrfCookie = /csrf=([A-Za-z0-9_-]{43})/.exec(form.headers.get("set-cookie") ?? "")![1]!;
  const signIn = await fetch(`${s.api}/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: `csrf=${csrfCookie}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ csrf: csrfCookie, key: s.key }).toString(),
  });
  assert.equal(signIn.status, 303, await signIn.text());
  const session = /session=([^;]+)/.exec(signIn.headers.get("set-cookie") ?? "")![1]!;
  return async () => {
    const listed = new Map<string, string>();
    for (const status of ["submitted", "pending_approval", "approved", "issued", "failed"]) {
      const page = await fetch(`${s.api}/operators?status=${status}`, {
        headers: { cookie: `session=${session}` },
      });
      assert.equal(page.status, 200);
      for (const m of (await page.text()).matchAll(
        /href="\/operators\/requests\/([A-Za-z0-9_-]+)"/g,
      )) {
        listed.set(m[1]!, status);
      }
    }
    return listed;
  };
}
