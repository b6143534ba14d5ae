/**
 * Child process: issuance throughput for one key type, next to the raw node:crypto work it
 * cannot avoid (one CA signature, one CSR signature check). Run pinned to one core; each
 * figure is the best of three one-second windows.
 * Usage: node bench/issuance.ts KEY_SPEC [SIGNING_ALGORITHM]
 * Prints one JSON line: { issued, reference } in operations per second.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueCertificate } from "@spca/core/certificate/issue";
import { checkCsr } from "@spca/core/csr/intake";
import { parseCsrStructure } from "@spca/core/csr/parse";
import { evaluatePolicy, findProfile } from "@spca/core/policy/evaluate";
import type { KeySpec, SigningAlgorithm } from "@spca/core/signer/algorithms";
import { generateKey } from "@spca/core/signer/local-signer";
import { benchCa } from "./bench-ca.ts";

const keySpec = process.argv[2] as KeySpec;
const signingAlgorithm = process.argv[3] as SigningAlgorithm | undefined;
const { dir, ca, authority } = await benchCa(keySpec, signingAlgorithm);

// The leaf key has the CA's key type; its CSR comes from OpenSSL, as a client's would.
const leafKeyFile = join(dir, "leaf.key.pem");
writeFileSync(
  leafKeyFile,
  generateKey(keySpec).privateKey.export({ format: "pem", type: "pkcs8" }),
);
const csrDer = new Uint8Array(
  execFileSync("openssl", [
    "req",
    "-new",
    "-key",
    leafKeyFile,
    "-sha256",
    "-outform",
    "DER",
    "-subj",
    "/CN=bench.example.internal",
    "-addext",
    "subjectAltName=DNS:bench.example.internal,DNS:api.example.internal,IP:10.1.2.3",
  ]),
);
const profile = findProfile(ca.config, "server");

async function issueOnce(): Promise<number> {
  const checked = checkCsr(csrDer);
  const decision = evaluatePolicy(checked, "server", profile);
  return (await issueCertificate(authority, checked, decision)).der.length;
}

// The reference: the same CA key signing a TBS-sized message and the leaf key's CSR signature
// checked once, with every key object prepared in advance (the least any CA must do).
const tbsSized = new Uint8Array((await issueOnce()) - 100);
const caKey = createPrivateKey(readFileSync(join(dir, "keys", "issuing.key.pem")));
const { nodeOptions, hash } = authority.algorithm;
const csr = parseCsrStructure(csrDer);
const leafPublic = createPublicKey({ key: Buffer.from(csr.spki), format: "der", type: "spki" });
function referenceOnce(): void {
  sign(hash, tbsSized, { key: caKey, ...nodeOptions });
  if (!verify("sha256", csr.info, leafPublic, csr.signature))
    throw new Error("reference verify failed");
}

/**
 * Operations per second: the best of several one-second windows. Other work on a shared
 * machine can only slow a window down, so the fastest is the truest figure for the code; both
 * sides are measured the same way, alternately, so they meet the same conditions.
 */
async function rates(
  ops: Record<string, () => unknown>,
  windows: number,
): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (const op of Object.values(ops)) {
    const warmUntil = performance.now() + 300;
    while (performance.now() < warmUntil) await op();
  }
  for (let w = 0; w < windows; w++) {
    for (const [name, op] of Object.entries(ops)) {
      let count = 0;
      const start = performance.now();
      const until = start + 1000;
      while (performance.now() < until) {
        for (let i = 0; i < 20; i++) await op();
        count += 20;
      }
      best[name] = Math.max(best[name] ?? 0, count / ((performance.now() - start) / 1000));
    }
  }
  return best;
}

const { issued, reference } = await rates({ issued: issueOnce, reference: referenceOnce }, 3);
console.log(JSON.stringify({ issued, reference }));
