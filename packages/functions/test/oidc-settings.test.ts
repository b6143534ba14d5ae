/**
 * Which provider the API's sign-in uses on AWS: the deployment's Cognito pool from PKI_OIDC_*,
 * or `identity.oidc` with its secret from the variable it names; a half-set environment is a
 * configuration error naming what is missing, on the first invocation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isPkiError } from "@spca/core/errors";
import { loadConfig, parseConfig } from "@spca/core/policy/config";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { oidcFromEnvironment } from "../src/lambda/oidc-settings.ts";

const shipped = loadConfig(shippedConfigPath);
const cognito = {
  PKI_OIDC_PROVIDER: "cognito",
  PKI_OIDC_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
  PKI_OIDC_CLIENT_ID: "3n4b5urk1ft4fl3mg5e62d9ado",
  PKI_OIDC_CLIENT_SECRET: "s3cret",
};

function configError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (e) => isPkiError(e, "CONFIG_INVALID") && pattern.test(e.message));
}

test("no provider configured and none deployed: API keys only", () => {
  assert.equal(oidcFromEnvironment({}, shipped), undefined);
});

test("the deployment's Cognito pool: client_id for the audience, cognito:groups for groups", () => {
  assert.deepEqual(oidcFromEnvironment(cognito, shipped), {
    issuer: cognito.PKI_OIDC_ISSUER,
    clientId: cognito.PKI_OIDC_CLIENT_ID,
    clientSecretValue: "s3cret",
    scopes: ["openid", "email", "profile"],
    audienceClaim: "client_id",
    claims: { email: "email", emailVerified: "email_verified", groups: "cognito:groups" },
  });
  const { PKI_OIDC_CLIENT_SECRET: _, ...noSecret } = cognito;
  configError(() => oidcFromEnvironment(noSecret, shipped), /PKI_OIDC_CLIENT_SECRET/);
  configError(
    () => oidcFromEnvironment({ ...cognito, PKI_OIDC_PROVIDER: "okta" }, shipped),
    /PKI_OIDC_PROVIDER must be "cognito", not "okta"/,
  );
});

test("identity.oidc: its own settings, the secret from the variable it names", () => {
  const config = parseConfig({
    ...JSON.parse(JSON.stringify(shipped)),
    identity: {
      oidc: {
        issuer: "https://login.example.com/oauth2/default",
        clientId: "0oa1b2c3",
        clientSecret: { env: "OKTA_SECRET" },
        audience: "api://default",
      },
    },
  });
  const settings = oidcFromEnvironment({ ...cognito, OKTA_SECRET: "from-sst" }, config);
  assert.equal(settings?.issuer, "https://login.example.com/oauth2/default");
  assert.equal(settings?.audience, "api://default");
  assert.equal(settings?.clientSecretValue, "from-sst");
  configError(() => oidcFromEnvironment({}, config), /OKTA_SECRET, which is not set/);
});
