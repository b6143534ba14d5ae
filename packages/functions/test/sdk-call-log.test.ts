/**
 * The SDK call log: each AWS call a function makes, as IAM authorizes it. The conformance test
 * (stacks/test/iam-conformance.test.ts) holds these against the synthesized policies, so the
 * mapping from a call to its authorizations must be what AWS does.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { type LocalS3, startS3rver } from "../../core/test/support/s3.ts";
import { dynamodbRequests } from "../src/lambda/clients/dynamodb.ts";
import { eventBridgeRequests } from "../src/lambda/clients/eventbridge.ts";
import { kmsRequests } from "../src/lambda/clients/kms.ts";
import { s3Requests } from "../src/lambda/clients/s3.ts";
import { sesRequests } from "../src/lambda/clients/ses.ts";
import { sfnRequests } from "../src/lambda/clients/sfn.ts";
import { type LoggedCall, logCalls, partitionOf } from "../src/lambda/sdk-call-log.ts";

const where = { partition: "aws", region: "eu-west-1", account: "123456789012" };
const work = mkdtempSync(join(tmpdir(), "pki-call-log-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("DynamoDB: items on the table, a query on its index, a transaction item by item", () => {
  const table = "arn:aws:dynamodb:eu-west-1:123456789012:table/t";
  assert.deepEqual(dynamodbRequests("GetItem", { TableName: "t" }, where), [
    { action: "dynamodb:GetItem", resource: table },
  ]);
  assert.deepEqual(dynamodbRequests("Query", { TableName: "t", IndexName: "gsi1" }, where), [
    { action: "dynamodb:Query", resource: `${table}/index/gsi1` },
  ]);
  assert.deepEqual(
    dynamodbRequests(
      "TransactWriteItems",
      {
        TransactItems: [
          { Put: { TableName: "t" } },
          { Update: { TableName: "t" } },
          { ConditionCheck: { TableName: "t" } },
        ],
      },
      where,
    ).map((r) => r.action),
    ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],
  );
});

test("S3: a read may miss, so it needs s3:ListBucket on the bucket too", () => {
  const read = s3Requests("GetObject", { Bucket: "b", Key: "ca/issuing-chain.pem" }, where);
  assert.deepEqual(
    read.map((r) => [r.action, r.resource]),
    [
      ["s3:GetObject", "arn:aws:s3:::b/ca/issuing-chain.pem"],
      ["s3:ListBucket", "arn:aws:s3:::b"],
    ],
  );
  assert.match(read[1]!.why ?? "", /403 AccessDenied, not 404 NoSuchKey/);
  assert.deepEqual(
    s3Requests("PutObject", { Bucket: "b", Key: "crl/x.crl" }, where).map((r) => r.action),
    ["s3:PutObject"],
  );
});

test("KMS, SES, EventBridge and Step Functions", () => {
  const key = "arn:aws:kms:eu-west-1:123456789012:key/k";
  assert.deepEqual(
    kmsRequests(
      "Sign",
      { KeyId: key, MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" },
      where,
    ),
    [
      {
        action: "kms:Sign",
        resource: key,
        context: { "kms:MessageType": "DIGEST", "kms:SigningAlgorithm": "ECDSA_SHA_256" },
      },
    ],
  );
  const sends = sesRequests(
    "SendEmail",
    {
      FromEmailAddress: '"PKI" <PKI@Example.com>',
      Destination: { ToAddresses: ["dev@example.com"] },
      ConfigurationSetName: "private-ca-dev-mail",
    },
    where,
  );
  assert.deepEqual(
    sends.map((r) => r.resource),
    [
      "arn:aws:ses:eu-west-1:123456789012:identity/pki@example.com",
      "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
      "arn:aws:ses:eu-west-1:123456789012:configuration-set/private-ca-dev-mail",
      "arn:aws:ses:eu-west-1:123456789012:identity/dev@example.com",
    ],
  );
  assert.ok(sends.every((r) => r.context?.["ses:FromAddress"] === "pki@example.com"));
  assert.deepEqual(
    eventBridgeRequests(
      "PutEvents",
      { Entries: [{ EventBusName: "bus", Source: "s", DetailType: "d" }] },
      where,
    ),
    [
      {
        action: "events:PutEvents",
        resource: "arn:aws:events:eu-west-1:123456789012:event-bus/bus",
        context: { "events:source": "s", "events:detail-type": "d" },
      },
    ],
  );
  assert.deepEqual(sfnRequests("SendTaskSuccess", { taskToken: "t" }, where), [
    { action: "states:SendTaskSuccess", resource: "*" },
  ]);
  assert.equal(partitionOf("cn-north-1"), "aws-cn");
  assert.equal(partitionOf("us-gov-west-1"), "aws-us-gov");
});

test("on only with PKI_SDK_CALL_LOG: one line per call, failures with the error's name", async () => {
  let s3: LocalS3 | undefined;
  try {
    s3 = await startS3rver(["b"]);
    const file = join(work, "calls.jsonl");
    const env = {
      PKI_SDK_CALL_LOG: file,
      PKI_SDK_CALL_LOG_ACCOUNT: "123456789012",
      AWS_LAMBDA_FUNCTION_NAME: "private-ca-dev-Api",
    };
    const logged = logCalls(s3.client, s3Requests, env);
    await assert.rejects(logged.send(new GetObjectCommand({ Bucket: "b", Key: "nothing" })));
    const [line, ...more] = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as LoggedCall);
    assert.deepEqual(more, []);
    assert.equal(line!.function, "private-ca-dev-Api");
    assert.equal(line!.operation, "GetObject");
    assert.equal(line!.error, "NoSuchKey");
    assert.deepEqual(
      line!.requests.map((r) => r.resource),
      ["arn:aws:s3:::b/nothing", "arn:aws:s3:::b"],
    );
    // Off: the client is returned as it was.
    const stack = s3.client.middlewareStack.identify().length;
    logCalls(s3.client, s3Requests, {});
    assert.equal(s3.client.middlewareStack.identify().length, stack);
  } finally {
    await s3?.close();
  }
});
