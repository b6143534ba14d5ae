/**
 * The CA bootstrap Lambda that every deploy invokes: it creates the CA certificate for the KMS
 * key once, keeps it on every later run whatever the configuration now says, refuses a bucket
 * holding another key's certificate, and in external mode only hands out a CSR. On the first
 * deploy it waits out access denied while the new role and key policy propagate, and gives up
 * after about 90 s naming the denial. Operator actions (`{"action": …}`, which cli-aws.test.ts
 * runs end to end) are checked strictly, and refused with a result, not a failure. Runs on
 * s3rver and dynalite with KMS behind aws-sdk-client-mock (signing with a real key); denials
 * are AWS's own responses, which the real SDK turns into errors. OpenSSL checks the certificate
 * and the CSR independently.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetPublicKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { caIdOfChainPem } from "@spca/core/ca/authority";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { publicationKeys, TRUSTSTORE_KEY } from "@spca/core/ca/publication-urls";
import { isPkiError } from "@spca/core/errors";
import { loadConfig } from "@spca/core/policy/config";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { mockClient } from "aws-sdk-client-mock";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import {
  getPublicKeyOutput,
  kmsError,
  serveKey,
  TEST_KEY_ARN,
  testKey,
} from "../../core/test/support/kms-mock.ts";
import { openssl } from "../../core/test/support/openssl.ts";
import { type LocalS3, startS3rver } from "../../core/test/support/s3.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { AwsServices } from "../src/lambda/aws-services.ts";
import { type CaBootstrapOptions, caBootstrapLambda } from "../src/lambda/ca-bootstrap.ts";
import { dynamodbAdapters } from "../src/lambda/clients/dynamodb.ts";
import { kmsAdapters } from "../src/lambda/clients/kms.ts";
import { s3Adapters } from "../src/lambda/clients/s3.ts";
import { capturePowertoolsOutput, type PowertoolsOutput } from "./support/powertools-output.ts";

const work = mkdtempSync(join(tmpdir(), "pki-bootstrap-"));

/** What a client's requestHandler receives and answers (the parts used here). */
interface RequestHandlerLike {
  handle(request: unknown, options?: unknown): Promise<{ response: unknown }>;
}

const DENIED_BY =
  "arn:aws:sts::111122223333:assumed-role/spca-prod-CaBootstrapRole/spca-prod-CaBootstrap";

/** AWS's answers to a call the caller's role does not (yet) allow. */
const denials = {
  s3: () => ({
    statusCode: 403,
    headers: { "content-type": "application/xml", "x-amz-request-id": "DENIED" },
    body: Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>DENIED</RequestId></Error>',
    ),
  }),
  dynamodb: () => ({
    statusCode: 400,
    headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "DENIED" },
    body: Buffer.from(
      JSON.stringify({
        __type: "com.amazon.coral.service#AccessDeniedException",
        Message: `User: ${DENIED_BY} is not authorized to perform: dynamodb:GetItem because no identity-based policy allows the dynamodb:GetItem action`,
      }),
    ),
  }),
};

/**
 * A requestHandler that answers the first `count` requests with `denial`, as AWS does while a
 * new role is not yet in effect everywhere, then hands the rest to `inner`.
 */
function denyingFirst(
  count: number,
  denial: () => unknown,
  inner: RequestHandlerLike,
): RequestHandlerLike {
  let left = count;
  return {
    handle: (request, options) =>
      left-- > 0 ? Promise.resolve({ response: denial() }) : inner.handle(request, options),
  };
}

/** `count` KMS denials of the function's role, then the key as served (count Infinity: always). */
const kmsDenial = () =>
  kmsError(
    "AccessDeniedException",
    `User: ${DENIED_BY} is not authorized to perform: kms:GetPublicKey on resource: ${TEST_KEY_ARN} because no resource-based policy allows the kms:GetPublicKey action`,
  );

/** A fake clock: sleeping advances it at once, and the waits are recorded. */
function fakeClock() {
  const clock = { time: 0, waits: [] as number[] };
  return {
    clock,
    propagation: {
      now: () => clock.time,
      sleep: async (ms: number) => {
        clock.waits.push(ms);
        clock.time += ms;
      },
    },
  };
}

