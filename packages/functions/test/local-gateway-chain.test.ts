/**
 * The ALB stand-in with an imported CA, in process: the issuing CA's root is held elsewhere,
 * so its CRL is not in the bucket. The gateway takes it from the CRL distribution point the
 * issuing CA's certificate names; while that fails it refuses every client (fail closed, the
 * sync told why) and lets them in again once the root's CRL can be had. The root's CRL in the
 * bucket (a root held here) is taken from there without a fetch.
 */
import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Authority, openAuthority } from "@spca/core/ca/authority";
import { createIssuingCertificate, createRootCertificate } from "@spca/core/ca/create";
import { publicationKeys, TRUSTSTORE_KEY } from "@spca/core/ca/publication-urls";
import { issueCertificate } from "@spca/core/certificate/issue";
import { buildCrl, crlFingerprint, type RevokedEntry } from "@spca/core/crl/build";
import { checkCsr } from "@spca/core/csr/intake";
import { encodePem } from "@spca/core/encoding/pem";
import type { EnforcementPublication } from "@spca/core/enforcement/target";
import { loadConfig } from "@spca/core/policy/config";
import { evaluatePolicy, findProfile } from "@spca/core/policy/evaluate";
import { LocalSigner } from "@spca/core/signer/local-signer";
import type { StoredObject } from "@spca/core/store/object-store";
import { parseNameText } from "@spca/core/x509/name";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { GatewayIdentity } from "../src/local/gateway-identity.ts";
import { ChainCrlUnavailable, LocalGatewayTarget } from "../src/local/gateway-target.ts";
import { createMtlsGateway } from "../src/local/mtls-gateway.ts";
import { root } from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-gateway-chain-"));
after(() => rmSync(work, { recursive: true, force: true }));

const ROOT_BASE = "http://offline-root.example.test";
const HOUR = 3_600_000;

function signer(): LocalSigner {
  return new LocalSigner(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey, "test");
}

async function crl(authority: Authority, entries: RevokedEntry[] = []): Promise<Uint8Array> {
  const now = Date.now();
  return buildCrl(authority, {
    number: 1n,
    thisUpdate: new Date(now - HOUR),
    nextUpdate: new Date(now + HOUR),
    entries,
  });
}

interface Client {
  readonly pem: string;
  readonly key: string;
  readonly serial: string;
}

/** An in-memory bucket: only what the test puts in it. */
class Bucket {
  readonly objects = new Map<string, Uint8Array>();
  async get(key: string): Promise<StoredObject | undefined> {
    const body = this.objects.get(key);
    return body ? { body, contentType: undefined } : undefined;
  }
}

/** A distribution point that answers with `body`, or 404 while it is undefined. */
function distributionPoint() {
  const point = { body: undefined as Uint8Array | undefined, urls: [] as string[] };
  const fetchStub = async (input: string | URL | Request) => {
    point.urls.push(String(input));
    return point.body
      ? new Response(point.body.slice(), { headers: { "content-type": "application/pkix-crl" } })
      : new Response("no such object", { status: 404 });
  };
  return { point, fetch: fetchStub as typeof fetch };
}

/** One GET on a new connection presenting `client`; the status, or that it was refused. */
function get(url: string, chainPem: string, client: Client): Promise<number | "refused"> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { ca: chainPem, cert: client.pem, key: client.key, servername: "localhost", agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      },
    );
    req.on("error", () => resolve("refused"));
    req.end();
  });
}

