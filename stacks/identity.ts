/**
 * Who signs in (docs/identity.md). People sign in with OpenID Connect; the API verifies their
 * tokens over HTTPS (discovery, JWKS, token and userinfo endpoints), so no function needs a
 * Cognito permission, whichever provider it is.
 *
 * - Without `identity.oidc` the deployment brings its own provider: a Cognito user pool (admins
 *   create the users; email is the sign-in name; optional TOTP), one group per configured role
 *   group, a prefix domain with managed login, and one confidential app client for the API
 *   (authorization code flow only). The API gets the issuer, client id and secret in its
 *   environment (PKI_OIDC_*).
 * - With `identity.oidc` (Entra ID, Okta, Google, an existing pool...) nothing is created: the
 *   API reads issuer and client id from the bundled configuration. A `clientSecret: { env }`
 *   comes from the SST secret OidcClientSecret, set into that variable.
 *
 * External providers federated into the built-in pool: see `federatedProviders` below.
 */
import { createHash } from "node:crypto";
import { EVERYONE } from "../packages/core/src/identity/config.ts";
import { CALLBACK_PATH } from "../packages/web/src/auth-paths.ts";
import type { AwsContext } from "./aws-context.ts";
import type { Deployment } from "./settings.ts";

/** The SST secret holding an external provider's client secret (`sst secret set ...`). */
export const OIDC_CLIENT_SECRET = "OidcClientSecret";

/** What the built-in setup tells the API (packages/functions reads them). */
export const OIDC_ENVIRONMENT = {
  provider: "PKI_OIDC_PROVIDER",
  issuer: "PKI_OIDC_ISSUER",
  clientId: "PKI_OIDC_CLIENT_ID",
  clientSecret: "PKI_OIDC_CLIENT_SECRET",
} as const;

/** Where sign-out lands under the public URL (sign-in returns to the pages' CALLBACK_PATH). */
export const SIGNED_OUT_PATH = "/";

/** Sessions stay short: a removed group membership takes effect within the hour. */
const TOKEN_VALIDITY = { idHours: 1, accessHours: 1, refreshDays: 1 } as const;

export interface BuiltInProvider {
  readonly userPool: aws.cognito.UserPool;
  readonly client: aws.cognito.UserPoolClient;
  readonly domain: aws.cognito.UserPoolDomain;
  readonly groups: readonly aws.cognito.UserGroup[];
  /** The managed login's base URL, https://<prefix>.auth.<region>.amazoncognito.com. */
  readonly signInUrl: $util.Output<string>;
}

export interface Identity {
  /** Variables for the API function's environment. */
  readonly environment: Record<string, $util.Input<string>>;
  /** The deployment's own provider; absent when `identity.oidc` names one. */
  readonly builtIn?: BuiltInProvider;
  /** The secret an external provider's client secret comes from, if it has one. */
  readonly clientSecret?: sst.Secret;
}

export function identity(
  d: Deployment,
  context: AwsContext,
  publicBaseUrl: $util.Output<string>,
): Identity {
  const oidc = d.config.identity.oidc;
  if (oidc) {
    if (!oidc.clientSecret) return { environment: {} };
    // Deploying without the secret set stops here, naming the `sst secret set` command.
    const clientSecret = new sst.Secret(OIDC_CLIENT_SECRET);
    return { environment: { [oidc.clientSecret.env]: clientSecret.value }, clientSecret };
  }
  const builtIn = cognitoProvider(d, context, publicBaseUrl);
  const dnsSuffix = aws.getPartitionOutput().dnsSuffix;
  return {
    builtIn,
    environment: {
      [OIDC_ENVIRONMENT.provider]: "cognito",
      [OIDC_ENVIRONMENT.issuer]: $interpolate`https://cognito-idp.${context.region}.${dnsSuffix}/${builtIn.userPool.id}`,
      [OIDC_ENVIRONMENT.clientId]: builtIn.client.id,
      // A secret output already: the provider marks clientSecret secret (additionalSecretOutputs),
      // so the function's environment is a secret in the state and in deploy diffs. (Wrapping it
      // again would change nothing there, but hide the environment from the synthesis tests.)
      [OIDC_ENVIRONMENT.clientSecret]: builtIn.client.clientSecret,
    },
  };
}

