/**
 * `pki ca csr|import|show --aws`: the deployed CA behind SST_RESOURCE_Pki. In process, the
 * bucket is s3rver and KMS is aws-sdk-client-mock serving a real key, so the CSR and every
 * signature verify for real (OpenSSL checks the CSR). An offline root made here with core's
 * createRootCertificate signs the CSR's key into an issuing CA certificate. Through the real
 * CLI (a child process): what happens without SST_RESOURCE_Pki, --aws where it does not
 * belong, and `ca show --aws` on s3rver with a data folder held by a live service nearby.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { openAuthority } from "@spca/core/ca/authority";
import { createIssuingCertificate, createRootCertificate } from "@spca/core/ca/create";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { parseCsrStructure } from "@spca/core/csr/parse";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { type ErrorCode, isPkiError } from "@spca/core/errors";
import { loadConfig } from "@spca/core/policy/config";
import { generateKey, LocalSigner } from "@spca/core/signer/local-signer";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { type NameEntry, parseNameText } from "@spca/core/x509/name";
import { mockClient } from "aws-sdk-client-mock";
import { serveKey, TEST_KEY_ARN, testKey } from "../../core/test/support/kms-mock.ts";
import { type LocalS3, startS3rver } from "../../core/test/support/s3.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import {
  type AwsCaCommand,
  type Environment,
  PKI_RESOURCE_VARIABLE,
  pkiResourceFromEnvironment,
  runAwsCaCommand,
} from "../src/cli/aws-target.ts";
import {
  assertNoStackTrace,
  assertOk,
  assertPkiError,
  assertUsageError,
  pemBlocks,
  pki,
  pkiAsync,
  scratch,
  writeFile,
} from "./support/cli.ts";

const CONFIG_SUBJECT = loadConfig(shippedConfigPath).ca.subject;
const buckets = Array.from({ length: 10 }, (_, i) => `spca-private-${i}`);
let nextBucket = 0;
/** A bucket of its own for each test: nothing one test installs is seen by another. */
const freshBucket = () => buckets[nextBucket++]!;

/** What `sst shell` would put in SST_RESOURCE_Pki for a deployment using `bucket`. */
function resourceJson(bucket: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "sst.sst.Linkable",
    table: "spca-prod-Table",
    bucket,
    eventBus: "spca-prod-Bus",
    caKeyArn: TEST_KEY_ARN,
    publicBaseUrl: "https://pki.example.com",
    region: "eu-west-1",
    ...extra,
  });
}

/** The offline root: a local P-384 key with a certificate from createRootCertificate. */
const ROOT_BASE_URL = "https://root.example.com";
async function offlineRoot(cn: string) {
  const signer = new LocalSigner(generateKey("ECC_NIST_P384").privateKey, `offline root ${cn}`);
  const der = await createRootCertificate(signer, {
    subject: parseNameText(`CN=${cn}, O=Example`),
    validityDays: 3650,
  });
  return { authority: await openAuthority(der, [], signer, ROOT_BASE_URL), pem: pemOf(der) };
}
type Root = Awaited<ReturnType<typeof offlineRoot>>;

const pemOf = (der: Uint8Array) => encodePem("CERTIFICATE", der);
const derOf = (pem: string) => decodePemBlocks(pem)[0]!.der;

/** What the root's operator does with the CSR: sign its key into an issuing CA certificate. */
async function signCsr(root: Root, csrPem: string, subject = CONFIG_SUBJECT): Promise<string> {
  const spki = parseCsrStructure(derOf(csrPem)).spki;
  return signKey(root, spki, subject);
}

async function signKey(root: Root, spki: Uint8Array, subject = CONFIG_SUBJECT): Promise<string> {
  return pemOf(
    await createIssuingCertificate(root.authority, spki, {
      subject: parseNameText(subject),
      validityDays: 1825,
    }),
  );
}

const spkiPem = (der: Uint8Array) =>
  createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" })
    .export({ format: "pem", type: "spki" })
    .toString();

