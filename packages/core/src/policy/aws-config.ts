/**
 * The configuration's `aws` section: what only a deployment to AWS reads (stacks/ at deploy
 * time, and the Lambdas at run time); local mode ignores it, so one file serves both.
 */
import * as v from "valibot";
import { algorithmsForKeySpec, keySpecs, signingAlgorithms } from "../signer/algorithms.ts";
import { parseCidr } from "./cidr.ts";
import { CidrText, Domain, Email } from "./fields.ts";

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

/** An IAM role or user, as a key policy names it (a role session's ARN would match one session). */
const IamPrincipalArn = v.pipe(
  v.string(),
  v.regex(
    /^arn:aws[a-z-]*:iam::\d{12}:(?:role|user)\/[\w+=,.@/-]{1,512}$/,
    "aws.ca.keyAdmins must list IAM role or user ARNs (arn:aws:iam::<account>:role/<name>)",
  ),
);

/** A range for the firewall's allow-list: AWS WAF takes every prefix length but /0. */
const AllowedRange = v.pipe(
  CidrText,
  v.check(
    (s) => parseCidr(s)?.prefix !== 0,
    (i) => `"${i.input}" admits every address; leave aws.network.allowCidrs out instead`,
  ),
);

/** AWS resource ids as EC2 writes them. */
const ec2Id = (prefix: string, key: string) =>
  v.pipe(
    v.string(),
    v.regex(
      new RegExp(`^${prefix}-[0-9a-f]{8}(?:[0-9a-f]{9})?$`),
      `${key} must be ids like ${prefix}-0123456789abcdef0`,
    ),
  );

/** The services private mode reaches through VPC endpoints (stacks/vpc-endpoints.ts). */
export const endpointServices = [
  "s3",
  "dynamodb",
  "kms",
  "states",
  "events",
  "email",
  "elasticloadbalancing",
  "apigateway",
  "rolesanywhere",
] as const;

/** An ACM certificate in the deployment's Region. */
const CertificateArn = v.pipe(
  v.string(),
  v.regex(
    /^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[0-9a-f-]{36}$/,
    "aws.network.domain.certificateArn must be an ACM certificate ARN in the deployment's Region",
  ),
);

/**
 * `public`: one CloudFront distribution for the API, the pages and the publication objects,
 * behind an AWS WAF web ACL unless `firewall` is false.
 */
const PublicNetwork = v.pipe(
  v.strictObject({
    mode: v.optional(v.literal("public"), "public"),
    /** AWS managed rules, a rate limit per client address, and the optional allow-list. */
    firewall: v.optional(v.boolean("aws.network.firewall must be true or false"), true),
    /**
     * Only these client addresses reach the pages and the API; the publication paths (CRLs,
     * CA certificates, trust store) stay open to every relying party.
     */
    allowCidrs: v.optional(
      v.pipe(
        v.array(AllowedRange),
        v.minLength(
          1,
          "aws.network.allowCidrs must list at least one range; leave it out to admit every address",
        ),
      ),
    ),
  }),
  v.check(
    (network) => network.firewall || network.allowCidrs === undefined,
    "aws.network.allowCidrs needs aws.network.firewall: the allow-list is a rule of the firewall",
  ),
);

/**
 * `private`: a private API Gateway reached only through VPC endpoints, functions in the VPC,
 * AWS services through VPC endpoints, nothing reachable from the internet.
 */
