/**
 * The `identity` section: who signs in and what they may do. People sign in through an OpenID
 * provider (`oidc`; absent: the deployment's own, Cognito on AWS and a local stand-in under
 * `npm start`); their groups give their roles. Machines use API keys, each with an owner.
 */
import * as v from "valibot";

export const roles = ["requester", "approver", "admin", "auditor"] as const;
export type Role = (typeof roles)[number];

/** Any signed-in person: in a role's group list, it gives the role to everyone who signs in. */
export const EVERYONE = "*";

const Claim = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const GroupList = v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(256)));

/** Where the client secret is read: an environment variable (SST sets it from a secret). */
const SecretReference = v.strictObject({
  env: v.pipe(
    v.string(),
    v.regex(/^[A-Z_][A-Z0-9_]{0,127}$/, "clientSecret.env must name an environment variable"),
  ),
});

export const OidcSchema = v.strictObject({
  /** The issuer URL exactly as the provider's discovery document states it. */
  issuer: v.pipe(
    v.string(),
    v.url("identity.oidc.issuer must be a URL"),
    v.check(
      (s) => s.startsWith("https://") || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(s),
      "identity.oidc.issuer must be https (plain http only on this machine)",
    ),
  ),
  clientId: v.pipe(v.string(), v.minLength(1), v.maxLength(256)),
  /** Absent: a public client (PKCE alone), as some providers allow. */
  clientSecret: v.optional(SecretReference),
  scopes: v.optional(v.array(v.pipe(v.string(), v.regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/))), [
    "openid",
    "email",
    "profile",
  ]),
  /**
   * What bearer access tokens on the API must carry in `aud`: the API's identifier at the
   * provider. Default: the client id. Cognito's access tokens have no `aud`; their
   * `client_id` claim is checked instead (`audienceClaim`).
   */
  audience: v.optional(v.pipe(v.string(), v.minLength(1))),
  audienceClaim: v.optional(v.picklist(["aud", "client_id"]), "aud"),
  claims: v.optional(
    v.strictObject({
      email: v.optional(Claim, "email"),
      /**
       * The claim that says the email is verified; null where the provider only issues
       * verified addresses in `email` and sends no such claim (see docs/identity.md).
       */
      emailVerified: v.optional(v.nullable(Claim), "email_verified"),
      groups: v.optional(Claim, "groups"),
    }),
    {},
  ),
});

const LocalUser = v.strictObject({
  email: v.pipe(v.string(), v.email("identity.localUsers: email must be an email address")),
  name: v.optional(v.pipe(v.string(), v.maxLength(200))),
  groups: v.optional(GroupList, []),
  /** Absent: the local login page signs this user in by the address alone. */
  password: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
});

/** The groups that give each role, unless the configuration says otherwise. */
export const DEFAULT_ROLE_GROUPS: Readonly<Record<Role, readonly string[]>> = {
  requester: ["pki-requesters"],
  approver: ["pki-approvers"],
  admin: ["pki-admins"],
  auditor: ["pki-auditors"],
};

/** One user per role, for the local provider when the configuration names none. */
export const DEFAULT_LOCAL_USERS = [
  { email: "requester@example.com", name: "Rita Requester", groups: ["pki-requesters"] },
  { email: "security@example.com", name: "Sam Security", groups: ["pki-approvers"] },
  { email: "admin@example.com", name: "Ada Admin", groups: ["pki-admins"] },
  { email: "auditor@example.com", name: "Otto Auditor", groups: ["pki-auditors"] },
] as const;

export const IdentitySchema = v.optional(
  v.strictObject({
    oidc: v.optional(OidcSchema),
    roleGroups: v.optional(
      v.strictObject({
        requester: v.optional(GroupList, [...DEFAULT_ROLE_GROUPS.requester]),
        approver: v.optional(GroupList, [...DEFAULT_ROLE_GROUPS.approver]),
        admin: v.optional(GroupList, [...DEFAULT_ROLE_GROUPS.admin]),
        auditor: v.optional(GroupList, [...DEFAULT_ROLE_GROUPS.auditor]),
      }),
      {},
    ),
    /** The users of the local stand-in provider (`npm start` without `oidc`). */
    localUsers: v.optional(
      v.pipe(
        v.array(LocalUser),
        v.check(
          (users) => new Set(users.map((u) => u.email.toLowerCase())).size === users.length,
          "identity.localUsers: each email once",
        ),
      ),
      DEFAULT_LOCAL_USERS.map((u) => ({ ...u, groups: [...u.groups] })),
    ),
  }),
  {},
);

export type IdentityConfig = v.InferOutput<typeof IdentitySchema>;
export type OidcConfig = v.InferOutput<typeof OidcSchema>;
export type LocalUser = v.InferOutput<typeof LocalUser>;

/** Provider settings with the configuration's defaults filled in (scopes, audience, claims). */
export function oidcSettings(input: v.InferInput<typeof OidcSchema>): OidcConfig {
  return v.parse(OidcSchema, input);
}
