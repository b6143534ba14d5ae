/**
 * The deployment's declarative configuration: CA naming, the public base URL that CRL
 * distribution points and AIA point at, CRL timing, and the certificate profiles. One JSON
 * file, validated with valibot; unknown keys are errors so a typo cannot silently weaken policy.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { EnforcementSchema } from "../enforcement/config.ts";
import { PkiError } from "../errors.ts";
import { NotificationsSchema } from "../expiry/config.ts";
import { IdentitySchema } from "../identity/config.ts";
import { mailboxOf } from "../identity/principal.ts";
import { RenewalSchema } from "../renewal/policy.ts";
import { issueMessages } from "../validation.ts";
import { AwsSchema } from "./aws-config.ts";
import { CidrText, Days, Domain, Email, GraceDays, Hours, SubjectText } from "./fields.ts";
import { rulesOutside, SUBJECT_ATTRIBUTES, SubjectValuesSchema } from "./subject-values.ts";

/** The API's rate limit per API key and per client address unless the configuration sets one. */
export const DEFAULT_API_RATE_LIMIT = { burst: 60, perSecond: 10 } as const;

/** 364 days: the approval wait plus signing must fit in a one-year Step Functions execution. */
export const MAX_APPROVAL_TIMEOUT_HOURS = 364 * 24;

const Approval = v.variant("mode", [
  v.strictObject({ mode: v.literal("automatic") }),
  v.pipe(
    v.strictObject({
      mode: v.literal("manual"),
      approvers: v.pipe(v.array(Email), v.minLength(1)),
      quorum: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1),
      // Fractions are allowed (0.25 is 15 minutes); whole seconds are what the workflow waits.
      // A Step Functions execution lives at most a year, and signing still has to follow the
      // wait, so the wait stops a day short of it.
      timeoutHours: v.optional(
        v.pipe(
          v.number(),
          v.minValue(1 / 3600, "timeoutHours must be at least one second (1/3600)"),
          v.maxValue(
            MAX_APPROVAL_TIMEOUT_HOURS,
            `timeoutHours must be at most ${MAX_APPROVAL_TIMEOUT_HOURS} (364 days): a Step Functions execution lasts at most a year`,
          ),
        ),
        168,
      ),
    }),
    // One person listed twice (in another case, or with a +tag) is still one approver.
    v.check(
      (a) => new Set(a.approvers.map(mailboxOf)).size === a.approvers.length,
      "approvers must be distinct people (addresses compare case-insensitively and without +tags)",
    ),
    v.check((a) => a.quorum <= a.approvers.length, "quorum cannot exceed the number of approvers"),
  ),
]);

