/**
 * The hostile-CSR corpus: malformed and malicious certificate requests, each of which
 * checkCsr must refuse with one specific, stable error code (and a message), without a crash
 * and without a hang; plus positive controls it must accept. OpenSSL makes every request it
 * can make; the rest are built byte by byte (support/csr-builder.ts). Everything is generated
 * at test time into a temporary folder.
 *
 * checkCsr runs in a worker thread so that a hang is a failed case (the worker is terminated
 * after CASE_TIME_LIMIT_MS) instead of a stuck test run, and so that a crash (an exception
 * that is not a PkiError, or the worker dying) is reported as such.
 */
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { OID } from "../src/der/oids.ts";
import { DerReader, Tag } from "../src/der/reader.ts";
import {
  bigInteger,
  bitString,
  type Der,
  NULL,
  octetString,
  oid,
  printableString,
  sequence,
  set,
  tlv,
  utf8String,
} from "../src/der/writer.ts";
import { encodePem } from "../src/encoding/pem.ts";
import type { ErrorCode } from "../src/errors.ts";
import type { SigningAlgorithm } from "../src/signer/algorithms.ts";
import {
  attribute,
  attributes,
  atv,
  buildCsr,
  cnName,
  dnsName,
  extension,
  extensionRequest,
  ipName,
  name,
  rawString,
  rdn,
  sanExtension,
  signerFor,
} from "./support/csr-builder.ts";
import { openssl, opensslReq, writeOpensslConfig } from "./support/openssl.ts";
import {
  exponentThreeKey,
  fermatKey,
  randomBetween,
  rocaKey,
  rsaKeyFromPrimes,
  smallFactorKey,
} from "./support/rsa-keys.ts";

const CASE_TIME_LIMIT_MS = 2_000;
const HOST = "www.example.com";

// ------------------------------------------------------------------------------------------
// checkCsr in a worker, with a time limit

type Verdict =
  | {
      readonly kind: "accepted";
      readonly ms: number;
      readonly signatureAlgorithm: string;
      readonly keyDescription: string;
      readonly sans: readonly string[];
      readonly commonName: string | undefined;
    }
  | {
      readonly kind: "rejected";
      readonly ms: number;
      readonly pkiError: boolean;
      readonly name: string;
      readonly code: unknown;
      readonly message: string;
      readonly stack: string;
    }
  | { readonly kind: "hung" }
  | { readonly kind: "crashed"; readonly error: string };

