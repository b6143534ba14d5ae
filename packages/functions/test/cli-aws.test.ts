/**
 * `pki ca csr|import|show --aws`: the deployed CA, reached through its CA bootstrap function,
 * which SST_RESOURCE_Pki names. The function is the real handler (ca-bootstrap.ts) on s3rver,
 * with KMS behind aws-sdk-client-mock serving a real key, so the CSR and every signature verify
 * for real (OpenSSL checks the CSR); the CLI reaches it through the real Lambda SDK, whose
 * Invoke requests a stand-in answers in process (support/lambda-stand-in.ts). An offline root
 * made here with core's createRootCertificate signs the CSR's key into an issuing CA
 * certificate. `pki keys create --aws` makes API keys in the function's table (dynalite), which
 * the deployed API's own authentication then accepts. Through the real CLI (a child process, the
 * stand-in served over HTTP): what happens without SST_RESOURCE_Pki, --aws where it does not
 * belong, the output and exit status of each command, and how an error result, a failed function
 * and a denied invocation read.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { SFNClient } from "@aws-sdk/client-sfn";
import { openAuthority } from "@spca/core/ca/authority";
import { createIssuingCertificate, createRootCertificate } from "@spca/core/ca/create";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { parseCsrStructure } from "@spca/core/csr/parse";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import type { ErrorCode } from "@spca/core/errors";
import { loadConfig } from "@spca/core/policy/config";
import { API_KEY_LABEL_MAX, hashApiKey } from "@spca/core/ra/api-keys";
import type { SigningAlgorithm } from "@spca/core/signer/algorithms";
import { generateKey, LocalSigner } from "@spca/core/signer/local-signer";
import type { ApiKeyRole } from "@spca/core/store/request-repository";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { parseNameText } from "@spca/core/x509/name";
import { mockClient } from "aws-sdk-client-mock";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { serveKey, TEST_KEY_ARN, testKey } from "../../core/test/support/kms-mock.ts";
import { type LocalS3, startS3rver } from "../../core/test/support/s3.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import {
  type AwsCaCommand,
  CaFunctionError,
  type Environment,
  PKI_RESOURCE_VARIABLE,
  pkiResourceFromEnvironment,
  runAwsCaCommand,
} from "../src/cli/aws-target.ts";
import { AwsServices } from "../src/lambda/aws-services.ts";
import { caBootstrapLambda } from "../src/lambda/ca-bootstrap.ts";
import { dynamodbAdapters } from "../src/lambda/clients/dynamodb.ts";
import { eventBridgeAdapters } from "../src/lambda/clients/eventbridge.ts";
import { kmsAdapters } from "../src/lambda/clients/kms.ts";
import { s3Adapters } from "../src/lambda/clients/s3.ts";
import { sfnAdapters } from "../src/lambda/clients/sfn.ts";
import type { LambdaSettings } from "../src/lambda/settings.ts";
import {
  assertCliFailure,
  assertOk,
  assertPkiError,
  assertUsageError,
  pemBlocks,
  pki,
  pkiAsync,
  scratch,
  writeFile,
} from "./support/cli.ts";
import { LambdaStandIn, STAND_IN_ACCOUNT, STAND_IN_REGION } from "./support/lambda-stand-in.ts";
import { capturePowertoolsOutput, type PowertoolsOutput } from "./support/powertools-output.ts";

const CONFIG = loadConfig(shippedConfigPath);
const CONFIG_SUBJECT = CONFIG.ca.subject;
const buckets = Array.from({ length: 10 }, (_, i) => `spca-private-${i}`);
let nextBucket = 0;
/** A bucket of its own for each test: nothing one test installs is seen by another. */
const freshBucket = () => buckets[nextBucket++]!;
let functionCount = 0;

const functionArn = (name: string) =>
  `arn:aws:lambda:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:function:${name}`;

/** What `sst shell` would put in SST_RESOURCE_Pki for a deployment whose function is `fn`. */
function resourceJson(fn: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "sst.sst.Linkable",
    table: "spca-prod-Table",
    bucket: "spca-prod-private",
    eventBus: "spca-prod-Bus",
    caKeyArn: TEST_KEY_ARN,
    caFunction: fn,
    publicBaseUrl: "https://pki.example.com",
    region: STAND_IN_REGION,
    ...extra,
  });
}

interface DeployOptions {
  readonly bucket?: string;
  readonly kms: KMSClient;
  readonly dynamo: LocalDynamo;
  /** The function's table in `dynamo` (freshTable); by default one that does not exist. */
  readonly table?: string;
  readonly signingAlgorithm?: SigningAlgorithm;
  /** The function's clock, for imports. */
  readonly now?: () => Date;
}

/** A deployed function's settings: the bucket and the table. */
const settingsFor = (bucket: string, table: string, more: Partial<LambdaSettings> = {}) => ({
  tableName: table,
  bucketName: bucket,
  eventBusName: "spca-prod-Bus",
  caKeyId: TEST_KEY_ARN,
  caSigningAlgorithm: undefined,
  stateMachineArn: undefined,
  openSubmission: false,
  webAssetsDir: undefined,
  config: CONFIG,
  ...more,
});

/**
 * A deployment in `s3` and `dynamo`: a bucket, a table, and its CA bootstrap function (the real
 * handler, wired as its entry point wires it) in `lambda`.
 */
function deploy(lambda: LambdaStandIn, s3: LocalS3, options: DeployOptions) {
  const bucket = options.bucket ?? freshBucket();
  const table = options.table ?? "spca-prod-Table-absent";
  const fn = `spca-prod-CaBootstrap-${++functionCount}`;
  const services = new AwsServices(
    settingsFor(bucket, table, { caSigningAlgorithm: options.signingAlgorithm }),
    {
      ...dynamodbAdapters(() => options.dynamo.client),
      ...s3Adapters(() => s3.client),
      ...kmsAdapters(() => options.kms),
    },
    "CaBootstrap",
  );
  lambda.functions.set(
    fn,
    caBootstrapLambda(() => services, options.now ? { now: options.now } : {}),
  );
  return { bucket, table, fn };
}
type Deployment = ReturnType<typeof deploy>;

