/** The S3 object store against s3rver, the local stand-in. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { S3Client } from "@aws-sdk/client-s3";
import { isTransientError } from "../src/errors.ts";
import { S3ObjectStore } from "../src/store/s3-object-store.ts";
import { type LocalS3, startS3rver } from "./support/s3.ts";

describe("S3ObjectStore on s3rver", () => {
  let s3: LocalS3;
  let client: S3Client;
  before(async () => {
    s3 = await startS3rver(["certs"]);
    client = s3.client;
  });
  after(() => s3.close());

  test("puts and gets an object with its content type; overwrites are whole", async () => {
    const store = new S3ObjectStore(client, "certs");
    await store.put(
      "certificates/0a1b.pem",
      "-----BEGIN CERTIFICATE-----\n",
      "application/x-pem-file",
    );
    const got = await store.get("certificates/0a1b.pem");
    assert.equal(Buffer.from(got!.body).toString(), "-----BEGIN CERTIFICATE-----\n");
    assert.equal(got!.contentType, "application/x-pem-file");
    await store.put("certificates/0a1b.pem", Uint8Array.of(1, 2, 3), "application/pkix-cert");
    assert.deepEqual([...(await store.get("certificates/0a1b.pem"))!.body], [1, 2, 3]);
  });

  test("an object keeps the Cache-Control it was put with", async () => {
    const store = new S3ObjectStore(client, "certs");
    await store.put("crl/0123456789abcdef.crl", Uint8Array.of(48, 0), "application/pkix-crl", {
      cacheControl: "public, max-age=60",
    });
    const got = await store.get("crl/0123456789abcdef.crl");
    assert.equal(got?.cacheControl, "public, max-age=60");
    await store.put("certificates/0a1c.pem", "x", "application/x-pem-file");
    assert.equal((await store.get("certificates/0a1c.pem"))?.cacheControl, undefined);
  });

  test("a reader never sees part of an object that is being rewritten (as with S3)", async () => {
    const store = new S3ObjectStore(client, "certs");
    // Versions of different sizes, each byte its version number: a torn read mixes them.
    const version = (n: number) => new Uint8Array(200_000 + n * 50_000).fill(n);
    await store.put("crl/torn.crl", version(0), "application/pkix-crl");
    let writing = true;
    const writer = (async () => {
      for (let n = 1; n <= 20; n++)
        await store.put("crl/torn.crl", version(n), "application/pkix-crl");
      writing = false;
    })();
    let reads = 0;
    const readers = [0, 1, 2, 3].map(async () => {
      while (writing) {
        const got = (await store.get("crl/torn.crl"))!.body;
        const n = got[0]!;
        assert.equal(got.length, version(n).length, `read ${reads}: length of version ${n}`);
        assert.ok(
          got.every((b) => b === n),
          `read ${reads}: bytes of one version`,
        );
        reads++;
      }
    });
    await Promise.all([writer, ...readers]);
    assert.ok(reads > 10, `${reads} reads overlapped the writes`);
  });

  test("a missing key is undefined, not an error", async () => {
    assert.equal(await new S3ObjectStore(client, "certs").get("certificates/none.pem"), undefined);
  });

  test("an unreachable endpoint is a TransientError", async () => {
    const dead = new S3Client({
      endpoint: "http://127.0.0.1:1",
      region: "us-east-1",
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    await assert.rejects(new S3ObjectStore(dead, "certs").put("k", "v", "text/plain"), (e) =>
      isTransientError(e),
    );
    dead.destroy();
  });
});