const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
Promise.all([import(workerData.intake), import(workerData.errors)]).then(([intake, errors]) => {
  parentPort.on("message", ({ id, input }) => {
    const started = performance.now();
    let verdict;
    try {
      const csr = intake.checkCsr(input);
      verdict = {
        kind: "accepted",
        ms: performance.now() - started,
        signatureAlgorithm: csr.signatureAlgorithm,
        keyDescription: csr.keyDescription,
        sans: csr.sans.map((san) => san.type + ":" + san.value),
        commonName: csr.subject.commonName,
      };
    } catch (e) {
      verdict = {
        kind: "rejected",
        ms: performance.now() - started,
        pkiError: e instanceof errors.PkiError,
        name: String(e?.name ?? typeof e),
        code: e?.code,
        message: String(e?.message ?? e),
        stack: String(e?.stack ?? ""),
      };
    }
    parentPort.postMessage({ id, verdict });
  });
  parentPort.postMessage({ ready: true });
});
`;

class IsolatedChecker {
  #worker: Worker | undefined;
  #ready: Promise<Worker> | undefined;
  #nextId = 0;

  start(): Promise<Worker> {
    if (this.#ready) return this.#ready;
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: {
        intake: new URL("../src/csr/intake.ts", import.meta.url).href,
        errors: new URL("../src/errors.ts", import.meta.url).href,
      },
      // A runaway allocation becomes a crashed case, not a swapping machine.
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    this.#worker = worker;
    // A worker that dies between checks is forgotten (the next check starts a new one); its
    // errors are reported by the check in flight, if any, so they never go unhandled.
    worker.on("error", () => {});
    worker.on("exit", () => {
      if (this.#worker === worker) {
        this.#worker = undefined;
        this.#ready = undefined;
      }
    });
    this.#ready = new Promise<Worker>((resolve, reject) => {
      const done = () => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      const onMessage = (m: { ready?: boolean }) => {
        if (!m.ready) return;
        done();
        resolve(worker);
      };
      const onError = (e: unknown) => {
        done();
        reject(e);
      };
      const onExit = (code: number) => {
        done();
        reject(new Error(`the checker worker exited with ${code} before it was ready`));
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
    });
    return this.#ready;
  }

  async check(input: Uint8Array | string): Promise<Verdict> {
    const worker = await this.start();
    const id = this.#nextId++;
    return new Promise<Verdict>((resolve) => {
      const finish = (verdict: Verdict, discard: boolean) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        if (discard) this.#discard(worker);
        resolve(verdict);
      };
      const onMessage = (m: { id?: number; verdict?: Verdict }) => {
        if (m.id === id && m.verdict) finish(m.verdict, false);
      };
      const onError = (e: unknown) =>
        finish({ kind: "crashed", error: String((e as Error)?.stack ?? e) }, true);
      const onExit = (code: number) =>
        finish({ kind: "crashed", error: `the checker worker exited with ${code}` }, true);
      const timer = setTimeout(() => finish({ kind: "hung" }, true), CASE_TIME_LIMIT_MS);
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      worker.postMessage({ id, input });
    });
  }

  #discard(worker: Worker): void {
    if (this.#worker === worker) {
      this.#worker = undefined;
      this.#ready = undefined;
    }
    void worker.terminate();
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    await worker?.terminate();
  }
}

const checker = new IsolatedChecker();

function describeVerdict(v: Verdict): string {
  switch (v.kind) {
    case "accepted":
      return `accepted (${v.keyDescription}, ${v.signatureAlgorithm}, ${v.sans.join(" ")})`;
    case "rejected":
      return v.pkiError
        ? `${String(v.code)}: ${v.message}`
        : `crashed with ${v.name}: ${v.message}\n${v.stack}`;
    case "hung":
      return `no answer within ${CASE_TIME_LIMIT_MS} ms`;
    case "crashed":
      return `the worker crashed: ${v.error}`;
  }
}

// ------------------------------------------------------------------------------------------
// Keys and request makers

const dir = mkdtempSync(join(tmpdir(), "csr-corpus-"));

function once<T>(make: () => T): () => T {
  let cell: { value: T } | undefined;
  return () => {
    cell ??= { value: make() };
    return cell.value;
  };
}

interface TestKey {
  readonly privateKey: KeyObject;
  readonly spki: Uint8Array;
  /** PKCS#8 PEM file, for openssl -key. */
  readonly path: string;
}

function saveKey(file: string, privateKey: KeyObject): TestKey {
  const path = join(dir, `${file}.pem`);
  writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }));
  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  return { privateKey, spki: new Uint8Array(spki), path };
}

const ecKey = (curve: string) =>
  saveKey(curve, generateKeyPairSync("ec", { namedCurve: curve }).privateKey);
const rsaKey = (bits: number) =>
  saveKey(`rsa${bits}`, generateKeyPairSync("rsa", { modulusLength: bits }).privateKey);
const fixture = (file: string) =>
  fileURLToPath(new URL(`./fixtures/debian-weak/${file}`, import.meta.url));

const keys = {
  p256: once(() => ecKey("P-256")),
  p384: once(() => ecKey("P-384")),
  p521: once(() => ecKey("P-521")),
  secp256k1: once(() => ecKey("secp256k1")),
  brainpool: once(() => ecKey("brainpoolP256r1")),
  rsa2048: once(() => rsaKey(2048)),
  rsa1024: once(() => rsaKey(1024)),
  dsa: once(() =>
    saveKey(
      "dsa",
      generateKeyPairSync("dsa", { modulusLength: 2048, divisorLength: 256 }).privateKey,
    ),
  ),
  ed25519: once(() => saveKey("ed25519", generateKeyPairSync("ed25519").privateKey)),
  ed448: once(() => saveKey("ed448", generateKeyPairSync("ed448").privateKey)),
  exponent3: once(() => saveKey("rsa-e3", exponentThreeKey())),
  exponent1: once((): TestKey => {
    // Same primes as rsa2048, public exponent 1 (so d = 1): a "key" that signs in the clear.
    const jwk = keys.rsa2048().privateKey.export({ format: "jwk" });
    const big = (b64: string | undefined) =>
      BigInt(`0x${Buffer.from(b64 ?? "", "base64url").toString("hex")}`);
    return saveKey("rsa-e1", rsaKeyFromPrimes(big(jwk.p), big(jwk.q), 1n));
  }),
  roca: once(() => saveKey("rsa-roca", rocaKey())),
  fermat: once(() => saveKey("rsa-fermat", fermatKey())),
  smallFactor: once(() => saveKey("rsa-751", smallFactorKey(751n))),
  explicitP256: once(() => {
    const path = join(dir, "p256-explicit.pem");
    openssl([
      "ecparam",
      "-name",
      "prime256v1",
      "-param_enc",
      "explicit",
      "-genkey",
      "-noout",
      "-out",
      path,
    ]);
    return path;
  }),
};

const minimalConfig = once(() => writeOpensslConfig(dir));

interface ReqSpec {
  /** Default: the P-256 key. A string is a key file path. */
  readonly key?: TestKey | string;
  /** -subj; default "/CN=www.example.com"; null: from the config. */
  readonly subject?: string | null;
  /** subjectAltName value; default "DNS:www.example.com"; null: no SAN extension. */
  readonly san?: string | null;
  readonly addext?: readonly string[];
  /** Default "sha256"; "" for none (EdDSA). */
  readonly digest?: string;
  readonly sigopt?: readonly string[];
  readonly config?: string;
  readonly multivalueRdn?: boolean;
}

/** An OpenSSL-made CSR (DER). */
function req(spec: ReqSpec = {}): Uint8Array {
  const key = spec.key ?? keys.p256();
  const san = spec.san === undefined ? `DNS:${HOST}` : spec.san;
  return new Uint8Array(
    opensslReq({
      config: spec.config ?? minimalConfig(),
      key: typeof key === "string" ? key : key.path,
      subject: spec.subject === undefined ? `/CN=${HOST}` : spec.subject,
      addext: [...(san === null ? [] : [`subjectAltName=${san}`]), ...(spec.addext ?? [])],
      digest: spec.digest ?? "sha256",
      sigopt: spec.sigopt ?? [],
      multivalueRdn: spec.multivalueRdn ?? false,
    }),
  );
}

const dnsList = (hosts: readonly string[]) => hosts.map((h) => `DNS:${h}`).join(",");

interface CraftSpec {
  /** Signing key; default P-256. Its SPKI is used unless `spki` is given. */
  readonly key?: TestKey;
  readonly algorithm?: SigningAlgorithm;
  readonly version?: number | Der;
  readonly subject?: Der;
  readonly spki?: Der;
  readonly attributes?: Der;
  readonly signatureAlgorithm?: Der;
  /** Replaces the key's own signing function. */
  readonly sign?: (info: Uint8Array) => Uint8Array;
  readonly signature?: Uint8Array;
  readonly unusedBits?: number;
  readonly signatureElement?: Der;
}

/** A hand-made CSR (DER), correctly self-signed unless told otherwise. */
function craft(spec: CraftSpec = {}): Uint8Array {
  const key = spec.key ?? keys.p256();
  const rsa = key.privateKey.asymmetricKeyType === "rsa";
  const signer = signerFor(
    key.privateKey,
    spec.algorithm ?? (rsa ? "RSASSA_PKCS1_V1_5_SHA_256" : "ECDSA_SHA_256"),
  );
  return buildCsr({
    version: spec.version,
    subject: spec.subject ?? cnName(HOST),
    spki: spec.spki ?? key.spki,
    attributes: spec.attributes ?? sanAttributes(dnsName(HOST)),
    signatureAlgorithm: spec.signatureAlgorithm ?? signer.signatureAlgorithm,
    sign: spec.sign ?? signer.sign,
    signature: spec.signature,
    unusedBits: spec.unusedBits,
    signatureElement: spec.signatureElement,
  });
}

const sanAttributes = (...names: Der[]) => attributes(extensionRequest(sanExtension(names)));
const utf8Cn = (bytes: Uint8Array | string) =>
  name(rdn(atv(OID.commonName, rawString(Tag.UTF8_STRING, bytes))));

const rsaSpki = (modulus: Der, exponent: Der): Der =>
  sequence(sequence(oid(OID.rsaEncryption), NULL), bitString(sequence(modulus, exponent)));
const ecSpki = (curveOid: string, point: Uint8Array): Der =>
  sequence(sequence(oid(OID.ecPublicKey), oid(curveOid)), bitString(point));

/** The rsa2048 key's modulus. */
const modulus = once(() => {
  const jwk = keys.rsa2048().privateKey.export({ format: "jwk" });
  return BigInt(`0x${Buffer.from(jwk.n ?? "", "base64url").toString("hex")}`);
});
/** The P-256 key's uncompressed point, 04 || X || Y. */
const p256Point = once(() => keys.p256().spki.subarray(-65));

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const pem = (der: Uint8Array, label = "CERTIFICATE REQUEST") => encodePem(label, der);
const flipByte = (der: Uint8Array, index: number, mask = 0x01) => {
  const copy = Uint8Array.from(der);
  copy[index]! ^= mask;
  return copy;
};
/** The contents of the outermost element (its header stripped). */
function outerContents(der: Uint8Array): Uint8Array {
  const first = der[1]!;
  return der.subarray(first < 0x80 ? 2 : 2 + (first & 0x7f));
}
function indexOfBytes(haystack: Uint8Array, needle: string): number {
  const at = Buffer.from(haystack).indexOf(needle, 0, "latin1");
  if (at < 0) throw new Error(`"${needle}" not found`);
  return at;
}
/** A valid host name of exactly `length` characters, in labels of up to 63. */
function hostOfLength(length: number): string {
  const tail = ".example.com";
  let rest = length - tail.length;
  const labels: string[] = [];
  while (rest > 0) {
    const size = Math.min(63, rest === 64 ? 62 : rest);
    labels.push("a".repeat(size));
    rest -= size + 1;
  }
  const host = labels.join(".") + tail;
  assert.equal(host.length, length);
  return host;
}

// The P-256 and RSA 2048 requests most byte-level cases start from.
const baseEc = once(() => req());
const baseRsa = once(() => req({ key: keys.rsa2048() }));

// ------------------------------------------------------------------------------------------
// The corpus

interface Rejection {
  readonly name: string;
  readonly expected: ErrorCode;
  readonly input: () => Uint8Array | string;
}
const rejections: Rejection[] = [];
const reject = (name: string, expected: ErrorCode, input: () => Uint8Array | string) => {
  rejections.push({ name, expected, input });
};

// Framing -----------------------------------------------------------------------------------
reject("empty input (no bytes)", "CSR_EMPTY", () => new Uint8Array(0));
reject("empty string", "CSR_EMPTY", () => "");
reject("whitespace only", "CSR_EMPTY", () => " \r\n\t \r\n");
reject("truncated DER: the tag byte only", "CSR_DER_MALFORMED", () => baseEc().subarray(0, 1));
reject("truncated DER: inside the length", "CSR_DER_MALFORMED", () => baseEc().subarray(0, 2));
reject("truncated DER: 40 bytes", "CSR_DER_MALFORMED", () => baseEc().subarray(0, 40));
reject("truncated DER: half", "CSR_DER_MALFORMED", () =>
  baseEc().subarray(0, baseEc().length >> 1),
);
reject("truncated DER: all but the last byte", "CSR_DER_MALFORMED", () => baseEc().subarray(0, -1));
reject("not PEM and not a SEQUENCE", "CSR_DER_MALFORMED", () =>
  Uint8Array.of(0x04, 0x03, 0x01, 0x02, 0x03),
);
reject("one NUL byte after the CSR", "CSR_TRAILING_DATA", () => concat(baseEc(), Uint8Array.of(0)));
reject("a second CSR after the CSR", "CSR_TRAILING_DATA", () => concat(baseEc(), baseEc()));
reject("trailing junk inside the PEM block", "CSR_TRAILING_DATA", () =>
  pem(concat(baseEc(), Buffer.from("junk"))),
);
reject("BER: indefinite-length outer SEQUENCE", "CSR_DER_MALFORMED", () =>
  concat(Uint8Array.of(0x30, 0x80), outerContents(baseEc()), Uint8Array.of(0, 0)),
);
reject("BER: outer length with a leading zero byte", "CSR_DER_MALFORMED", () => {
  const body = outerContents(baseEc());
  return concat(Uint8Array.of(0x30, 0x83, 0, body.length >> 8, body.length & 0xff), body);
});
reject("BER: long-form length for a short subject", "CSR_DER_MALFORMED", () => {
  const rdns = outerContents(cnName(HOST));
  return craft({ subject: concat(Uint8Array.of(0x30, 0x81, rdns.length), rdns) });
});
reject("BER: non-minimal INTEGER version (02 02 00 00)", "CSR_DER_MALFORMED", () =>
  craft({ version: Uint8Array.of(Tag.INTEGER, 2, 0, 0) }),
);
reject("BER: signature BIT STRING with non-zero unused bits", "CSR_DER_MALFORMED", () =>
  craft({ signatureElement: tlv(Tag.BIT_STRING, Uint8Array.of(1, 0x30, 0xff)) }),
);
// The signature's last byte is even, so one unused (zero) bit is valid DER; but the signature
// is then not a whole number of bytes, as no algorithm allows (the SPKI rule says the same).
reject("signature BIT STRING with one unused bit (zero padding)", "CSR_DER_MALFORMED", () => {
  const { sign } = signerFor(keys.p256().privateKey, "ECDSA_SHA_256");
  return craft({
    unusedBits: 1,
    sign: (info) => {
      for (let i = 0; i < 64; i++) {
        const signature = sign(info);
        if ((signature[signature.length - 1]! & 1) === 0) return signature;
      }
      throw new Error("no ECDSA signature ending in an even byte in 64 tries");
    },
  });
});
reject("BER: non-minimal OID sub-identifier in the attribute type", "CSR_DER_MALFORMED", () => {
  const padded = Uint8Array.of(0x2a, 0x80, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e);
  return craft({
    attributes: attributes(
      sequence(tlv(Tag.OID, padded), set(sequence(sanExtension([dnsName(HOST)])))),
    ),
  });
});
reject("BER: critical BOOLEAN encoded as 01", "CSR_EXTENSION_MALFORMED", () =>
  craft({
    attributes: attributes(
      extensionRequest(
        sequence(
          oid(OID.subjectAltName),
          tlv(Tag.BOOLEAN, Uint8Array.of(1)),
          octetString(sequence(dnsName(HOST))),
        ),
      ),
    ),
  }),
);
reject("BER: critical FALSE written out (DEFAULT not omitted)", "CSR_EXTENSION_MALFORMED", () =>
  craft({
    attributes: attributes(
      extensionRequest(extension(OID.subjectAltName, sequence(dnsName(HOST)), false, true)),
    ),
  }),
);
reject("two PEM blocks", "CSR_PEM_INVALID", () => pem(baseEc()) + pem(baseEc()));
reject("wrong PEM label (CERTIFICATE)", "CSR_PEM_INVALID", () => pem(baseEc(), "CERTIFICATE"));
reject("wrong PEM label, given as bytes", "CSR_PEM_INVALID", () =>
  Buffer.from(pem(baseEc(), "PRIVATE KEY")),
);
reject("PEM with a character outside base64", "CSR_PEM_INVALID", () => {
  const lines = pem(baseEc()).split("\n");
  lines[1] = `${lines[1]!.slice(0, 10)}*${lines[1]!.slice(11)}`;
  return lines.join("\n");
});
reject("PEM base64 not a multiple of 4 characters", "CSR_PEM_INVALID", () => {
  const lines = pem(baseEc()).split("\n");
  lines[1] = lines[1]!.slice(1);
  return lines.join("\n");
});
reject("PEM END label differs from BEGIN", "CSR_PEM_INVALID", () =>
  pem(baseEc()).replace("END CERTIFICATE REQUEST", "END CERTIFICATE"),
);
reject("PEM without its END line", "CSR_PEM_INVALID", () =>
  pem(baseEc()).replace(/-----END[^\n]*\n/, ""),
);
reject("text before the PEM block", "CSR_PEM_INVALID", () => `Here is my CSR:\n${pem(baseEc())}`);
reject("1 MB of DER (a CSR and padding)", "CSR_TOO_LARGE", () => {
  const big = new Uint8Array(1024 * 1024);
  big.set(baseEc());
  return big;
});
reject("1 MB of PEM text", "CSR_TOO_LARGE", () => {
  const body = "QUFB\n".repeat((1024 * 1024) / 5);
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}-----END CERTIFICATE REQUEST-----\n`;
});
reject("version 1 (INTEGER 1), correctly signed", "CSR_VERSION_UNSUPPORTED", () =>
  craft({ version: 1 }),
);

