/**
 * The mutual-TLS revocation authorizer's Lambda entry point, called directly with REST API
 * (REQUEST authorizer) and HTTP API (payload 2.0, simple responses) events as API Gateway sends
 * them. The CRL and the CA bundle are served by a local HTTP server with ETags; certificates and
 * CRLs come from a real CA, OpenSSL and an impostor CA (core/test/support/mtls-fixtures.ts). The
 * clock is injected, except for the environment-built `handler`, which runs on the real one.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type MtlsFixture,
  mtlsFixture,
  type PublicationServer,
  startPublicationServer,
} from "../../core/test/support/mtls-fixtures.ts";
import {
  type AuthorizerLog,
  authorizerSettingsFromEnv,
  handler,
  type LogDetails,
  mtlsAuthorizer,
} from "../src/lambda/mtls-authorizer.ts";
import { capturePowertoolsOutput } from "./support/powertools-output.ts";

const METHOD_ARN = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/prod/GET/orders";
const ROUTE_ARN = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/$default/GET/orders";

/** API Gateway's clientCert object (the authorizer reads only the PEM). */
function clientCert(pem: string) {
  return {
    clientCertPem: pem,
    subjectDN: "CN=claimed",
    issuerDN: "CN=claimed issuer",
    serialNumber: "00",
    validity: { notBefore: "May 28 12:30:02 2019 GMT", notAfter: "Aug  5 09:36:04 2031 GMT" },
  };
}

/** A REST API REQUEST authorizer event; `pem` null gives what API Gateway sends without one. */
function restEvent(pem: string | null) {
  return {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    resource: "/orders",
    path: "/orders",
    httpMethod: "GET",
    headers: { host: "api.example.com" },
    queryStringParameters: {},
    requestContext: {
      resourcePath: "/orders",
      httpMethod: "GET",
      stage: "prod",
      requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      apiId: "a1b2c3d4e5",
      identity: {
        sourceIp: "203.0.113.7",
        userAgent: "curl/8.5.0",
        clientCert: pem === null ? null : clientCert(pem),
      },
    },
  };
}

/** An HTTP API payload 2.0 authorizer event. */
function httpEvent(pem: string | null) {
  return {
    version: "2.0" as const,
    type: "REQUEST",
    routeArn: ROUTE_ARN,
    identitySource: [],
    routeKey: "GET /orders",
    rawPath: "/orders",
    rawQueryString: "",
    headers: { host: "api.example.com" },
    requestContext: {
      accountId: "111122223333",
      apiId: "a1b2c3d4e5",
      ...(pem === null ? {} : { authentication: { clientCert: clientCert(pem) } }),
      domainName: "api.example.com",
      http: {
        method: "GET",
        path: "/orders",
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "curl/8.5.0",
      },
      requestId: "JKJaXmPLvHcESHA=",
      routeKey: "GET /orders",
      stage: "$default",
      time: "10/Mar/2026:00:03:59 +0000",
      timeEpoch: 1_773_101_039_000,
    },
  };
}

type Answer = { allowed: boolean; context: Record<string, string>; principalId?: string };

/** Reads either answer format, checking it is the one the event's API expects. */
function read(format: "rest" | "http", result: unknown): Answer {
  const r = result as Record<string, unknown>;
  if (format === "http") {
    assert.deepEqual(Object.keys(r).sort(), ["context", "isAuthorized"]);
    return { allowed: r.isAuthorized as boolean, context: r.context as Record<string, string> };
  }
  assert.deepEqual(Object.keys(r).sort(), ["context", "policyDocument", "principalId"]);
  const policy = r.policyDocument as { Version: string; Statement: Record<string, unknown>[] };
  assert.equal(policy.Version, "2012-10-17");
  assert.equal(policy.Statement.length, 1);
  const [statement] = policy.Statement;
  assert.equal(statement!.Action, "execute-api:Invoke");
  assert.equal(statement!.Resource, METHOD_ARN);
  return {
    allowed: statement!.Effect === "Allow",
    context: r.context as Record<string, string>,
    principalId: r.principalId as string,
  };
}

class Log implements AuthorizerLog {
  readonly lines: { level: string; message: string; details: LogDetails }[] = [];
  info(message: string, details: LogDetails) {
    this.lines.push({ level: "info", message, details });
  }
  warn(message: string, details: LogDetails) {
    this.lines.push({ level: "warn", message, details });
  }
}