const PrivateNetwork = v.strictObject({
  mode: v.literal("private"),
  /** The VPC the functions and the endpoints go into. */
  vpcId: ec2Id("vpc", "aws.network.vpcId"),
  /** Private subnets for the functions and the interface endpoints (one per zone used). */
  subnetIds: v.pipe(
    v.array(ec2Id("subnet", "aws.network.subnetIds")),
    v.minLength(1, "aws.network.subnetIds must list at least one subnet"),
  ),
  /** The functions' security groups; default one the stack makes (HTTPS out to the VPC). */
  securityGroupIds: v.optional(
    v.pipe(
      v.array(ec2Id("sg", "aws.network.securityGroupIds")),
      v.minLength(1, "aws.network.securityGroupIds must list at least one group, or be left out"),
    ),
  ),
  /**
   * The execute-api VPC endpoints clients reach the API through: the API's and its domain's
   * resource policies admit these alone (aws:SourceVpce).
   */
  vpcEndpointIds: v.pipe(
    v.array(ec2Id("vpce", "aws.network.vpcEndpointIds")),
    v.minLength(1, "aws.network.vpcEndpointIds must list at least one execute-api endpoint"),
  ),
  /**
   * The private DNS name the API and pages answer on (an API Gateway private custom domain),
   * and its ACM certificate; certificates name it in their CRL and CA URLs.
   */
  domain: v.strictObject({ name: Domain, certificateArn: CertificateArn }),
  /**
   * Endpoints that exist already, by service; the stack makes the others. (Their policies are
   * then the owner's to scope.)
   */
  serviceEndpoints: v.optional(
    v.record(
      v.picklist(
        endpointServices,
        `aws.network.serviceEndpoints takes ${endpointServices.join(", ")}`,
      ),
      ec2Id("vpce", "aws.network.serviceEndpoints"),
    ),
  ),
});

const NetworkSchema = v.variant(
  "mode",
  [PublicNetwork, PrivateNetwork],
  'aws.network.mode must be "public" or "private"',
);

/** A Route 53 hosted zone id. */
const HostedZoneId = v.pipe(v.string(), v.regex(/^Z[A-Z0-9]{4,31}$/));

export const AwsSchema = v.pipe(
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
        /**
         * Who administers the CA key (its key policy, enabling, deletion) without being able to
         * sign with it: only the CA's own functions may sign. Default: the role that deploys.
         * The role that deploys must be one of them, or it could not update the key policy.
         */
        keyAdmins: v.optional(
          v.pipe(
            v.array(IamPrincipalArn),
            v.minLength(1, "aws.ca.keyAdmins must list at least one administrator"),
          ),
        ),
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
        hostedZoneId: v.optional(HostedZoneId),
      }),
    ),
    logRetention: v.optional(
      v.picklist(logRetentions, `aws.logRetention must be one of ${logRetentions.join(", ")}`),
      "3 months",
    ),
    network: v.optional(NetworkSchema, { mode: "public", firewall: true }),
    /** Who the CloudWatch alarms mail (an SNS subscription they confirm once). */
    alarmEmail: v.optional(v.pipe(v.string(), v.email("aws.alarmEmail must be an email address"))),
    /** The SES identity mails are sent through; see docs/deploy.md. */
    mail: v.optional(
      v.strictObject({
        /**
         * `mail.from` itself (an address identity, the default), or its domain (a domain
         * identity: SES signs with DKIM, which DMARC-strict receivers ask for).
         */
        identity: v.optional(v.union([Domain, Email])),
        /**
         * True when the identity exists already (made by another stage in this account and
         * Region, or verified by hand): this stage sends through it and creates none, since
         * SES refuses a second identity of the same name.
         */
        shared: v.optional(v.boolean("aws.mail.shared must be true or false"), false),
        /**
         * For a domain identity this stage creates: the Route 53 hosted zone its DKIM records
         * go into (default: the zone found from the domain's name).
         */
        hostedZoneId: v.optional(HostedZoneId),
      }),
      { shared: false },
    ),
  }),
  v.check(
    (aws) => aws.network.mode !== "private" || aws.domain === undefined,
    "aws.domain names the public distribution's domain; in private mode the API's is aws.network.domain",
  ),
  v.check(
    (aws) =>
      aws.ca.signingAlgorithm === undefined ||
      algorithmsForKeySpec(aws.ca.keySpec).includes(aws.ca.signingAlgorithm),
    (issue) =>
      `aws.ca.signingAlgorithm ${issue.input.ca.signingAlgorithm} cannot sign with a ${issue.input.ca.keySpec} key`,
  ),
);

export type AwsConfig = v.InferOutput<typeof AwsSchema>;
