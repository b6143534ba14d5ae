/**
 * The deployment's declarative configuration: CA naming, the public base URL that CRL
 * distribution points and AIA point at, CRL timing, and the certificate profiles. One JSON
 * file, validated with valibot; unknown keys are errors so a typo cannot silently weaken policy.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { PkiError } from "../errors.ts";
import { algorithmsForKeySpec, keySpecs, signingAlgorithms } from "../signer/algorithms.ts";
import { issueMessages } from "../validation.ts";
import { checkDnsName } from "../x509/general-names.ts";
import { parseNameText } from "../x509/name.ts";
import { hasHostBits, parseCidr } from "./cidr.ts";

const isDomain = (s: string) => {
  try {
    checkDnsName(s);
    return !s.startsWith("*");
  } catch {
    return false;
  }
};
const isSubject = (s: string) => {
  try {
    parseNameText(s);
    return true;
  } catch {
    return false;
  }
};

const Domain = v.pipe(
  v.string(),
  v.check(isDomain, (i) => `"${i.input}" is not a domain name`),
);
const Email = v.pipe(v.string(), v.email());
const Days = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(36500));
const Hours = (name: string, min: number, max: number) =>
  v.pipe(
    v.number(`${name} must be a number of hours`),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );

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
    // Mail addresses compare case-insensitively: one person listed twice is still one approver.
    v.check(
      (a) => new Set(a.approvers.map((e) => e.toLowerCase())).size === a.approvers.length,
      "approvers must be distinct people (addresses compare case-insensitively)",
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
            ranges: v.pipe(
              v.array(
                v.pipe(
                  v.string(),
                  v.check(
                    (s) => parseCidr(s) !== undefined,
                    (i) => `"${i.input}" is not CIDR`,
                  ),
                  // 10.1.2.3/8 is most likely a typo; say which network it would mean.
                  v.check(
                    (s) => {
                      const cidr = parseCidr(s);
                      return cidr === undefined || !hasHostBits(cidr);
                    },
                    (i) => `"${i.input}" has host bits set; write its network address`,
                  ),
                ),
              ),
              v.minLength(1),
            ),
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
    subjectAttributes: v.optional(v.array(v.picklist(["CN", "O", "OU", "C", "ST", "L"])), [
      "CN",
      "O",
      "OU",
      "C",
      "ST",
      "L",
    ]),
    maxSans: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
    validity: v.pipe(
      v.strictObject({ defaultDays: Days, maxDays: Days }),
      v.check((x) => x.defaultDays <= x.maxDays, "validity.defaultDays exceeds validity.maxDays"),
    ),
    approval: Approval,
  }),
);

const reservedNames = ["__proto__", "constructor", "prototype"];

/**
 * CloudWatch Logs retention periods, as SST's Function `logging.retention` names them, in days
 * (0: never expire) for the log groups the stacks create themselves.
 */
export const logRetentionDays = {
  "1 day": 1,
  "3 days": 3,
  "5 days": 5,
  "1 week": 7,
  "2 weeks": 14,
  "1 month": 30,
  "2 months": 60,
  "3 months": 90,
  "4 months": 120,
  "5 months": 150,
  "6 months": 180,
  "1 year": 365,
  "13 months": 400,
  "18 months": 545,
  "2 years": 731,
  "3 years": 1096,
  "5 years": 1827,
  "6 years": 2192,
  "7 years": 2557,
  "8 years": 2922,
  "9 years": 3288,
  "10 years": 3653,
  forever: 0,
} as const;

export type LogRetention = keyof typeof logRetentionDays;
export const logRetentions = Object.keys(logRetentionDays) as LogRetention[];

/**
 * What only a deployment to AWS reads (stacks/ at deploy time, and the Lambdas at run time);
 * local mode ignores it, so one file serves both.
 */