export const ProfileSchema = v.pipe(
  v.strictObject({
    description: v.string(),
    extendedKeyUsage: v.pipe(v.array(v.picklist(["serverAuth", "clientAuth"])), v.minLength(1)),
    keys: v.pipe(
      v.strictObject({
        rsa: v.optional(
          v.pipe(
            v.strictObject({
              minBits: v.pipe(v.number(), v.integer(), v.minValue(2048)),
              maxBits: v.pipe(v.number(), v.integer(), v.maxValue(8192)),
            }),
            v.check((r) => r.minBits <= r.maxBits, "rsa.minBits exceeds rsa.maxBits"),
          ),
        ),
        ec: v.optional(v.pipe(v.array(v.picklist(["P-256", "P-384", "P-521"])), v.minLength(1))),
      }),
      v.check((k) => k.rsa !== undefined || k.ec !== undefined, "allow at least one key type"),
    ),
    subjectAltNames: v.pipe(
      v.strictObject({
        dns: v.optional(
          v.strictObject({
            domains: v.pipe(v.array(Domain), v.minLength(1)),
            wildcards: v.optional(v.boolean(), false),
          }),
        ),
        ip: v.optional(
          v.strictObject({
            ranges: v.pipe(v.array(CidrText), v.minLength(1)),
          }),
        ),
        email: v.optional(v.strictObject({ domains: v.pipe(v.array(Domain), v.minLength(1)) })),
        uri: v.optional(
          v.strictObject({
            prefixes: v.pipe(
              v.array(
                v.pipe(
                  v.string(),
                  v.url(),
                  // Prefixes match with startsWith; ending on "/" keeps spiffe://a.example
                  // from admitting spiffe://a.example.evil.net.
                  v.endsWith("/", (i) => `URI prefix "${i.input}" must end with "/"`),
                ),
              ),
              v.minLength(1),
            ),
          }),
        ),
      }),
      v.check((s) => Object.values(s).some((x) => x !== undefined), "allow at least one SAN kind"),
    ),
    subjectAttributes: v.optional(v.array(v.picklist(SUBJECT_ATTRIBUTES)), [...SUBJECT_ATTRIBUTES]),
    /** Per attribute type, the values it may carry (subject-values.ts). */
    subjectValues: v.optional(SubjectValuesSchema),
    maxSans: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
    validity: v.pipe(
      v.strictObject({ defaultDays: Days, maxDays: Days }),
      v.check((x) => x.defaultDays <= x.maxDays, "validity.defaultDays exceeds validity.maxDays"),
    ),
    approval: Approval,
    /** Who else hears about this profile's certificates expiring, besides the requester. */
    owners: v.optional(v.array(Email), []),
    /** How certificates of this profile are renewed (renewal/policy.ts). */
    renewal: v.optional(RenewalSchema),
  }),
  // A rule for a type the profile never issues is a misunderstanding, not a harmless no-op.
  v.forward(
    v.partialCheck(
      [["subjectAttributes"], ["subjectValues"]],
      (p) => rulesOutside(p.subjectValues, p.subjectAttributes).length === 0,
      (i) =>
        `a rule for ${rulesOutside(i.input.subjectValues, i.input.subjectAttributes).join(", ")}, which subjectAttributes (${i.input.subjectAttributes.join(", ")}) does not allow: add it there or drop the rule`,
    ),
    ["subjectValues"],
  ),
);

const reservedNames = ["__proto__", "constructor", "prototype"];

const ProfileName = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9-]{0,62}$/, "profile names are lowercase letters, digits and hyphens"),
);

/**
 * Where links point when the configuration names no publicBaseUrl and nothing better is known:
 * `npm start`'s default address. The local service replaces it with the address it listens
 * on, and the deployment with its own origin (PKI_PUBLIC_BASE_URL).
 */
export const DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8787";

