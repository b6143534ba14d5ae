/**
 * A real mutual-TLS handshake against certificates from `npm start`'s runtime, run as its own
 * process: the service issues a server certificate and two client certificates, a Node `tls`
 * server checks its clients against the CA chain and the CRLs fetched from the distribution
 * points the certificates name, and once one client certificate is revoked through the API and
 * the republished CRL is loaded, that client's handshake fails with "certificate revoked"
 * while the other still connects.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import tls from "node:tls";
import { caIdOfChainPem } from "@spca/core/ca/authority";
import { normaliseSerial } from "@spca/core/certificate/serial";
import { encodePem } from "@spca/core/encoding/pem";
import { ecCsrFor, openssl } from "../../core/test/support/openssl.ts";
import {
  crlStatus,
  issueThrough,
  type Running,
  startService,
  stop,
  waitFor,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-mtls-"));
after(() => rmSync(work, { recursive: true, force: true }));

const SERVER_NAME = "localhost.example.internal";
const EMAIL = "dev@example.com";

interface Issued {
  readonly serial: string;
  /** The certificate alone, PEM. */
  readonly pem: string;
  /** Its private key, PEM (made by OpenSSL with the CSR). */
  readonly key: string;
}

/** A fresh P-256 key and CSR for `name` (CN and DNS SAN), submitted and fetched once issued. */
async function issue(s: Running, name: string, profile: string): Promise<Issued> {
  const { serial, pem } = await issueThrough(s, ecCsrFor(work, name, "DER"), profile, EMAIL);
  return { serial, pem, key: readFileSync(join(work, `${name}.key`), "utf8") };
}

/** The URI of a certificate's CRL distribution point, as OpenSSL reads it. */
function crlDistributionPoint(pem: string): string {
  const text = openssl(["x509", "-noout", "-ext", "crlDistributionPoints"], pem).toString();
  const uris = [...text.matchAll(/URI:(\S+)/g)].map((m) => m[1]!);
  assert.equal(uris.length, 1, text);
  return uris[0]!;
}

/**
 * Fetches a published CRL from a distribution point URL as a relying party would: the URL names
 * the running service (local mode's links follow the port it listens on). Returns the CRL as
 * PEM, which is what Node's `crl` option takes.
 */
async function fetchCrl(s: Running, url: string): Promise<{ der: Buffer; pem: string }> {
  const located = new URL(url);
  assert.equal(located.origin, new URL(s.api).origin, `${url} does not name the service`);
  const res = await fetch(url);
  assert.equal(res.status, 200, `${located.pathname}: ${await res.clone().text()}`);
  assert.equal(res.headers.get("content-type"), "application/pkix-crl");
  const der = Buffer.from(await res.arrayBuffer());
  return { der, pem: encodePem("X509 CRL", der) };
}

const sha256 = (der: Buffer) => createHash("sha256").update(der).digest("hex");

/** A CRL's number and the serials it lists, as OpenSSL reads them. */
function crlContents(der: Buffer): { number: bigint; serials: string[] } {
  const text = openssl(["crl", "-inform", "DER", "-noout", "-text"], der).toString();
  const number = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text);
  assert.ok(number, text);
  const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map(
    (m) => normaliseSerial(m[1]!)!,
  );
  return { number: BigInt(number[1]!), serials };
}

/** What the server saw of one connection. */
type ServerSide =
  | { readonly outcome: "secure"; readonly authorized: boolean; readonly peerSerial?: string }
  | {
      readonly outcome: "tlsClientError";
      readonly error: Error;
      /** OpenSSL's verdict on the client's certificate, as Node names it. */
      readonly authorizationError: string | undefined;
    };

/** What the client saw. */
interface ClientSide {
  /** Whether the client completed its side of the handshake and trusted the server. */
  readonly secureConnected: boolean;
  readonly authorized: boolean;
  readonly reply: string;
  readonly error?: Error;
}

/**
 * One connection from a client presenting `client` to `server`, which greets an authorized
 * client by its certificate's serial and hangs up.
 */
