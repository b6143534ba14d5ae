/**
 * The CA bootstrap Lambda that every deploy invokes: it creates the CA certificate for the KMS
 * key once, keeps it on every later run whatever the configuration now says, refuses a bucket
 * holding another key's certificate, and in external mode only hands out a CSR. Runs on s3rver
 * and dynalite with KMS behind aws-sdk-client-mock (signing with a real key); OpenSSL checks
 * the certificate and the CSR independently.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KMSClient } from "@aws-sdk/client-kms";
import { caIdOfChainPem } from "@spca/core/ca/authority";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { publicationKeys } from "@spca/core/ca/publication-urls";
import { isPkiError } from "@spca/core/errors";
import { loadConfig } from "@spca/core/policy/config";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { mockClient } from "aws-sdk-client-mock";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { serveKey, TEST_KEY_ARN, testKey } from "../../core/test/support/kms-mock.ts";
import { openssl } from "../../core/test/support/openssl.ts";
import { type LocalS3, startS3rver } from "../../core/test/support/s3.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { AwsServices } from "../src/lambda/aws-services.ts";
import { caBootstrapLambda } from "../src/lambda/ca-bootstrap.ts";
import { dynamodbAdapters } from "../src/lambda/clients/dynamodb.ts";
import { kmsAdapters } from "../src/lambda/clients/kms.ts";
import { s3Adapters } from "../src/lambda/clients/s3.ts";

const work = mkdtempSync(join(tmpdir(), "pki-bootstrap-"));

describe("CA bootstrap on deploy", () => {
  let dynamo: LocalDynamo;
  let s3: LocalS3;
  let bucketCount = 0;
  const kms = new KMSClient({ region: "eu-west-1" });
  const kmsMock = mockClient(kms);

  before(async () => {
    dynamo = await startDynalite();
    s3 = await startS3rver(["b1", "b2", "b3"]);
  });
  after(async () => {
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

  function bootstrap(d: { bucket: string; tableName: string; subject?: string | undefined }) {
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
        ...dynamodbAdapters(() => dynamo.client),
        ...s3Adapters(() => s3.client),
        ...kmsAdapters(() => kms),
      },
      "CaBootstrap",
    );
    return {
      lambda: caBootstrapLambda(() => services),
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

  test("an event that is not a bootstrap request is refused", async () => {
    const { lambda } = bootstrap(await deployment());
    await assert.rejects(
      lambda({ mode: "whatever" } as never),
      (e) => isPkiError(e) && e.code === "EVENT_INVALID",
    );
  });
});