function cognitoProvider(
  d: Deployment,
  context: AwsContext,
  publicBaseUrl: $util.Output<string>,
): BuiltInProvider {
  const base = publicBaseUrl.apply((url) => url.replace(/\/+$/, ""));
  const userPool = new aws.cognito.UserPool(
    "IdentityUserPool",
    {
      name: `${d.app}-${d.stage}-users`,
      // Managed login needs Essentials (Lite has the classic hosted UI only); threat protection
      // would need Plus and is billed per user, so it stays off.
      userPoolTier: "ESSENTIALS",
      userPoolAddOns: { advancedSecurityMode: "OFF" },
      // The email is the sign-in name and the principal's address (docs/identity.md).
      usernameAttributes: ["email"],
      usernameConfiguration: { caseSensitive: false },
      autoVerifiedAttributes: ["email"],
      // A changed address counts only once its owner has confirmed it.
      userAttributeUpdateSettings: { attributesRequireVerificationBeforeUpdates: ["email"] },
      // Nobody signs themselves up: an administrator creates each user (AdminCreateUser). The
      // invitation keeps Cognito's text (its API reference allows none other with its sender).
      adminCreateUserConfig: { allowAdminCreateUserOnly: true },
      accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
      passwordPolicy: {
        minimumLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireNumbers: true,
        requireSymbols: true,
        temporaryPasswordValidityDays: 3,
      },
      mfaConfiguration: "OPTIONAL",
      softwareTokenMfaConfiguration: { enabled: true },
      // Cognito's own sender (a small daily quota): enough for invitations and password resets.
      emailConfiguration: { emailSendingAccount: "COGNITO_DEFAULT" },
      deletionProtection: d.production ? "ACTIVE" : "INACTIVE",
    },
    // Production's users and their MFA enrolments outlive a removal, and a change that would
    // replace the pool (a new, empty one) stops the deploy instead.
    { retainOnDelete: d.production, protect: d.production },
  );

  const groups = cognitoGroupNames(d).map(
    (name) =>
      new aws.cognito.UserGroup(
        `IdentityGroup-${name}`,
        {
          userPoolId: userPool.id,
          name,
          description: `Gives ${rolesOf(d, name).join(", ")} (identity.roleGroups)`,
        },
        // Memberships are the role assignments: kept with the pool.
        { retainOnDelete: d.production },
      ),
  );

  const prefix = context.accountId.apply((account) => cognitoDomainPrefix(d.app, d.stage, account));
  const domain = new aws.cognito.UserPoolDomain("IdentityDomain", {
    userPoolId: userPool.id,
    domain: prefix,
    // 2: managed login (its pages need a style per client, below); 1 would be the classic UI.
    managedLoginVersion: 2,
  });

  const federated = federatedProviders(d, userPool);
  const client = new aws.cognito.UserPoolClient(
    "IdentityClient",
    {
      name: `${d.app}-${d.stage}-api`,
      userPoolId: userPool.id,
      // A confidential client: the API exchanges the code (with PKCE) using the secret.
      generateSecret: true,
      allowedOauthFlowsUserPoolClient: true,
      allowedOauthFlows: ["code"],
      allowedOauthScopes: ["openid", "email", "profile"],
      supportedIdentityProviders: ["COGNITO", ...federated.map((p) => p.providerName)],
      callbackUrls: [$interpolate`${base}${CALLBACK_PATH}`],
      logoutUrls: [$interpolate`${base}${SIGNED_OUT_PATH}`],
      // Cognito's default flows less ALLOW_CUSTOM_AUTH: this pool has no custom-auth triggers.
      explicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
      idTokenValidity: TOKEN_VALIDITY.idHours,
      accessTokenValidity: TOKEN_VALIDITY.accessHours,
      refreshTokenValidity: TOKEN_VALIDITY.refreshDays,
      tokenValidityUnits: { idToken: "hours", accessToken: "hours", refreshToken: "days" },
      preventUserExistenceErrors: "ENABLED",
      enableTokenRevocation: true,
    },
    { dependsOn: federated },
  );
  // Managed login shows a client's pages once it has a style: Cognito's default one.
  new aws.cognito.ManagedLoginBranding(
    "IdentitySignInStyle",
    { userPoolId: userPool.id, clientId: client.id, useCognitoProvidedValues: true },
    { dependsOn: [domain] },
  );

  return {
    userPool,
    client,
    domain,
    groups,
    signInUrl: $interpolate`https://${domain.domain}.auth.${context.region}.amazoncognito.com`,
  };
}