// Proof of possession -----------------------------------------------------------------------
reject("a byte of the signature flipped", "CSR_SIGNATURE_INVALID", () =>
  flipByte(baseEc(), baseEc().length - 1),
);
reject("a byte of the signed subject flipped", "CSR_SIGNATURE_INVALID", () =>
  flipByte(baseRsa(), indexOfBytes(baseRsa(), HOST), 0x02),
);
reject("signed by another key than the one inside", "CSR_SIGNATURE_INVALID", () =>
  craft({ spki: keys.p384().spki }),
);
reject("an empty signature", "CSR_SIGNATURE_INVALID", () =>
  craft({ signature: new Uint8Array(0) }),
);
reject("RSA signed with SHA-1", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({ key: keys.rsa2048(), digest: "sha1" }),
);
reject("RSA signed with MD5", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({ key: keys.rsa2048(), digest: "md5" }),
);
reject("ECDSA with SHA-1", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () => req({ digest: "sha1" }));
reject("RSA with SHA-224", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({ key: keys.rsa2048(), digest: "sha224" }),
);
reject(
  "RSASSA-PSS with OpenSSL's default (maximum) salt",
  "CSR_SIGNATURE_ALGORITHM_FORBIDDEN",
  () => req({ key: keys.rsa2048(), sigopt: ["rsa_padding_mode:pss"] }),
);
reject("ecdsa-with-SHA256 with a NULL parameter", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  craft({ signatureAlgorithm: sequence(oid(OID.ecdsaWithSHA256), NULL) }),
);
reject("RSASSA-PSS SHA-256 with MGF1-SHA-1", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({
    key: keys.rsa2048(),
    sigopt: ["rsa_padding_mode:pss", "rsa_pss_saltlen:digest", "rsa_mgf1_md:sha1"],
  }),
);
// The signature algorithm is checked before the key: a DSA or EdDSA request is refused for
// its algorithm (dsa-with-SHA256, Ed25519, Ed448) and never reaches the key parser.
reject("a DSA key (dsa-with-SHA256)", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({ key: keys.dsa() }),
);
reject("an Ed25519 key", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({ key: keys.ed25519(), digest: "" }),
);
reject("an Ed448 key", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  req({ key: keys.ed448(), digest: "" }),
);
reject("ECDSA signature algorithm on an RSA key", "CSR_SIGNATURE_ALGORITHM_FORBIDDEN", () =>
  craft({ spki: keys.rsa2048().spki }),
);
// With an allowed signature algorithm in front, the key parser names the key algorithm.
reject("a DSA key behind sha256WithRSAEncryption", "KEY_ALGORITHM_UNSUPPORTED", () =>
  craft({ key: keys.rsa2048(), spki: keys.dsa().spki }),
);
reject("an Ed25519 key behind ecdsa-with-SHA256", "KEY_ALGORITHM_UNSUPPORTED", () =>
  craft({ spki: keys.ed25519().spki }),
);

