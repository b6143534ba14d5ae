/**
 * The API behind the Router: what reaches the function is CloudFront's request (its SigV4
 * Authorization, the edge's address); the client's own travel in the Router's x-pki-* headers
 * and are put back only when the stack says the function is behind the Router.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isPkiError } from "@spca/core/errors";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { settingsFromEnvironment } from "../src/lambda/settings.ts";
import { withViewerHeaders } from "../src/lambda/viewer-headers.ts";

const fromCloudFront = {
  version: "2.0",
  rawPath: "/v1/keys",
  headers: {
    authorization: "AWS4-HMAC-SHA256 Credential=ASIA.../cloudfront/aws4_request, Signature=00",
    "x-pki-authorization": "Bearer abcdefghijklmnopqrstuvwxyz",
    "x-pki-viewer-address": "203.0.113.9",
    "x-forwarded-host": "pki.example.com",
  },
  requestContext: { http: { method: "GET", path: "/v1/keys", sourceIp: "64.252.0.1" } },
};

test("the client's Authorization and address replace CloudFront's", () => {
  const event = withViewerHeaders(fromCloudFront);
  assert.deepEqual(event.headers, {
    authorization: "Bearer abcdefghijklmnopqrstuvwxyz",
    "x-forwarded-host": "pki.example.com",
  });
  assert.equal(event.requestContext.http.sourceIp, "203.0.113.9");
  assert.equal(event.rawPath, "/v1/keys");
  // The event itself is left as it came.
  assert.equal(fromCloudFront.headers["x-pki-viewer-address"], "203.0.113.9");
});

test("a client that sent no Authorization arrives with none, not with CloudFront's signature", () => {
  const { "x-pki-authorization": _, ...headers } = fromCloudFront.headers;
  const event = withViewerHeaders({ ...fromCloudFront, headers });
  assert.equal(event.headers.authorization, undefined);
  assert.equal("authorization" in event.headers, false);
});

test("PKI_VIEWER_HEADERS: cloudfront, or nothing", () => {
  const base = {
    PKI_TABLE: "t",
    PKI_BUCKET: "b",
    PKI_EVENT_BUS: "e",
    PKI_CA_KEY_ID: "arn:aws:kms:eu-west-1:123456789012:key/k",
    PKI_CONFIG_FILE: shippedConfigPath,
    PKI_PUBLIC_BASE_URL: "https://pki.example.com",
  };
  assert.equal(settingsFromEnvironment(base).viewerHeaders, undefined);
  assert.equal(
    settingsFromEnvironment({ ...base, PKI_VIEWER_HEADERS: "cloudfront" }).viewerHeaders,
    "cloudfront",
  );
  assert.throws(
    () => settingsFromEnvironment({ ...base, PKI_VIEWER_HEADERS: "x-forwarded-for" }),
    (e) =>
      isPkiError(e, "CONFIG_INVALID") && /PKI_VIEWER_HEADERS must be "cloudfront"/.test(e.message),
  );
  assert.equal(
    settingsFromEnvironment({ ...base, PKI_MAIL_CONFIGURATION_SET: "private-ca-dev-mail" })
      .mailConfigurationSet,
    "private-ca-dev-mail",
  );
});