/**
 * External identity providers federated into the pool: none. To offer one on the sign-in page
 * (docs/identity.md has the steps), create it here and return it, e.g.
 *
 *   const secret = new sst.Secret("EntraClientSecret");
 *   return [new aws.cognito.IdentityProvider("IdentityEntra", {
 *     userPoolId: pool.id, providerName: "Entra", providerType: "OIDC",
 *     providerDetails: { client_id: "...", client_secret: secret.value,
 *       oidc_issuer: "https://login.microsoftonline.com/<tenant>/v2.0",
 *       authorize_scopes: "openid email profile", attributes_request_method: "GET" },
 *     attributeMapping: { email: "email", email_verified: "email_verified" },
 *   })];
 *
 * The app client then lists it (its providerName) beside COGNITO. Map `email`, and map
 * `email_verified` from a claim that really says so: the API refuses unverified addresses.
 */
function federatedProviders(
  _d: Deployment,
  _pool: aws.cognito.UserPool,
): aws.cognito.IdentityProvider[] {
  return [];
}

/** The Cognito groups: every group a role names, once, without "*" (anyone signed in). */
export function cognitoGroupNames(d: Deployment): string[] {
  const names = Object.values(d.config.identity.roleGroups)
    .flat()
    .filter((group) => group !== EVERYONE);
  const unique = [...new Set(names)];
  for (const name of unique) {
    // Cognito's GroupName: 1-128 letters, marks, symbols, numbers or punctuation; no spaces.
    if (!/^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u.test(name)) {
      throw new Error(
        `identity.roleGroups: "${name}" cannot be a Cognito group name (at most 128 characters, no spaces).`,
      );
    }
  }
  return unique;
}

function rolesOf(d: Deployment, group: string): string[] {
  return Object.entries(d.config.identity.roleGroups)
    .filter(([, groups]) => groups.includes(group))
    .map(([role]) => role);
}

/** Words Cognito refuses in a prefix domain. */
const RESERVED_IN_PREFIX = /aws|amazon|cognito/g;
const PREFIX_MAX = 63;

/**
 * The prefix of the pool's sign-in domain, <prefix>.auth.<region>.amazoncognito.com: app and
 * stage, then 8 hex digits of the account id's hash, since prefixes are unique across all of
 * AWS in a region (another account's "private-ca-production" would refuse ours) and the
 * account id itself is better not published. Lowercase letters, digits and inner hyphens, at
 * most 63 characters, without the words Cognito reserves.
 */
export function cognitoDomainPrefix(app: string, stage: string, accountId: string): string {
  const suffix = createHash("sha256").update(accountId).digest("hex").slice(0, 8);
  let name = `${app}-${stage}`.toLowerCase();
  // Removing a word can join two halves into another: repeat until none is left.
  for (let previous = ""; previous !== name; ) {
    previous = name;
    name = name.replace(RESERVED_IN_PREFIX, "");
  }
  name = name
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, PREFIX_MAX - suffix.length - 1)
    .replace(/-+$/, "");
  return `${name || "pki"}-${suffix}`;
}