async function handshake(
  server: tls.Server,
  chainPem: string,
  client: Issued,
): Promise<{ server: ServerSide; client: ClientSide }> {
  const serverSide = new Promise<ServerSide>((resolve) => {
    const onSecure = (socket: tls.TLSSocket) => {
      server.off("tlsClientError", onError);
      const peer = socket.getPeerX509Certificate();
      resolve({
        outcome: "secure",
        authorized: socket.authorized,
        ...(peer ? { peerSerial: normaliseSerial(peer.serialNumber) } : {}),
      });
    };
    const onError = (error: Error, socket: tls.TLSSocket) => {
      server.off("secureConnection", onSecure);
      resolve({
        outcome: "tlsClientError",
        error,
        authorizationError: socket.authorizationError as unknown as string | undefined,
      });
    };
    server.once("secureConnection", onSecure);
    server.once("tlsClientError", onError);
  });
  const { port } = server.address() as AddressInfo;
  const clientSide = new Promise<ClientSide>((resolve) => {
    let secureConnected = false;
    let authorized = false;
    let reply = "";
    let error: Error | undefined;
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      // The server's certificate names this DNS name (127.0.0.1 is outside the profile's IP
      // ranges); the hostname is checked against it as usual.
      servername: SERVER_NAME,
      ca: chainPem,
      cert: client.pem,
      key: client.key,
    });
    socket.setEncoding("utf8");
    socket.on("secureConnect", () => {
      secureConnected = true;
      authorized = socket.authorized;
    });
    socket.on("data", (chunk: string) => (reply += chunk));
    socket.on("error", (e) => (error = e));
    socket.on("close", () =>
      resolve({ secureConnected, authorized, reply, ...(error ? { error } : {}) }),
    );
  });
  const [s, c] = await Promise.all([serverSide, clientSide]);
  return { server: s, client: c };
}

function assertAccepted(
  result: { server: ServerSide; client: ClientSide },
  client: Issued,
  when: string,
) {
  const detail = `${when}: ${JSON.stringify(result, (_k, v) => (v instanceof Error ? v.message : v))}`;
  assert.equal(result.server.outcome, "secure", detail);
  assert.ok(result.server.outcome === "secure" && result.server.authorized, detail);
  assert.equal(result.server.peerSerial, client.serial, detail);
  assert.ok(result.client.authorized, detail);
  assert.equal(result.client.reply, `hello ${client.serial}\n`, detail);
  assert.equal(result.client.error, undefined, detail);
}