// RSA keys ----------------------------------------------------------------------------------
reject("RSA 1024", "KEY_RSA_TOO_SMALL", () => req({ key: keys.rsa1024() }));
reject("RSA 8200-bit modulus", "KEY_RSA_TOO_LARGE", () =>
  craft({
    key: keys.rsa2048(),
    spki: rsaSpki(
      bigInteger((1n << 8199n) | randomBetween(0n, 1n << 8198n) | 1n),
      bigInteger(65537n),
    ),
  }),
);
reject("RSA modulus of 2052 bits (not whole bytes)", "KEY_RSA_MODULUS_INVALID", () =>
  craft({
    key: keys.rsa2048(),
    spki: rsaSpki(bigInteger((modulus() << 4n) | 1n), bigInteger(65537n)),
  }),
);
reject("RSA even modulus", "KEY_RSA_MODULUS_INVALID", () =>
  craft({ key: keys.rsa2048(), spki: rsaSpki(bigInteger(modulus() + 1n), bigInteger(65537n)) }),
);
reject("RSA negative modulus (no leading zero byte)", "KEY_RSA_MODULUS_INVALID", () => {
  const magnitude = outerContents(bigInteger(modulus())).subarray(1);
  return craft({
    key: keys.rsa2048(),
    spki: rsaSpki(tlv(Tag.INTEGER, magnitude), bigInteger(65537n)),
  });
});
reject("RSA modulus INTEGER with a superfluous leading zero", "CSR_DER_MALFORMED", () => {
  const contents = outerContents(bigInteger(modulus()));
  return craft({
    key: keys.rsa2048(),
    spki: rsaSpki(tlv(Tag.INTEGER, concat(Uint8Array.of(0), contents)), bigInteger(65537n)),
  });
});
// An even exponent cannot belong to a working key; the key rules run before the signature.
reject("RSA even exponent 65538", "KEY_RSA_EXPONENT_INVALID", () =>
  craft({ key: keys.rsa2048(), spki: rsaSpki(bigInteger(modulus()), bigInteger(65538n)) }),
);
reject("RSA exponent 1 (a real key, self-signed)", "KEY_RSA_EXPONENT_INVALID", () =>
  req({ key: keys.exponent1() }),
);
reject("RSA exponent 2^256 + 1", "KEY_RSA_EXPONENT_INVALID", () =>
  craft({
    key: keys.rsa2048(),
    spki: rsaSpki(bigInteger(modulus()), bigInteger((1n << 256n) + 1n)),
  }),
);
reject("RSA 2048 with the ROCA fingerprint", "KEY_RSA_ROCA", () => req({ key: keys.roca() }));
reject("RSA 2048 whose primes are Fermat-close", "KEY_RSA_FERMAT", () =>
  req({ key: keys.fermat() }),
);
reject("RSA 2048 modulus = 751 x prime", "KEY_RSA_SMALL_FACTOR", () =>
  req({ key: keys.smallFactor() }),
);
reject("Debian weak RSA 2048 (pid 1000)", "KEY_RSA_DEBIAN_WEAK", () =>
  req({ key: fixture("debianweak-rsa2048-amd64-rnd-pid1000.key.pem") }),
);
reject("Debian weak RSA 4096 (pid 1000)", "KEY_RSA_DEBIAN_WEAK", () =>
  req({ key: fixture("debianweak-rsa4096-amd64-rnd-pid1000.key.pem") }),
);