function opensslReqVerify(csrPem: string): { ok: boolean; output: string } {
  const r = spawnSync("openssl", ["req", "-verify", "-noout"], { input: csrPem, encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

function opensslReq(args: readonly string[], csrPem: string): string {
  const r = spawnSync("openssl", ["req", ...args], { input: csrPem, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("pki ca csr|import|show --aws, in process", () => {
  let s3: LocalS3;
  const kms = new KMSClient({ region: "eu-west-1" });
  const kmsMock = mockClient(kms);
  let kmsKeySpki: Uint8Array;
  let root: Root;

  before(async () => {
    s3 = await startS3rver(buckets);
    const key = await testKey("ECC_NIST_P256");
    kmsKeySpki = key.spki;
    serveKey(kmsMock, key);
    root = await offlineRoot("Offline Test Root");
  });
  after(async () => {
    await s3?.close();
  });

  const objects = (bucket: string) => new S3ObjectStore(s3.client, bucket);
  const stored = async (bucket: string) => {
    const object = await objects(bucket).get(CA_CHAIN_OBJECT_KEY);
    return object && Buffer.from(object.body).toString("utf8");
  };

  /** Runs a command as main does: SST_RESOURCE_Pki from `env`, output captured. */
  async function run(
    bucket: string,
    command: AwsCaCommand,
    env: Environment = { [PKI_RESOURCE_VARIABLE]: resourceJson(bucket) },
    client: KMSClient = kms,
  ): Promise<{ stdout: string; stderr: string }> {
    const out = { stdout: "", stderr: "" };
    await runAwsCaCommand(command, {
      resource: pkiResourceFromEnvironment(env, command.sub),
      clients: { s3: () => s3.client, kms: () => client },
      out: {
        stdout: (text) => {
          out.stdout += text;
        },
        stderr: (text) => {
          out.stderr += text;
        },
      },
    });
    return out;
  }

  /** The command fails with `code` (and `message`), having printed nothing to stdout. */
  async function fails(bucket: string, command: AwsCaCommand, code: ErrorCode, message: RegExp) {
    let printed = "";
    await assert.rejects(
      runAwsCaCommand(command, {
        resource: pkiResourceFromEnvironment(
          { [PKI_RESOURCE_VARIABLE]: resourceJson(bucket) },
          command.sub,
        ),
        clients: { s3: () => s3.client, kms: () => kms },
        out: {
          stdout: (text) => {
            printed += text;
          },
          stderr: () => {},
        },
      }),
      (e) => {
        assert.ok(isPkiError(e, code), `expected ${code}, got ${(e as Error).message}`);
        assert.match(e.message, message);
        return true;
      },
    );
    assert.equal(printed, "", "a failed command printed to stdout");
  }

  const csr = (subject: readonly NameEntry[] = parseNameText(CONFIG_SUBJECT)): AwsCaCommand => ({
    sub: "csr",
    subject,
  });

  test("csr: a CSR for the KMS key, signed by KMS, that OpenSSL verifies", async () => {
    const bucket = freshBucket();
    kmsMock.resetHistory();
    const { stdout, stderr } = await run(bucket, csr());
    assert.equal(stderr, "", "no note: the bucket holds no certificate");
    assert.deepEqual(pemBlocks(stdout, "CERTIFICATE REQUEST"), [stdout], "stdout is one CSR");

    const verdict = opensslReqVerify(stdout);
    assert.ok(verdict.ok, verdict.output);
    assert.match(verdict.output, /verify OK/);
    // The CSR carries the KMS key, and KMS made the signature, for the linked key ARN.
    assert.equal(opensslReq(["-noout", "-pubkey"], stdout), spkiPem(kmsKeySpki));
    assert.deepEqual(
      kmsMock.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId),
      [TEST_KEY_ARN],
    );
    const signs = kmsMock.commandCalls(SignCommand);
    assert.equal(signs.length, 1);
    assert.equal(signs[0]!.args[0].input.KeyId, TEST_KEY_ARN);
    const text = opensslReq(["-noout", "-text"], stdout);
    assert.match(text, /Subject: CN = Example Private Issuing CA, O = Example/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /ecdsa-with-SHA256/);
    // Nothing was written to the bucket.
    assert.equal(await stored(bucket), undefined);

    // --subject (as main passes it).
    const team = await run(
      bucket,
      csr(parseNameText("CN=Team Issuing CA, OU=Platform, O=Example")),
    );
    assert.ok(opensslReqVerify(team.stdout).ok);
    assert.match(
      opensslReq(["-noout", "-subject"], team.stdout),
      /CN = Team Issuing CA, OU = Platform, O = Example/,
    );
  });

  test("csr: signingAlgorithm from SST_RESOURCE_Pki is the one KMS signs with", async () => {
    const bucket = freshBucket();
    const rsaKms = new KMSClient({ region: "eu-west-1" });
    const rsaMock = mockClient(rsaKms);
    const rsa = await testKey("RSA_2048");
    serveKey(rsaMock, rsa);
    const { stdout } = await run(
      bucket,
      csr(),
      {
        [PKI_RESOURCE_VARIABLE]: resourceJson(bucket, { signingAlgorithm: "RSASSA_PSS_SHA_256" }),
      },
      rsaKms,
    );
    const verdict = opensslReqVerify(stdout);
    assert.ok(verdict.ok, verdict.output);
    assert.match(opensslReq(["-noout", "-text"], stdout), /Signature Algorithm: rsassaPss/);
    assert.equal(opensslReq(["-noout", "-pubkey"], stdout), spkiPem(rsa.spki));
    assert.deepEqual(
      rsaMock.commandCalls(SignCommand).map((c) => c.args[0].input.SigningAlgorithm),
      ["RSASSA_PSS_SHA_256"],
    );
  });

  test("import: the root-signed certificate + chain is installed as is, and show prints it", async () => {
    const bucket = freshBucket();
    const request = (await run(bucket, csr())).stdout;
    const issuing = await signCsr(root, request);
    const bundle = issuing + root.pem;

    const imported = await run(bucket, { sub: "import", pem: bundle });
    assert.equal(await stored(bucket), bundle, "the bucket holds the certificate, then the root");
    assert.equal(imported.stdout, bundle, "stdout is the installed chain");
    const certificate = new X509Certificate(issuing);
    const serial = certificate.serialNumber.toLowerCase().replace(/^0+/, "");
    assert.match(imported.stderr, /^CA certificate imported into s3:\/\/spca-private-\d+\//);
    assert.ok(imported.stderr.includes("CN=Example Private Issuing CA, O=Example"));
    assert.match(imported.stderr, new RegExp(`serial 0*${serial}\\b`));
    assert.ok(
      imported.stderr.includes(`valid until ${new Date(certificate.validTo).toISOString()}`),
      imported.stderr,
    );
    assert.match(imported.stderr, /1 certificate above it/);
    const objects_ = await objects(bucket).get(CA_CHAIN_OBJECT_KEY);
    assert.equal(objects_?.contentType, "application/x-pem-file");

    const shown = await run(bucket, { sub: "show" });
    assert.equal(shown.stdout, bundle);
    assert.equal(shown.stderr, "");
    // What is installed chains to the root under OpenSSL too.
    assert.ok(certificate.checkIssued(new X509Certificate(root.pem)));
    assert.ok(certificate.verify(new X509Certificate(root.pem).publicKey));

    // A CSR for a renewal is still given, with a note that a certificate exists.
    const renewal = await run(bucket, csr());
    assert.ok(opensslReqVerify(renewal.stdout).ok);
    assert.match(
      renewal.stderr,
      /^pki: note: s3:\/\/spca-private-\d+\/ca\/issuing-chain\.pem already holds a certificate for this key .*a renewal/,
    );
    // And the renewed certificate (same key, new serial) replaces the old one.
    const renewed = (await signCsr(root, renewal.stdout)) + root.pem;
    await run(bucket, { sub: "import", pem: renewed });
    assert.equal(await stored(bucket), renewed);
  });

  test("import: a certificate for another key is CA_KEY_MISMATCH, and the bucket is unchanged", async () => {
    const bucket = freshBucket();
    const otherKey = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "stranger");
    const stranger = (await signKey(root, await otherKey.publicKey())) + root.pem;
    const mismatch = new RegExp(
      `The first certificate's public key is not the key of kms:${TEST_KEY_ARN}\\.`,
    );

    // Nothing installed yet: still nothing.
    await fails(bucket, { sub: "import", pem: stranger }, "CA_KEY_MISMATCH", mismatch);
    assert.equal(await stored(bucket), undefined);

    // An installed chain stays as it was.
    const good = (await signCsr(root, (await run(bucket, csr())).stdout)) + root.pem;
    await run(bucket, { sub: "import", pem: good });
    await fails(bucket, { sub: "import", pem: stranger }, "CA_KEY_MISMATCH", mismatch);
    assert.equal(await stored(bucket), good);
    // The root alone first, then the certificate: the first is not the KMS key's either.
    await fails(
      bucket,
      { sub: "import", pem: root.pem + good.slice(0, good.indexOf(root.pem)) },
      "CA_KEY_MISMATCH",
      mismatch,
    );
    assert.equal(await stored(bucket), good);
  });

  test("import: bad bundles give the precise validation error and write nothing", async () => {
    const bucket = freshBucket();
    const issuing = await signCsr(root, (await run(bucket, csr())).stdout);
    const otherRoot = await offlineRoot("Some Other Root");
    for (const [pem, message] of [
      ["this is not a certificate\n", /The file holds no certificate\./],
      ["", /The file holds no certificate\./],
      [issuing, /The chain does not end in a self-signed root .*; include the root\./],
      [issuing + otherRoot.pem, /Certificate 1 was not issued by certificate 2\./],
      [(await run(bucket, csr())).stdout, /Block 1 is a CERTIFICATE REQUEST, not a CERTIFICATE\./],
      [
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        /Certificate 1 is malformed/,
      ],
    ] as const) {
      await fails(bucket, { sub: "import", pem }, "CA_IMPORT_INVALID", message);
    }
    assert.equal(await stored(bucket), undefined);
    // An expired certificate is refused by its dates, not installed.
    await fails(
      bucket,
      { sub: "import", pem: issuing + root.pem, now: new Date(Date.now() + 20 * 365 * 86_400_000) },
      "CA_IMPORT_INVALID",
      /Certificate 1 expired on /,
    );
    assert.equal(await stored(bucket), undefined);
  });

  test("a chain for another key already in the bucket is kept: csr says so, import refuses", async () => {
    const bucket = freshBucket();
    const previous = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "previous CA key");
    const previousChain = (await signKey(root, await previous.publicKey())) + root.pem;
    await objects(bucket).put(CA_CHAIN_OBJECT_KEY, previousChain, "application/x-pem-file");

    const request = await run(bucket, csr());
    assert.ok(opensslReqVerify(request.stdout).ok);
    assert.match(request.stderr, /^pki: note: .* holds the certificate of another key/);

    const bundle = (await signCsr(root, request.stdout)) + root.pem;
    await fails(
      bucket,
      { sub: "import", pem: bundle },
      "CA_KEY_MISMATCH",
      /ca\/issuing-chain\.pem holds the certificate of another key .*it is kept, not replaced/,
    );
    assert.equal(await stored(bucket), previousChain);
  });

  test("show on a bucket without a chain: CA_NOT_INITIALISED saying what to do", async () => {
    await fails(
      freshBucket(),
      { sub: "show" },
      "CA_NOT_INITIALISED",
      /ca\/issuing-chain\.pem does not exist.*npx sst shell --stage <stage> -- npx pki ca csr --aws.*pki ca import FILE --aws/,
    );
  });
});

describe("SST_RESOURCE_Pki", () => {
  const read = (value: string | undefined, sub = "csr") =>
    pkiResourceFromEnvironment({ [PKI_RESOURCE_VARIABLE]: value }, sub);

  test("the fields read; SST's type and the other properties are ignored", () => {
    assert.deepEqual(read(resourceJson("b", { signingAlgorithm: "ECDSA_SHA_256" })), {
      bucket: "b",
      caKeyArn: TEST_KEY_ARN,
      signingAlgorithm: "ECDSA_SHA_256",
      region: "eu-west-1",
    });
    assert.deepEqual(read(JSON.stringify({ bucket: "b", caKeyArn: TEST_KEY_ARN })), {
      bucket: "b",
      caKeyArn: TEST_KEY_ARN,
    });
  });

  for (const [name, value, code, message] of [
    ["unset", undefined, "AWS_TARGET_MISSING", /SST_RESOURCE_Pki is not set/],
    ["empty", "", "AWS_TARGET_MISSING", /SST_RESOURCE_Pki is not set/],
    ["not JSON", "{bucket:", "AWS_TARGET_INVALID", /SST_RESOURCE_Pki is not JSON/],
    ["a number", "42", "AWS_TARGET_INVALID", /SST_RESOURCE_Pki: Invalid type/],
    [
      "without the bucket",
      JSON.stringify({ caKeyArn: TEST_KEY_ARN }),
      "AWS_TARGET_INVALID",
      /SST_RESOURCE_Pki: bucket: /,
    ],
    [
      "with a key id, not an ARN",
      JSON.stringify({ bucket: "b", caKeyArn: "1234abcd-12ab-34cd-56ef-1234567890ab" }),
      "AWS_TARGET_INVALID",
      /caKeyArn: must be a KMS key ARN/,
    ],
    [
      "with an unknown signing algorithm",
      resourceJson("b", { signingAlgorithm: "MD5" }),
      "AWS_TARGET_INVALID",
      /signingAlgorithm: /,
    ],
  ] as const) {
    test(`${name}: ${code}, naming how to run the command`, () => {
      assert.throws(
        () => read(value, "import"),
        (e) =>
          isPkiError(e, code) &&
          message.test(e.message) &&
          e.message.includes("npx sst shell --stage <stage> -- npx pki ca import FILE --aws"),
      );
    });
  }
});

describe("pki ca … --aws through the CLI", () => {
  const noResource = { env: { [PKI_RESOURCE_VARIABLE]: undefined } };

  test("without SST_RESOURCE_Pki: AWS_TARGET_MISSING naming npx sst shell, exit 1", (t) => {
    const dir = scratch(t, "pki-aws-");
    const bundle = writeFile(dir, "bundle.pem", "not read\n");
    for (const [args, how] of [
      [["ca", "csr", "--aws"], "npx pki ca csr --aws"],
      [["ca", "csr", "--aws", "--subject", "CN=Team CA"], "npx pki ca csr --aws"],
      [["ca", "import", bundle, "--aws"], "npx pki ca import FILE --aws"],
      [["ca", "show", "--aws"], "npx pki ca show --aws"],
    ] as const) {
      const r = pki(args, { ...noResource, cwd: dir });
      assertPkiError(r, "AWS_TARGET_MISSING", /SST_RESOURCE_Pki is not set/);
      assert.ok(r.stderr.includes(`npx sst shell --stage <stage> -- ${how}`), r.stderr);
    }
    // Malformed: named as such.
    const bad = pki(["ca", "show", "--aws"], { env: { [PKI_RESOURCE_VARIABLE]: "{" }, cwd: dir });
    assertPkiError(bad, "AWS_TARGET_INVALID", /SST_RESOURCE_Pki is not JSON.*npx sst shell/);
    // No data folder was made in the working directory.
    assert.deepEqual(readdirSync(dir), ["bundle.pem"]);
  });

  test("--aws with other commands or options is a usage error", () => {
    for (const [args, message] of [
      [
        ["ca", "init", "--aws"],
        /--aws works only with pki ca csr, pki ca import FILE and pki ca show, not "pki ca init"/,
      ],
      [["issue", "--csr", "x.csr", "--profile", "server", "--aws"], /not "pki issue"/],
      [["crl", "--aws"], /not "pki crl"/],
      [["keys", "list", "--aws"], /not "pki keys list"/],
      [
        ["ca", "show", "--aws", "--data-dir", "/tmp/x"],
        /does not take --data-dir .*not a data folder/,
      ],
      [["ca", "csr", "--aws", "--kms-key-id", TEST_KEY_ARN], /does not take --kms-key-id/],
      [["ca", "csr", "--aws", "--key-spec", "ECC_NIST_P384"], /does not take --key-spec/],
      [["ca", "show", "--aws", "--subject", "CN=X"], /pki ca show --aws does not take --subject/],
      [["ca", "import", "--aws"], /usage: pki ca import FILE --aws/],
      [["ca", "show", "extra", "--aws"], /usage: pki ca show --aws/],
      [["ca", "csr", "--aws", "--subject", "nonsense"], /--subject: "nonsense" is not TYPE=value/],
    ] as const) {
      // Usage is checked before the environment: a valid resource changes nothing.
      assertUsageError(pki(args, { env: { [PKI_RESOURCE_VARIABLE]: resourceJson("b") } }), message);
    }
  });

  test("ca show --aws reads the bucket, ignoring a data folder held by a running service", async (t) => {
    const dir = scratch(t, "pki-aws-");
    const s3 = await startS3rver(["spca-cli"]);
    t.after(() => s3.close());
    const endpoint = await s3.client.config.endpoint!();
    const { pem: chain } = await offlineRoot("CLI Root");
    await new S3ObjectStore(s3.client, "spca-cli").put(
      CA_CHAIN_OBJECT_KEY,
      chain,
      "application/x-pem-file",
    );
    // A data folder whose runtime lock is held by a live process (this test).
    const data = join(dir, "data");
    mkdirSync(data);
    writeFile(data, "runtime.lock", String(process.pid));
    const env = {
      [PKI_RESOURCE_VARIABLE]: resourceJson("spca-cli", { region: "us-east-1" }),
      PKI_DATA_DIR: data,
      // The SDK's service-specific endpoint variable points S3 at s3rver.
      AWS_ENDPOINT_URL_S3: `http://${endpoint.hostname}:${endpoint.port}`,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
    };
    const r = await pkiAsync(["ca", "show", "--aws"], { env, cwd: dir });
    assert.equal(assertOk(r), chain);
    assert.equal(r.stderr, "");
    // The local commands are refused on that folder; --aws did not look at it.
    assertPkiError(
      pki(["ca", "init"], { env: { PKI_DATA_DIR: data }, cwd: dir }),
      "RUNTIME_RUNNING",
    );
    assert.deepEqual(readdirSync(data), ["runtime.lock"]);
    assert.equal(readFileSync(join(data, "runtime.lock"), "utf8"), String(process.pid));
    assert.equal(existsSync(join(dir, ".pki-data")), false);

    // An empty bucket: CA_NOT_INITIALISED, through the same path, without a stack trace.
    const empty = await pkiAsync(["ca", "show", "--aws"], {
      env: {
        ...env,
        [PKI_RESOURCE_VARIABLE]: resourceJson("spca-cli-none", { region: "us-east-1" }),
      },
      cwd: dir,
    });
    assert.equal(empty.status, 1);
    assertNoStackTrace(empty);
    assert.match(
      empty.stderr,
      /^pki: S3: reading s3:\/\/spca-cli-none\/ca\/issuing-chain\.pem failed: NoSuchBucket/,
    );
  });
});
