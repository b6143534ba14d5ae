/**
 * SignCertificate against dynalite and a data-folder CA: the signing claim is owned by the
 * execution, so a re-run of the same execution (resumed after a crash, retried after a
 * timeout) takes its own dead attempt's claim over at once and issues exactly one certificate,
 * recorded in the claim; a re-run after success returns that certificate; a run of another
 * execution waits out the live lease (TransientError, so its retry policy applies).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { checkCsr } from "../src/csr/intake.ts";
import { encodePem } from "../src/encoding/pem.ts";
import { PkiError, TransientError } from "../src/errors.ts";
import { InProcessEventBus } from "../src/events/in-process-bus.ts";
import { MemoryMailer } from "../src/notifications/memory-mailer.ts";
import { newRequestId, summariseCsr } from "../src/requests/request.ts";
import type { DataFolderCa } from "../src/store/data-folder-ca.ts";
import { DynamoRequestRepository } from "../src/store/dynamo-request-repository.ts";
import type { IssuingCa, StepDependencies } from "../src/workflow/steps/dependencies.ts";
import { createStepHandlers } from "../src/workflow/steps/index.ts";
import { readPending, signCertificate } from "../src/workflow/steps/sign-certificate.ts";
import { type LocalDynamo, startDynalite } from "./support/dynamo.ts";
import { MemoryObjects } from "./support/memory-objects.ts";
import { ecCsrFor, openssl } from "./support/openssl.ts";
import { scratchDir } from "./support/scratch.ts";
import { tempCa } from "./support/test-ca.ts";

const SIGNING = "step:sign";
const work = scratchDir("sign-certificate-");

let dynamo: LocalDynamo;
let ca: DataFolderCa;
before(async () => {
  dynamo = await startDynalite();
  ca = tempCa();
  await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
});
after(async () => {
  await dynamo.close();
});

/**
 * Step dependencies on a fresh table, with the repository's clock under the test's control
 * (the certificate's own times stay real) and a CA that counts what it is asked to sign.
 */
async function setup() {
  const clock = { now: new Date() };
  const repository = new DynamoRequestRepository({
    client: dynamo.client,
    tableName: await dynamo.freshTable(),
    now: () => clock.now,
  });
  const signed = { count: 0 };
  const countingCa: IssuingCa = {
    // SignCertificate asks for the authority only to sign with it, once per certificate.
    issuingAuthority: async () => {
      signed.count++;
      return ca.issuingAuthority();
    },
    chainPem: () => ca.chainPem(),
  };
  const objects = new MemoryObjects();
  const deps: StepDependencies = {
    repository,
    config: ca.config,
    ca: countingCa,
    objects,
    mailer: new MemoryMailer(),
    bus: new InProcessEventBus({ firstRetryMs: 1 }),
  };
  const advance = (seconds: number) => {
    clock.now = new Date(clock.now.getTime() + seconds * 1000);
  };
  return { deps, repository, signed, objects, advance };
}

/** An approved client-certificate request for `name`, with a real CSR. */
async function approvedRequest(deps: StepDependencies, name: string): Promise<string> {
  const csr = checkCsr(ecCsrFor(work, name).toString("utf8"));
  const { request } = await deps.repository.createRequest({
    id: newRequestId(),
    requester: "dev@example.com",
    profile: "client",
    comment: null,
    csr: encodePem("CERTIFICATE REQUEST", csr.der),
    csrSummary: summariseCsr(csr),
    validityDays: null,
    approval: { mode: "automatic", approvers: [], quorum: 0, timeoutSeconds: 0, deadline: null },
    submittedBy: "api-key:0123456789abcdef",
    principal: { id: "api-key:0123456789abcdef", email: "alice@example.com", groups: [] },
  });
  await deps.repository.transition(request.id, {
    from: "submitted",
    to: "approved",
    actor: "test",
  });
  return request.id;
}

function serialOfPem(pem: string): string {
  const line = openssl(["x509", "-noout", "-serial"], pem).toString().trim();
  return line.replace(/^serial=/, "").toLowerCase();
}