// EC keys -----------------------------------------------------------------------------------
reject("EC secp256k1", "KEY_EC_CURVE_UNSUPPORTED", () => req({ key: keys.secp256k1() }));
reject("EC brainpoolP256r1", "KEY_EC_CURVE_UNSUPPORTED", () => req({ key: keys.brainpool() }));
reject("EC P-256 with explicit curve parameters", "KEY_EC_CURVE_UNSUPPORTED", () =>
  req({ key: keys.explicitP256() }),
);
reject("EC point not on P-256", "KEY_EC_POINT_INVALID", () =>
  craft({ spki: ecSpki(OID.secp256r1, flipByte(p256Point(), 64)) }),
);
reject("EC compressed point", "KEY_EC_POINT_INVALID", () => {
  const point = p256Point();
  const prefix = 0x02 | (point[64]! & 1);
  return craft({
    spki: ecSpki(OID.secp256r1, concat(Uint8Array.of(prefix), point.subarray(1, 33))),
  });
});
reject("EC hybrid-form point (06/07)", "KEY_EC_POINT_INVALID", () => {
  const point = Uint8Array.from(p256Point());
  point[0] = 0x06 | (point[64]! & 1);
  return craft({ spki: ecSpki(OID.secp256r1, point) });
});
reject("EC point at infinity (a single 00)", "KEY_EC_POINT_INVALID", () =>
  craft({ spki: ecSpki(OID.secp256r1, Uint8Array.of(0)) }),
);
reject("EC P-256 point under the P-384 OID", "KEY_EC_POINT_INVALID", () =>
  craft({ spki: ecSpki(OID.secp384r1, p256Point()) }),
);
reject("EC x coordinate equal to the field prime", "KEY_EC_POINT_INVALID", () => {
  const point = Uint8Array.from(p256Point());
  point.set(
    Buffer.from("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", "hex"),
    1,
  );
  return craft({ spki: ecSpki(OID.secp256r1, point) });
});