let f: MtlsFixture;
let server: PublicationServer;
let nextUpdate: Date;
before(async () => {
  f = await mtlsFixture();
  server = await startPublicationServer();
  const crl = await f.crl(f.at(0));
  nextUpdate = new Date(f.at(0).getTime() + 168 * 3600_000);
  const tampered = Uint8Array.from(await f.crl(f.at(0)));
  tampered[tampered.length - 1]! ^= 0x01;
  server.set("ca.crl", crl);
  server.set("tampered.crl", tampered);
  server.set("truststore.pem", f.bundlePem);
});
after(() => server.close());

for (const format of ["rest", "http"] as const) {
  const event = format === "rest" ? restEvent : httpEvent;

  describe(`${format === "rest" ? "REST API" : "HTTP API (payload 2.0)"} events`, () => {
    const authorizer = (crl = "ca.crl", now = f.at(60_000)) => {
      const log = new Log();
      const handle = mtlsAuthorizer(
        { crlUrl: server.url(crl), caBundleUrl: server.url("truststore.pem"), maxAgeSeconds: 60 },
        { now: () => now, log },
      );
      return { log, call: async (e: unknown) => read(format, await handle(e)) };
    };

    test("a good certificate is allowed, with its subject, SANs and serial in the context", async () => {
      const { call, log } = authorizer();
      const answer = await call(event(f.good.pem));
      assert.equal(answer.allowed, true);
      assert.deepEqual(answer.context, {
        subject: "CN=good.example.internal",
        sans: "DNS:good.example.internal",
        serial: f.good.serial,
      });
      if (format === "rest") assert.equal(answer.principalId, f.good.serial);
      // Context values must be strings, numbers or booleans for API Gateway.
      for (const value of Object.values(answer.context)) assert.equal(typeof value, "string");
      const sans = await call(event(f.manySans.pem));
      assert.equal(
        sans.context.sans,
        "DNS:sans.example.internal, IP:10.0.0.1, IP:2001:db8::1, email:ops@example.com",
      );
      assert.deepEqual(
        log.lines.map((l) => `${l.level} ${l.message}`),
        [
          "info mTLS authorizer: CRL loaded",
          "info mTLS client allowed",
          "info mTLS client allowed",
        ],
      );
    });

    test("denies a revoked, a foreign-CA, an impostor, an expired and a not-yet-valid certificate", async () => {
      const { call, log } = authorizer();
      const cases = [
        [f.revoked, /revoked/],
        [f.foreign, /not issued by CN=Example Private Issuing CA/],
        [f.impostor, /not issued by CN=Example Private Issuing CA/],
        [f.nameTwin, /signature does not verify/],
        [f.expired, /expired on/],
        [f.notYetValid, /not valid before/],
      ] as const;
      for (const [leaf, reason] of cases) {
        const answer = await call(event(leaf.pem));
        assert.equal(answer.allowed, false, reason.source);
        assert.deepEqual(answer.context, {});
        const line = log.lines.at(-1)!;
        assert.equal(line.message, "mTLS client denied");
        assert.match(String(line.details.reason), reason);
        assert.equal(line.details.serial, leaf.serial);
      }
    });

    test("denies garbage PEM and a missing clientCert, without fetching anything", async () => {
      const { call, log } = authorizer();
      const before = server.requests.length;
      const garbage = [
        "garbage",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        f.good.pem.slice(0, 300),
        "",
      ];
      for (const pem of garbage) {
        const answer = await call(event(pem));
        assert.equal(answer.allowed, false, pem);
        assert.match(String(log.lines.at(-1)!.details.reason), /does not parse|no client cert/);
      }
      assert.equal((await call(event(null))).allowed, false);
      assert.match(String(log.lines.at(-1)!.details.reason), /no client certificate/);
      if (format === "rest") {
        const noIdentity = { ...restEvent(null), requestContext: {} };
        assert.equal((await call(noIdentity)).allowed, false);
      } else {
        const nullAuth = httpEvent(null);
        const withNull = {
          ...nullAuth,
          requestContext: { ...nullAuth.requestContext, authentication: null },
        };
        assert.equal((await call(withNull)).allowed, false);
      }
      assert.equal(server.requests.length, before);
    });

    test("denies any certificate while the CRL is past its nextUpdate, and says why", async () => {
      const { call, log } = authorizer("ca.crl", nextUpdate);
      for (const leaf of [f.good, f.manySans]) {
        const answer = await call(event(leaf.pem));
        assert.equal(answer.allowed, false);
        assert.deepEqual(answer.context, {});
      }
      const line = log.lines.at(-1)!;
      assert.equal(line.level, "warn");
      assert.equal(line.message, "mTLS client denied: no CRL to trust");
      assert.match(String(line.details.reason), /past its nextUpdate/);
    });

    test("denies any certificate while the CRL is badly signed, and says why", async () => {
      const { call, log } = authorizer("tampered.crl");
      for (const leaf of [f.good, f.manySans, f.revoked]) {
        assert.equal((await call(event(leaf.pem))).allowed, false);
      }
      assert.deepEqual(
        log.lines.map((l) => `${l.level} ${l.message}`),
        [
          "warn mTLS authorizer: CRL or CA bundle refused; denying every client",
          "warn mTLS client denied: no CRL to trust",
          "warn mTLS client denied: no CRL to trust",
          "warn mTLS client denied: no CRL to trust",
        ],
      );
      assert.match(String(log.lines[0]!.details.reason), /signature does not verify/);
      // The certificate itself is never logged.
      const logged = JSON.stringify(log.lines);
      assert.ok(!logged.includes("BEGIN CERTIFICATE"));
      assert.ok(!logged.includes(f.good.pem.split("\n")[1]!));
    });
  });
}

