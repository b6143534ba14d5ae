/**
 * People's sign-in on AWS, from the function's environment. With `identity.oidc` in the
 * configuration, that provider (its secret in the variable `clientSecret.env` names, set by
 * the stacks from an SST secret); without it, the deployment's own Cognito user pool, which
 * the stacks describe in PKI_OIDC_* (stacks/identity.ts).
 */
import { PkiError } from "@spca/core/errors";
import { oidcSettings } from "@spca/core/identity/config";
import type { OpenIdConnectSettings } from "@spca/core/identity/openid-connect";
import type { Config } from "@spca/core/policy/config";

type Environment = Readonly<Record<string, string | undefined>>;

export function oidcFromEnvironment(
  env: Environment,
  config: Config,
): OpenIdConnectSettings | undefined {
  const configured = configuredOidc(env, config);
  if (configured) return configured;
  const issuer = env.PKI_OIDC_ISSUER;
  if (!issuer) return undefined;
  const provider = env.PKI_OIDC_PROVIDER;
  if (provider !== "cognito") {
    throw new PkiError("CONFIG_INVALID", `PKI_OIDC_PROVIDER must be "cognito", not "${provider}".`);
  }
  const clientId = env.PKI_OIDC_CLIENT_ID;
  const secret = env.PKI_OIDC_CLIENT_SECRET;
  if (!clientId || !secret) {
    throw new PkiError(
      "CONFIG_INVALID",
      "PKI_OIDC_ISSUER is set without PKI_OIDC_CLIENT_ID and PKI_OIDC_CLIENT_SECRET.",
    );
  }
  // Cognito: access tokens name their client in client_id (no aud), groups in cognito:groups.
  return {
    ...oidcSettings({
      issuer,
      clientId,
      audienceClaim: "client_id",
      claims: { groups: "cognito:groups" },
    }),
    clientSecretValue: secret,
  };
}

/**
 * The provider `identity.oidc` names, with its client secret from the variable it points at
 * (on AWS set from an SST secret, locally from the shell); undefined without `identity.oidc`.
 */
export function configuredOidc(
  env: Environment,
  config: Config,
): OpenIdConnectSettings | undefined {
  const configured = config.identity.oidc;
  if (!configured) return undefined;
  const name = configured.clientSecret?.env;
  if (!name) return configured;
  const secret = env[name];
  if (!secret) {
    throw new PkiError(
      "CONFIG_INVALID",
      `identity.oidc.clientSecret names the environment variable ${name}, which is not set.`,
    );
  }
  return { ...configured, clientSecretValue: secret };
}