describe("CA bootstrap on deploy", () => {
  let dynamo: LocalDynamo;
  let s3: LocalS3;
  let bucketCount = 0;
  const kms = new KMSClient({ region: "eu-west-1" });
  const kmsMock = mockClient(kms);
  let logs: PowertoolsOutput;

  before(async () => {
    logs = capturePowertoolsOutput();
    dynamo = await startDynalite();
    s3 = await startS3rver(["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"]);
  });
  after(async () => {
    logs?.stop();
    await s3?.close();
    await dynamo?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** A deployment: its own bucket and table, the configuration as given. */
  async function deployment(subject?: string) {
    const bucket = `b${++bucketCount}`;
    const tableName = await dynamo.freshTable();
    return { bucket, tableName, subject };
  }

  /** Clients for the function; by default the stand-ins' own. */
  interface FunctionClients {
    readonly s3?: S3Client;
    readonly dynamo?: DynamoDBClient;
  }

  /** A test that waits for IAM fails: only those that deny access expect a retry. */
  const noWaiting: CaBootstrapOptions = {
    propagation: {
      sleep: () => Promise.reject(new Error("the bootstrap waited, but nothing was denied")),
    },
  };

  function bootstrap(
    d: { bucket: string; tableName: string; subject?: string | undefined },
    clients: FunctionClients = {},
    options: CaBootstrapOptions = noWaiting,
  ) {
    const config = loadConfig(shippedConfigPath);
    const services = new AwsServices(
      {
        tableName: d.tableName,
        bucketName: d.bucket,
        eventBusName: "unused",
        caKeyId: TEST_KEY_ARN,
        caSigningAlgorithm: undefined,
        stateMachineArn: undefined,
        openSubmission: false,
        webAssetsDir: undefined,
        config: d.subject ? { ...config, ca: { ...config.ca, subject: d.subject } } : config,
      },
      // What its entry point wires: no SES, EventBridge or Step Functions.
      {
        ...dynamodbAdapters(() => clients.dynamo ?? dynamo.client),
        ...s3Adapters(() => clients.s3 ?? s3.client),
        ...kmsAdapters(() => kms),
      },
      "CaBootstrap",
    );
    return {
      lambda: caBootstrapLambda(() => services, options),
      objects: new S3ObjectStore(s3.client, d.bucket),
    };
  }

  const text = async (objects: S3ObjectStore, key: string) => {
    const object = await objects.get(key);
    return object ? Buffer.from(object.body).toString("utf8") : undefined;
  };

  test("the first deploy creates a self-signed CA for the key and publishes its CRL; later ones keep it", async () => {
    const key = await testKey("ECC_NIST_P256");
    kmsMock.reset();
    serveKey(kmsMock, key);
    const d = await deployment();
    const { lambda, objects } = bootstrap(d);

    const first = await lambda({ mode: "self-signed" });
    assert.equal(first.status, "created");
    const chain = await text(objects, CA_CHAIN_OBJECT_KEY);
    assert.ok(chain);
    const path = join(work, "ca.pem");
    writeFileSync(path, chain);
    // An independent verifier accepts it as a CA under strict X.509 rules.
    assert.match(
      openssl(["verify", "-x509_strict", "-check_ss_sig", "-CAfile", path, path]).toString(),
      /: OK/,
    );
    const subject = openssl(["x509", "-in", path, "-noout", "-subject", "-nameopt", "RFC2253"]);
    assert.match(subject.toString(), /CN=Example Private Issuing CA/);
    // Its public key is the KMS key's.
    const pub = openssl(["x509", "-in", path, "-noout", "-pubkey"]).toString();
    assert.equal(pub, key.publicKey.export({ format: "pem", type: "spki" }).toString());
    // The first CRL is out, so the distribution point answers as soon as the deploy ends.
    assert.ok(first.status === "created" && first.crl !== null && first.crl !== undefined);
    const keys = publicationKeys(caIdOfChainPem(chain));
    assert.ok(await objects.get(keys.crl), "no CRL published");

    // A redeploy, even with another subject configured, keeps the certificate as it is.
    const again = await bootstrap({ ...d, subject: "CN=Renamed CA, O=Example" }).lambda({
      mode: "self-signed",
    });
    assert.equal(again.status, "existing");
    assert.ok(again.status === "existing" && first.status === "created");
    assert.equal(again.serial, first.serial);
    assert.equal(again.crl, null, "a fresh CRL is not republished");
    assert.equal(await text(objects, CA_CHAIN_OBJECT_KEY), chain);
  });

  test("an imported CA certificate is published at once: its certificate objects and the trust-store bundle", async () => {
    const key = await testKey("ECC_NIST_P256");
    kmsMock.reset();
    serveKey(kmsMock, key);
    const d = await deployment();
    const { lambda, objects } = bootstrap(d);
    await lambda({ mode: "self-signed" });
    const before = await text(objects, TRUSTSTORE_KEY);
    assert.ok(before, "the first deploy published the bundle");

    // A new certificate for the same key, as the operator's offline tooling would make it.
    const keyPath = join(work, "renewed.key");
    writeFileSync(keyPath, key.privateKey.export({ format: "pem", type: "pkcs8" }), {
      mode: 0o600,
    });
    const renewed = openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      keyPath,
      "-subj",
      "/CN=Renewed Issuing CA/O=Example",
      "-days",
      "400",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]).toString();
    const result = await lambda({ action: "import", chain: renewed });
    assert.ok(!("error" in result), JSON.stringify(result));

    const caId = caIdOfChainPem(renewed);
    const bundle = await text(objects, TRUSTSTORE_KEY);
    assert.notEqual(bundle, before, "the bundle changed");
    assert.equal(caIdOfChainPem(bundle!), caId);
    assert.match(
      openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], bundle!).toString(),
      /CN=Renewed Issuing CA/,
    );
    const der = (await objects.get(publicationKeys(caId).caCertificate))?.body;
    assert.ok(der, "the CA certificate is published");
    assert.equal(Buffer.from(der).toString("base64"), renewed.replace(/-----[A-Z ]+-----|\s/g, ""));
  });

  test("a bucket holding another key's CA certificate fails the deploy and is left alone", async () => {
    const d = await deployment();
    kmsMock.reset();
    serveKey(kmsMock, await testKey("ECC_NIST_P256"));
    await bootstrap(d).lambda({ mode: "self-signed" });
    const { objects } = bootstrap(d);
    const before = await text(objects, CA_CHAIN_OBJECT_KEY);

    kmsMock.reset();
    serveKey(kmsMock, await testKey("ECC_NIST_P384"));
    await assert.rejects(
      bootstrap(d).lambda({ mode: "self-signed" }),
      (e) => isPkiError(e) && e.code === "CA_KEY_MISMATCH" && /kept, not replaced/.test(e.message),
    );
    assert.equal(await text(objects, CA_CHAIN_OBJECT_KEY), before);
  });

  test("external mode writes nothing and hands out a CSR for the KMS key", async () => {
    const key = await testKey("ECC_NIST_P256");
    kmsMock.reset();
    serveKey(kmsMock, key);
    const d = await deployment();
    const { lambda, objects } = bootstrap(d);
    const result = await lambda({ mode: "external" });
    assert.equal(result.status, "awaiting-import");
    assert.ok(result.status === "awaiting-import");
    const path = join(work, "ca.csr");
    writeFileSync(path, result.csr);
    openssl(["req", "-in", path, "-verify", "-noout"]);
    const pub = openssl(["req", "-in", path, "-noout", "-pubkey"]).toString();
    assert.equal(pub, key.publicKey.export({ format: "pem", type: "spki" }).toString());
    assert.equal(await objects.get(CA_CHAIN_OBJECT_KEY), undefined);
  });

  /** Clients that reach the same stand-ins, answering their first requests with a denial. */
  async function denyingClients(s3Denials: number, dynamoDenials: number) {
    const s3Endpoint = await s3.client.config.endpoint!();
    const dynamoEndpoint = await dynamo.client.config.endpoint!();
    const url = (e: typeof s3Endpoint) => `${e.protocol}//${e.hostname}:${e.port}`;
    return {
      s3: new S3Client({
        endpoint: url(s3Endpoint),
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
        requestHandler: denyingFirst(
          s3Denials,
          denials.s3,
          s3.client.config.requestHandler as RequestHandlerLike,
        ),
      }),
      dynamo: new DynamoDBClient({
        endpoint: url(dynamoEndpoint),
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        maxAttempts: 1,
        requestHandler: denyingFirst(
          dynamoDenials,
          denials.dynamodb,
          dynamo.client.config.requestHandler as RequestHandlerLike,
        ),
      }),
    };
  }

  test("the first deploy waits out access denied while the new role and key policy propagate", async (t) => {
    const key = await testKey("ECC_NIST_P256");
    kmsMock.reset();
    serveKey(kmsMock, key);
    // GetPublicKey is denied once, then S3 twice (reading the bucket); the CRL's first
    // DynamoDB call once.
    kmsMock.on(GetPublicKeyCommand).rejectsOnce(kmsDenial()).resolves(getPublicKeyOutput(key));
    const clients = await denyingClients(2, 1);
    t.after(() => {
      clients.s3.destroy();
      clients.dynamo.destroy();
    });
    const d = await deployment();
    const { clock, propagation } = fakeClock();
    logs.clear();
    const { lambda, objects } = bootstrap(d, clients, { propagation });

    const result = await lambda({ mode: "self-signed" });
    assert.equal(result.status, "created", "the certificate made on the 4th try is reported");
    assert.ok(result.status === "created" && typeof result.crl === "string");
    assert.ok(await text(objects, CA_CHAIN_OBJECT_KEY));
    // Growing waits for the bootstrap; the CRL's denial starts again from the shortest.
    assert.deepEqual(clock.waits, [1000, 2000, 4000, 1000]);
    assert.deepEqual(
      logs.logs(/retrying/).map((l) => [l.level, l.message]),
      [
        [
          "WARN",
          "The CA bootstrap: AccessDeniedException; the new role or key policy may still be propagating, retrying in 1 s",
        ],
        [
          "WARN",
          "The CA bootstrap: AccessDenied; the new role or key policy may still be propagating, retrying in 2 s",
        ],
        [
          "WARN",
          "The CA bootstrap: AccessDenied; the new role or key policy may still be propagating, retrying in 4 s",
        ],
        [
          "WARN",
          "Publishing the CRL: AccessDeniedException; the new role or key policy may still be propagating, retrying in 1 s",
        ],
      ],
    );
  });

  test("a denial that outlasts about 90 s fails the deploy, naming it; nothing is written", async () => {
    kmsMock.reset();
    kmsMock.on(GetPublicKeyCommand).rejects(kmsDenial());
    const d = await deployment();
    const { clock, propagation } = fakeClock();
    const { lambda, objects } = bootstrap(d, {}, { propagation });

    await assert.rejects(lambda({ mode: "self-signed" }), (e: Error) => {
      assert.equal(
        e.message,
        `The CA bootstrap is still denied after 10 attempts over 90 s: the function's role or the CA key's key policy still denies it (AccessDeniedException: User: ${DENIED_BY} is not authorized to perform: kms:GetPublicKey on resource: ${TEST_KEY_ARN} because no resource-based policy allows the kms:GetPublicKey action).`,
      );
      return true;
    });
    assert.deepEqual(clock.waits, [1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000, 15000]);
    assert.equal(clock.time, 90_000);
    assert.equal(kmsMock.commandCalls(GetPublicKeyCommand).length, 10);
    assert.equal(await objects.get(CA_CHAIN_OBJECT_KEY), undefined);
  });

  test("operator actions: a malformed one is an EVENT_INVALID result; a denial is not waited for", async (t) => {
    kmsMock.reset();
    serveKey(kmsMock, await testKey("ECC_NIST_P256"));
    const d = await deployment();
    const { lambda, objects } = bootstrap(d);
    for (const [event, message] of [
      [
        { action: "sign" },
        /action: Invalid type: Expected \("csr" \| "import" \| "show" \| "create-api-key"\)/,
      ],
      [{ action: "csr", subject: 42 }, /subject: Invalid type: Expected string but received 42/],
      [
        { action: "show", bucket: "elsewhere" },
        /unknown field "bucket": the only allowed field is action\./,
      ],
      [{ action: "import" }, /chain is required/],
      [{ action: "import", chain: ["x"] }, /chain: Invalid type: Expected string/],
    ] as const) {
      const result = await lambda(event as unknown);
      assert.ok("error" in result, JSON.stringify(result));
      assert.equal(result.error.code, "EVENT_INVALID");
      assert.match(result.error.message, message);
      assert.match(result.error.message, /Operator actions are \{"action": "csr"/);
    }
    assert.equal(await objects.get(CA_CHAIN_OBJECT_KEY), undefined);

    // The operator asks once the deploy is done: a denial then is real, and reported at once.
    const clients = await denyingClients(1, 0);
    t.after(() => {
      clients.s3.destroy();
      clients.dynamo.destroy();
    });
    await assert.rejects(bootstrap(d, clients).lambda({ action: "show" }), {
      name: "AccessDenied",
    });
  });

  test("an event that is not a bootstrap request is refused", async () => {
    const { lambda } = bootstrap(await deployment());
    for (const event of [{ mode: "whatever" }, {}, null, "self-signed"]) {
      await assert.rejects(
        lambda(event as never),
        (e) => isPkiError(e) && e.code === "EVENT_INVALID",
        JSON.stringify(event),
      );
    }
  });
});
