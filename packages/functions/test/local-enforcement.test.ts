/**
 * The local gates of `npm start`, run as its own process: the ALB stand-in (`mtlsGateway`) and
 * the API Gateway stand-in with the real mTLS authorizer (`apiGateway`), both named in
 * runtime.json. A client certificate from the service gets in at both, with its subject,
 * serial and SANs passed on; once it is revoked through the API, within 2 s the ALB stand-in
 * refuses its handshake and the authorizer denies it (403), while another client still gets
 * in. Certificates from another CA (one even named like ours) and expired ones are refused in
 * the handshake at both; and after a restart both gates are up again with the CRL loaded.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { issueCertificate } from "@spca/core/certificate/issue";
import { normaliseSerial } from "@spca/core/certificate/serial";
import { checkCsr } from "@spca/core/csr/intake";
import { loadConfig } from "@spca/core/policy/config";
import { evaluatePolicy, findProfile } from "@spca/core/policy/evaluate";
import { DataFolderCa } from "@spca/core/store/data-folder-ca";
import { ecCsrFor, openssl, opensslEcCa } from "../../core/test/support/openssl.ts";
import {
  issueThrough,
  type Running,
  startService,
  stop,
  waitFor,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-enforcement-"));
after(() => rmSync(work, { recursive: true, force: true }));

const EMAIL = "dev@example.com";
/** What the issue allows between the revoke response and both gates refusing. */
const REVOCATION_DEADLINE_MS = 2_000;

interface Client {
  readonly name: string;
  readonly pem: string;
  readonly key: string;
  readonly serial?: string;
}

interface Gateways {
  readonly mtlsGateway: string;
  readonly apiGateway: string;
}

