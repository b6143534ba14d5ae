/**
 * Certificates, CRLs and a publication server for the revocation authorizer's tests: a real
 * two-tier data-folder CA (the bundle is its chain, as the truststore is), leaves it issued
 * (good, revoked, expired, not yet valid, and one OpenSSL signed with its key carrying IP and
 * email SANs), a leaf of a foreign OpenSSL CA, and a leaf of an impostor CA that has this CA's
 * exact name but its own key. Times are relative to `issuedAt`; tests pass `at(…)` as `now`.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { issueCertificate } from "../../src/certificate/issue.ts";
import { checkCsr } from "../../src/csr/intake.ts";
import { evaluatePolicy, findProfile } from "../../src/policy/evaluate.ts";
import type { DataFolderCa } from "../../src/store/data-folder-ca.ts";
import { ecCsrFor, openssl, opensslEcCa } from "./openssl.ts";
import { scratchDir } from "./scratch.ts";
import { tempCa } from "./test-ca.ts";

export interface Leaf {
  readonly pem: string;
  readonly serial: string;
}

export interface MtlsFixture {
  readonly ca: DataFolderCa;
  /** When the good leaves were issued (whole seconds); `at(ms)` is that plus `ms`. */
  readonly issuedAt: Date;
  at(ms: number): Date;
  /** The issuing and root CA certificates, PEM: what truststore.pem holds. */
  readonly bundlePem: string;
  readonly good: Leaf;
  readonly revoked: Leaf;
  /** Issued but not revoked: tests revoke it to see a new CRL picked up. */
  readonly spare: Leaf;
  /** Signed by this CA with OpenSSL: DNS, IP (v4 and v6) and email SANs. */
  readonly manySans: Leaf;
  /** Valid for 30 days, 400 days before issuedAt. */
  readonly expired: Leaf;
  /** Valid from 10 days after issuedAt. */
  readonly notYetValid: Leaf;
  /** From an OpenSSL CA named "CN=Foreign Test CA". */
  readonly foreign: Leaf;
  /** From an OpenSSL CA with this CA's exact subject, without key identifiers. */
  readonly nameTwin: Leaf;
  /** From a data-folder CA with this CA's exact subject but another key. */
  readonly impostor: Leaf;
  /** The impostor CA, whose CRLs carry this CA's issuer name. */
  readonly impostorCa: DataFolderCa;
  /** A fresh CRL from this CA (the next cRLNumber), thisUpdate `now`, nextUpdate 7 days on. */
  crl(now: Date): Promise<Uint8Array>;
}

const DAY = 86_400_000;

export async function mtlsFixture(): Promise<MtlsFixture> {
  const ca = tempCa();
  await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
  const impostorCa = tempCa();
  await impostorCa.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: false });
  const work = scratchDir("pki-mtls-");
  const authority = await ca.issuingAuthority();
  const issue = async (name: string, from = ca) => {
    const issued = await from.issue(ecCsrFor(work, name), "client");
    return { pem: issued.pem, serial: issued.serialHex };
  };
  const issueAt = async (name: string, now: Date, days: number) => {
    const checked = checkCsr(ecCsrFor(work, name));
    const decision = evaluatePolicy(checked, "client", findProfile(ca.config, "client"), days);
    const issued = await issueCertificate(authority, checked, decision, now);
    return { pem: issued.pem, serial: issued.serialHex };
  };

  const good = await issue("good.example.internal");
  const revoked = await issue("revoked.example.internal");
  await ca.revoke(revoked.serial, "keyCompromise");
  const spare = await issue("spare.example.internal");
  const impostor = await issue("impostor.example.internal", impostorCa);
  const manySans = opensslLeaf(
    work,
    "sans",
    join(ca.dir, "ca", "issuing.pem"),
    join(ca.dir, "keys", "issuing.key.pem"),
    [
      "authorityKeyIdentifier=keyid",
      "subjectAltName=DNS:sans.example.internal,IP:10.0.0.1,IP:2001:db8::1,email:ops@example.com",
    ],
  );
  const foreign = opensslCaLeaf(work, "foreign", "/CN=Foreign Test CA", []);
  // No key identifiers: the names match, so only the signature tells it apart.
  const nameTwin = opensslCaLeaf(work, "twin", "/CN=Example Private Issuing CA/O=Example", [
    "authorityKeyIdentifier=none",
    "subjectKeyIdentifier=none",
  ]);
  // A minute after the last certificate's notBefore (OpenSSL's are not backdated).
  const issuedAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
  return {
    ca,
    issuedAt,
    at: (ms) => new Date(issuedAt.getTime() + ms),
    bundlePem: await ca.chainPem(),
    good,
    revoked,
    spare,
    manySans,
    expired: await issueAt(
      "expired.example.internal",
      new Date(issuedAt.getTime() - 400 * DAY),
      30,
    ),
    notYetValid: await issueAt(
      "early.example.internal",
      new Date(issuedAt.getTime() + 10 * DAY),
      30,
    ),
    foreign,
    nameTwin,
    impostor,
    impostorCa,
    crl: (now) => ca.crl("issuing", now),
  };
}

