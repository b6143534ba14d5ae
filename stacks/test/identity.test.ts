/**
 * Sign-in as the synthesis shows it (stacks/identity.ts, docs/identity.md):
 * - without `identity.oidc`: one Cognito user pool (admins create users, email sign-in, optional
 *   TOTP, a strong password policy, threat protection off), a group per role group but "*", a
 *   prefix domain with managed login, one confidential code-flow client returning to the
 *   public URL; the API's PKI_OIDC_* variables name that pool and client; production's pool is
 *   deletion-protected, kept on removal and never replaced;
 * - with `identity.oidc`: no pool, no client; a client secret comes from the SST secret
 *   OidcClientSecret into the variable the configuration names, and stays a secret;
 * - no function is granted anything on Cognito.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { list, SynthesizedDeployment } from "./deployment/synthesized.ts";
import { policies } from "./iam-checks.ts";
import { ACCOUNT, REGION } from "./mock-account.ts";
import { type Synthesis, type SynthResource, synthesize } from "./synth.ts";

const root = join(import.meta.dirname, "..", "..");
const shipped = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8")) as Record<
  string,
  unknown
>;
const POOL = "aws:cognito/userPool:UserPool";
const GROUP = "aws:cognito/userGroup:UserGroup";
const DOMAIN = "aws:cognito/userPoolDomain:UserPoolDomain";
const CLIENT = "aws:cognito/userPoolClient:UserPoolClient";
const DEFAULT_GROUPS = ["pki-admins", "pki-approvers", "pki-auditors", "pki-requesters"];
const EXTERNAL = {
  issuer: "https://login.example.com",
  clientId: "pki-web",
  clientSecret: { env: "PKI_OIDC_CLIENT_SECRET" },
};
const SECRET_VALUE = "s3cr3t-from-sst-secret-set";
/** How Pulumi serialises a secret value among the inputs the mocks record. */
const SECRET_SIGNATURE = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"];

const isSecret = (value: unknown): value is { value: unknown } =>
  typeof value === "object" &&
  value !== null &&
  (value as Record<string, unknown>)[SECRET_SIGNATURE[0]!] === SECRET_SIGNATURE[1];

/** The API function's environment, and whether Pulumi holds it as a secret. */
function apiEnvironment(s: Synthesis): { variables: Record<string, string>; secret: boolean } {
  const fn = s.resources.find(
    (r) => r.type === "aws:lambda/function:Function" && r.name === "ApiFunction",
  );
  assert.ok(fn, "no API function");
  const environment = fn.inputs.environment;
  const plain = (isSecret(environment) ? environment.value : environment) as {
    variables: Record<string, string>;
  };
  return { variables: plain.variables, secret: isSecret(environment) };
}

/** The pool's inputs this test reads. */
interface PoolInputs {
  name: string;
  adminCreateUserConfig: { allowAdminCreateUserOnly: boolean };
  usernameAttributes: string[];
  autoVerifiedAttributes: string[];
  usernameConfiguration: unknown;
  userAttributeUpdateSettings: unknown;
  mfaConfiguration: string;
  softwareTokenMfaConfiguration: unknown;
  passwordPolicy: Record<string, number | boolean>;
  userPoolAddOns: unknown;
  userPoolTier: string;
  deletionProtection: string;
}

/** The client's inputs this test reads. */
interface ClientInputs {
  userPoolId: string;
  generateSecret: boolean;
  allowedOauthFlows: string[];
  allowedOauthFlowsUserPoolClient: boolean;
  allowedOauthScopes: string[];
  supportedIdentityProviders: string[];
  callbackUrls: string[];
  logoutUrls: string[];
  idTokenValidity: number;
  accessTokenValidity: number;
  refreshTokenValidity: number;
  tokenValidityUnits: unknown;
  preventUserExistenceErrors: string;
  enableTokenRevocation: boolean;
}

const only = (d: SynthesizedDeployment, type: string): SynthResource => {
  const found = d.byType(type);
  assert.equal(found.length, 1, `${type}: ${found.length}`);
  return found[0]!;
};