function gateways(s: Running): Gateways {
  const info = JSON.parse(readFileSync(join(s.dataDir, "runtime.json"), "utf8"));
  assert.match(info.mtlsGateway, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(info.apiGateway, /^https:\/\/127\.0\.0\.1:\d+$/);
  return { mtlsGateway: info.mtlsGateway, apiGateway: info.apiGateway };
}

/** A client certificate for `name` (CN and DNS SAN) through the API, automatic profile. */
async function issue(s: Running, name: string): Promise<Client> {
  const { serial, pem } = await issueThrough(s, ecCsrFor(work, name, "DER"), "client", EMAIL);
  return { name, serial, pem, key: readFileSync(join(work, `${name}.key`), "utf8") };
}

type Outcome =
  | { readonly status: number; readonly body: string }
  | { readonly error: { readonly code: string | undefined; readonly message: string } };

/**
 * One GET on a new connection (no agent, so no pooled socket and no TLS session to resume),
 * presenting `client`, trusting only the CA chain. The gateway's certificate is checked for
 * `servername`, or for the URL's IP address without one.
 */
function get(
  url: string,
  chainPem: string,
  client: Client | undefined,
  servername: string | null = "localhost",
) {
  return new Promise<Outcome>((resolve) => {
    const req = request(
      url,
      {
        ca: chainPem,
        ...(client ? { cert: client.pem, key: client.key } : {}),
        ...(servername ? { servername } : {}),
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
        res.on("error", (e: NodeJS.ErrnoException) =>
          resolve({ error: { code: e.code, message: e.message } }),
        );
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve({ error: { code: e.code, message: e.message } }),
    );
    req.setTimeout(15_000, () => req.destroy(new Error("no answer within 15 s")));
    req.end();
  });
}

const show = (o: Outcome) => JSON.stringify(o);

function assertOk(outcome: Outcome, when: string): { status: number; body: string } {
  assert.ok("status" in outcome, `${when}: ${show(outcome)}`);
  assert.equal(outcome.status, 200, `${when}: ${show(outcome)}`);
  return outcome;
}

/** What the service writes to stderr from now on (the gates log each refused handshake). */
function serviceLog(s: Running): { text: () => string } {
  let text = "";
  s.child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { text: () => text };
}

type Gate = "mtls gateway" | "api gateway stand-in";
const MTLS: Gate = "mtls gateway";
const API: Gate = "api gateway stand-in";
/** OpenSSL's verdict on a certificate signed by another key than its issuer name's. */
const FOREIGN = "UNABLE_TO_VERIFY_LEAF_SIGNATURE";

/**
 * The handshake was refused: Node's TLS server closes the connection without an alert, so the
 * client gets no HTTP answer, only the connection's end; the gate's log gives OpenSSL's verdict.
 */
async function assertRefused(
  outcome: Outcome,
  log: { text: () => string },
  gate: Gate,
  verdict: string,
  client: Client | undefined,
  when: string,
): Promise<void> {
  assert.ok("error" in outcome, `${when}: the handshake went through: ${show(outcome)}`);
  assert.match(`${outcome.error.code}`, /^(ECONNRESET|EPIPE)$/, `${when}: ${show(outcome)}`);
  const serial = client && normaliseSerial(new X509Certificate(client.pem).serialNumber);
  const why = client ? `${verdict} (serial ${serial}, CN=${client.name})` : verdict;
  const line = `${gate}: refused a client in the handshake: ${why}`;
  await waitFor(`"${line}" in the service's log`, async () =>
    log.text().includes(line) ? true : undefined,
  ).catch((error: Error) => {
    throw new Error(`${when}: ${error.message}; it holds:\n${log.text().slice(-4000)}`);
  });
}

/** The ALB stand-in's answer: the certificate as ALB passes it on. */
function assertGatewayReply(outcome: Outcome, client: Client, issuerCn: string, when: string) {
  const reply = JSON.parse(assertOk(outcome, when).body);
  assert.equal(reply.serial, client.serial, when);
  assert.equal(reply.subject, `CN=${client.name}`, when);
  assert.deepEqual(reply.sans, [{ type: "dns", value: client.name }], when);
  const headers = reply.headers as Record<string, string>;
  assert.equal(headers["X-Amzn-Mtls-Clientcert-Serial-Number"], client.serial, when);
  assert.equal(headers["X-Amzn-Mtls-Clientcert-Subject"], `CN=${client.name}`, when);
  // RFC 2253: the last RDN first ("O=Example,CN=..." as issued: CN then O).
  assert.equal(headers["X-Amzn-Mtls-Clientcert-Issuer"], `O=Example,CN=${issuerCn}`, when);
  assert.match(
    headers["X-Amzn-Mtls-Clientcert-Validity"]!,
    /^NotBefore=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ;NotAfter=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    when,
  );
  assert.equal(
    decodeURIComponent(headers["X-Amzn-Mtls-Clientcert-Leaf"]!).trim(),
    client.pem.trim(),
  );
}

/** The API Gateway stand-in's answer on allow: the authorizer's context. */
function assertAuthorized(outcome: Outcome, client: Client, when: string) {
  const context = JSON.parse(assertOk(outcome, when).body);
  assert.deepEqual(
    context,
    { subject: `CN=${client.name}`, sans: `DNS:${client.name}`, serial: client.serial },
    when,
  );
}

function assertForbidden(outcome: Outcome, when: string) {
  assert.ok("status" in outcome, `${when}: ${show(outcome)}`);
  assert.equal(outcome.status, 403, `${when}: ${show(outcome)}`);
  assert.deepEqual(JSON.parse(outcome.body), { message: "Forbidden" }, when);
}

/** A CA of our own making, named like the service's issuing CA, and a client under it. */
function foreignClient(): Client {
  const { key: rootKey, cert: rootPem } = opensslEcCa(
    work,
    "foreign-ca",
    "/CN=Example Private Issuing CA/O=Example",
    2,
  );
  const name = "mallory.example.internal";
  const csr = join(work, "mallory.csr");
  writeFileSync(csr, ecCsrFor(work, name, "PEM"));
  const extensions = join(work, "mallory.ext");
  writeFileSync(
    extensions,
    `basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:${name}\n`,
  );
  const pem = openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    rootPem,
    "-CAkey",
    rootKey,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    extensions,
  ]).toString();
  return { name, pem, key: readFileSync(join(work, `${name}.key`), "utf8") };
}

/** A client certificate from the service's own issuing CA that expired nine days ago. */
async function expiredClient(dataDir: string, configPath: string): Promise<Client> {
  const name = "expired.example.internal";
  const csr = checkCsr(ecCsrFor(work, name, "DER"));
  const config = loadConfig(configPath);
  const decision = evaluatePolicy(csr, "client", findProfile(config, "client"), 1);
  const authority = await new DataFolderCa(dataDir, config).issuingAuthority();
  const issued = await issueCertificate(
    authority,
    csr,
    decision,
    new Date(Date.now() - 10 * 86_400_000),
  );
  assert.ok(issued.notAfter.getTime() < Date.now());
  return { name, pem: issued.pem, key: readFileSync(join(work, `${name}.key`), "utf8") };
}

