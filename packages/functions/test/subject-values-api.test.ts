/**
 * Subject values under policy, over HTTP: POST /v1/requests to the shipped `client` profile
 * with a CSR naming O=system:masters is a 422 problem+json with the policy's code, and stores
 * and starts nothing; O=Example goes through. The app runs on the real registration authority
 * over dynalite; the workflow engine only records what it is asked to start.
 */

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { OID } from "@spca/core/der/oids";
import { utf8String } from "@spca/core/der/writer";
import { encodePem } from "@spca/core/encoding/pem";
import { createEvent, type EventBus } from "@spca/core/events/bus";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { loadConfig } from "@spca/core/policy/config";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import type { WorkflowEngine } from "@spca/core/workflow/engine";
import type { IssuingCa } from "@spca/core/workflow/steps/dependencies";
import {
  attributes,
  atv,
  buildCsr,
  dnsName,
  extensionRequest,
  name,
  rdn,
  sanExtension,
  signerFor,
} from "../../core/test/support/csr-builder.ts";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { MemoryObjects } from "../../core/test/support/memory-objects.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { createApi } from "../src/api/app.ts";

const HOST = "app.example.internal";
const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });

/** A PEM CSR for HOST with CN=HOST and these O and OU values, one RDN each. */
function csr(organisations: readonly string[], units: readonly string[] = []): string {
  const der = buildCsr({
    subject: name(
      rdn(atv(OID.commonName, utf8String(HOST))),
      ...organisations.map((o) => rdn(atv(OID.organizationName, utf8String(o)))),
      ...units.map((ou) => rdn(atv(OID.organizationalUnitName, utf8String(ou)))),
    ),
    spki: new Uint8Array(keys.publicKey.export({ type: "spki", format: "der" })),
    attributes: attributes(extensionRequest(sanExtension([dnsName(HOST)]))),
    ...signerFor(keys.privateKey, "ECDSA_SHA_256"),
  });
  return encodePem("CERTIFICATE REQUEST", der);
}

let dynamo: LocalDynamo;
before(async () => {
  dynamo = await startDynalite();
});
after(async () => {
  await dynamo.close();
});

async function setUp() {
  const tableName = await dynamo.freshTable();
  const started: string[] = [];
  const errors: unknown[] = [];
  const engine: WorkflowEngine = {
    async startExecution(requestId) {
      started.push(requestId);
      return { executionId: `exec-${requestId}`, alreadyStarted: false };
    },
    sendTaskSuccess: () => Promise.reject(new Error("no approvals here")),
    sendTaskFailure: () => Promise.reject(new Error("no approvals here")),
  };
  const bus: EventBus = { publish: async (type, detail) => createEvent(type, detail) };
  const ca: IssuingCa = {
    issuingAuthority: () => Promise.reject(new Error("nothing is signed here")),
    chainPem: () => Promise.reject(new Error("nothing is signed here")),
  };
  const ra = new RegistrationAuthority({
    repository: new DynamoRequestRepository({ client: dynamo.client, tableName }),
    inventory: new DynamoCertificateInventory({ client: dynamo.client, tableName }),
    revocations: new DynamoRevocationStore({ client: dynamo.client, tableName }),
    engine,
    bus,
    config: loadConfig(shippedConfigPath),
    ca,
    objects: new MemoryObjects(),
  });
  const app = createApi({
    services: ra,
    // Anonymous submission keeps API keys out of what this test is about.
    openSubmission: true,
    clientAddress: () => "198.51.100.7",
    rateLimit: { burst: 1000, perSecond: 1000 },
    onUnexpectedError: (error) => errors.push(error),
  });
  const submit = (pem: string) =>
    app.request("/v1/requests", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ csr: pem, email: "dev@example.com", profile: "client" }),
    });
  return { submit, started, errors };
}

async function problemOf(res: Response, status: number, code: string) {
  assert.equal(res.status, status, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.type, `urn:serverless-private-ca:problem:${code}`);
  return body;
}

describe("POST /v1/requests: subject values on the client profile", () => {
  test("O=system:masters is a 422 POLICY_SUBJECT_VALUE_NOT_ALLOWED, and nothing starts", async () => {
    const { submit, started } = await setUp();
    const body = await problemOf(
      await submit(csr(["system:masters"])),
      422,
      "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
    );
    assert.equal(body.title, "The profile does not allow this subject attribute value.");
    assert.equal(
      body.detail,
      'Profile client does not issue subject O "system:masters"; it allows only "Example".',
    );
    assert.deepEqual(started, []);
  });

  test("a second O is judged too", async () => {
    const { submit, started } = await setUp();
    await problemOf(
      await submit(csr(["Example", "system:masters"])),
      422,
      "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
    );
    assert.deepEqual(started, []);
  });

  test("O=system:masters, OU=admins is refused for the OU", async () => {
    const { submit } = await setUp();
    const body = await problemOf(
      await submit(csr(["system:masters"], ["admins"])),
      422,
      "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
    );
    assert.match(String(body.detail), /Profile client does not issue subject OU/);
  });

  test("O=Example is accepted", async () => {
    const { submit, started, errors } = await setUp();
    const res = await submit(csr(["Example"]));
    assert.equal(res.status, 202, String(errors[0] ?? (await res.clone().text())));
    const body = (await res.json()) as { id: string };
    assert.deepEqual(started, [body.id]);
  });
});