/**
 * The deployed API's view of a deployment's table: its RegistrationAuthority, built as the API
 * function builds it (lambda/api.ts), whose authenticate() is what checks every bearer key. The
 * bus and the workflow are wired but never reached.
 */
function apiAuthority(s3: LocalS3, dynamo: LocalDynamo, d: Pick<Deployment, "bucket" | "table">) {
  const region = { region: STAND_IN_REGION };
  return new AwsServices(
    settingsFor(d.bucket, d.table, {
      stateMachineArn: `arn:aws:states:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:stateMachine:spca-prod`,
    }),
    {
      ...dynamodbAdapters(() => dynamo.client),
      ...s3Adapters(() => s3.client),
      ...eventBridgeAdapters(() => new EventBridgeClient(region)),
      ...sfnAdapters(() => new SFNClient(region)),
    },
    "Api",
  ).registrationAuthority;
}

/** An API key as the generator makes them: spca_ and 192 bits, base64url. */
const API_KEY = /^spca_[A-Za-z0-9_-]{32}$/;

/** Who the API's authentication says a key is: a machine acting for its owner, in its role. */
const keyPrincipal = (id: string, role: ApiKeyRole, owner: string) => ({
  id: `api-key:${id}`,
  kind: "api-key",
  email: owner,
  groups: [],
  roles: [role],
});

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
  const lambda = new LambdaStandIn();
  const client = lambda.client();
  let dynamo: LocalDynamo;
  let kmsKeySpki: Uint8Array;
  let root: Root;
  // The function's log lines, kept out of the report.
  let logs: PowertoolsOutput;

  before(async () => {
    logs = capturePowertoolsOutput();
    s3 = await startS3rver(buckets);
    dynamo = await startDynalite();
    const key = await testKey("ECC_NIST_P256");
    kmsKeySpki = key.spki;
    serveKey(kmsMock, key);
    root = await offlineRoot("Offline Test Root");
  });
  after(async () => {
    logs?.stop();
    client.destroy();
    await s3?.close();
    await dynamo?.close();
  });

  const deployment = (options: Partial<DeployOptions> = {}) =>
    deploy(lambda, s3, { kms, dynamo, ...options });
  /** A deployment with a table of its own, for the API keys. */
  const keyDeployment = async () => deployment({ table: await dynamo.freshTable() });
  const objects = (bucket: string) => new S3ObjectStore(s3.client, bucket);
  const stored = async (bucket: string) => {
    const object = await objects(bucket).get(CA_CHAIN_OBJECT_KEY);
    return object && Buffer.from(object.body).toString("utf8");
  };
  const lastEvent = () => lambda.events.at(-1)?.event;

  /** Runs a command as main does: SST_RESOURCE_Pki from `env`, output captured. */
  async function run(
    d: Pick<Deployment, "fn">,
    command: AwsCaCommand,
    env: Environment = { [PKI_RESOURCE_VARIABLE]: resourceJson(d.fn) },
  ): Promise<{ stdout: string; stderr: string }> {
    const out = { stdout: "", stderr: "" };
    await runAwsCaCommand(command, {
      resource: pkiResourceFromEnvironment(env, command.sub),
      lambda: client,
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

  /** The command fails with `check`'s error, having printed nothing to stdout. */
  async function failsWith(
    d: Pick<Deployment, "fn">,
    command: AwsCaCommand,
    check: (e: Error) => boolean,
  ) {
    let printed = "";
    await assert.rejects(
      runAwsCaCommand(command, {
        resource: pkiResourceFromEnvironment(
          { [PKI_RESOURCE_VARIABLE]: resourceJson(d.fn) },
          command.sub,
        ),
        lambda: client,
        out: {
          stdout: (text) => {
            printed += text;
          },
          stderr: () => {},
        },
      }),
      check,
    );
    assert.equal(printed, "", "a failed command printed to stdout");
  }

  /** The function answered an error result: `code` and `message`, as main prints them. */
  const fails = (d: Deployment, command: AwsCaCommand, code: ErrorCode, message: RegExp) =>
    failsWith(d, command, (e) => {
      assert.ok(e instanceof CaFunctionError, `expected ${code}, got ${e.name}: ${e.message}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      return true;
    });

  const csr: AwsCaCommand = { sub: "csr" };

  test("csr: a CSR for the KMS key, signed by KMS, that OpenSSL verifies", async () => {
    const d = deployment();
    kmsMock.resetHistory();
    const { stdout, stderr } = await run(d, csr);
    assert.equal(stderr, "", "no note: the bucket holds no certificate");
    assert.deepEqual(pemBlocks(stdout, "CERTIFICATE REQUEST"), [stdout], "stdout is one CSR");
    // The CLI asked the function named in SST_RESOURCE_Pki, leaving the subject to it.
    assert.deepEqual(lambda.events.at(-1), { name: d.fn, event: { action: "csr" } });

    const verdict = opensslReqVerify(stdout);
    assert.ok(verdict.ok, verdict.output);
    assert.match(verdict.output, /verify OK/);
    // The CSR carries the KMS key, and KMS made the signature, for the function's key ARN.
    assert.equal(opensslReq(["-noout", "-pubkey"], stdout), spkiPem(kmsKeySpki));
    assert.deepEqual(
      kmsMock.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId),
      [TEST_KEY_ARN],
    );
    const signs = kmsMock.commandCalls(SignCommand);
    assert.equal(signs.length, 1);
    assert.equal(signs[0]!.args[0].input.KeyId, TEST_KEY_ARN);
    // The deployed configuration's ca.subject.
    const text = opensslReq(["-noout", "-text"], stdout);
    assert.match(text, /Subject: CN = Example Private Issuing CA, O = Example/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /ecdsa-with-SHA256/);
    // Nothing was written to the bucket.
    assert.equal(await stored(d.bucket), undefined);

    // --subject (as main passes it).
    const team = await run(d, {
      sub: "csr",
      subject: "CN=Team Issuing CA, OU=Platform, O=Example",
    });
    assert.deepEqual(lastEvent(), {
      action: "csr",
      subject: "CN=Team Issuing CA, OU=Platform, O=Example",
    });
    assert.ok(opensslReqVerify(team.stdout).ok);
    assert.match(
      opensslReq(["-noout", "-subject"], team.stdout),
      /CN = Team Issuing CA, OU = Platform, O = Example/,
    );
    // A subject the function cannot use is an error result, not a failed function.
    await fails(
      d,
      { sub: "csr", subject: "nonsense" },
      "CSR_SUBJECT_INVALID",
      /subject: "nonsense" is not TYPE=value/,
    );
  });

  test("csr: the function's signing algorithm is the one KMS signs with", async () => {
    const rsaKms = new KMSClient({ region: "eu-west-1" });
    const rsaMock = mockClient(rsaKms);
    const rsa = await testKey("RSA_2048");
    serveKey(rsaMock, rsa);
    const d = deployment({ kms: rsaKms, signingAlgorithm: "RSASSA_PSS_SHA_256" });
    const { stdout } = await run(d, csr);
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
    const d = deployment();
    const request = (await run(d, csr)).stdout;
    const issuing = await signCsr(root, request);
    const bundle = issuing + root.pem;

    const imported = await run(d, { sub: "import", pem: bundle });
    assert.deepEqual(lastEvent(), { action: "import", chain: bundle });
    assert.equal(await stored(d.bucket), bundle, "the bucket holds the certificate, then the root");
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
    const object = await objects(d.bucket).get(CA_CHAIN_OBJECT_KEY);
    assert.equal(object?.contentType, "application/x-pem-file");

    const shown = await run(d, { sub: "show" });
    assert.deepEqual(lastEvent(), { action: "show" });
    assert.equal(shown.stdout, bundle);
    assert.equal(shown.stderr, "");
    // What is installed chains to the root under OpenSSL too.
    assert.ok(certificate.checkIssued(new X509Certificate(root.pem)));
    assert.ok(certificate.verify(new X509Certificate(root.pem).publicKey));

    // A CSR for a renewal is still given, with a note that a certificate exists.
    const renewal = await run(d, csr);
    assert.ok(opensslReqVerify(renewal.stdout).ok);
    assert.match(
      renewal.stderr,
      /^pki: note: s3:\/\/spca-private-\d+\/ca\/issuing-chain\.pem already holds a certificate for this key .*a renewal/,
    );
    // And the renewed certificate (same key, new serial) replaces the old one.
    const renewed = (await signCsr(root, renewal.stdout)) + root.pem;
    await run(d, { sub: "import", pem: renewed });
    assert.equal(await stored(d.bucket), renewed);
  });

  test("import: a certificate for another key is CA_KEY_MISMATCH, and the bucket is unchanged", async () => {
    const d = deployment();
    const otherKey = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "stranger");
    const stranger = (await signKey(root, await otherKey.publicKey())) + root.pem;
    const mismatch = new RegExp(
      `The first certificate's public key is not the key of kms:${TEST_KEY_ARN}\\.`,
    );

    // Nothing installed yet: still nothing.
    await fails(d, { sub: "import", pem: stranger }, "CA_KEY_MISMATCH", mismatch);
    assert.equal(await stored(d.bucket), undefined);

    // An installed chain stays as it was.
    const good = (await signCsr(root, (await run(d, csr)).stdout)) + root.pem;
    await run(d, { sub: "import", pem: good });
    await fails(d, { sub: "import", pem: stranger }, "CA_KEY_MISMATCH", mismatch);
    assert.equal(await stored(d.bucket), good);
    // The root alone first, then the certificate: the first is not the KMS key's either.
    await fails(
      d,
      { sub: "import", pem: root.pem + good.slice(0, good.indexOf(root.pem)) },
      "CA_KEY_MISMATCH",
      mismatch,
    );
    assert.equal(await stored(d.bucket), good);
  });

  test("import: bad bundles give the precise validation error and write nothing", async () => {
    const d = deployment();
    const issuing = await signCsr(root, (await run(d, csr)).stdout);
    const otherRoot = await offlineRoot("Some Other Root");
    for (const [pem, message] of [
      ["this is not a certificate\n", /The file holds no certificate\./],
      ["", /The file holds no certificate\./],
      [issuing, /The chain does not end in a self-signed root .*; include the root\./],
      [issuing + otherRoot.pem, /Certificate 1 was not issued by certificate 2\./],
      [(await run(d, csr)).stdout, /Block 1 is a CERTIFICATE REQUEST, not a CERTIFICATE\./],
      [
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        /Certificate 1 is malformed/,
      ],
    ] as const) {
      await fails(d, { sub: "import", pem }, "CA_IMPORT_INVALID", message);
    }
    assert.equal(await stored(d.bucket), undefined);
    // An expired certificate is refused by its dates, not installed: the same bucket, through
    // a function whose clock is 20 years on.
    const later = deployment({
      bucket: d.bucket,
      now: () => new Date(Date.now() + 20 * 365 * 86_400_000),
    });
    await fails(
      later,
      { sub: "import", pem: issuing + root.pem },
      "CA_IMPORT_INVALID",
      /Certificate 1 expired on /,
    );
    assert.equal(await stored(d.bucket), undefined);
  });

  test("a chain for another key already in the bucket is kept: csr says so, import refuses", async () => {
    const d = deployment();
    const previous = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "previous CA key");
    const previousChain = (await signKey(root, await previous.publicKey())) + root.pem;
    await objects(d.bucket).put(CA_CHAIN_OBJECT_KEY, previousChain, "application/x-pem-file");

    const request = await run(d, csr);
    assert.ok(opensslReqVerify(request.stdout).ok);
    assert.match(request.stderr, /^pki: note: .* holds the certificate of another key/);

    const bundle = (await signCsr(root, request.stdout)) + root.pem;
    await fails(
      d,
      { sub: "import", pem: bundle },
      "CA_KEY_MISMATCH",
      /ca\/issuing-chain\.pem holds the certificate of another key .*it is kept, not replaced/,
    );
    assert.equal(await stored(d.bucket), previousChain);
  });

  test("an object that is not a chain: csr notes that import will replace it, and it does", async () => {
    const d = deployment();
    await objects(d.bucket).put(CA_CHAIN_OBJECT_KEY, "not a chain\n", "text/plain");
    const request = await run(d, csr);
    assert.ok(opensslReqVerify(request.stdout).ok);
    assert.match(
      request.stderr,
      /^pki: note: s3:\/\/spca-private-\d+\/ca\/issuing-chain\.pem exists but is not a PEM certificate chain; pki ca import --aws will replace it/,
    );
    const bundle = (await signCsr(root, request.stdout)) + root.pem;
    await run(d, { sub: "import", pem: bundle });
    assert.equal(await stored(d.bucket), bundle);
  });

  test("show on a bucket without a chain: CA_NOT_INITIALISED saying what to do", async () => {
    await fails(
      deployment(),
      { sub: "show" },
      "CA_NOT_INITIALISED",
      /ca\/issuing-chain\.pem does not exist.*npx sst shell --stage <stage> -- npx pki ca csr --aws.*pki ca import FILE --aws/,
    );
  });

  test("keys create --aws: an admin key for its owner in the deployment's table, which the API's authentication accepts", async () => {
    const d = await keyDeployment();
    logs.clear();
    const started = new Date().toISOString();
    const { stdout, stderr } = await run(d, {
      sub: "create-api-key",
      role: "admin",
      owner: "ops@example.com",
      label: "first admin",
    });
    assert.deepEqual(lambda.events.at(-1), {
      name: d.fn,
      event: {
        action: "create-api-key",
        role: "admin",
        owner: "ops@example.com",
        label: "first admin",
      },
    });
    // What pki keys create prints: the key alone on stdout, the rest on stderr.
    assert.match(stdout, /^spca_[A-Za-z0-9_-]{32}\n$/);
    const key = stdout.trimEnd();
    const id = hashApiKey(key).slice(0, 16);
    assert.equal(
      stderr,
      `Created admin key ${id} for ops@example.com in the deployment's table (through the CA function ${d.fn}). This is the only time the key is shown.\n`,
    );

    // The deployed API accepts it as an admin key acting for its owner, from the same table.
    const api = apiAuthority(s3, dynamo, d);
    assert.deepEqual(await api.authenticate(key), keyPrincipal(id, "admin", "ops@example.com"));
    const [record, ...others] = await api.listApiKeys();
    assert.deepEqual(others, []);
    assert.equal(record?.id, id);
    assert.equal(record.role, "admin");
    assert.equal(record.owner, "ops@example.com");
    assert.equal(record.label, "first admin");
    assert.equal(record.revokedAt, null);
    assert.ok(record.createdAt >= started, record.createdAt);
    // A key like any other: revoked through the API, it is refused.
    await api.revokeApiKey(id);
    assert.equal(await api.authenticate(key), undefined);

    // The function logged the creation (id, role, label), and no line carries the secret.
    const done = logs.logs("operator action done: API key created");
    assert.equal(done.length, 1, JSON.stringify(logs.lines));
    assert.deepEqual(done[0]!.apiKey, {
      id,
      role: "admin",
      label: "first admin",
      createdAt: record.createdAt,
    });
    for (const line of logs.lines) {
      assert.ok(!JSON.stringify(line).includes(key), `the secret in a log line: ${line.message}`);
    }
  });

  test("keys create --aws: a requester key, an auditor key; the function answers as POST /v1/keys does", async () => {
    const d = await keyDeployment();
    const { stdout } = await run(d, {
      sub: "create-api-key",
      role: "requester",
      owner: "rita@example.com",
      label: "ci",
    });
    const key = stdout.trimEnd();
    assert.match(key, API_KEY);
    const api = apiAuthority(s3, dynamo, d);
    assert.deepEqual(
      await api.authenticate(key),
      keyPrincipal(hashApiKey(key).slice(0, 16), "requester", "rita@example.com"),
    );

    // The answer itself: the record's fields, then the secret, as the API's 201 has them. The
    // label is optional, empty by default (as in POST /v1/keys).
    const handler = lambda.functions.get(d.fn)!;
    const answer = (await handler({
      action: "create-api-key",
      role: "auditor",
      owner: "a@example.com",
    } as never)) as { readonly [field: string]: unknown };
    assert.deepEqual(Object.keys(answer), [
      "id",
      "role",
      "label",
      "owner",
      "createdAt",
      "revokedAt",
      "key",
    ]);
    assert.match(String(answer.key), API_KEY);
    assert.equal(answer.id, hashApiKey(String(answer.key)).slice(0, 16));
    assert.equal(answer.role, "auditor");
    assert.equal(answer.owner, "a@example.com");
    assert.equal(answer.label, "");
    assert.equal(answer.revokedAt, null);
    assert.deepEqual(
      await api.authenticate(String(answer.key)),
      keyPrincipal(String(answer.id), "auditor", "a@example.com"),
    );
    assert.deepEqual(
      (await api.listApiKeys()).map((k) => [k.role, k.owner, k.label]),
      [
        ["requester", "rita@example.com", "ci"],
        ["auditor", "a@example.com", ""],
      ],
    );
  });

  test("keys create --aws: a bad role or owner, a label over the limit, a malformed event: an error result, and no key", async () => {
    const d = await keyDeployment();
    logs.clear();
    const owner = "ops@example.com";
    // The CLI refuses a bad role or owner itself (a usage error); the function does too.
    await fails(
      d,
      { sub: "create-api-key", role: "root" as "admin", owner, label: "x" },
      "EVENT_INVALID",
      / role: role must be one of requester, approver, admin, auditor\. Operator actions are .*\{"action": "create-api-key", "role": "requester" \| "approver" \| "admin" \| "auditor", "owner": email, "label"\?: text\}/,
    );
    // The same codes and messages as pki keys create on a data folder, through the service.
    await fails(
      d,
      { sub: "create-api-key", role: "admin", owner, label: "x".repeat(API_KEY_LABEL_MAX + 1) },
      "API_KEY_LABEL_INVALID",
      /^The API key's label is too long\. A label has at most 200 characters\.$/,
    );
    await fails(
      d,
      { sub: "create-api-key", role: "admin", owner: "not-an-email", label: "x" },
      "API_KEY_OWNER_INVALID",
      /"not-an-email" is not an email address\./,
    );
    const handler = lambda.functions.get(d.fn)!;
    for (const [event, code, message] of [
      [
        { action: "create-api-key", role: "admin" },
        "EVENT_INVALID",
        / owner is required\. Operator actions are .*"owner": email/,
      ],
      [
        { action: "create-api-key", role: "admin", owner: 42 },
        "EVENT_INVALID",
        / owner: owner must be the email address of the person the key acts for/,
      ],
      [
        { action: "create-api-key", role: "admin", owner: "" },
        "API_KEY_OWNER_INVALID",
        /"" is not an email address/,
      ],
      [{ action: "create-api-key", owner }, "EVENT_INVALID", / role is required\./],
      [
        { action: "create-api-key", role: "Admin", owner },
        "EVENT_INVALID",
        / role: role must be one of requester, approver, admin, auditor/,
      ],
      [
        { action: "create-api-key", role: "admin", owner, label: 42 },
        "EVENT_INVALID",
        / label: Invalid type/,
      ],
      [
        { action: "create-api-key", role: "admin", owner, id: "0123456789abcdef" },
        "EVENT_INVALID",
        / unknown field "id": allowed fields are action, role, owner, label\./,
      ],
      [
        { action: "create-api-key", role: "admin", owner, key: "spca_chosen" },
        "EVENT_INVALID",
        / unknown field "key": allowed fields are action, role, owner, label\./,
      ],
    ] as const) {
      // An error result, never a thrown error (a FunctionError for the CLI).
      const answer = (await handler(event as never)) as {
        error?: { code: string; message: string };
      };
      assert.equal(answer.error?.code, code, JSON.stringify(answer));
      assert.match(answer.error.message, message);
    }
    const api = apiAuthority(s3, dynamo, d);
    assert.deepEqual(await api.listApiKeys(), []);
    assert.equal(logs.logs(/^operator action refused: /).length, 11);

    // A label at the limit is taken.
    const label = "x".repeat(API_KEY_LABEL_MAX);
    const { stdout } = await run(d, { sub: "create-api-key", role: "admin", owner, label });
    assert.deepEqual(
      await api.authenticate(stdout.trimEnd()),
      keyPrincipal(hashApiKey(stdout.trimEnd()).slice(0, 16), "admin", owner),
    );
    assert.deepEqual(
      (await api.listApiKeys()).map((k) => k.label),
      [label],
    );
  });

  test("a failed function, a denied or unknown function: errors naming the function", async () => {
    // The bucket is gone: the function fails (unhandled), and says why.
    const broken = deployment({ bucket: "spca-gone" });
    await failsWith(broken, { sub: "show" }, (e) => {
      assert.ok(!(e instanceof CaFunctionError));
      assert.match(
        e.message,
        new RegExp(
          `^The CA function ${broken.fn} failed \\(Unhandled\\): NoSuchBucket: The specified bucket does not exist`,
        ),
      );
      return true;
    });

    // lambda:InvokeFunction is not granted to the caller.
    const d = deployment();
    lambda.deny = "arn:aws:sts::111122223333:assumed-role/Operator/alice";
    try {
      await failsWith(d, csr, (e) => {
        assert.equal(
          e.message,
          `Invoking the CA function ${d.fn} failed: AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/Operator/alice is not authorized to perform: lambda:InvokeFunction on resource: ${functionArn(d.fn)} because no identity-based policy allows the lambda:InvokeFunction action. The caller needs lambda:InvokeFunction on the CA function.`,
        );
        return true;
      });
    } finally {
      lambda.deny = undefined;
    }

    // No such function (another account, Region or stage).
    await failsWith({ fn: "spca-prod-Gone" }, { sub: "show" }, (e) => {
      assert.match(
        e.message,
        /^Invoking the CA function spca-prod-Gone failed: ResourceNotFoundException: Function not found: .*spca-prod-Gone\. Is the stage deployed with the current stacks/,
      );
      return true;
    });

    // A function that answers something else (not the CA bootstrap, or an older one).
    lambda.functions.set("spca-prod-Other", async () => ({ status: "existing" }));
    await failsWith({ fn: "spca-prod-Other" }, { sub: "show" }, (e) => {
      assert.match(
        e.message,
        /^The CA function spca-prod-Other answered "show" with something else \(chain is required\); is the stage deployed with the current stacks\?/,
      );
      return true;
    });
  });
});