describe("sign-in, synthesized offline", () => {
  let work: string;
  let dev: SynthesizedDeployment;
  let production: SynthesizedDeployment;
  let external: SynthesizedDeployment;
  let everyone: SynthesizedDeployment;

  const write = (name: string, identity: Record<string, unknown> | undefined) => {
    const path = join(work, `${name}.config.json`);
    // Without `identity` whatever pki.config.json says: the defaults under test.
    writeFileSync(path, JSON.stringify({ ...shipped, identity }));
    return path;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "spca-identity-"));
    const builtIn = write("built-in", undefined);
    const syntheses = await Promise.all([
      synthesize({ stage: "dev", configPath: builtIn }),
      synthesize({ stage: "production", configPath: builtIn }),
      synthesize({
        stage: "dev",
        configPath: write("external", { oidc: EXTERNAL }),
        env: { SST_SECRET_OidcClientSecret: SECRET_VALUE },
      }),
      // A stage naming words Cognito refuses in a domain prefix.
      synthesize({
        stage: "cognito-aws",
        configPath: write("everyone", {
          roleGroups: {
            requester: ["*"],
            approver: ["pki-approvers", "security-team"],
            admin: ["pki-admins"],
            auditor: ["pki-auditors", "pki-admins"],
          },
        }),
      }),
    ]);
    [dev, production, external, everyone] = syntheses.map((s) => new SynthesizedDeployment(s)) as [
      SynthesizedDeployment,
      SynthesizedDeployment,
      SynthesizedDeployment,
      SynthesizedDeployment,
    ];
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("without identity.oidc: one pool, where only admins create users who sign in by email", () => {
    const pool = only(dev, POOL);
    const inputs = pool.inputs as unknown as PoolInputs;
    assert.equal(inputs.adminCreateUserConfig.allowAdminCreateUserOnly, true);
    assert.deepEqual(inputs.usernameAttributes, ["email"]);
    assert.deepEqual(inputs.autoVerifiedAttributes, ["email"]);
    assert.deepEqual(inputs.usernameConfiguration, { caseSensitive: false });
    assert.deepEqual(inputs.userAttributeUpdateSettings, {
      attributesRequireVerificationBeforeUpdates: ["email"],
    });
    assert.equal(inputs.mfaConfiguration, "OPTIONAL");
    assert.deepEqual(inputs.softwareTokenMfaConfiguration, { enabled: true });
    const password = inputs.passwordPolicy;
    assert.ok(Number(password.minimumLength) >= 12, `minimum length ${password.minimumLength}`);
    for (const rule of [
      "requireLowercase",
      "requireUppercase",
      "requireNumbers",
      "requireSymbols",
    ]) {
      assert.equal(password[rule], true, rule);
    }
    assert.deepEqual(inputs.userPoolAddOns, { advancedSecurityMode: "OFF" });
    // Managed login needs Essentials; Lite has only the classic hosted UI.
    assert.equal(inputs.userPoolTier, "ESSENTIALS");
    // A development stage can be removed whole.
    assert.equal(inputs.deletionProtection, "INACTIVE");
    assert.equal(pool.options.retainOnDelete, false);
    assert.match(String(inputs.name), /private-ca-dev/);
  });

  test("one group per role group, in the pool", () => {
    const pool = only(dev, POOL);
    const groups = dev.byType(GROUP);
    assert.deepEqual(groups.map((g) => g.inputs.name).sort(), DEFAULT_GROUPS);
    for (const g of groups) assert.equal(g.inputs.userPoolId, pool.id, String(g.inputs.name));
  });

  test("a prefix domain with managed login, valid for Cognito and unique to the account", () => {
    const pool = only(dev, POOL);
    const domain = only(dev, DOMAIN);
    const prefix = String(domain.inputs.domain);
    const hash = createHash("sha256").update(ACCOUNT).digest("hex").slice(0, 8);
    assert.equal(prefix, `private-ca-dev-${hash}`);
    assert.equal(domain.inputs.userPoolId, pool.id);
    assert.equal(domain.inputs.managedLoginVersion, 2);
    // Managed login serves a client's pages once the client has a style.
    const style = only(dev, "aws:cognito/managedLoginBranding:ManagedLoginBranding");
    assert.equal(style.inputs.clientId, only(dev, CLIENT).id);
    assert.equal(style.inputs.useCognitoProvidedValues, true);
    // Cognito's rules, and its reserved words, even when the stage is made of them.
    const other = String(only(everyone, DOMAIN).inputs.domain);
    assert.equal(other, `private-ca-${hash}`);
    for (const p of [prefix, other]) {
      assert.match(p, /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
      assert.doesNotMatch(p, /aws|amazon|cognito/);
    }
  });

  test("one confidential client: code flow only, returning to the public URL", () => {
    const pool = only(dev, POOL);
    const client = only(dev, CLIENT);
    const inputs = client.inputs as unknown as ClientInputs;
    const url = String(dev.synthesis.outputs.url);
    assert.equal(inputs.userPoolId, pool.id);
    assert.equal(inputs.generateSecret, true);
    assert.deepEqual(inputs.allowedOauthFlows, ["code"]);
    assert.equal(inputs.allowedOauthFlowsUserPoolClient, true);
    assert.deepEqual([...inputs.allowedOauthScopes].sort(), ["email", "openid", "profile"]);
    assert.deepEqual(inputs.supportedIdentityProviders, ["COGNITO"]);
    assert.deepEqual(inputs.callbackUrls, [`${url}/auth/callback`]);
    assert.match(String(inputs.callbackUrls[0]), /^https:\/\/[^/]+\/auth\/callback$/);
    assert.deepEqual(inputs.logoutUrls, [`${url}/`]);
    assert.equal(inputs.idTokenValidity, 1);
    assert.equal(inputs.accessTokenValidity, 1);
    assert.equal(inputs.refreshTokenValidity, 1);
    assert.deepEqual(inputs.tokenValidityUnits, {
      idToken: "hours",
      accessToken: "hours",
      refreshToken: "days",
    });
    assert.equal(inputs.preventUserExistenceErrors, "ENABLED");
    assert.equal(inputs.enableTokenRevocation, true);
  });

  test("the API gets the pool's issuer and the client's id and secret; the stack outputs the sign-in", () => {
    const pool = only(dev, POOL);
    const client = only(dev, CLIENT);
    const { variables } = apiEnvironment(dev.synthesis);
    assert.equal(variables.PKI_OIDC_PROVIDER, "cognito");
    assert.equal(
      variables.PKI_OIDC_ISSUER,
      `https://cognito-idp.${REGION}.amazonaws.com/${pool.id}`,
    );
    assert.equal(variables.PKI_OIDC_CLIENT_ID, client.id);
    // What Cognito generates (the mocks invent one), as the provider returns it.
    assert.ok(client.outputs.clientSecret, "the mocks answer no client secret");
    assert.equal(variables.PKI_OIDC_CLIENT_SECRET, client.outputs.clientSecret);
    // The mocks do not apply the provider's additionalSecretOutputs; AWS's deploy does, which
    // keeps the secret (and with it the whole environment) a secret in the state.
    const provider = readFileSync(
      join(root, ".sst/platform/node_modules/@pulumi/aws/cognito/userPoolClient.js"),
      "utf8",
    );
    assert.match(provider, /additionalSecretOutputs: \["clientSecret"\]/);
    // The API alone signs people in.
    for (const fn of dev.functions().filter((f) => f.name !== "Api")) {
      assert.deepEqual(
        Object.keys(fn.environment).filter((k) => k.startsWith("PKI_OIDC_")),
        [],
        fn.name,
      );
    }
    const domain = String(only(dev, DOMAIN).inputs.domain);
    assert.equal(
      dev.synthesis.outputs.signIn,
      `https://${domain}.auth.${REGION}.amazoncognito.com`,
    );
    assert.equal(dev.synthesis.outputs.userPool, pool.id);
  });

  test("production's pool is deletion-protected, kept on removal, and never replaced", () => {
    const pool = only(production, POOL);
    assert.equal(pool.inputs.deletionProtection, "ACTIVE");
    assert.equal(pool.options.retainOnDelete, true);
    assert.equal(pool.options.protect, true);
    // The memberships are the role assignments: kept with the pool.
    for (const g of production.byType(GROUP)) assert.equal(g.options.retainOnDelete, true);
    assert.match(String(only(production, DOMAIN).inputs.domain), /^private-ca-production-/);
  });

  test("with identity.oidc: no pool, no client; the client secret comes from the SST secret", () => {
    assert.equal(external.byType(POOL).length, 0);
    assert.equal(external.byType(CLIENT).length, 0);
    assert.equal(external.byType(DOMAIN).length, 0);
    assert.equal(external.byType(GROUP).length, 0);
    assert.ok(
      external.synthesis.resources.some(
        (r) => r.type === "sst:sst:Secret" && r.name === "OidcClientSecret",
      ),
      "no SST secret OidcClientSecret",
    );
    const { variables, secret } = apiEnvironment(external.synthesis);
    // The variable the configuration names, set from the secret, and held as a secret.
    assert.equal(variables.PKI_OIDC_CLIENT_SECRET, SECRET_VALUE);
    assert.equal(secret, true);
    // Issuer and client id come from the bundled configuration, not the environment.
    for (const name of ["PKI_OIDC_PROVIDER", "PKI_OIDC_ISSUER", "PKI_OIDC_CLIENT_ID"]) {
      assert.equal(variables[name], undefined, name);
    }
    assert.equal(external.synthesis.outputs.signIn, undefined);
    assert.equal(external.synthesis.outputs.userPool, undefined);
  });

  test("with identity.oidc and no secret set, the deploy stops naming the command", async () => {
    await assert.rejects(
      synthesize({ stage: "dev", configPath: write("unset", { oidc: EXTERNAL }) }),
      /sst secret set OidcClientSecret/,
    );
  });

  test("a client secret variable the API already uses is refused", async () => {
    const clash = { ...EXTERNAL, clientSecret: { env: "PKI_TABLE" } };
    await assert.rejects(
      synthesize({
        stage: "dev",
        configPath: write("clash", { oidc: clash }),
        env: { SST_SECRET_OidcClientSecret: SECRET_VALUE },
      }),
      /the API function already uses PKI_TABLE/,
    );
  });

  test('"*" in a role gives it to everyone signed in: it is no group', () => {
    const names = everyone.byType(GROUP).map((g) => String(g.inputs.name));
    assert.deepEqual(names.sort(), [
      "pki-admins",
      "pki-approvers",
      "pki-auditors",
      "security-team",
    ]);
    assert.ok(!names.includes("*"));
  });

  test("no role is granted anything on Cognito: tokens are checked over HTTPS", () => {
    for (const d of [dev, production, external]) {
      const actions = policies(d.synthesis).flatMap((p) =>
        p.statements.flatMap((s) => list(s.Action)),
      );
      assert.deepEqual(
        actions.filter((a) => /^cognito/i.test(a)),
        [],
      );
    }
  });
});
