import assert from "node:assert/strict";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import { beforeEach, describe, it } from "node:test";
import {
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  type SignCommandInput,
  type SignCommandOutput,
} from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { isPkiError, type PkiError } from "../src/errors.ts";
import {
  algorithms,
  algorithmsForKeySpec,
  keySpecs,
  type SigningAlgorithm,
} from "../src/signer/algorithms.ts";
import { createKmsSigner, isRetryableKmsError, KmsSigner } from "../src/signer/kms-signer.ts";
import {
  getPublicKeyOutput,
  kmsError,
  serveKey,
  signHandler,
  type TestKmsKey,
  testKey,
} from "./support/kms-mock.ts";

const KEY_ID = "alias/spca-issuing-test";
const kms = mockClient(KMSClient);
const client = new KMSClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
});

// Start every key generation now, in parallel, off the main thread.
for (const spec of keySpecs) void testKey(spec);

function sleepRecorder() {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
}

function signInputs(): SignCommandInput[] {
  return kms.commandCalls(SignCommand).map((call) => call.args[0].input);
}

function verifies(
  key: TestKmsKey,
  algorithm: SigningAlgorithm,
  message: Uint8Array,
  sig: Uint8Array,
) {
  const details = algorithms[algorithm];
  return verify(details.hash, message, { key: key.publicKey, ...details.nodeOptions }, sig);
}