export const ConfigSchema = v.pipe(
  v.strictObject({
    $schema: v.optional(v.string()),
    // Optional: local mode follows the address it listens on, the deployment its own origin.
    publicBaseUrl: v.optional(
      v.pipe(
        v.string(),
        v.url(),
        v.regex(
          /^https?:\/\/[^/?#]+(\/[^?#]*[^/?#])?$/,
          "publicBaseUrl must be http(s), without a trailing slash, query or fragment",
        ),
        // It is written into every certificate as an IA5String.
        v.regex(
          /^[\x21-\x7e]+$/,
          "publicBaseUrl must be printable ASCII: Punycode for the host, %-escapes in the path",
        ),
      ),
      DEFAULT_PUBLIC_BASE_URL,
    ),
    ca: v.strictObject({
      subject: SubjectText("ca.subject"),
      rootSubject: v.optional(SubjectText("ca.rootSubject")),
      validityDays: v.optional(Days, 3650),
      rootValidityDays: v.optional(Days, 7300),
    }),
    api: v.optional(
      v.strictObject({
        /**
         * Token buckets per API key and per client address: `burst` calls at once, refilled at
         * `perSecond`. A client polling a request spends from the same bucket as its submissions.
         */
        rateLimit: v.optional(
          v.strictObject({
            burst: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)),
            perSecond: v.pipe(v.number(), v.minValue(0.01), v.maxValue(1_000_000)),
          }),
          DEFAULT_API_RATE_LIMIT,
        ),
      }),
      { rateLimit: DEFAULT_API_RATE_LIMIT },
    ),
    mail: v.optional(
      v.strictObject({
        /** The sender of every email; on AWS an SES-verified address or domain. */
        from: v.pipe(v.string(), v.email("mail.from must be an email address")),
      }),
      { from: "pki@example.com" },
    ),
    crl: v.optional(
      v.pipe(
        v.strictObject({
          // Baseline Requirements 4.9.7: nextUpdate at most 10 days after thisUpdate. Fractions
          // are allowed (a short-lived CRL for tests), down to 3.6 seconds.
          validityHours: v.optional(Hours("crl.validityHours", 0.001, 240), 168),
          /** How often the schedule republishes; default half the validity, at most a day. */
          refreshHours: v.optional(Hours("crl.refreshHours", 0.0001, 240)),
          /** How long a revoked certificate stays on the CRL after it expires. */
          expiredGraceDays: v.optional(GraceDays("crl.expiredGraceDays", 3650), 7),
        }),
        v.check(
          (crl) => crl.refreshHours === undefined || crl.refreshHours < crl.validityHours,
          "crl.refreshHours must be shorter than crl.validityHours, or the CRL would lapse between publications",
        ),
        v.transform((crl) => ({
          ...crl,
          refreshHours: crl.refreshHours ?? Math.min(24, crl.validityHours / 2),
        })),
      ),
      {},
    ),
    notifications: NotificationsSchema,
    aws: v.optional(AwsSchema, {}),
    enforcement: EnforcementSchema,
    identity: IdentitySchema,
    profiles: v.pipe(
      // valibot's record skips these keys without a word, which would drop a profile silently.
      v.custom<unknown>(
        (input) =>
          typeof input !== "object" ||
          input === null ||
          !reservedNames.some((name) => Object.hasOwn(input, name)),
        `${reservedNames.join(", ")} cannot name a profile`,
      ),
      v.record(ProfileName, ProfileSchema),
      v.check((p) => Object.keys(p).length > 0, "define at least one profile"),
    ),
  }),
  v.check(
    (config) => config.aws.network.mode !== "private" || config.identity.oidc !== undefined,
    "aws.network.mode private needs identity.oidc: the built-in Cognito sign-in is on the internet (no VPC endpoint reaches its managed login), so name an OpenID provider the functions reach from the subnets",
  ),
  v.check(
    (config) => sendsAs(config.aws.mail.identity ?? config.mail.from, config.mail.from),
    (issue) =>
      `aws.mail.identity ${issue.input.aws.mail.identity} does not verify mail.from ${issue.input.mail.from}: use the address or its domain`,
  ),
);

/**
 * Whether the configuration's JSON names a publicBaseUrl itself. Without one the parsed
 * configuration holds DEFAULT_PUBLIC_BASE_URL, which the local service replaces with the
 * address it listens on and a deployed function must not rely on.
 */
export function namesPublicBaseUrl(json: unknown): boolean {
  return typeof json === "object" && json !== null && "publicBaseUrl" in json;
}

/** Whether the SES identity `identity` (an address or a domain) verifies the sender `from`. */
export function sendsAs(identity: string, from: string): boolean {
  if (identity.includes("@")) return identity.toLowerCase() === from.toLowerCase();
  const domain = from.slice(from.lastIndexOf("@") + 1).toLowerCase();
  const verified = identity.toLowerCase();
  return domain === verified || domain.endsWith(`.${verified}`);
}

export type Profile = v.InferOutput<typeof ProfileSchema>;
export type Config = v.InferOutput<typeof ConfigSchema>;

export function parseConfig(json: unknown, source = "configuration"): Config {
  const result = v.safeParse(ConfigSchema, json);
  if (result.success) return result.output;
  const problems = issueMessages(result.issues, { schema: ConfigSchema });
  throw new PkiError("CONFIG_INVALID", `${source}: ${problems.join("; ")}`, { problems });
}

export function loadConfig(path: string): Config {
  return loadConfigFile(path).config;
}

/** The configuration in `path`, and whether it names its publicBaseUrl itself. */
export function loadConfigFile(path: string): { config: Config; namesPublicBaseUrl: boolean } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new PkiError("CONFIG_INVALID", `${path}: ${(e as Error).message}`);
  }
  return { config: parseConfig(json, path), namesPublicBaseUrl: namesPublicBaseUrl(json) };
}
