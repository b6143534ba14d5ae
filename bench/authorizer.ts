/**
 * The `authorizer` bench's set-up: a P-256 CA, LEAVES client certificates from it of which half
 * are revoked, a CRL of ENTRIES entries (the bench's deterministic serials with the revoked
 * leaves spread among them), and an HTTP server that publishes the CRL and the CA bundle with
 * ETags, as S3 and CloudFront do. Ours (authorizer-decide.ts) and Python `cryptography`
 * (authorizer_reference.py, under the interpreter authorizer-python.ts picks) then run as child
 * processes against the same server and files.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { buildCrl, type RevokedEntry } from "@spca/core/crl/build";
import { encodePem } from "@spca/core/encoding/pem";
import { benchCa } from "./bench-ca.ts";
import { makeLeaf } from "./local-leaf.ts";
import { benchEntries } from "./revoked-entries.ts";
import type { CleanupStep } from "./scratch.ts";

export const ENTRIES = 100_000;
export const LEAVES = 50;

export interface AuthorizerSetUp {
  readonly crlUrl: string;
  readonly bundleUrl: string;
  readonly bundleFile: string;
  /** JSON: [{pem, revoked}], what both children decide on. */
  readonly leavesFile: string;
  readonly crlBytes: number;
  readonly entries: number;
}

export async function setUpAuthorizerBench(
  work: string,
  cleanups: CleanupStep[],
): Promise<AuthorizerSetUp> {
  const { dir, ca, authority } = await benchCa("ECC_NIST_P256");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // One CSR signed again and again: each certificate has its own random serial.
  const { csrPem } = makeLeaf(work);
  const leaves: { pem: string; revoked: boolean; serial: string }[] = [];
  for (let i = 0; i < LEAVES; i++) {
    const issued = await ca.issue(csrPem, "client");
    leaves.push({ pem: issued.pem, revoked: i % 2 === 1, serial: issued.serialHex });
  }
  const revoked = leaves.filter((l) => l.revoked);
  const now = new Date();
  const crl = await buildCrl(authority, {
    number: 1n,
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + 7 * 86400_000),
    entries: spread(
      benchEntries(ENTRIES - revoked.length),
      revoked.map((l) => l.serial),
    ),
  });
  const bundle = encodePem("CERTIFICATE", authority.certificate.der);
  const bundleFile = join(work, "truststore.pem");
  const leavesFile = join(work, "leaves.json");
  writeFileSync(bundleFile, bundle);
  writeFileSync(leavesFile, JSON.stringify(leaves.map(({ pem, revoked }) => ({ pem, revoked }))));

  const server = await publish({ "/ca.crl": crl, "/truststore.pem": Buffer.from(bundle) });
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  return {
    crlUrl: `http://127.0.0.1:${port}/ca.crl`,
    bundleUrl: `http://127.0.0.1:${port}/truststore.pem`,
    bundleFile,
    leavesFile,
    crlBytes: crl.length,
    entries: ENTRIES,
  };
}

/** The bench entries with one revoked leaf every ENTRIES/revoked entries, not all at the end. */
function* spread(entries: Iterable<RevokedEntry>, serials: readonly string[]) {
  const every = Math.floor(ENTRIES / (serials.length + 1));
  let i = 0;
  let next = 0;
  for (const entry of entries) {
    if (++i % every === 0 && next < serials.length)
      yield {
        serialHex: serials[next++]!,
        revokedAt: entry.revokedAt,
        reason: "keyCompromise" as const,
      };
    yield entry;
  }
  while (next < serials.length)
    yield {
      serialHex: serials[next++]!,
      revokedAt: 1_767_225_600,
      reason: "keyCompromise" as const,
    };
}

/** Serves fixed objects with a strong ETag; a matching If-None-Match gets 304. */
async function publish(objects: Record<string, Uint8Array>): Promise<Server> {
  const etags = Object.fromEntries(
    Object.entries(objects).map(([path, body]) => [
      path,
      `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`,
    ]),
  );
  const server = createServer((req, res) => {
    const body = objects[req.url ?? ""];
    const etag = etags[req.url ?? ""];
    if (!body || !etag) res.writeHead(404).end();
    else if (req.headers["if-none-match"] === etag) res.writeHead(304, { etag }).end();
    else res.writeHead(200, { etag, "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/**
 * Runs a child that prints one JSON line, without blocking this process (its HTTP server must
 * keep answering the child).
 */
export function spawnJson<T>(command: readonly string[]): Promise<T> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`${command.join(" ")} exited ${code}: ${Buffer.concat(err).toString()}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString().trim().split("\n").at(-1)!) as T);
      } catch (error) {
        reject(error);
      }
    });
  });
}