async function rejectsWith(promise: Promise<unknown>, code: PkiError["code"], pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isPkiError(error, code), `expected PkiError ${code}, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

beforeEach(() => {
  kms.reset();
});

describe("KmsSigner signs with every key spec and algorithm", () => {
  for (const spec of keySpecs) {
    for (const algorithm of algorithmsForKeySpec(spec)) {
      it(`${spec} ${algorithm}`, async () => {
        const key = await testKey(spec);
        const returned: Uint8Array[] = [];
        kms.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key));
        kms.on(SignCommand).callsFake((input: SignCommandInput) => {
          const output: SignCommandOutput = signHandler(key)(input);
          returned.push(output.Signature!);
          return output;
        });
        const { sleep, sleeps } = sleepRecorder();
        const signer = await createKmsSigner({
          keyId: KEY_ID,
          client,
          signingAlgorithm: algorithm,
          sleep,
        });
        assert.equal(signer.algorithm, algorithm);
        assert.equal(signer.description, `kms:${KEY_ID}`);

        const message = randomBytes(5000); // more than KMS's 4096-byte RAW limit
        const signature = await signer.sign(message);
        assert.ok(verifies(key, algorithm, message, signature), "signature verifies");
        assert.equal(signature, returned[0], "KMS's bytes are returned unchanged");

        const details = algorithms[algorithm];
        const [input, ...more] = signInputs();
        assert.equal(more.length, 0);
        assert.equal(input?.KeyId, KEY_ID);
        assert.equal(input?.SigningAlgorithm, algorithm);
        assert.equal(input?.MessageType, "DIGEST");
        assert.equal(input?.Message?.length, details.digestLength);
        assert.deepEqual(
          Buffer.from(input!.Message!),
          createHash(details.hash).update(message).digest(),
        );

        // The public key is the SPKI KMS gave, usable to verify.
        const spki = await signer.publicKey();
        assert.deepEqual(spki, key.spki);
        const second = randomBytes(4097);
        const sig2 = await signer.sign(second);
        assert.ok(
          verify(
            details.hash,
            second,
            {
              key: createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" }),
              ...details.nodeOptions,
            },
            sig2,
          ),
        );
        assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 1);
        assert.deepEqual(sleeps, []);
      });
    }
  }
});

describe("KmsSigner key handling", () => {
  it("defaults to the key spec's first algorithm", async () => {
    for (const spec of keySpecs) {
      kms.reset();
      serveKey(kms, await testKey(spec));
      const signer = await createKmsSigner({ keyId: KEY_ID, client });
      assert.equal(signer.algorithm, algorithmsForKeySpec(spec)[0]);
      assert.equal((await signer.info()).keySpec, spec);
      assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 1);
    }
  });

  it("calls GetPublicKey once across concurrent and later sign/publicKey calls", async () => {
    const key = await testKey("ECC_NIST_P256");
    serveKey(kms, key);
    const signer = new KmsSigner({ keyId: KEY_ID, client, signingAlgorithm: "ECDSA_SHA_256" });
    assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 0, "the constructor is lazy");
    const message = randomBytes(100);
    const [k1, k2, s1, s2] = await Promise.all([
      signer.publicKey(),
      signer.publicKey(),
      signer.sign(message),
      signer.sign(message),
    ]);
    assert.deepEqual(k1, key.spki);
    assert.deepEqual(k2, key.spki);
    assert.ok(verifies(key, "ECDSA_SHA_256", message, s1));
    assert.ok(verifies(key, "ECDSA_SHA_256", message, s2));
    await signer.sign(message);
    const k3 = await signer.publicKey();
    k3.fill(0); // callers get copies
    assert.deepEqual(await signer.publicKey(), key.spki);
    assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 1);
    assert.equal(kms.commandCalls(SignCommand).length, 3);
  });

  it("drops a failed GetPublicKey so a later call retries", async () => {
    const key = await testKey("ECC_NIST_P384");
    kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(kmsError("AccessDeniedException", "not allowed"))
      .resolves(getPublicKeyOutput(key));
    const signer = new KmsSigner({ keyId: KEY_ID, client, signingAlgorithm: "ECDSA_SHA_384" });
    await rejectsWith(signer.publicKey(), "SIGNER_FAILED", /GetPublicKey.*AccessDeniedException/);
    assert.deepEqual(await signer.publicKey(), key.spki);
    assert.deepEqual(await signer.publicKey(), key.spki);
    assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 2);
  });

  it("retries a throttled GetPublicKey", async () => {
    const key = await testKey("ECC_NIST_P256");
    kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(kmsError("ThrottlingException", "Rate exceeded"))
      .resolves(getPublicKeyOutput(key));
    const { sleep, sleeps } = sleepRecorder();
    const signer = await createKmsSigner({ keyId: KEY_ID, client, sleep });
    assert.equal(signer.algorithm, "ECDSA_SHA_256");
    assert.equal(sleeps.length, 1);
  });

  it("rejects an ENCRYPT_DECRYPT key", async () => {
    serveKey(kms, await testKey("RSA_2048"), { KeyUsage: "ENCRYPT_DECRYPT" });
    await rejectsWith(
      createKmsSigner({ keyId: KEY_ID, client }),
      "SIGNER_UNSUPPORTED",
      /KeyUsage ENCRYPT_DECRYPT.*SIGN_VERIFY/,
    );
    // The lazy form fails on sign() too, without ever calling Sign.
    const signer = new KmsSigner({ keyId: KEY_ID, client, signingAlgorithm: "RSASSA_PSS_SHA_256" });
    await rejectsWith(signer.sign(randomBytes(10)), "SIGNER_UNSUPPORTED", /ENCRYPT_DECRYPT/);
    assert.equal(kms.commandCalls(SignCommand).length, 0);
  });

  it("rejects an unsupported key spec", async () => {
    serveKey(kms, await testKey("ECC_NIST_P256"), {
      KeySpec: "ECC_SECG_P256K1",
      SigningAlgorithms: ["ECDSA_SHA_256"],
    });
    await rejectsWith(
      createKmsSigner({ keyId: KEY_ID, client }),
      "SIGNER_UNSUPPORTED",
      /KeySpec ECC_SECG_P256K1/,
    );
    await rejectsWith(
      createKmsSigner({ keyId: KEY_ID, client, signingAlgorithm: "ECDSA_SHA_256" }),
      "SIGNER_UNSUPPORTED",
      /KeySpec ECC_SECG_P256K1/,
    );
  });

  it("rejects a signing algorithm the key does not list", async () => {
    const key = await testKey("RSA_2048");
    serveKey(kms, key, {
      SigningAlgorithms: ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384"],
    });
    await rejectsWith(
      createKmsSigner({ keyId: KEY_ID, client, signingAlgorithm: "RSASSA_PSS_SHA_256" }),
      "SIGNER_UNSUPPORTED",
      /does not list RSASSA_PSS_SHA_256/,
    );
    await rejectsWith(
      createKmsSigner({ keyId: KEY_ID, client, signingAlgorithm: "ECDSA_SHA_256" }),
      "SIGNER_UNSUPPORTED",
      /ECDSA_SHA_256 cannot be used with the RSA_2048/,
    );
    await rejectsWith(
      createKmsSigner({
        keyId: KEY_ID,
        client,
        signingAlgorithm: "RSASSA_PSS_SHA_1" as SigningAlgorithm,
      }),
      "SIGNER_UNSUPPORTED",
      /RSASSA_PSS_SHA_1 is not a supported signing algorithm/,
    );
    assert.equal(kms.commandCalls(SignCommand).length, 0);
  });

  it("rejects a KeySpec that does not match the public key", async () => {
    serveKey(kms, await testKey("ECC_NIST_P256"), { KeySpec: "ECC_NIST_P384" });
    await rejectsWith(
      createKmsSigner({ keyId: KEY_ID, client }),
      "SIGNER_FAILED",
      /reports KeySpec ECC_NIST_P384 but its public key is ECC_NIST_P256/,
    );
  });

  it("builds its own client with SDK retries off", async () => {
    serveKey(kms, await testKey("ECC_NIST_P521"));
    const signer = await createKmsSigner({ keyId: KEY_ID, region: "eu-west-1" });
    assert.notEqual(signer.client, client);
    assert.equal(await signer.client.config.maxAttempts(), 1);
    assert.equal(await signer.client.config.region(), "eu-west-1");
    assert.equal(signer.algorithm, "ECDSA_SHA_512");
    assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 1);
  });
});

describe("KmsSigner retries", () => {
  it("retries throttling with growing sleeps, then signs", async () => {
    const key = await testKey("RSA_3072");
    const throttled = kmsError("ThrottlingException", "Rate exceeded");
    kms.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key));
    kms.on(SignCommand).rejectsOnce(throttled).rejectsOnce(throttled).callsFake(signHandler(key));
    const { sleep, sleeps } = sleepRecorder();
    const signer = await createKmsSigner({
      keyId: KEY_ID,
      client,
      signingAlgorithm: "RSASSA_PSS_SHA_384",
      sleep,
    });
    const message = randomBytes(5000);
    const signature = await signer.sign(message);
    assert.ok(verifies(key, "RSASSA_PSS_SHA_384", message, signature));
    assert.equal(kms.commandCalls(SignCommand).length, 3);
    assert.equal(sleeps.length, 2);
    assert.ok(sleeps[0]! > 0 && sleeps[1]! > sleeps[0]!, `sleeps grow: ${sleeps}`);
  });

  it("fails at once on AccessDeniedException", async () => {
    const key = await testKey("ECC_NIST_P256");
    const denied = kmsError("AccessDeniedException", "User is not authorized to perform kms:Sign");
    kms.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key));
    kms.on(SignCommand).rejects(denied);
    const { sleep, sleeps } = sleepRecorder();
    const signer = await createKmsSigner({ keyId: KEY_ID, client, sleep });
    await assert.rejects(signer.sign(randomBytes(10)), (error: unknown) => {
      assert.ok(isPkiError(error, "SIGNER_FAILED"));
      assert.match(
        error.message,
        /Sign on key alias\/spca-issuing-test failed: AccessDeniedException/,
      );
      assert.equal(error.cause, denied);
      assert.equal(error.details?.kmsError, "AccessDeniedException");
      assert.equal(error.details?.attempts, 1);
      return true;
    });
    assert.equal(kms.commandCalls(SignCommand).length, 1);
    assert.deepEqual(sleeps, []);
  });

  it("gives up after maxAttempts of persistent throttling", async () => {
    const key = await testKey("ECC_NIST_P384");
    kms.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key));
    kms.on(SignCommand).rejects(kmsError("ThrottlingException", "Rate exceeded"));
    const { sleep, sleeps } = sleepRecorder();
    const signer = await createKmsSigner({ keyId: KEY_ID, client, sleep });
    await rejectsWith(
      signer.sign(randomBytes(10)),
      "SIGNER_FAILED",
      /failed after 6 attempts: ThrottlingException: Rate exceeded/,
    );
    assert.equal(kms.commandCalls(SignCommand).length, 6);
    assert.equal(sleeps.length, 5);
    for (let i = 1; i < sleeps.length; i++) assert.ok(sleeps[i]! > sleeps[i - 1]!, `${sleeps}`);

    kms.resetHistory();
    const three = await createKmsSigner({ keyId: KEY_ID, client, sleep, maxAttempts: 3 });
    await rejectsWith(three.sign(randomBytes(10)), "SIGNER_FAILED", /after 3 attempts/);
    assert.equal(kms.commandCalls(SignCommand).length, 3);
  });

  const network = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  const retryable: [string, Error][] = [
    ["ThrottlingException", kmsError("ThrottlingException", "Rate exceeded")],
    ["KMSInternalException", kmsError("KMSInternalException", "internal", 500)],
    ["DependencyTimeoutException", kmsError("DependencyTimeoutException", "timeout", 503)],
    ["KeyUnavailableException", kmsError("KeyUnavailableException", "unavailable", 500)],
    ["an unmodelled 502", kmsError("BadGateway", "bad gateway", 502)],
    ["a network error", network],
  ];
  for (const [label, error] of retryable) {
    it(`retries ${label}`, async () => {
      assert.ok(isRetryableKmsError(error));
      const key = await testKey("ECC_NIST_P256");
      kms.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key));
      kms.on(SignCommand).rejectsOnce(error).callsFake(signHandler(key));
      const { sleep, sleeps } = sleepRecorder();
      const signer = await createKmsSigner({ keyId: KEY_ID, client, sleep });
      const message = randomBytes(64);
      assert.ok(verifies(key, "ECDSA_SHA_256", message, await signer.sign(message)));
      assert.equal(kms.commandCalls(SignCommand).length, 2);
      assert.equal(sleeps.length, 1);
    });
  }

  for (const name of [
    "NotFoundException",
    "DisabledException",
    "KMSInvalidStateException",
    "InvalidKeyUsageException",
    "ValidationException",
  ]) {
    it(`does not retry ${name}`, async () => {
      const error = kmsError(name, "no");
      assert.equal(isRetryableKmsError(error), false);
      const key = await testKey("ECC_NIST_P256");
      kms.on(GetPublicKeyCommand).resolves(getPublicKeyOutput(key));
      kms.on(SignCommand).rejects(error);
      const { sleep, sleeps } = sleepRecorder();
      const signer = await createKmsSigner({ keyId: KEY_ID, client, sleep });
      await rejectsWith(signer.sign(randomBytes(10)), "SIGNER_FAILED", new RegExp(`${name}: no`));
      assert.equal(kms.commandCalls(SignCommand).length, 1);
      assert.deepEqual(sleeps, []);
    });
  }
});