/** `openssl verify` of a client certificate against the chain and every CRL of it. */
function opensslVerifyWithCrls(chainPem: string, crlPems: readonly string[], leafPem: string) {
  const caFile = join(work, "verify-chain.pem");
  const crlFile = join(work, "verify-crls.pem");
  const leafFile = join(work, "verify-leaf.pem");
  writeFileSync(caFile, chainPem);
  writeFileSync(crlFile, crlPems.join(""));
  writeFileSync(leafFile, leafPem);
  const result = spawnSync(
    "openssl",
    [
      "verify",
      "-x509_strict",
      "-purpose",
      "sslclient",
      "-crl_check_all",
      "-CAfile",
      caFile,
      "-CRLfile",
      crlFile,
      leafFile,
    ],
    { encoding: "utf8" },
  );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

describe("mutual TLS with certificates and CRLs from the local service", () => {
  test("a client certificate is accepted, then refused as revoked once the new CRL is loaded", {
    timeout: 180_000,
  }, async (t) => {
    const configPath = writeConfig(join(work, "pki.config.json"), (config) => {
      // The server certificate is issued without waiting for an approver.
      config.profiles.server!.approval = { mode: "automatic" };
      // Polling the API here is not what is being tested.
      config.api = { rateLimit: { burst: 1000, perSecond: 1000 } };
    });
    const s = await startService(join(work, "data"), { configPath });
    let server: tls.Server | undefined;
    try {
      const serverCert = await issue(s, SERVER_NAME, "server");
      const alice = await issue(s, "alice.example.internal", "client");
      const bob = await issue(s, "bob.example.internal", "client");

      // The trust anchor and intermediate: GET /v1/ca is the issuing CA, then the root.
      const chainRes = await fetch(`${s.api}/v1/ca`);
      assert.equal(chainRes.status, 200);
      const chainPem = await chainRes.text();
      const chain = chainPem
        .split(/(?<=-----END CERTIFICATE-----\n?)/)
        .filter((b) => b.includes("BEGIN CERTIFICATE"));
      assert.equal(chain.length, 2, chainPem);
      const [issuingPem, rootPem] = chain as [string, string];
      assert.ok(new X509Certificate(rootPem).checkIssued(new X509Certificate(rootPem)));
      assert.ok(new X509Certificate(alice.pem).checkIssued(new X509Certificate(issuingPem)));

      // The CRLs, from the distribution points the certificates name: the client
      // certificate's (the issuing CA's CRL) and the issuing CA certificate's (the root's).
      const status = await crlStatus(s);
      const leafCdp = crlDistributionPoint(alice.pem);
      const issuingCdp = crlDistributionPoint(issuingPem);
      assert.equal(new URL(leafCdp).pathname, `/crl/${status.caId}.crl`);
      assert.equal(crlDistributionPoint(serverCert.pem), leafCdp);
      const rootId = caIdOfChainPem(rootPem);
      assert.notEqual(rootId, status.caId);
      assert.equal(new URL(issuingCdp).pathname, `/crl/${rootId}.crl`);
      const issuingCrl = await fetchCrl(s, leafCdp);
      const rootCrl = await fetchCrl(s, issuingCdp);
      assert.deepEqual(crlContents(issuingCrl.der), {
        number: BigInt(status.number),
        serials: [],
      });
      assert.equal(status.sha256, sha256(issuingCrl.der));
      assert.deepEqual(crlContents(rootCrl.der).serials, []);
      // The PEM copies next to them hold the same CRLs.
      for (const [id, crl] of [
        [status.caId, issuingCrl],
        [rootId, rootCrl],
      ] as const) {
        const pem = await fetch(`${s.api}/crl/${id}.crl.pem`);
        assert.equal(pem.status, 200);
        assert.equal((await pem.text()).trim(), crl.pem.trim());
      }

      const context = (crls: readonly string[]): tls.SecureContextOptions => ({
        key: serverCert.key,
        cert: serverCert.pem + issuingPem,
        ca: chainPem,
        crl: [...crls],
      });
      server = tls.createServer({
        ...context([issuingCrl.pem, rootCrl.pem]),
        requestCert: true,
        rejectUnauthorized: true,
      });
      server.on("secureConnection", (socket) => {
        const peer = socket.getPeerX509Certificate();
        socket.end(`hello ${peer && normaliseSerial(peer.serialNumber)}\n`);
      });
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(0, "127.0.0.1", () => resolve());
      });

      // Before the revocation both clients connect, and both sides are authorized.
      assertAccepted(await handshake(server, chainPem, alice), alice, "alice, before");
      assertAccepted(await handshake(server, chainPem, bob), bob, "bob, before");
      assert.ok(opensslVerifyWithCrls(chainPem, [issuingCrl.pem, rootCrl.pem], alice.pem).ok);

      // Revoke alice's certificate through the API; a new CRL is out within 2 s.
      const revoke = await fetch(`${s.api}/v1/certificates/${alice.serial}/revoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "keyCompromise" }),
      });
      assert.equal(revoke.status, 200, await revoke.clone().text());
      const revokedAt = Date.now();
      const revocation = (await revoke.json()) as { serial: string; reason: string };
      assert.equal(revocation.serial, alice.serial);
      assert.equal(revocation.reason, "keyCompromise");
      const republished = await waitFor("a new CRL", async () => {
        const now = await crlStatus(s);
        return BigInt(now.number) > BigInt(status.number) ? now : undefined;
      });
      const elapsed = Date.now() - revokedAt;
      assert.ok(elapsed <= 2_000, `the new CRL came ${elapsed} ms after the revocation`);
      t.diagnostic(`CRL ${republished.number} published ${elapsed} ms after the revoke response`);
      assert.equal(republished.caId, status.caId);

      // The server still holds the old CRL: alice still gets in.
      assertAccepted(await handshake(server, chainPem, alice), alice, "alice, old CRL");

      // A relying party fetches the new CRL from the same distribution point.
      const newIssuingCrl = await fetchCrl(s, leafCdp);
      const contents = crlContents(newIssuingCrl.der);
      assert.equal(contents.number, BigInt(republished.number));
      assert.equal(republished.entries, 1);
      assert.equal(republished.sha256, sha256(newIssuingCrl.der));
      assert.deepEqual(contents.serials, [alice.serial]);
      const newRootCrl = await fetchCrl(s, issuingCdp);

      server.setSecureContext(context([newIssuingCrl.pem, newRootCrl.pem]));

      // Alice's handshake now fails on the server's check of her certificate.
      const refused = await handshake(server, chainPem, alice);
      const detail = JSON.stringify(refused, (_k, v) => (v instanceof Error ? v.message : v));
      assert.equal(refused.server.outcome, "tlsClientError", detail);
      assert.ok(refused.server.outcome === "tlsClientError");
      assert.equal(refused.server.authorizationError, "CERT_REVOKED", detail);
      assert.equal(refused.client.reply, "", detail);
      // Bob, not revoked, still connects with the new CRL loaded.
      assertAccepted(await handshake(server, chainPem, bob), bob, "bob, new CRL");

      // OpenSSL's own verdict on the same inputs.
      const crls = [newIssuingCrl.pem, newRootCrl.pem];
      const revokedVerdict = opensslVerifyWithCrls(chainPem, crls, alice.pem);
      assert.equal(revokedVerdict.ok, false, revokedVerdict.output);
      assert.match(revokedVerdict.output, /certificate revoked/);
      const bobVerdict = opensslVerifyWithCrls(chainPem, crls, bob.pem);
      assert.ok(bobVerdict.ok, bobVerdict.output);
    } finally {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      await stop(s);
    }
  });
});