/** A leaf for `name` signed by the CA in caFile/keyFile with OpenSSL, with `extensions`. */
function opensslLeaf(
  dir: string,
  name: string,
  caFile: string,
  keyFile: string,
  extensions: readonly string[],
): Leaf {
  const csr = join(dir, `${name}.csr`);
  writeFileSync(csr, ecCsrFor(dir, `${name}.example.internal`));
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=clientAuth",
      ...extensions,
      "",
    ].join("\n"),
  );
  const pem = openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    caFile,
    "-CAkey",
    keyFile,
    "-days",
    "30",
    "-sha256",
    "-set_serial",
    `0x${createHash("sha256").update(name).digest("hex").slice(0, 30)}`,
    "-extfile",
    ext,
  ]).toString();
  const serial = openssl(["x509", "-noout", "-serial"], pem).toString().trim().split("=")[1]!;
  return { pem, serial: serial.toLowerCase().replace(/^(00)+/, "") };
}

/** A leaf of a new self-signed OpenSSL CA named `subject`, with `extensions` besides a DNS SAN. */
function opensslCaLeaf(
  dir: string,
  name: string,
  subject: string,
  extensions: readonly string[],
): Leaf {
  const { key, cert } = opensslEcCa(dir, `${name}-ca`, subject, 30);
  return opensslLeaf(dir, name, cert, key, [
    `subjectAltName=DNS:${name}.example.internal`,
    ...extensions,
  ]);
}

/**
 * An HTTP server publishing objects the way S3 and CloudFront do: a strong ETag, and 304 to a
 * matching If-None-Match. It records every request's path and status.
 */
export interface PublicationServer {
  url(name: string): string;
  set(name: string, body: Uint8Array | string): void;
  /** Answer every request with this status (e.g. 500) until set back to undefined. */
  failWith: number | undefined;
  readonly requests: { path: string; status: number }[];
  close(): Promise<void>;
}

export async function startPublicationServer(): Promise<PublicationServer> {
  const objects = new Map<string, { body: Buffer; etag: string }>();
  const requests: { path: string; status: number }[] = [];
  const state: { failWith: number | undefined } = { failWith: undefined };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    const object = objects.get(path);
    const status =
      state.failWith ?? (!object ? 404 : req.headers["if-none-match"] === object.etag ? 304 : 200);
    requests.push({ path, status });
    if (status !== 200) {
      res.writeHead(status, object ? { etag: object.etag } : {}).end();
      return;
    }
    res
      .writeHead(200, { etag: object!.etag, "content-length": object!.body.length })
      .end(object!.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    set(name, body) {
      const bytes = Buffer.from(body);
      const etag = `"${createHash("sha256").update(bytes).digest("hex").slice(0, 32)}"`;
      objects.set(`/${name}`, { body: bytes, etag });
    },
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
