/**
 * The Lambda entry points on real protocol stand-ins: the API (an API Gateway v2 event through
 * hono/aws-lambda), the seven step functions (JSON in and out, as Lambda invokes them, driven by
 * the one ASL document) and the bus subscribers (EventBridge envelopes, delivered twice, as
 * EventBridge may). DynamoDB is dynalite, S3 s3rver, SES aws-ses-v2-local; KMS signs with a
 * real key behind aws-sdk-client-mock; EventBridge PutEvents is captured and replayed to the
 * subscribers. The certificate is checked by OpenSSL. Every invocation gets a Lambda-like context,
 * and what Powertools writes (JSON logs, EMF metrics) is captured and checked too.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { caIdOf, caIdOfChainPem } from "@spca/core/ca/authority";
import { createRootCertificate } from "@spca/core/ca/create";
import { CA_CHAIN_OBJECT_KEY } from "@spca/core/ca/object-store-ca";
import { parseCrl } from "@spca/core/crl/parse";
import { checkCsr } from "@spca/core/csr/intake";
import { encodePem } from "@spca/core/encoding/pem";
import { isPkiError } from "@spca/core/errors";
import type { EventBridgeEnvelope } from "@spca/core/events/eventbridge-bus";
import { loadConfig } from "@spca/core/policy/config";
import { createApiKey } from "@spca/core/ra/api-keys";
import { newRequestId, summariseCsr } from "@spca/core/requests/request";
import { createKmsSigner } from "@spca/core/signer/kms-signer";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { requesterMailSubscription } from "@spca/core/subscribers/requester-mail";
import { workflowFunctionNames } from "@spca/core/workflow/definition";
import type { StepHandlers } from "@spca/core/workflow/engine";
import { LocalWorkflowEngine } from "@spca/core/workflow/local-engine";
import { parseCertificate } from "@spca/core/x509/certificate";
import { parseNameText } from "@spca/core/x509/name";
import { mockClient } from "aws-sdk-client-mock";
import sesLocal from "aws-ses-v2-local";
import { type LocalDynamo, startDynalite } from "../../core/test/support/dynamo.ts";
import { serveKey, TEST_KEY_ARN, testKey } from "../../core/test/support/kms-mock.ts";
import { ecCsrFor, opensslVerifyPem } from "../../core/test/support/openssl.ts";
import { type LocalS3, startS3rver } from "../../core/test/support/s3.ts";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { apiLambda } from "../src/lambda/api.ts";
import { type AwsAdapters, AwsServices } from "../src/lambda/aws-services.ts";
import { dynamodbAdapters } from "../src/lambda/clients/dynamodb.ts";
import { eventBridgeAdapters } from "../src/lambda/clients/eventbridge.ts";
import { kmsAdapters } from "../src/lambda/clients/kms.ts";
import { s3Adapters } from "../src/lambda/clients/s3.ts";
import { sesAdapters } from "../src/lambda/clients/ses.ts";
import { crlPublisherLambda } from "../src/lambda/crl-publisher.ts";
import { requestSweeperLambda, STRANDED_AFTER_MS } from "../src/lambda/request-sweeper.ts";
import { settingsFromEnvironment } from "../src/lambda/settings.ts";
import { stepLambda } from "../src/lambda/step-handler.ts";
import { subscriberLambda } from "../src/lambda/subscriber-handler.ts";
import { auditTrailLambda } from "../src/lambda/subscribers/audit-trail.ts";
import { capturePowertoolsOutput } from "./support/powertools-output.ts";

const BUCKET = "spca-private";
const work = mkdtempSync(join(tmpdir(), "pki-lambda-"));
after(() => rmSync(work, { recursive: true, force: true }));
const output = capturePowertoolsOutput();
after(() => output.stop());

/** A Lambda context object as the runtime passes it, one awsRequestId per invocation. */
let invocations = 0;
function contextFor(functionName: string) {
  return {
    awsRequestId: `${functionName}-${++invocations}`,
    functionName: `spca-test-${functionName}`,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:111122223333:function:spca-test-${functionName}`,
    memoryLimitInMB: "512",
    logGroupName: `/aws/lambda/spca-test-${functionName}`,
    logStreamName: "2026/11/22/[$LATEST]0123456789abcdef",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 30_000,
  };
}

/** A JSON round trip: what crosses a Lambda invocation is JSON, never live objects. */
const wire = <T>(value: T): T => (value === undefined ? value : JSON.parse(JSON.stringify(value)));

interface StoredMail {
  destination: { to: string[] };
  subject: string;
  body: { text: string };
  attachments: { filename: string; content: string }[];
}

describe("Lambda entry points on stand-ins", () => {
  let dynamo: LocalDynamo;
  let s3: LocalS3;
  let ses: Server;
  let sesEndpoint: string;
  let services: AwsServices;
  let engine: LocalWorkflowEngine;
  let adminKey: string;
  const published: PutEventsRequestEntry[] = [];
  const kms = new KMSClient({ region: "eu-west-1" });
  const kmsMock = mockClient(kms);
  const eventBridge = new EventBridgeClient({ region: "eu-west-1" });
  const eventBridgeMock = mockClient(eventBridge);

  before(async () => {
    dynamo = await startDynalite();
    s3 = await startS3rver([BUCKET]);
    ses = await sesLocal.default({ host: "127.0.0.1", port: 0 });
    sesEndpoint = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
    serveKey(kmsMock, await testKey("ECC_NIST_P256"));
    eventBridgeMock.on(PutEventsCommand).callsFake((input) => {
      published.push(...wire(input.Entries));
      return { FailedEntryCount: 0, Entries: [{ EventId: String(published.length) }] };
    });

    const tableName = await dynamo.freshTable();
    // No Step Functions: the test replaces the workflow engine.
    const adapters: AwsAdapters = {
      ...dynamodbAdapters(() => dynamo.client),
      ...s3Adapters(() => s3.client),
      ...sesAdapters(
        () =>
          new SESv2Client({
            endpoint: sesEndpoint,
            region: "eu-west-1",
            credentials: { accessKeyId: "local", secretAccessKey: "local" },
          }),
      ),
      ...eventBridgeAdapters(() => eventBridge),
      ...kmsAdapters(() => kms),
    };
    const config = loadConfig(shippedConfigPath);
    services = new (class extends AwsServices {
      // The state machine runs on the local engine; everything else is the Lambda's own wiring.
      override get engine() {
        return engine as never;
      }
      override get starter() {
        return engine as never;
      }
    })(
      {
        tableName,
        bucketName: BUCKET,
        eventBusName: "spca-events",
        caKeyId: TEST_KEY_ARN,
        caSigningAlgorithm: undefined,
        stateMachineArn: undefined,
        openSubmission: false,
        webAssetsDir: undefined,
        config,
      },
      adapters,
    );
    // Each Task invokes its step Lambda: the payload and result cross as JSON.
    const handlers = Object.fromEntries(
      workflowFunctionNames.map((name) => {
        const lambda = stepLambda(name, () => services);
        return [
          name,
          async (payload: unknown) => wire(await lambda(wire(payload) as never, contextFor(name))),
        ];
      }),
    ) as unknown as StepHandlers;
    engine = new LocalWorkflowEngine({
      folder: join(work, "executions"),
      handlers,
      retryIntervalMs: 10,
    });

    // The CA bootstrap's result: a KMS-keyed CA certificate in the bucket.
    const signer = await createKmsSigner({ keyId: TEST_KEY_ARN, client: kms });
    const caDer = await createRootCertificate(signer, {
      subject: parseNameText("CN=Lambda Test CA, O=Example"),
      validityDays: 3650,
    });
    await new S3ObjectStore(s3.client, BUCKET).put(
      CA_CHAIN_OBJECT_KEY,
      encodePem("CERTIFICATE", caDer),
      "application/x-pem-file",
    );
    ({ key: adminKey } = await createApiKey(services.repository, {
      role: "admin",
      label: "lambda test",
      owner: "admin@example.com",
    }));
  });

  after(async () => {
    await engine?.close();
    ses?.closeAllConnections();
    ses?.close();
    await s3?.close();
    await dynamo?.close();
  });

  const api = apiLambda(() => services);
  /** An API Gateway HTTP API (payload 2.0) / Function URL event. */
  async function call(
    method: string,
    path: string,
    options: { body?: Uint8Array | string; headers?: Record<string, string>; query?: string } = {},
  ) {
    const binary = options.body instanceof Uint8Array;
    const result = await api(
      {
        version: "2.0",
        routeKey: "$default",
        rawPath: path,
        rawQueryString: options.query ?? "",
        headers: { host: "pki.example.com", ...options.headers },
        requestContext: {
          accountId: "111122223333",
          apiId: "abc",
          domainName: "pki.example.com",
          domainPrefix: "pki",
          requestId: "r1",
          routeKey: "$default",
          stage: "$default",
          time: "22/Nov/2026:10:00:00 +0000",
          timeEpoch: Date.now(),
          http: { method, path, protocol: "HTTP/1.1", sourceIp: "198.51.100.7", userAgent: "test" },
        },
        ...(options.body === undefined
          ? { isBase64Encoded: false }
          : {
              body: binary
                ? Buffer.from(options.body).toString("base64")
                : (options.body as string),
              isBase64Encoded: binary,
            }),
      } as never,
      contextFor("api"),
    );
    const response = result as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
      isBase64Encoded: boolean;
    };
    // PEM, JSON and problems travel as text, not base64.
    assert.equal(
      response.isBase64Encoded,
      false,
      `${method} ${path}: ${response.headers["content-type"]}`,
    );
    return response;
  }

  /** Delivers every captured event to both subscriber Lambdas, twice each (at-least-once). */
  const mailLambda = subscriberLambda(
    (s) => requesterMailSubscription(s.steps),
    () => services,
  );
  const auditLambda = auditTrailLambda(() => services);
  let delivered = 0;
  async function deliverEvents(): Promise<void> {
    for (const entry of published.slice(delivered)) {
      const envelope: EventBridgeEnvelope = wire({
        source: entry.Source,
        "detail-type": entry.DetailType,
        time: new Date(entry.Time!).toISOString(),
        detail: JSON.parse(entry.Detail!),
      });
      for (let i = 0; i < 2; i++) {
        await mailLambda(envelope, contextFor("requester-mail"));
        await auditLambda(envelope, contextFor("audit-trail"));
      }
      delivered++;
    }
  }

  async function mailsTo(address: string): Promise<StoredMail[]> {
    const all = (await (await fetch(`${sesEndpoint}/store`)).json()) as { emails: StoredMail[] };
    return all.emails.filter((m) => m.destination.to.includes(address));
  }

  test("submit through the API Lambda, approve through it, issue via KMS, mail via subscribers", async () => {
    const csr = ecCsrFor(work, "svc.example.internal", "DER");
    const submitted = await call("POST", "/v1/requests", {
      query: "email=dev%40example.com&profile=server",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/pkcs10" },
      body: new Uint8Array(csr),
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const { id } = JSON.parse(submitted.body) as { id: string };

    // The RequestApproval Lambda mailed the approver a link; the workflow waits on its token.
    // Wait for its end too: an API invocation while it runs would put the API's Lambda context
    // on its last log line (one Logger per process), which the checks below read.
    let approvalMail: StoredMail | undefined;
    const approvalDone = () =>
      output.logs("RequestApproval done").some((l) => l.certificateRequestId === id);
    for (let i = 0; i < 100 && !(approvalMail && approvalDone()); i++) {
      approvalMail = (await mailsTo("security@example.com")).find((m) =>
        m.body.text.includes(`/approvals/${id}?token=`),
      );
      if (!(approvalMail && approvalDone())) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(approvalMail, "no approval mail");
    const token = /\?token=([A-Za-z0-9_-]{43})/.exec(approvalMail.body.text)![1]!;
    const decided = await call("POST", `/v1/approvals/${id}`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ decision: "approve", token, reason: "looks right" }),
    });
    assert.equal(decided.statusCode, 200, decided.body);
    const outcome = await engine.waitForExecution(id);
    const request = await services.repository.getRequest(id);
    assert.equal(outcome.status, "SUCCEEDED", request?.reason ?? JSON.stringify(outcome));

    // Each step logged with its Lambda context, the execution and the certificate request.
    const executionId = `arn:aws:states:us-east-1:000000000000:execution:spca-local:${id}`;
    for (const step of ["ValidateRequest", "RequestApproval", "SignCertificate"]) {
      const line = output.logs(`${step} done`).find((l) => l.certificateRequestId === id);
      assert.ok(line, `no log line of ${step} for request ${id}`);
      assert.equal(line.level, "INFO");
      assert.equal(line.service, "pki");
      assert.equal(line.executionId, executionId);
      assert.match(String(line.function_request_id), new RegExp(`^${step}-\\d+$`));
      assert.equal(line.function_name, `spca-test-${step}`);
      assert.equal(line.function_memory_size, "512");
      assert.equal(typeof line.cold_start, "boolean");
    }
    assert.match(
      JSON.stringify(
        output.logs("SignCertificate done").find((l) => l.certificateRequestId === id)?.result,
      ),
      /^\{"serial":"[0-9a-f]+"\}$/,
    );

    const view = JSON.parse(
      (
        await call("GET", `/v1/requests/${id}`, {
          headers: { authorization: `Bearer ${adminKey}` },
        })
      ).body,
    ) as { status: string; serial: string };
    assert.equal(view.status, "issued");
    // The certificate was signed by KMS (the mock signs with the real key).
    assert.ok(kmsMock.commandCalls(SignCommand).length >= 1);

    // The published events reach the subscribers, each delivered twice: one mail of each kind.
    assert.deepEqual(
      published.map((e) => e.DetailType),
      ["request.submitted", "request.approved", "certificate.issued"],
    );
    assert.ok(
      published.every(
        (e) => e.Source === "serverless-private-ca" && e.EventBusName === "spca-events",
      ),
    );
    output.clear();
    await deliverEvents();
    // Per-invocation keys leave with their invocation: no subscriber line has a step's keys.
    const subscriberLines = output.logs(/ handled /);
    assert.equal(subscriberLines.length, 3 * 2 * 2 - 2, "both subscribers, twice each");
    for (const line of subscriberLines) {
      assert.equal(line.executionId, undefined);
      assert.equal(line.certificateRequestId, id);
      assert.match(String(line.function_request_id), /^(audit-trail|requester-mail)-\d+$/);
    }
    // Delivered twice, issued once: the audit trail counts an event when it writes its entry.
    const issued = output.metrics("CertificatesIssued");
    assert.equal(issued.length, 1, JSON.stringify(output.metrics()));
    assert.deepEqual(
      { ...issued[0], line: undefined },
      {
        namespace: "PrivateCA",
        name: "CertificatesIssued",
        unit: "Count",
        value: 1,
        dimensionSets: [["service", "profile"]],
        line: undefined,
      },
    );
    assert.equal(issued[0]!.line.profile, "server");
    assert.equal(issued[0]!.line.service, "pki");
    assert.deepEqual(
      output.metrics().map((m) => m.name),
      ["CertificatesIssued"],
      "submitted and approved are not counted",
    );
    const requesterMails = await mailsTo("dev@example.com");
    assert.equal(requesterMails.length, 2, requesterMails.map((m) => m.subject).join(" | "));
    const issuedMail = requesterMails.find((m) => m.attachments.length === 2)!;
    assert.ok(issuedMail, "no mail with the certificate attached");

    const pem = await call("GET", `/v1/certificates/${view.serial}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    assert.equal(pem.statusCode, 200);
    assert.equal(pem.headers["content-type"], "application/x-pem-file");
    const attached = Buffer.from(
      issuedMail.attachments.find((a) => a.filename === `${view.serial}.pem`)!.content,
      "base64",
    ).toString("utf8");
    assert.equal(attached, pem.body);
    const verdict = opensslVerifyPem(
      work,
      (await call("GET", "/v1/ca")).body,
      pem.body,
      "sslserver",
    );
    assert.ok(verdict.ok, verdict.output);
    // DER comes back binary through the Lambda response (base64-encoded by the adapter).
    const der = (await api({
      version: "2.0",
      routeKey: "$default",
      rawPath: `/v1/certificates/${view.serial}`,
      rawQueryString: "",
      headers: { authorization: `Bearer ${adminKey}`, accept: "application/pkix-cert" },
      requestContext: {
        http: { method: "GET", path: `/v1/certificates/${view.serial}`, sourceIp: "198.51.100.7" },
      },
      isBase64Encoded: false,
    } as never)) as { statusCode: number; body: string; isBase64Encoded: boolean };
    assert.equal(der.statusCode, 200);
    assert.equal(der.isBase64Encoded, true);
    assert.match(
      execFileSync("openssl", ["x509", "-inform", "DER", "-noout", "-serial"], {
        input: Buffer.from(der.body, "base64"),
      }).toString(),
      new RegExp(`serial=${view.serial}`, "i"),
    );
  });

  test("revoke through the API Lambda; the publisher Lambda, fed the event through SQS, publishes a KMS-signed CRL", async () => {
    const submitted = await call("POST", "/v1/requests", {
      query: "email=holder%40example.com&profile=client",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/pkcs10" },
      body: new Uint8Array(ecCsrFor(work, "gone.example.internal", "DER")),
    });
    const { id } = JSON.parse(submitted.body) as { id: string };
    assert.equal((await engine.waitForExecution(id)).status, "SUCCEEDED");
    const { serial } = (await services.repository.getRequest(id))!;
    const revoked = await call("POST", `/v1/certificates/${serial}/revoke`, {
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "keyCompromise" }),
    });
    assert.equal(revoked.statusCode, 200, revoked.body);
    const event = published.find(
      (e) => e.DetailType === "certificate.revoked" && e.Detail!.includes(serial!),
    );
    assert.ok(event, "certificate.revoked was published on the bus");

    // EventBridge → SQS: each record's body is the whole event; the batch has a stranger too.
    const body = (entry: PutEventsRequestEntry) =>
      JSON.stringify({
        source: entry.Source,
        "detail-type": entry.DetailType,
        time: new Date(entry.Time!).toISOString(),
        detail: JSON.parse(entry.Detail!),
      });
    const publisher = crlPublisherLambda(() => services);
    const signsBefore = kmsMock.commandCalls(SignCommand).length;
    output.clear();
    await publisher(
      {
        Records: [
          { messageId: "m1", body: body(event) },
          { messageId: "m2", body: '{"source":"aws.s3"}' },
        ],
      },
      contextFor("crl-publisher"),
    );
    assert.equal(kmsMock.commandCalls(SignCommand).length, signsBefore + 1, "KMS signed one CRL");
    const chain = (await call("GET", "/v1/ca")).body;
    const caId = caIdOfChainPem(chain);
    const crl = await new S3ObjectStore(s3.client, BUCKET).get(`crl/${caId}.crl`);
    assert.equal(crl?.contentType, "application/pkix-crl");
    const caFile = join(work, "lambda-ca.pem");
    writeFileSync(caFile, chain);
    const text = execFileSync(
      "openssl",
      ["crl", "-inform", "DER", "-CAfile", caFile, "-noout", "-text"],
      { input: Buffer.from(crl!.body), stdio: ["pipe", "pipe", "pipe"] },
    ).toString();
    assert.match(text, new RegExp(`Serial Number: ${serial!.toUpperCase()}`));
    assert.match(text, /Key Compromise/);
    const status = JSON.parse((await call("GET", "/v1/crl/status")).body) as {
      number: string;
      trigger: string;
    };
    assert.equal(status.trigger, "revocation");

    // After the run: the CRL's age and the time left to its nextUpdate, per CA and overall.
    const validitySeconds = services.settings.config.crl.validityHours * 3600;
    const crlMetrics = () => {
      const age = output.metrics("CrlAgeSeconds");
      const left = output.metrics("CrlSecondsToNextUpdate");
      assert.equal(age.length, 1, JSON.stringify(output.metrics()));
      assert.equal(left.length, 1);
      for (const m of [...age, ...left]) {
        assert.equal(m.namespace, "PrivateCA");
        assert.equal(m.unit, "Seconds");
        assert.deepEqual(m.dimensionSets, [["service"], ["service", "caId"]]);
        assert.equal(m.line.caId, caId);
      }
      return { age: age[0]!.value as number, left: left[0]!.value as number };
    };
    const afterRevocation = crlMetrics();
    assert.ok(afterRevocation.age >= 0 && afterRevocation.age <= 5, String(afterRevocation.age));
    assert.ok(
      afterRevocation.left <= validitySeconds && afterRevocation.left >= validitySeconds - 5,
      `${afterRevocation.left} s to nextUpdate, for a CRL valid ${validitySeconds} s`,
    );
    assert.ok(
      output
        .logs(/^CRL \d+ published for 1 revocation event/)
        .some((l) => l.function_name === "spca-test-crl-publisher"),
    );

    // The schedule: the CRL just published is not due, so nothing is signed; the metrics are
    // published all the same (what the alarm on CrlSecondsToNextUpdate watches).
    output.clear();
    await publisher({ source: "schedule" }, contextFor("crl-publisher"));
    assert.equal(kmsMock.commandCalls(SignCommand).length, signsBefore + 1);
    assert.equal(output.logs("CRL not due").length, 1);
    const scheduled = crlMetrics();
    assert.ok(scheduled.left <= afterRevocation.left && scheduled.left >= validitySeconds - 10);

    // The revocation reaches the audit trail (twice): counted once, with the client's issuance.
    output.clear();
    await deliverEvents();
    assert.equal(output.metrics("CertificatesRevoked").length, 1);
    assert.deepEqual(
      output.metrics("CertificatesIssued").map((m) => m.line.profile),
      ["client"],
    );
    await assert.rejects(publisher({ detail: {} } as never), (e) => isPkiError(e, "EVENT_INVALID"));
  });

  /** A REST API (payload 1.0) event, as private mode's API Gateway sends it. */
  async function callRest(
    method: string,
    path: string,
    options: {
      body?: Uint8Array;
      headers?: Record<string, string>;
      query?: Record<string, string>;
    } = {},
  ) {
    const result = await api(
      {
        resource: "/{proxy+}",
        path,
        httpMethod: method,
        headers: { host: "pki.corp.example.com", accept: "*/*", ...options.headers },
        multiValueHeaders: {},
        queryStringParameters: options.query ?? null,
        multiValueQueryStringParameters: null,
        pathParameters: { proxy: path.slice(1) },
        stageVariables: null,
        requestContext: {
          accountId: "111122223333",
          apiId: "abc",
          domainName: "pki.corp.example.com",
          httpMethod: method,
          path,
          protocol: "HTTP/1.1",
          requestId: "rest-1",
          resourcePath: "/{proxy+}",
          stage: "pki",
          identity: { sourceIp: "10.20.30.40", vpceId: "vpce-0123456789abcdef0" },
        },
        // Every media type is binary to the API (private-api.ts): bodies arrive as base64.
        body: options.body ? Buffer.from(options.body).toString("base64") : null,
        isBase64Encoded: options.body !== undefined,
      } as never,
      contextFor("api"),
    );
    const response = result as {
      statusCode: number;
      headers?: Record<string, string>;
      multiValueHeaders?: Record<string, string[]>;
      body: string;
      isBase64Encoded: boolean;
    };
    // Payload 1.0 answers may carry their headers in either field; API Gateway reads both.
    const header = (name: string) =>
      response.headers?.[name] ?? response.multiValueHeaders?.[name]?.join(", ");
    return { ...response, header };
  }

  test("behind the private REST API: a DER CSR arrives whole, DER answers leave as base64 for API Gateway", async () => {
    const submitted = await callRest("POST", "/v1/requests", {
      query: { email: "rest@example.com", profile: "client" },
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/pkcs10" },
      body: new Uint8Array(ecCsrFor(work, "rest.example.internal", "DER")),
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    assert.equal(submitted.isBase64Encoded, false, "JSON travels as text");
    const { id } = JSON.parse(submitted.body) as { id: string };
    assert.equal((await engine.waitForExecution(id)).status, "SUCCEEDED");

    // The publication paths, which the private API serves through this function.
    const chain = await callRest("GET", "/v1/ca");
    assert.equal(chain.statusCode, 200);
    const caId = caIdOfChainPem(chain.body);
    const crl = await callRest("GET", `/crl/${caId}.crl`);
    assert.equal(crl.statusCode, 200, crl.body);
    assert.equal(crl.header("content-type"), "application/pkix-crl");
    assert.equal(crl.isBase64Encoded, true, "DER goes out as base64, for API Gateway to decode");
    const der = new Uint8Array(Buffer.from(crl.body, "base64"));
    const revoked = [...parseCrl(der).entries()].map((e) => e.serialHex);
    assert.ok(revoked.length >= 1, "the CRL the revocation test published");
    const certificate = await callRest("GET", `/ca/${caId}.cer`);
    assert.equal(certificate.statusCode, 200);
    assert.equal(certificate.isBase64Encoded, true);
    assert.equal(
      caIdOf(parseCertificate(new Uint8Array(Buffer.from(certificate.body, "base64"))).spki),
      caId,
    );
  });

  test("the request sweeper starts a request the API stored and never started, on its schedule only", async () => {
    // Stored a minute longer ago than the sweep waits, by an API that died before the start.
    const storedAt = new Date(Date.now() - STRANDED_AFTER_MS - 60_000);
    const repository = new DynamoRequestRepository({
      client: dynamo.client,
      tableName: services.settings.tableName,
      now: () => storedAt,
    });
    const csr = checkCsr(ecCsrFor(work, "stranded.example.internal", "DER"));
    const { request } = await repository.createRequest({
      id: newRequestId(),
      requester: "dev@example.com",
      profile: "client",
      comment: null,
      csr: encodePem("CERTIFICATE REQUEST", csr.der),
      csrSummary: summariseCsr(csr),
      validityDays: null,
      approval: { mode: "automatic", approvers: [], quorum: 0, timeoutSeconds: 0, deadline: null },
      submittedBy: "api-key:0123456789abcdef",
      principal: { id: "api-key:0123456789abcdef", email: "alice@example.com", groups: [] },
    });
    const sweeper = requestSweeperLambda(() => services);
    await assert.rejects(sweeper({} as never), (e) => isPkiError(e, "EVENT_INVALID"));
    await assert.rejects(sweeper({ Records: [] } as never), (e) => isPkiError(e, "EVENT_INVALID"));
    output.clear();
    const swept = await sweeper({ source: "schedule" }, contextFor("request-sweeper"));
    assert.deepEqual(swept.started, [request.id]);
    const [line] = output.logs(/^Swept: \d+ examined, 1 started$/);
    assert.equal(line?.level, "WARN");
    assert.deepEqual(line?.started, [request.id]);
    assert.equal((await engine.waitForExecution(request.id)).status, "SUCCEEDED");
    assert.equal((await services.repository.getRequest(request.id))?.status, "issued");
    assert.ok(
      published.some((e) => e.DetailType === "request.submitted" && e.Detail!.includes(request.id)),
    );
    // The next run finds it started.
    assert.deepEqual((await sweeper({ source: "schedule" })).started, []);
  });

  test("hostile input through the API Lambda is a problem+json 4xx", async () => {
    const res = await call("POST", "/v1/requests", {
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers["content-type"], "application/problem+json");
    const unauthenticated = await call("GET", "/v1/keys");
    assert.equal(unauthenticated.statusCode, 401);
  });

  test("a subscriber refuses an event that is not ours, and ignores types it does not take", async () => {
    await assert.rejects(
      mailLambda({ source: "someone.else", "detail-type": "request.submitted", detail: {} }),
      (e) => isPkiError(e, "EVENT_INVALID") && /not ours/.test(e.message),
    );
    await assert.rejects(
      mailLambda({
        source: "serverless-private-ca",
        "detail-type": "request.submitted",
        time: new Date().toISOString(),
        detail: { id: "x", data: { requestId: 5 } },
      }),
      (e) => isPkiError(e, "EVENT_INVALID"),
    );
  });
});

describe("Lambda settings from the environment", () => {
  const base = {
    PKI_TABLE: "t",
    PKI_BUCKET: "b",
    PKI_EVENT_BUS: "e",
    PKI_CA_KEY_ID: TEST_KEY_ARN,
    PKI_CONFIG_FILE: shippedConfigPath,
    PKI_PUBLIC_BASE_URL: "https://pki.example.com",
  };

  test("a complete environment", () => {
    const settings = settingsFromEnvironment({
      ...base,
      PKI_CA_SIGNING_ALGORITHM: "ECDSA_SHA_256",
    });
    assert.equal(settings.tableName, "t");
    assert.equal(settings.caSigningAlgorithm, "ECDSA_SHA_256");
    assert.equal(settings.stateMachineArn, undefined);
    assert.ok(settings.config.profiles.server);
  });

  for (const [name, env, message] of [
    ["a missing variable", { ...base, PKI_BUCKET: undefined }, /PKI_BUCKET is not set/],
    [
      "no configuration",
      { ...base, PKI_CONFIG_FILE: undefined },
      /Set PKI_CONFIG .* or PKI_CONFIG_FILE/,
    ],
    ["configuration that is not JSON", { ...base, PKI_CONFIG: "{" }, /PKI_CONFIG is not JSON/],
    [
      "an invalid configuration",
      { ...base, PKI_CONFIG: '{"profiles":{}}' },
      /PKI_CONFIG: ca is required; define at least one profile|PKI_CONFIG: ca is required/,
    ],
    ["a missing configuration file", { ...base, PKI_CONFIG_FILE: "/nonexistent.json" }, /ENOENT/],
    [
      "open submission that is not a boolean",
      { ...base, PKI_OPEN_SUBMISSION: "yes" },
      /PKI_OPEN_SUBMISSION must be "true" or "false", not "yes"/,
    ],
    [
      "an unknown signing algorithm",
      { ...base, PKI_CA_SIGNING_ALGORITHM: "MD5" },
      /must be one of .*not "MD5"/,
    ],
  ] as const) {
    test(`${name} is CONFIG_INVALID naming it`, () => {
      assert.throws(
        () => settingsFromEnvironment(env),
        (e) => isPkiError(e, "CONFIG_INVALID") && message.test(e.message),
      );
    });
  }

  test("every entry module exports a handler that fails on a bad environment when invoked, not at import", async () => {
    const modules = [
      "api",
      ...workflowFunctionNames.map(
        (n) => `steps/${n.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()}`,
      ),
      "subscribers/requester-mail",
      "subscribers/audit-trail",
      "crl-publisher",
      "request-sweeper",
    ];
    const saved = process.env.PKI_TABLE;
    delete process.env.PKI_TABLE;
    try {
      for (const name of modules) {
        const module = (await import(`../src/lambda/${name}.ts`)) as { handler: unknown };
        assert.equal(typeof module.handler, "function", name);
      }
      const step = (await import("../src/lambda/steps/validate-request.ts")) as {
        handler: (e: unknown) => Promise<unknown>;
      };
      await assert.rejects(
        step.handler({ requestId: "r" }),
        (e) => isPkiError(e, "CONFIG_INVALID") && /PKI_TABLE/.test(e.message),
      );
    } finally {
      if (saved !== undefined) process.env.PKI_TABLE = saved;
    }
  });
});