describe("SST_RESOURCE_Pki", () => {
  const read = (value: string | undefined, sub = "csr") =>
    pkiResourceFromEnvironment({ [PKI_RESOURCE_VARIABLE]: value }, sub);

  test("the fields read; SST's type and the other properties are ignored", () => {
    assert.deepEqual(read(resourceJson("spca-prod-CaBootstrap")), {
      caFunction: "spca-prod-CaBootstrap",
      region: "eu-west-1",
    });
    // The function's ARN, or its partial ARN, with a qualifier or not; no Region.
    for (const caFunction of [
      functionArn("spca-prod-CaBootstrapFunction-abcd"),
      `${functionArn("spca-prod-CaBootstrap")}:$LATEST`,
      "111122223333:function:spca-prod-CaBootstrap",
    ]) {
      assert.deepEqual(read(JSON.stringify({ caFunction })), { caFunction });
    }
  });

  for (const [name, value, code, message] of [
    ["unset", undefined, "AWS_TARGET_MISSING", /SST_RESOURCE_Pki is not set/],
    ["empty", "", "AWS_TARGET_MISSING", /SST_RESOURCE_Pki is not set/],
    ["not JSON", "{caFunction:", "AWS_TARGET_INVALID", /SST_RESOURCE_Pki is not JSON/],
    [
      "a number",
      "42",
      "AWS_TARGET_INVALID",
      /SST_RESOURCE_Pki: expected an object with the fields caFunction, region, not 42\./,
    ],
    [
      // What stacks from before the function was linked give: the bucket and key alone.
      "without caFunction",
      JSON.stringify({ bucket: "b", caKeyArn: TEST_KEY_ARN }),
      "AWS_TARGET_INVALID",
      /SST_RESOURCE_Pki: caFunction is required\. Deploy the current stacks \(they link "Pki"\)/,
    ],
    [
      "with something that is not a function",
      JSON.stringify({ caFunction: TEST_KEY_ARN }),
      "AWS_TARGET_INVALID",
      /caFunction: must be the CA bootstrap function's name or ARN/,
    ],
    [
      "with a bad Region",
      resourceJson("f", { region: "EU West" }),
      "AWS_TARGET_INVALID",
      /region: must be an AWS Region name/,
    ],
  ] as const) {
    test(`${name}: ${code}, naming how to run the command`, () => {
      assert.throws(
        () => read(value, "import"),
        (e: Error & { code?: string }) =>
          e.code === code &&
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
      [
        ["keys", "create", "--aws", "--role", "admin", "--owner", "ops@example.com"],
        "npx pki keys create --role ROLE --owner EMAIL --aws",
      ],
    ] as const) {
      const r = pki(args, { ...noResource, cwd: dir });
      assertPkiError(r, "AWS_TARGET_MISSING", /SST_RESOURCE_Pki is not set/);
      assert.ok(r.stderr.includes(`npx sst shell --stage <stage> -- ${how}`), r.stderr);
    }
    // Malformed, or from stacks that do not link the function: named as such.
    const bad = pki(["ca", "show", "--aws"], { env: { [PKI_RESOURCE_VARIABLE]: "{" }, cwd: dir });
    assertPkiError(bad, "AWS_TARGET_INVALID", /SST_RESOURCE_Pki is not JSON.*npx sst shell/);
    const old = pki(["ca", "show", "--aws"], {
      env: { [PKI_RESOURCE_VARIABLE]: JSON.stringify({ bucket: "b", caKeyArn: TEST_KEY_ARN }) },
      cwd: dir,
    });
    assertPkiError(
      old,
      "AWS_TARGET_INVALID",
      /caFunction is required\. .*Deploy the current stacks .*npx sst shell --stage <stage> -- npx pki ca show --aws/,
    );
    // No data folder was made in the working directory.
    assert.deepEqual(readdirSync(dir), ["bundle.pem"]);
  });

  test("--aws with other commands or options is a usage error", () => {
    for (const [args, message] of [
      [
        ["ca", "init", "--aws"],
        /--aws works only with pki ca csr, pki ca import FILE, pki ca show and pki keys create, not "pki ca init"/,
      ],
      [["issue", "--csr", "x.csr", "--profile", "server", "--aws"], /not "pki issue"/],
      [["crl", "--aws"], /not "pki crl"/],
      [["keys", "rotate", "--aws"], /not "pki keys rotate"/],
      // Listing and revoking deployed keys is the API's, with an admin key.
      [
        ["keys", "list", "--aws"],
        /pki keys list --aws is not available: list the deployment's keys through its API, GET \/v1\/keys, with an admin key \(pki keys create --aws --role admin --owner EMAIL makes one\)/,
      ],
      [
        ["keys", "revoke", "0123456789abcdef", "--aws"],
        /pki keys revoke --aws is not available: revoke a deployed key through its API, DELETE \/v1\/keys\/\{id\}, with an admin key/,
      ],
      [
        ["keys", "create", "--aws", "--owner", "ops@example.com"],
        /pki keys create needs --role requester\|approver\|admin\|auditor$/m,
      ],
      [
        ["keys", "create", "--aws", "--role", "root", "--owner", "ops@example.com"],
        /needs --role requester\|approver\|admin\|auditor, not "root"/,
      ],
      [
        ["keys", "create", "--aws", "--role", "admin"],
        /pki keys create needs --owner EMAIL, the email address of the person the key acts for \(for example --owner alice@example\.com\)$/m,
      ],
      [
        ["keys", "create", "--aws", "--role", "admin", "--owner", "not-an-email"],
        /--owner must be an email address \(for example --owner alice@example\.com\), not "not-an-email"$/m,
      ],
      [
        ["keys", "create", "--aws", "--role", "admin", "--data-dir", "/tmp/x"],
        /pki keys create --aws does not take --data-dir \(it acts on the deployment, not a data folder\)/,
      ],
      [
        ["keys", "create", "--aws", "--role", "admin", "--subject", "CN=X"],
        /pki keys create --aws does not take --subject/,
      ],
      [
        ["keys", "create", "extra", "--aws", "--role", "admin"],
        /usage: pki keys create --aws --role requester\|approver\|admin\|auditor --owner EMAIL \[--label TEXT\]/,
      ],
      [
        ["ca", "show", "--aws", "--owner", "a@example.com"],
        /pki ca show --aws does not take --owner/,
      ],
      [["ca", "show", "--aws", "--label", "x"], /pki ca show --aws does not take --label/],
      [
        ["ca", "show", "--aws", "--data-dir", "/tmp/x"],
        /does not take --data-dir .*not a data folder/,
      ],
      [
        ["ca", "csr", "--aws", "--config", "pki.config.json"],
        /does not take --config \(the deployed CA uses its deployed configuration\)/,
      ],
      [["ca", "csr", "--aws", "--kms-key-id", TEST_KEY_ARN], /does not take --kms-key-id/],
      [["ca", "csr", "--aws", "--key-spec", "ECC_NIST_P384"], /does not take --key-spec/],
      [["ca", "show", "--aws", "--subject", "CN=X"], /pki ca show --aws does not take --subject/],
      [["ca", "import", "--aws"], /usage: pki ca import FILE --aws/],
      [["ca", "show", "extra", "--aws"], /usage: pki ca show --aws/],
      [["ca", "csr", "--aws", "--subject", "nonsense"], /--subject: "nonsense" is not TYPE=value/],
      [
        ["ca", "csr", "--aws", "--subject", "CN=Team CA, C=Germany"],
        /--subject: C is longer than 2 characters/,
      ],
      [
        ["ca", "csr", "--aws", "--subject", "CN=Team CA, C=D1"],
        /--subject: C "D1" is not a two-letter ISO 3166 country code such as DE/,
      ],
    ] as const) {
      // Usage is checked before the environment: a valid resource changes nothing.
      assertUsageError(
        pki(args, { env: { [PKI_RESOURCE_VARIABLE]: resourceJson("spca-prod-CaBootstrap") } }),
        message,
      );
    }
  });

  describe("against the function, over HTTP", () => {
    let s3: LocalS3;
    let dynamo: LocalDynamo;
    const kms = new KMSClient({ region: "eu-west-1" });
    const lambda = new LambdaStandIn();
    let endpoint: Awaited<ReturnType<LambdaStandIn["serve"]>>;
    let logs: PowertoolsOutput;

    before(async () => {
      logs = capturePowertoolsOutput();
      s3 = await startS3rver(["spca-cli", "spca-cli-empty"]);
      dynamo = await startDynalite();
      serveKey(mockClient(kms), await testKey("ECC_NIST_P256"));
      endpoint = await lambda.serve();
    });
    /** The spca-cli deployment, with a table of its own for the API keys. */
    const keyDeployment = async () =>
      deploy(lambda, s3, { bucket: "spca-cli", kms, dynamo, table: await dynamo.freshTable() });
    after(async () => {
      logs?.stop();
      await endpoint?.close();
      await s3?.close();
      await dynamo?.close();
    });

    /**
     * The CLI's environment: SST_RESOURCE_Pki naming the function by its ARN, without a Region
     * (the ARN's is used), and Lambda's endpoint variable pointing the SDK at the stand-in.
     */
    const cliEnv = (fn: string, more: Environment = {}): Environment => ({
      [PKI_RESOURCE_VARIABLE]: JSON.stringify({ caFunction: functionArn(fn) }),
      AWS_ENDPOINT_URL_LAMBDA: endpoint.url,
      AWS_ENDPOINT_URL: undefined,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      ...more,
    });

    test("ca csr and show --aws print what the function answers, ignoring a data folder held by a running service", async (t) => {
      const dir = scratch(t, "pki-aws-");
      const d = deploy(lambda, s3, { bucket: "spca-cli", kms, dynamo });
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
      const env = cliEnv(d.fn, { PKI_DATA_DIR: data });

      const shown = await pkiAsync(["ca", "show", "--aws"], { env, cwd: dir });
      assert.equal(assertOk(shown), chain);
      assert.equal(shown.stderr, "");

      const request = await pkiAsync(["ca", "csr", "--aws", "--subject", "CN=Team CA, O=Example"], {
        env,
        cwd: dir,
      });
      assert.ok(opensslReqVerify(assertOk(request)).ok);
      assert.deepEqual(lambda.events.at(-1), {
        name: d.fn,
        event: { action: "csr", subject: "CN=Team CA, O=Example" },
      });
      // The root there is another key's certificate: the note says so, on stderr.
      assert.match(
        request.stderr,
        /^pki: note: s3:\/\/spca-cli\/ca\/issuing-chain\.pem holds the certificate of another key/,
      );

      // The local commands are refused on that folder; --aws did not look at it.
      assertPkiError(
        pki(["ca", "init"], { env: { PKI_DATA_DIR: data }, cwd: dir }),
        "RUNTIME_RUNNING",
      );
      assert.deepEqual(readdirSync(data), ["runtime.lock"]);
      assert.equal(readFileSync(join(data, "runtime.lock"), "utf8"), String(process.pid));
      assert.equal(existsSync(join(dir, ".pki-data")), false);
    });

    test("an error result is printed as pki: CODE: message, exit 1", async (t) => {
      const dir = scratch(t, "pki-aws-");
      const d = deploy(lambda, s3, { bucket: "spca-cli-empty", kms, dynamo });
      const empty = await pkiAsync(["ca", "show", "--aws"], { env: cliEnv(d.fn), cwd: dir });
      assertPkiError(
        empty,
        "CA_NOT_INITIALISED",
        /s3:\/\/spca-cli-empty\/ca\/issuing-chain\.pem does not exist/,
      );

      const bundle = writeFile(dir, "bundle.pem", "this is not a certificate\n");
      const bad = await pkiAsync(["ca", "import", bundle, "--aws"], {
        env: cliEnv(d.fn),
        cwd: dir,
      });
      assertPkiError(bad, "CA_IMPORT_INVALID", /The file holds no certificate\./);
    });

    test("a failed function, a denied invocation: the function and the error named, exit 1", async (t) => {
      const dir = scratch(t, "pki-aws-");
      const broken = deploy(lambda, s3, { bucket: "spca-cli-gone", kms, dynamo });
      const failed = await pkiAsync(["ca", "show", "--aws"], { env: cliEnv(broken.fn), cwd: dir });
      assertCliFailure(
        failed,
        new RegExp(
          `^pki: The CA function ${functionArn(broken.fn)} failed \\(Unhandled\\): NoSuchBucket: The specified bucket does not exist\\.?\\n$`,
        ),
      );

      lambda.deny = "arn:aws:sts::111122223333:assumed-role/Operator/alice";
      t.after(() => {
        lambda.deny = undefined;
      });
      const denied = await pkiAsync(["ca", "csr", "--aws"], { env: cliEnv(broken.fn), cwd: dir });
      assertCliFailure(
        denied,
        /^pki: Invoking the CA function arn:aws:lambda:\S+ failed: AccessDeniedException: User: .*Operator\/alice is not authorized to perform: lambda:InvokeFunction .*The caller needs lambda:InvokeFunction on the CA function\.\n$/,
      );
    });

    test("keys create --aws prints the new key on stdout alone, as pki keys create does; the API accepts it", async (t) => {
      const dir = scratch(t, "pki-aws-");
      const d = await keyDeployment();
      const api = apiAuthority(s3, dynamo, d);
      logs.clear();

      const admin = await pkiAsync(
        [
          "keys",
          "create",
          "--aws",
          "--role",
          "admin",
          "--owner",
          "ops@example.com",
          "--label",
          "first admin",
        ],
        { env: cliEnv(d.fn), cwd: dir },
      );
      const key = assertOk(admin).trimEnd();
      assert.equal(admin.stdout, `${key}\n`);
      assert.match(key, API_KEY);
      const id = hashApiKey(key).slice(0, 16);
      assert.equal(
        admin.stderr,
        `Created admin key ${id} for ops@example.com in the deployment's table (through the CA function ${functionArn(d.fn)}). This is the only time the key is shown.\n`,
      );
      assert.deepEqual(lambda.events.at(-1), {
        name: d.fn,
        event: {
          action: "create-api-key",
          role: "admin",
          owner: "ops@example.com",
          label: "first admin",
        },
      });
      assert.deepEqual(await api.authenticate(key), keyPrincipal(id, "admin", "ops@example.com"));

      // Without --label, the key says how it was made.
      const requester = await pkiAsync(
        ["keys", "create", "--aws", "--role", "requester", "--owner", "rita@example.com"],
        { env: cliEnv(d.fn), cwd: dir },
      );
      const requesterKey = assertOk(requester).trimEnd();
      assert.deepEqual(
        await api.authenticate(requesterKey),
        keyPrincipal(hashApiKey(requesterKey).slice(0, 16), "requester", "rita@example.com"),
      );
      assert.deepEqual(
        (await api.listApiKeys()).map((k) => [k.id, k.role, k.owner, k.label]).sort(),
        [
          [id, "admin", "ops@example.com", "first admin"],
          [
            hashApiKey(requesterKey).slice(0, 16),
            "requester",
            "rita@example.com",
            "created with pki keys create --aws",
          ],
        ].sort(),
      );

      // Neither secret reached the function's log, nor the CLI's stderr; nothing was written here.
      assert.equal(logs.logs("operator action done: API key created").length, 2);
      for (const secret of [key, requesterKey]) {
        for (const line of logs.lines) assert.ok(!JSON.stringify(line).includes(secret));
      }
      assert.ok(!requester.stderr.includes(requesterKey));
      assert.deepEqual(readdirSync(dir), []);

      // The same lines as pki keys create on a data folder, where the key was stored aside.
      const data = join(dir, "data");
      const local = pki(
        ["keys", "create", "--role", "admin", "--owner", "ops@example.com", "--data-dir", data],
        { cwd: dir },
      );
      const localKey = assertOk(local).trimEnd();
      assert.equal(
        local.stderr,
        `Created admin key ${hashApiKey(localKey).slice(0, 16)} for ops@example.com in ${data}. This is the only time the key is shown.\n`,
      );
    });

    test("keys create --aws: an error result, a failed function, a denied invocation: printed as the other commands print them, exit 1", async (t) => {
      const dir = scratch(t, "pki-aws-");
      const d = await keyDeployment();
      const long = await pkiAsync(
        [
          "keys",
          "create",
          "--aws",
          "--role",
          "admin",
          "--owner",
          "ops@example.com",
          "--label",
          "x".repeat(API_KEY_LABEL_MAX + 1),
        ],
        { env: cliEnv(d.fn), cwd: dir },
      );
      // As on a data folder.
      assertPkiError(
        long,
        "API_KEY_LABEL_INVALID",
        /^pki: API_KEY_LABEL_INVALID: The API key's label is too long\. A label has at most 200 characters\.\n$/,
      );
      assert.deepEqual(await apiAuthority(s3, dynamo, d).listApiKeys(), []);

      // A function whose table is missing fails (unhandled), and says why.
      const tableless = deploy(lambda, s3, { bucket: "spca-cli", kms, dynamo });
      const failed = await pkiAsync(
        ["keys", "create", "--aws", "--role", "admin", "--owner", "ops@example.com"],
        {
          env: cliEnv(tableless.fn),
          cwd: dir,
        },
      );
      assertCliFailure(
        failed,
        new RegExp(
          `^pki: The CA function ${functionArn(tableless.fn)} failed \\(Unhandled\\): ResourceNotFoundException: .*\\n$`,
        ),
      );

      lambda.deny = "arn:aws:sts::111122223333:assumed-role/Operator/alice";
      t.after(() => {
        lambda.deny = undefined;
      });
      const denied = await pkiAsync(
        ["keys", "create", "--aws", "--role", "admin", "--owner", "ops@example.com"],
        {
          env: cliEnv(d.fn),
          cwd: dir,
        },
      );
      assertCliFailure(
        denied,
        /^pki: Invoking the CA function arn:aws:lambda:\S+ failed: AccessDeniedException: .*The caller needs lambda:InvokeFunction on the CA function\.\n$/,
      );
      assert.deepEqual(await apiAuthority(s3, dynamo, d).listApiKeys(), []);
    });
  });
});