describe("SignCertificate's claim, owned by the execution", () => {
  test("a crashed attempt is taken over by the same execution's re-run, which issues exactly one certificate", async () => {
    const { deps, repository, signed, objects } = await setup();
    const requestId = await approvedRequest(deps, "crashed.example.internal");
    // The attempt that crashed: it claimed the signing and never completed.
    const crashed = await repository.claimMessage(requestId, SIGNING, {
      leaseSeconds: 60,
      owner: "exec-1",
    });
    assert.equal(crashed.state, "claimed");

    // The resumed execution does not wait out the dead attempt's lease.
    const { serial } = await signCertificate({ requestId, executionId: "exec-1" }, deps);
    assert.equal(signed.count, 1);
    const pending = await readPending(deps, requestId);
    assert.equal(pending.serial, serial);
    assert.equal(serialOfPem(pending.pem), serial, "the recorded PEM is the certificate");
    assert.deepEqual((await repository.sentMessage(requestId, SIGNING))?.result, pending);
    assert.deepEqual([...objects.objects.keys()], [], "nothing waits in the bucket");
    // The crashed attempt, were it to come back, could not record a second certificate.
    await assert.rejects(
      repository.markMessageSent(requestId, SIGNING, (crashed as { claimId: string }).claimId, {
        result: { ...pending, serial: "0bad" },
      }),
      (e) => e instanceof PkiError && e.code === "MESSAGE_CLAIM_LOST",
    );
    assert.equal((await readPending(deps, requestId)).serial, serial);

    // Re-runs after success, by this execution or any other, return the same certificate.
    for (const executionId of ["exec-1", "exec-2", undefined]) {
      assert.deepEqual(
        await signCertificate({ requestId, ...(executionId ? { executionId } : {}) }, deps),
        { serial },
      );
    }
    assert.equal(signed.count, 1, "signed once in all");

    // StoreCertificate files what was recorded, and the request is issued with it.
    const steps = createStepHandlers(deps);
    assert.deepEqual(await steps.StoreCertificate({ requestId, serial }), { status: "issued" });
    const request = (await repository.getRequest(requestId))!;
    assert.equal(request.status, "issued");
    assert.equal(request.serial, serial);
    assert.deepEqual(await signCertificate({ requestId, executionId: "exec-3" }, deps), { serial });
    assert.equal(signed.count, 1);
  });

  test("another execution is refused with a TransientError while the lease is live, and signs nothing", async () => {
    const { deps, repository, signed, advance } = await setup();
    const requestId = await approvedRequest(deps, "held.example.internal");
    const held = await repository.claimMessage(requestId, SIGNING, {
      leaseSeconds: 60,
      owner: "exec-1",
    });
    assert.equal(held.state, "claimed");
    for (const executionId of ["exec-2", undefined]) {
      await assert.rejects(
        signCertificate({ requestId, ...(executionId ? { executionId } : {}) }, deps),
        (e) => {
          assert.ok(e instanceof TransientError, String(e));
          assert.match(e.message, /being signed by another run/);
          return true;
        },
      );
    }
    assert.equal(signed.count, 0);
    assert.equal(await repository.sentMessage(requestId, SIGNING), undefined);

    // Once the lease has run out, the other execution takes over and signs, once.
    advance(61);
    const { serial } = await signCertificate({ requestId, executionId: "exec-2" }, deps);
    assert.equal(signed.count, 1);
    assert.equal((await readPending(deps, requestId)).serial, serial);
    // The first execution, resumed now, gets that certificate: no second one.
    assert.deepEqual(await signCertificate({ requestId, executionId: "exec-1" }, deps), {
      serial,
    });
    assert.equal(signed.count, 1);
  });

  test("readPending refuses a request with nothing signed", async () => {
    const { deps, repository } = await setup();
    const requestId = await approvedRequest(deps, "unsigned.example.internal");
    await assert.rejects(
      readPending(deps, requestId),
      (e) => e instanceof PkiError && e.code === "REQUEST_STATE_CONFLICT",
    );
    // Claimed but not signed yet is not signed either.
    await repository.claimMessage(requestId, SIGNING, { owner: "exec-1" });
    await assert.rejects(
      readPending(deps, requestId),
      (e) => e instanceof PkiError && e.code === "REQUEST_STATE_CONFLICT",
    );
  });
});