describe("the ALB stand-in under an imported CA (its root held elsewhere)", () => {
  let rootCa: Authority;
  let issuing: Authority;
  let chainPem: string;
  let alice: Client;
  let bob: Client;
  let publication: EnforcementPublication;

  before(async () => {
    const rootSigner = signer();
    const rootDer = await createRootCertificate(rootSigner, {
      subject: parseNameText("CN=Offline Root, O=Elsewhere"),
      validityDays: 365,
    });
    rootCa = await openAuthority(rootDer, [], rootSigner, ROOT_BASE);
    const issuingSigner = signer();
    const issuingDer = await createIssuingCertificate(rootCa, await issuingSigner.publicKey(), {
      subject: parseNameText("CN=Imported Issuing CA, O=Example"),
      validityDays: 100,
    });
    issuing = await openAuthority(issuingDer, [rootDer], issuingSigner, "http://127.0.0.1:8787");
    chainPem = encodePem("CERTIFICATE", issuingDer) + encodePem("CERTIFICATE", rootDer);
    const config = loadConfig(join(root, "pki.config.json"));
    const issue = async (name: string): Promise<Client> => {
      const csr = checkCsr(ecCsrFor(work, name, "DER"));
      const decision = evaluatePolicy(csr, "client", findProfile(config, "client"));
      const issued = await issueCertificate(issuing, csr, decision);
      const key = createPrivateKey(readFileSync(join(work, `${name}.key`)));
      return {
        pem: issued.pem,
        key: key.export({ format: "pem", type: "pkcs8" }).toString(),
        serial: issued.serialHex,
      };
    };
    alice = await issue("alice.example.internal");
    bob = await issue("bob.example.internal");
    // The issuing CA's CRL lists bob.
    const der = await crl(issuing, [
      {
        serialHex: bob.serial,
        revokedAt: Math.floor(Date.now() / 1000) - 60,
        reason: "keyCompromise",
      },
    ]);
    const crlPem = new TextEncoder().encode(encodePem("X509 CRL", der));
    const bundle = new TextEncoder().encode(chainPem);
    publication = {
      bucket: "certificates",
      caId: issuing.id,
      crl: {
        key: publicationKeys(issuing.id).crlPem,
        body: crlPem,
        versionId: undefined,
        sha256: crlFingerprint(crlPem),
        der,
        number: 1n,
        entries: 1,
        nextUpdate: undefined,
      },
      bundle: {
        key: TRUSTSTORE_KEY,
        body: bundle,
        versionId: undefined,
        sha256: crlFingerprint(bundle),
      },
    };
  });

  test("takes the root's CRL from the distribution point; refuses everyone while it cannot", async (t) => {
    // The gateway logs each refusal with OpenSSL's verdict.
    const logged: string[] = [];
    t.mock.method(console, "error", (line: string) => logged.push(line));
    const verdict = (client: Client) =>
      logged.find((line) => line.includes(`serial ${client.serial},`))?.split(": ")[2];
    const { point, fetch } = distributionPoint();
    const gateway = createMtlsGateway(new GatewayIdentity(async () => issuing));
    const target = new LocalGatewayTarget("test:mtls-gateway", gateway, {
      objects: new Bucket(),
      fetch,
    });
    try {
      // The distribution point is down: the gateway loads what it has and fails closed.
      await assert.rejects(target.sync(publication), (error: Error) => {
        assert.ok(error instanceof ChainCrlUnavailable, String(error));
        assert.match(error.message, /answered 404/);
        return true;
      });
      const rootCdp = `${ROOT_BASE}/crl/${rootCa.id}.crl`;
      assert.deepEqual(point.urls, [rootCdp]);
      const url = await gateway.listen();
      assert.equal(await get(url, chainPem, alice), "refused", "alice, no root CRL");
      assert.match(verdict(alice) ?? "", /^UNABLE_TO_GET_CRL /);

      // Up again: the catch-up reloads, and the issuing CA's CRL decides.
      point.body = await crl(rootCa);
      assert.equal(await target.refreshChainCrls(), true);
      assert.equal(await target.refreshChainCrls(), false, "nothing changed since");
      assert.equal(await get(url, chainPem, alice), 200, "alice");
      assert.equal(await get(url, chainPem, bob), "refused", "bob is on the issuing CA's CRL");
      assert.match(verdict(bob) ?? "", /^CERT_REVOKED /);

      // A publication now syncs without complaint.
      const result = await target.sync(publication);
      assert.deepEqual(result.actions, ["SetSecureContext"]);
      assert.equal(await get(url, chainPem, alice), 200, "alice after the sync");
    } finally {
      await gateway.close();
    }
  });

  test("takes the root's CRL from the bucket when it is published there", async () => {
    const { point, fetch } = distributionPoint();
    const bucket = new Bucket();
    bucket.objects.set(
      publicationKeys(rootCa.id).crlPem,
      new TextEncoder().encode(encodePem("X509 CRL", await crl(rootCa))),
    );
    const gateway = createMtlsGateway(new GatewayIdentity(async () => issuing));
    const target = new LocalGatewayTarget("test:mtls-gateway", gateway, { objects: bucket, fetch });
    try {
      await target.sync(publication);
      assert.deepEqual(point.urls, []);
      const url = await gateway.listen();
      assert.equal(await get(url, chainPem, alice), 200, "alice");
      assert.equal(await get(url, chainPem, bob), "refused", "bob");
    } finally {
      await gateway.close();
    }
  });
});