// Attributes and requested extensions -------------------------------------------------------
reject("basicConstraints cA=TRUE (critical)", "CSR_CA_REQUESTED", () =>
  req({ addext: ["basicConstraints=critical,CA:TRUE"] }),
);
reject("basicConstraints cA=TRUE, pathLen 0, non-critical", "CSR_CA_REQUESTED", () =>
  req({ addext: ["basicConstraints=CA:TRUE,pathlen:0"] }),
);
reject("an unknown critical extension", "CSR_UNKNOWN_CRITICAL_EXTENSION", () =>
  req({ addext: ["1.3.6.1.4.1.55555.1=critical,DER:0500"] }),
);
reject("subjectAltName requested twice", "CSR_EXTENSION_DUPLICATE", () =>
  craft({
    attributes: attributes(
      extensionRequest(sanExtension([dnsName(HOST)]), sanExtension([dnsName("b.example.com")])),
    ),
  }),
);
reject("an unknown extension requested twice", "CSR_EXTENSION_DUPLICATE", () => {
  const unknown = extension("1.3.6.1.4.1.55555.2", NULL);
  return craft({
    attributes: attributes(extensionRequest(sanExtension([dnsName(HOST)]), unknown, unknown)),
  });
});
reject("a challengePassword attribute", "CSR_ATTRIBUTE_UNSUPPORTED", () =>
  req({
    subject: null,
    config: writeOpensslConfig(dir, "challenge.cnf", {
      req: ["prompt = no", "attributes = req_attr"],
      dn: [`CN = ${HOST}`],
      sections: "[req_attr]\nchallengePassword = secret1234",
    }),
  }),
);
reject("extensionRequest twice", "CSR_ATTRIBUTE_UNSUPPORTED", () => {
  const request = extensionRequest(sanExtension([dnsName(HOST)]));
  return craft({ attributes: attributes(request, request) });
});
reject("an extensionRequest with two Extensions values", "CSR_EXTENSION_MALFORMED", () => {
  const extensions = sequence(sanExtension([dnsName(HOST)]));
  return craft({
    attributes: attributes(attribute(OID.extensionRequest, extensions, extensions)),
  });
});

// Subject alternative names -----------------------------------------------------------------
reject("no subjectAltName", "CSR_SAN_MISSING", () => req({ san: null }));
reject("an empty subjectAltName", "CSR_SAN_MISSING", () =>
  craft({ subject: name(), attributes: sanAttributes() }),
);
reject("101 SANs", "CSR_TOO_MANY_SANS", () =>
  req({ san: dnsList(Array.from({ length: 101 }, (_, i) => `h${i}.example.com`)) }),
);
reject("1,000 SANs", "CSR_TOO_MANY_SANS", () =>
  req({ san: dnsList(Array.from({ length: 1000 }, (_, i) => `h${i}.example.com`)) }),
);
const badHosts: ReadonlyArray<readonly [string, string]> = [
  ["an underscore", "a_b.example.com"],
  ["a space", "a b.example.com"],
  ["a leading hyphen", "-a.example.com"],
  ["a trailing hyphen", "a-.example.com"],
  ["an empty label", "a..example.com"],
  ["a trailing dot", `${HOST}.`],
  ["a 64-character label", `${"a".repeat(64)}.example.com`],
  ["254 characters", hostOfLength(254)],
  ["a wildcard that is not leftmost", "www.*.example.com"],
  ["a partial-label wildcard", "w*.example.com"],
  ["a wildcard directly under a TLD", "*.com"],
  ["raw UTF-8 (an IDN U-label)", "bücher.example.com"],
  ["an invalid Punycode label (decodes to U+0080)", "xn--a.example.com"],
  ["an invalid Punycode label (overflows)", "xn--99999999999.example.com"],
  ["a reserved ab-- label", "ab--c.example.com"],
  ["an all-numeric last label", "www.example.123"],
  ["an IPv4 address", "192.0.2.1"],
];
for (const [what, host] of badHosts) {
  reject(`dNSName with ${what}`, "CSR_SAN_INVALID_DNS", () =>
    req({ subject: "/", san: `DNS:${host}` }),
  );
}
reject("dNSName of 60,000 bytes", "CSR_SAN_INVALID_DNS", () =>
  craft({ subject: name(), attributes: sanAttributes(dnsName("a".repeat(60_000))) }),
);
reject("an empty dNSName", "CSR_SAN_INVALID_DNS", () =>
  craft({ subject: name(), attributes: sanAttributes(dnsName("")) }),
);
reject("dNSName with a NUL byte", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({ attributes: sanAttributes(dnsName(HOST), dnsName(`${HOST}\0.evil.example`)) }),
);
reject("dNSName with a newline", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({ attributes: sanAttributes(dnsName(HOST), dnsName("evil.example\n.com")) }),
);
reject("dNSName with DEL (7F)", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({ attributes: sanAttributes(dnsName(HOST), dnsName("evil\x7f.example.com")) }),
);
reject("iPAddress of 5 bytes", "CSR_SAN_INVALID_IP", () =>
  craft({ subject: name(), attributes: sanAttributes(ipName(Uint8Array.of(192, 0, 2, 1, 0))) }),
);
reject("iPAddress of 8 bytes (IPv4 CIDR, as in name constraints)", "CSR_SAN_INVALID_IP", () =>
  craft({
    subject: name(),
    attributes: sanAttributes(ipName(Uint8Array.of(10, 0, 0, 0, 255, 0, 0, 0))),
  }),
);
reject("iPAddress of 32 bytes (IPv6 CIDR)", "CSR_SAN_INVALID_IP", () =>
  craft({ subject: name(), attributes: sanAttributes(ipName(new Uint8Array(32).fill(0xff))) }),
);
reject("an otherName SAN (UPN)", "CSR_SAN_UNSUPPORTED_TYPE", () =>
  req({ san: `DNS:${HOST},otherName:1.3.6.1.4.1.311.20.2.3;UTF8:admin@example.com` }),
);
reject("a directoryName SAN", "CSR_SAN_UNSUPPORTED_TYPE", () =>
  req({
    san: null,
    config: writeOpensslConfig(dir, "dirname.cnf", {
      req: ["req_extensions = req_ext"],
      sections: `[req_ext]\nsubjectAltName = DNS:${HOST},dirName:dir_sect\n[dir_sect]\nCN = Example`,
    }),
  }),
);
reject("a registeredID SAN", "CSR_SAN_UNSUPPORTED_TYPE", () =>
  req({ san: `DNS:${HOST},RID:1.2.3.4` }),
);
reject("the same dNSName twice, differently cased", "CSR_SAN_DUPLICATE", () =>
  req({ san: `DNS:${HOST},DNS:WWW.Example.COM` }),
);
reject("the same iPAddress twice", "CSR_SAN_DUPLICATE", () =>
  req({ subject: "/", san: "IP:192.0.2.1,IP:192.0.2.1" }),
);

