/**
 * The `local` bench's reference: `cfssl serve` (Debian: golang-cfssl) with a P-256 CA of its
 * own and a signing profile for client authentication, signing the same CSR through
 * POST /api/v1/cfssl/sign, one synchronous call per certificate.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import type { Leaf } from "./local-leaf.ts";

export const CFSSL_INSTALL = "apt-get install -y golang-cfssl";

export interface Cfssl {
  readonly child: ChildProcess;
  readonly url: string;
  readonly issuer: X509Certificate;
  readonly version: string;
  /** What cfssl wrote to stderr (warnings and worse: -loglevel 2). */
  readonly stderr: string[];
}

/** cfssl's version line, or undefined when it is not installed. */
export function cfsslVersion(): string | undefined {
  const result = spawnSync("cfssl", ["version"], { encoding: "utf8" });
  if (result.error || result.status !== 0) return undefined;
  return /Version: (\S+)/.exec(result.stdout)?.[1] ?? "unknown";
}

export async function startCfssl(dir: string, version: string): Promise<Cfssl> {
  const initca = execFileSync("cfssl", ["gencert", "-initca", "-"], {
    input: JSON.stringify({ CN: "Bench cfssl CA", key: { algo: "ecdsa", size: 256 } }),
    stdio: ["pipe", "pipe", "ignore"],
  });
  const { cert, key } = JSON.parse(initca.toString("utf8")) as { cert: string; key: string };
  const caFile = join(dir, "ca.pem");
  const keyFile = join(dir, "ca-key.pem");
  const configFile = join(dir, "config.json");
  writeFileSync(caFile, cert);
  writeFileSync(keyFile, key, { mode: 0o600 });
  const usages = ["digital signature", "client auth"];
  writeFileSync(
    configFile,
    JSON.stringify({
      signing: {
        default: { expiry: "720h", usages },
        profiles: { client: { expiry: "720h", usages } },
      },
    }),
  );
  const port = await freePort();
  const child = spawn(
    "cfssl",
    [
      "serve",
      "-address",
      "127.0.0.1",
      "-port",
      String(port),
      "-ca",
      caFile,
      "-ca-key",
      keyFile,
      "-config",
      configFile,
      "-loglevel",
      "2",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const cfssl = {
    child,
    url: `http://127.0.0.1:${port}`,
    issuer: new X509Certificate(cert),
    version,
    stderr,
  };
  try {
    await waitForPort(port, child, stderr);
  } catch (error) {
    await stopCfssl(cfssl);
    throw error;
  }
  return cfssl;
}

/** One signature: the CSR in, the certificate's PEM out. */
export async function signCfssl(cfssl: Cfssl, leaf: Leaf): Promise<string> {
  const res = await fetch(`${cfssl.url}/api/v1/cfssl/sign`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ certificate_request: leaf.csrPem, profile: "client" }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`cfssl sign: ${res.status} ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as {
    success: boolean;
    errors: unknown[];
    result?: { certificate?: string };
  };
  if (!body.success || !body.result?.certificate)
    throw new Error(`cfssl sign: ${JSON.stringify(body.errors).slice(0, 200)}`);
  return body.result.certificate;
}

export async function stopCfssl(cfssl: Cfssl): Promise<void> {
  const { child } = cfssl;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: string[]): Promise<void> {
  const until = performance.now() + 15_000;
  while (performance.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`cfssl serve exited ${child.exitCode}:\n${stderr.join("")}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`cfssl serve is not listening on ${port} after 15 s:\n${stderr.join("")}`);
}