const AwsSchema = v.pipe(
  v.strictObject({
    /** The region to deploy to; default: the AWS profile's or AWS_REGION. */
    region: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "aws.region must be a region name like eu-west-1"),
      ),
    ),
    ca: v.optional(
      v.strictObject({
        /** The KMS key spec of the CA key, created on the first deploy. */
        keySpec: v.optional(
          v.picklist(keySpecs, `aws.ca.keySpec must be one of ${keySpecs.join(", ")}`),
          "ECC_NIST_P256",
        ),
        /** The KMS signing algorithm; default the key spec's first (PKCS#1 v1.5 for RSA). */
        signingAlgorithm: v.optional(
          v.picklist(
            signingAlgorithms,
            `aws.ca.signingAlgorithm must be one of ${signingAlgorithms.join(", ")}`,
          ),
        ),
        /**
         * `self-signed`: the deploy creates a self-signed CA certificate for the key, once.
         * `external`: the deploy leaves the key without a certificate until an operator
         * imports one signed by an offline root (`pki ca csr --aws`, `pki ca import --aws`).
         */
        bootstrap: v.optional(v.picklist(["self-signed", "external"]), "self-signed"),
      }),
      {},
    ),
    /**
     * A custom domain for the API, the pages and the publication objects (Route 53 hosted
     * zone in the same account); the public base URL is then https://<name>.
     */
    domain: v.optional(
      v.strictObject({
        name: Domain,
        /** The Route 53 hosted zone id, when the zone cannot be found from the name. */
        hostedZoneId: v.optional(v.pipe(v.string(), v.regex(/^Z[A-Z0-9]{4,31}$/))),
      }),
    ),
    logRetention: v.optional(
      v.picklist(logRetentions, `aws.logRetention must be one of ${logRetentions.join(", ")}`),
      "3 months",
    ),
    /** Who the CloudWatch alarms mail (an SNS subscription they confirm once). */
    alarmEmail: v.optional(v.pipe(v.string(), v.email("aws.alarmEmail must be an email address"))),
  }),
  v.check(
    (aws) =>
      aws.ca.signingAlgorithm === undefined ||
      algorithmsForKeySpec(aws.ca.keySpec).includes(aws.ca.signingAlgorithm),
    (issue) =>
      `aws.ca.signingAlgorithm ${issue.input.ca.signingAlgorithm} cannot sign with a ${issue.input.ca.keySpec} key`,
  ),
);

export type AwsConfig = v.InferOutput<typeof AwsSchema>;

const ProfileName = v.pipe(
  v.string(),
  v.regex(/^[a-z][a-z0-9-]{0,62}$/, "profile names are lowercase letters, digits and hyphens"),
);

export const ConfigSchema = v.strictObject({
  $schema: v.optional(v.string()),
  publicBaseUrl: v.pipe(
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
  ca: v.strictObject({
    subject: v.pipe(v.string(), v.check(isSubject, "ca.subject must look like CN=Name, O=Org")),
    rootSubject: v.optional(
      v.pipe(v.string(), v.check(isSubject, "ca.rootSubject must look like CN=Name, O=Org")),
    ),
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
        expiredGraceDays: v.optional(
          v.pipe(
            v.number(),
            v.integer("crl.expiredGraceDays must be a whole number"),
            v.minValue(0, "crl.expiredGraceDays must not be negative"),
            v.maxValue(3650, "crl.expiredGraceDays must be at most 3650"),
          ),
          7,
        ),
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
  aws: v.optional(AwsSchema, {}),
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
});

export type Profile = v.InferOutput<typeof ProfileSchema>;
export type Config = v.InferOutput<typeof ConfigSchema>;

export function parseConfig(json: unknown, source = "configuration"): Config {
  const result = v.safeParse(ConfigSchema, json);
  if (result.success) return result.output;
  const problems = issueMessages(result.issues);
  throw new PkiError("CONFIG_INVALID", `${source}: ${problems.join("; ")}`, { problems });
}

export function loadConfig(path: string): Config {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new PkiError("CONFIG_INVALID", `${path}: ${(e as Error).message}`);
  }
  return parseConfig(json, path);
}