// Subject -----------------------------------------------------------------------------------
reject("CN not among the SANs", "CSR_CN_NOT_IN_SANS", () =>
  req({ subject: "/CN=other.example.com" }),
);
reject("CN of 65 characters", "CSR_CN_TOO_LONG", () => {
  const host = hostOfLength(65);
  return craft({ subject: cnName(host), attributes: sanAttributes(dnsName(host)) });
});
reject("CN with a NUL byte (UTF8String)", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({ subject: utf8Cn(`${HOST}\0.evil.example`) }),
);
reject("CN with ESC (1B)", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({ subject: utf8Cn(`\x1b[31m${HOST}`) }),
);
reject("CN with a C1 control (U+009B)", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({ subject: utf8Cn(Buffer.from(`\u009b${HOST}`, "utf8")) }),
);
reject("O with a newline", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({
    subject: name(
      rdn(atv(OID.organizationName, utf8String("Example\nCN=evil"))),
      rdn(atv(OID.commonName, utf8String(HOST))),
    ),
  }),
);
// A NUL is a control character whatever the string type; PrintableString cannot hold one
// either, but the more specific code is the one clients key on.
reject("CN with a NUL byte (PrintableString)", "CSR_NAME_CONTROL_CHARACTER", () =>
  craft({
    subject: name(
      rdn(atv(OID.commonName, rawString(Tag.PRINTABLE_STRING, `${HOST}\0.evil.example`))),
    ),
  }),
);
reject("CN with an overlong UTF-8 NUL (C0 80)", "CSR_SUBJECT_INVALID", () =>
  craft({
    subject: utf8Cn(
      concat(Buffer.from("www"), Uint8Array.of(0xc0, 0x80), Buffer.from(".example.com")),
    ),
  }),
);
reject("a multi-valued RDN (CN+O)", "CSR_SUBJECT_INVALID", () =>
  req({ subject: `/CN=${HOST}+O=Example`, multivalueRdn: true }),
);
reject("a BMPString CN", "CSR_SUBJECT_INVALID", () =>
  craft({
    subject: name(
      rdn(atv(OID.commonName, rawString(Tag.BMP_STRING, Buffer.from(HOST, "utf16le").swap16()))),
    ),
  }),
);
reject("two CNs", "CSR_SUBJECT_INVALID", () => req({ subject: `/CN=${HOST}/CN=${HOST}` }));
reject("a three-letter country", "CSR_SUBJECT_INVALID", () =>
  craft({
    subject: name(
      rdn(atv(OID.countryName, printableString("USA"))),
      rdn(atv(OID.commonName, utf8String(HOST))),
    ),
  }),
);
reject("an emailAddress subject attribute", "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED", () =>
  req({ subject: `/CN=${HOST}/emailAddress=admin@example.com` }),
);
reject("a serialNumber subject attribute", "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED", () =>
  req({ subject: `/CN=${HOST}/serialNumber=1234` }),
);

// ------------------------------------------------------------------------------------------
// Positive controls

interface Acceptance {
  readonly name: string;
  readonly input: () => Uint8Array | string;
  readonly key: string;
  readonly algorithm: SigningAlgorithm;
  readonly sans?: readonly string[];
}
const acceptances: Acceptance[] = [];
const accept = (a: Acceptance) => {
  acceptances.push(a);
};