/** `openssl s_client` as a second TLS client: the HTTP status line, or why it failed. */
function sClient(url: string, chainPem: string, client: Client): { ok: boolean; output: string } {
  const { port } = new URL(url);
  const files = {
    ca: join(work, "s-ca.pem"),
    cert: join(work, "s-cert.pem"),
    key: join(work, "s-key.pem"),
  };
  writeFileSync(files.ca, chainPem);
  writeFileSync(files.cert, client.pem);
  writeFileSync(files.key, client.key);
  const result = spawnSync(
    "openssl",
    [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-servername",
      "localhost",
      "-verify_hostname",
      "localhost",
      "-verify_return_error",
      "-CAfile",
      files.ca,
      "-cert",
      files.cert,
      "-key",
      files.key,
      "-quiet",
    ],
    {
      input: "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  const output = `${result.stdout}${result.stderr}`;
  return { ok: /^HTTP\/1\.1 200 /m.test(result.stdout), output };
}

describe("the local gates: an ALB stand-in and an API Gateway stand-in with the mTLS authorizer", () => {
  test("accept a client, refuse it within 2 s of its revocation, refuse foreign and expired ones, and come back after a restart", {
    timeout: 240_000,
  }, async (t) => {
    const configPath = writeConfig(join(work, "pki.config.json"), (config) => {
      // Polling the API here is not what is being tested.
      config.api = { rateLimit: { burst: 1000, perSecond: 1000 } };
    });
    const dataDir = join(work, "data");
    // The authorizer confirms its CRL before every decision (a conditional request, 304 while
    // unchanged), so its 403 follows the publication itself, with the 2 s to spare on a busy
    // CI machine rather than spent waiting out a cache.
    const env = { PKI_CRL_MAX_AGE_SECONDS: "0" };
    let s = await startService(dataDir, { configPath, env });
    try {
      let log = serviceLog(s);
      let gw = gateways(s);
      const chainRes = await fetch(`${s.api}/v1/ca`);
      assert.equal(chainRes.status, 200);
      const chainPem = await chainRes.text();
      const issuerCn = "Example Private Issuing CA";

      const alice = await issue(s, "alice.example.internal");
      const bob = await issue(s, "bob.example.internal");

      // Accepted at both; the gateway's own certificate is valid for localhost and 127.0.0.1.
      assertGatewayReply(
        await get(gw.mtlsGateway, chainPem, alice),
        alice,
        issuerCn,
        "alice at the ALB stand-in",
      );
      assertGatewayReply(
        await get(gw.mtlsGateway, chainPem, alice, null),
        alice,
        issuerCn,
        "alice at the ALB stand-in, by IP",
      );
      assertAuthorized(
        await get(`${gw.apiGateway}/orders?x=1`, chainPem, alice),
        alice,
        "alice at the API Gateway stand-in",
      );
      assertAuthorized(
        await get(gw.apiGateway, chainPem, bob),
        bob,
        "bob at the API Gateway stand-in",
      );
      const before = sClient(gw.mtlsGateway, chainPem, alice);
      assert.ok(before.ok, before.output);

      // Revoke alice; measure from the revoke response until each gate refuses her.
      const revoke = await fetch(`${s.api}/v1/certificates/${alice.serial}/revoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
        body: JSON.stringify({ reason: "keyCompromise" }),
      });
      assert.equal(revoke.status, 200, await revoke.clone().text());
      const revokedAt = Date.now();
      let mtlsRefusedAfter: number | undefined;
      let apiForbiddenAfter: number | undefined;
      let last: { mtls?: Outcome; api?: Outcome } = {};
      while (
        (mtlsRefusedAfter === undefined || apiForbiddenAfter === undefined) &&
        Date.now() - revokedAt <= REVOCATION_DEADLINE_MS
      ) {
        const [mtls, api] = await Promise.all([
          mtlsRefusedAfter === undefined ? get(gw.mtlsGateway, chainPem, alice) : undefined,
          apiForbiddenAfter === undefined ? get(gw.apiGateway, chainPem, alice) : undefined,
        ]);
        const elapsed = Date.now() - revokedAt;
        last = { mtls, api };
        if (mtls && "error" in mtls) {
          mtlsRefusedAfter = elapsed;
          await assertRefused(mtls, log, MTLS, "CERT_REVOKED", alice, "alice, after revocation");
        } else if (mtls) assertGatewayReply(mtls, alice, issuerCn, "alice, before the new CRL");
        if (api && "status" in api && api.status === 403) {
          assertForbidden(api, "alice at the API Gateway stand-in");
          apiForbiddenAfter = elapsed;
        } else if (api) assertAuthorized(api, alice, "alice, before the authorizer's new CRL");
        await new Promise((r) => setTimeout(r, 25));
      }
      t.diagnostic(
        `after the revoke response: ALB stand-in refuses in ${mtlsRefusedAfter} ms, API Gateway stand-in answers 403 in ${apiForbiddenAfter} ms`,
      );
      assert.ok(
        mtlsRefusedAfter !== undefined && mtlsRefusedAfter <= REVOCATION_DEADLINE_MS,
        `the ALB stand-in still accepts alice ${REVOCATION_DEADLINE_MS} ms after the revocation: ${show(last.mtls!)}`,
      );
      assert.ok(
        apiForbiddenAfter !== undefined && apiForbiddenAfter <= REVOCATION_DEADLINE_MS,
        `the API Gateway stand-in still lets alice in ${REVOCATION_DEADLINE_MS} ms after the revocation: ${show(last.api!)}`,
      );
      const refused = sClient(gw.mtlsGateway, chainPem, alice);
      assert.equal(refused.ok, false, refused.output);
      assert.doesNotMatch(refused.output, /HTTP\/1\.1/, refused.output);
      // Bob is not revoked: the new CRL is loaded, not a gate that refuses everyone.
      assertGatewayReply(
        await get(gw.mtlsGateway, chainPem, bob),
        bob,
        issuerCn,
        "bob after the revocation",
      );
      assertAuthorized(await get(gw.apiGateway, chainPem, bob), bob, "bob after the revocation");
      const bobByOpenssl = sClient(gw.mtlsGateway, chainPem, bob);
      assert.ok(bobByOpenssl.ok, bobByOpenssl.output);

      // Another CA's certificate, its CA named like ours: refused in both handshakes.
      const mallory = foreignClient();
      for (const [url, gate] of [
        [gw.mtlsGateway, MTLS],
        [gw.apiGateway, API],
      ] as const) {
        const outcome = await get(url, chainPem, mallory);
        await assertRefused(outcome, log, gate, FOREIGN, mallory, `foreign at ${gate}`);
      }

      // No certificate at all, the same.
      for (const [url, gate] of [
        [gw.mtlsGateway, MTLS],
        [gw.apiGateway, API],
      ] as const) {
        const outcome = await get(url, chainPem, undefined);
        const why = "no client certificate";
        await assertRefused(outcome, log, gate, why, undefined, `no certificate at ${gate}`);
      }

      // Our own CA's certificate, expired: refused in both handshakes too.
      const expired = await expiredClient(dataDir, configPath);
      for (const [url, gate] of [
        [gw.mtlsGateway, MTLS],
        [gw.apiGateway, API],
      ] as const) {
        const outcome = await get(url, chainPem, expired);
        await assertRefused(outcome, log, gate, "CERT_HAS_EXPIRED", expired, `expired at ${gate}`);
      }

      // A restart: both gates are up again, on the CRL that lists alice from the start.
      await stop(s);
      s = await startService(dataDir, { configPath, env });
      log = serviceLog(s);
      gw = gateways(s);
      const aliceAgain = await get(gw.mtlsGateway, chainPem, alice);
      await assertRefused(aliceAgain, log, MTLS, "CERT_REVOKED", alice, "alice after the restart");
      assertForbidden(await get(gw.apiGateway, chainPem, alice), "alice after the restart");
      assertGatewayReply(
        await get(gw.mtlsGateway, chainPem, bob),
        bob,
        issuerCn,
        "bob after the restart",
      );
      assertAuthorized(await get(gw.apiGateway, chainPem, bob), bob, "bob after the restart");
    } finally {
      await stop(s);
    }
  });
});
