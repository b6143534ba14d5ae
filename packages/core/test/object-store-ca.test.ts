/**
 * ObjectStoreCa: the deployed issuing CA, its chain read from the bucket and its key opened
 * only to sign. Checked with a local key and an in-memory store.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createRootCertificate } from "../src/ca/create.ts";
import { CA_CHAIN_OBJECT_KEY, ObjectStoreCa } from "../src/ca/object-store-ca.ts";
import { encodePem } from "../src/encoding/pem.ts";
import { isPkiError } from "../src/errors.ts";
import { generateKey, LocalSigner } from "../src/signer/local-signer.ts";
import { parseNameText } from "../src/x509/name.ts";
import { MemoryObjects } from "./support/memory-objects.ts";

async function setUp() {
  const signer = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "local:test");
  const der = await createRootCertificate(signer, {
    subject: parseNameText("CN=Object Store CA"),
    validityDays: 365,
  });
  const objects = new MemoryObjects();
  let opened = 0;
  const ca = new ObjectStoreCa({
    objects,
    openSigner: async () => {
      opened++;
      return signer;
    },
    publicBaseUrl: "https://pki.example.com",
  });
  return { ca, objects, der, opened: () => opened };
}

describe("ObjectStoreCa", () => {
  test("before the bootstrap wrote the chain: CA_NOT_INITIALISED, and the key is not opened", async () => {
    const { ca, opened } = await setUp();
    await assert.rejects(ca.chainPem(), (e) => isPkiError(e, "CA_NOT_INITIALISED"));
    await assert.rejects(
      ca.issuingAuthority(),
      (e) => isPkiError(e, "CA_NOT_INITIALISED") && e.message.includes(CA_CHAIN_OBJECT_KEY),
    );
    assert.equal(opened(), 0);
  });

  test("the chain is served without the key; the authority opens the key once", async () => {
    const { ca, objects, der, opened } = await setUp();
    // A failed open is not remembered: once the chain is there, the next call succeeds.
    await assert.rejects(ca.issuingAuthority());
    const pem = encodePem("CERTIFICATE", der);
    await objects.put(CA_CHAIN_OBJECT_KEY, pem, "application/x-pem-file");
    assert.equal(await ca.chainPem(), pem);
    assert.equal(opened(), 0);
    const [a, b] = await Promise.all([ca.issuingAuthority(), ca.issuingAuthority()]);
    assert.equal(a, b);
    assert.equal(opened(), 1);
    assert.deepEqual(a.certificate.der, der);
    assert.equal(a.urls.crl, `https://pki.example.com/crl/${a.id}.crl`);
  });

  test("an object that is not a certificate chain is refused clearly", async () => {
    const { ca, objects } = await setUp();
    for (const body of [encodePem("PRIVATE KEY", new Uint8Array([1])), "not PEM at all\n"]) {
      await objects.put(CA_CHAIN_OBJECT_KEY, body, "x");
      await assert.rejects(
        ca.issuingAuthority(),
        (e) => isPkiError(e, "CA_NOT_INITIALISED") && /CERTIFICATE blocks/.test(e.message),
      );
    }
  });
});