accept({
  name: "OpenSSL EC P-256, ECDSA SHA-256, PEM text",
  input: () => pem(baseEc()),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
  sans: [`dns:${HOST}`],
});
accept({
  name: "OpenSSL EC P-384, ECDSA SHA-384, DER",
  input: () => req({ key: keys.p384(), digest: "sha384" }),
  key: "EC P-384",
  algorithm: "ECDSA_SHA_384",
});
accept({
  name: "OpenSSL EC P-521, ECDSA SHA-512, DER",
  input: () => req({ key: keys.p521(), digest: "sha512" }),
  key: "EC P-521",
  algorithm: "ECDSA_SHA_512",
});
accept({
  name: "OpenSSL RSA 2048, PKCS#1 v1.5 SHA-256, DER",
  input: () => baseRsa(),
  key: "RSA 2048",
  algorithm: "RSASSA_PKCS1_V1_5_SHA_256",
});
accept({
  name: "OpenSSL RSA 2048, PSS SHA-256 salt 32",
  input: () =>
    req({ key: keys.rsa2048(), sigopt: ["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"] }),
  key: "RSA 2048",
  algorithm: "RSASSA_PSS_SHA_256",
});
accept({
  name: "OpenSSL RSA 2048, PSS SHA-512 salt 64",
  input: () =>
    req({
      key: keys.rsa2048(),
      digest: "sha512",
      sigopt: ["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"],
    }),
  key: "RSA 2048",
  algorithm: "RSASSA_PSS_SHA_512",
});
accept({
  name: "PEM with CRLF line ends and surrounding whitespace, as text",
  input: () => `\r\n \t\r\n${pem(baseEc()).replace(/\n/g, "\r\n")}  \r\n\r\n`,
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
});
accept({
  name: "PEM with CRLF line ends and surrounding whitespace, as bytes",
  input: () => Buffer.from(`\r\n  ${pem(baseEc()).replace(/\n/g, "\r\n")}\r\n`, "latin1"),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
});
accept({
  name: "PEM labelled NEW CERTIFICATE REQUEST",
  input: () => pem(baseEc(), "NEW CERTIFICATE REQUEST"),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
});
accept({
  name: "RSA 2048 with public exponent 3 (key from chosen primes)",
  input: () => req({ key: keys.exponent3() }),
  key: "RSA 2048",
  algorithm: "RSASSA_PKCS1_V1_5_SHA_256",
});
accept({
  name: "hand-built EC P-256 request (the builder's own control)",
  input: () => craft(),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
  sans: [`dns:${HOST}`],
});
accept({
  name: "hand-built RSA request, sha256WithRSAEncryption without NULL parameters",
  input: () =>
    craft({
      key: keys.rsa2048(),
      signatureAlgorithm: sequence(oid(OID.sha256WithRSAEncryption)),
    }),
  key: "RSA 2048",
  algorithm: "RSASSA_PKCS1_V1_5_SHA_256",
});
accept({
  name: "exactly 100 SANs",
  input: () =>
    req({ subject: "/", san: dnsList(Array.from({ length: 100 }, (_, i) => `h${i}.example.com`)) }),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
});
accept({
  name: "CN of exactly 64 characters, also a SAN",
  input: () => req({ subject: `/CN=${hostOfLength(64)}`, san: `DNS:${hostOfLength(64)}` }),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
});
accept({
  name: "IP CN, IPv4 and IPv6 SANs, wildcard and Punycode names, O and C",
  input: () =>
    req({
      subject: "/CN=192.0.2.1/O=Example/C=GB",
      san: "IP:192.0.2.1,IP:2001:db8::1,DNS:*.example.com,DNS:xn--bcher-kva.example.com",
    }),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
  sans: ["ip:192.0.2.1", "ip:2001:db8::1", "dns:*.example.com", "dns:xn--bcher-kva.example.com"],
});
accept({
  name: "empty subject, critical SAN, keyUsage and an unknown non-critical extension",
  input: () =>
    req({
      subject: "/",
      san: `critical,DNS:${HOST}`,
      addext: ["keyUsage=critical,digitalSignature", "1.3.6.1.4.1.55555.3=DER:0500"],
    }),
  key: "EC P-256",
  algorithm: "ECDSA_SHA_256",
});

// ------------------------------------------------------------------------------------------
// The tests

before(async () => {
  await checker.start();
});

after(async () => {
  await checker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("hostile CSR corpus: checkCsr rejects each with its code", () => {
  test("the corpus is big enough", () => {
    assert.ok(rejections.length >= 45, `only ${rejections.length} hostile cases`);
    assert.equal(new Set(rejections.map((r) => r.name)).size, rejections.length);
  });
  for (const c of rejections) {
    test(`${c.name} -> ${c.expected}`, async () => {
      const input = c.input();
      const verdict = await checker.check(input);
      assert.ok(
        verdict.kind === "rejected" && verdict.pkiError,
        `expected ${c.expected}, got ${describeVerdict(verdict)}`,
      );
      assert.equal(
        verdict.code,
        c.expected,
        `expected ${c.expected}, got ${verdict.code}: ${verdict.message}`,
      );
      assert.ok(verdict.message.trim().length > 0, "the error message is empty");
    });
  }
});

describe("positive controls: checkCsr accepts", () => {
  for (const a of acceptances) {
    test(a.name, async () => {
      const verdict = await checker.check(a.input());
      assert.equal(verdict.kind, "accepted", describeVerdict(verdict));
      if (verdict.kind !== "accepted") return;
      assert.equal(verdict.keyDescription, a.key);
      assert.equal(verdict.signatureAlgorithm, a.algorithm);
      if (a.sans) assert.deepEqual(verdict.sans, a.sans);
    });
  }
});

describe("mutation sweep", () => {
  test("every truncation, deleted byte and flipped byte of a CSR is refused with a PkiError", async () => {
    const der = req({
      subject: `/CN=${HOST}/O=Example`,
      san: `DNS:${HOST},IP:192.0.2.1,email:admin@example.com,URI:https://example.com/`,
      addext: ["keyUsage=critical,digitalSignature", "basicConstraints=CA:FALSE"],
    });
    // Setting the signature's unused-bits count to 1 is its own case above (accepted today
    // when the signature's last byte is even); every other mutation must be refused.
    const top = new DerReader(der).enter(Tag.SEQUENCE);
    top.next(Tag.SEQUENCE);
    top.next(Tag.SEQUENCE);
    const unusedBitsAt = top.next(Tag.BIT_STRING).valueStart;
    const mutants: Uint8Array[] = [];
    for (let i = 0; i < der.length; i++) mutants.push(der.subarray(0, i));
    for (let i = 0; i < der.length; i++)
      mutants.push(concat(der.subarray(0, i), der.subarray(i + 1)));
    for (let i = 0; i < der.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        if (i !== unusedBitsAt || mask !== 0x01) mutants.push(flipByte(der, i, mask));
      }
    }
    const failures: string[] = [];
    for (const mutant of mutants) {
      const verdict = await checker.check(mutant);
      if (verdict.kind !== "rejected" || !verdict.pkiError || verdict.message.trim() === "") {
        failures.push(`${Buffer.from(mutant).toString("hex")}: ${describeVerdict(verdict)}`);
      }
    }
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${mutants.length} mutants`);
  });
});
