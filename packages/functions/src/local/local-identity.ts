/**
 * People's sign-in under npm start. With `identity.oidc` configured, the real provider (an
 * Okta or Entra tenant works from a laptop too); without it, the OpenID provider stand-in runs
 * in this process with the users of `identity.localUsers`, and the service is its one client.
 */
import { randomBytes } from "node:crypto";
import { oidcSettings } from "@spca/core/identity/config";
import { OpenIdConnectProvider } from "@spca/core/identity/openid-connect";
import type { Config } from "@spca/core/policy/config";
import { CALLBACK_PATH } from "@spca/web/auth-paths";
import { configuredOidc } from "../lambda/oidc-settings.ts";
import { startOidcStandIn } from "./oidc-stand-in.ts";

/** The stand-in's one client: this service. */
export const LOCAL_CLIENT_ID = "pki-local";

export interface LocalIdentity {
  readonly provider: OpenIdConnectProvider;
  /** The stand-in's issuer and client, for runtime.json; undefined with a real provider. */
  readonly standIn:
    | { readonly issuer: string; readonly clientId: string; readonly clientSecret: string }
    | undefined;
  close(): Promise<void>;
}

export async function startLocalIdentity(
  config: Config,
  options: { readonly dataDir: string; readonly port: number; readonly env?: NodeJS.ProcessEnv },
): Promise<LocalIdentity> {
  const configured = configuredOidc(options.env ?? process.env, config);
  if (configured) {
    return {
      provider: new OpenIdConnectProvider(configured),
      standIn: undefined,
      close: async () => {},
    };
  }
  // A fresh secret each start: the stand-in and its one client live and die together.
  const clientSecret = randomBytes(24).toString("base64url");
  const standIn = await startOidcStandIn({
    dataDir: options.dataDir,
    port: options.port,
    users: config.identity.localUsers.map((u) => ({ ...u, groups: [...u.groups] })),
    clients: [
      {
        clientId: LOCAL_CLIENT_ID,
        clientSecret,
        redirectUris: [`${config.publicBaseUrl}${CALLBACK_PATH}`],
        postLogoutRedirectUris: [`${config.publicBaseUrl}/`],
      },
    ],
    accessTokenAudience: LOCAL_CLIENT_ID,
  });
  return {
    provider: new OpenIdConnectProvider({
      ...oidcSettings({ issuer: standIn.issuer, clientId: LOCAL_CLIENT_ID }),
      clientSecretValue: clientSecret,
    }),
    standIn: { issuer: standIn.issuer, clientId: LOCAL_CLIENT_ID, clientSecret },
    close: () => standIn.close(),
  };
}