describe("events and settings", () => {
  test("an event of neither API is denied on every resource", async () => {
    const handle = mtlsAuthorizer(
      {
        crlUrl: server.url("ca.crl"),
        caBundleUrl: server.url("truststore.pem"),
        maxAgeSeconds: 60,
      },
      { now: () => f.at(60_000), log: new Log() },
    );
    for (const e of [undefined, null, "event", {}, { requestContext: {} }]) {
      assert.deepEqual(await handle(e), {
        principalId: "unknown",
        policyDocument: {
          Version: "2012-10-17",
          Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: "*" }],
        },
        context: {},
      });
    }
  });

  test("the settings come from the environment; a bad variable is named", () => {
    const env = { PKI_CRL_URL: "s3://pki-public/crl/a.crl", PKI_CA_BUNDLE_URL: "https://x/t.pem" };
    assert.deepEqual(authorizerSettingsFromEnv(env), {
      crlUrl: "s3://pki-public/crl/a.crl",
      caBundleUrl: "https://x/t.pem",
      maxAgeSeconds: 60,
    });
    assert.equal(
      authorizerSettingsFromEnv({ ...env, PKI_CRL_MAX_AGE_SECONDS: "0" }).maxAgeSeconds,
      0,
    );
    assert.throws(() => authorizerSettingsFromEnv({ PKI_CA_BUNDLE_URL: "https://x/t.pem" }), {
      message: /PKI_CRL_URL is not set/,
    });
    assert.throws(() => authorizerSettingsFromEnv({ ...env, PKI_CA_BUNDLE_URL: " " }), {
      message: /PKI_CA_BUNDLE_URL is not set/,
    });
    assert.throws(() => authorizerSettingsFromEnv({ ...env, PKI_CRL_URL: "ftp://host/a.crl" }), {
      message: /PKI_CRL_URL: .*neither an http\(s\):\/\/ URL nor s3:\/\/bucket\/key/,
    });
    for (const bad of ["abc", "-1", "1.5", "86401", "1e3"]) {
      assert.throws(() => authorizerSettingsFromEnv({ ...env, PKI_CRL_MAX_AGE_SECONDS: bad }), {
        message: new RegExp(`PKI_CRL_MAX_AGE_SECONDS must be .* not "${bad.replace(".", "\\.")}"`),
      });
    }
  });

  test("the environment-built handler denies (and logs) until configured, then decides", async () => {
    const output = capturePowertoolsOutput();
    try {
      delete process.env.PKI_CRL_URL;
      delete process.env.PKI_CA_BUNDLE_URL;
      const denied = read("http", await handler(httpEvent(f.good.pem)));
      assert.equal(denied.allowed, false);
      const [error] = output.logs("mTLS authorizer is misconfigured: denying");
      assert.equal(error?.level, "ERROR");
      assert.match(JSON.stringify(error), /PKI_CRL_URL is not set/);

      // The real clock: a CRL made now, and the good leaf, which is backdated.
      server.set("now.crl", await f.crl(new Date()));
      process.env.PKI_CRL_URL = server.url("now.crl");
      process.env.PKI_CA_BUNDLE_URL = server.url("truststore.pem");
      const allowed = read("rest", await handler(restEvent(f.good.pem)));
      assert.equal(allowed.allowed, true);
      assert.equal(allowed.context.serial, f.good.serial);
      assert.equal(read("http", await handler(httpEvent(f.revoked.pem))).allowed, false);
      const logs = output.logs();
      assert.deepEqual(
        logs.slice(1).map((l) => `${l.level} ${l.message}`),
        ["INFO mTLS authorizer: CRL loaded", "INFO mTLS client allowed", "INFO mTLS client denied"],
      );
      assert.equal(logs.at(-1)!.serial, f.revoked.serial);
      assert.ok(!JSON.stringify(output.lines).includes("BEGIN CERTIFICATE"));
    } finally {
      output.stop();
    }
  });
});
