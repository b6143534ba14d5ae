/**
 * What each Lambda function may do, as plain data: the one place least privilege is decided.
 * `stacks/permissions.ts` turns it into IAM statements on the deployed resources' ARNs, and
 * tests check both directions: every AWS call a function makes in the end-to-end run is
 * granted here, and the synthesized policies hold nothing else (docs/iam.md is the table).
 *
 * No SST globals here, so tests import it directly.
 */

/** DynamoDB item actions on the one table (Query also on its index). */
export type TableAction =
  | "dynamodb:GetItem"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:Query"
  | "dynamodb:BatchGetItem";

/** Key patterns in the private bucket (IAM resource suffixes after `<bucket arn>/`). */
export type ObjectPattern =
  | "ca/issuing-chain.pem"
  | "certificates/*"
  | "crl/*"
  | "ca/*"
  | (typeof CA_PUBLICATION_PATTERNS)[number]
  | typeof CRL_PEM_PATTERN
  | "truststore.pem";

/**
 * The published CA certificates, `ca/<16 hex digits>.cer|.pem`: `?` matches one character, so
 * these never match `ca/issuing-chain.pem`, which only the bootstrap may write.
 */
export const CA_PUBLICATION_PATTERNS = [
  "ca/????????????????.cer",
  "ca/????????????????.pem",
] as const;

/** The published CRL as PEM, `crl/<16 hex digits>.crl.pem`: what trust stores and IAM Roles
 * Anywhere take (the stacks cannot know the CA id). */
export const CRL_PEM_PATTERN = "crl/????????????????.crl.pem";

export interface FunctionGrants {
  readonly table?: readonly TableAction[];
  /** Query on the gsi1 index (request listings, API keys). */
  readonly tableIndex?: boolean;
  readonly readObjects?: readonly ObjectPattern[];
  readonly writeObjects?: readonly ObjectPattern[];
  /** ses:SendEmail as the configured sender. */
  readonly sendMail?: boolean;
  /** events:PutEvents on the deployment's bus. */
  readonly putEvents?: boolean;
  readonly caKey?: readonly ("kms:Sign" | "kms:GetPublicKey")[];
  readonly startExecution?: boolean;
  /** states:SendTaskSuccess / SendTaskFailure: answering the approval wait. */
  readonly answerTasks?: boolean;
  /** sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes on the CRL queue. */
  readonly consumeCrlQueue?: boolean;
  /** sqs:SendMessage to the subscribers' failure queue (the async invoke destination). */
  readonly sendToFailureQueue?: boolean;
  /** In private mode, s3:GetObject on truststore.pem too: the API serves every published object. */
  readonly servesPublication?: boolean;
  /**
   * The configured gates (`enforcement`): their exact ARNs, and reading the bundle and CRL
   * versions the gates load with the caller's permissions (permissions.ts).
   */
  readonly enforce?: boolean;
}

const GET: TableAction = "dynamodb:GetItem";
const PUT: TableAction = "dynamodb:PutItem";
const UPDATE: TableAction = "dynamodb:UpdateItem";
/**
 * Releasing a send-once claim after a failed send or signing deletes it
 * (RequestRepository.releaseMessage); so does signing out (deleteSession).
 */
const DELETE: TableAction = "dynamodb:DeleteItem";

/** The Lambda functions, by their SST component name. */
export const functionGrants = {
  /** The REST API and the pages (signing out deletes the browser's session: Delete). */
  Api: {
    // Query and BatchGetItem on the table: a requester's inventory reads their own view
    // partitions, then the records they name (docs/dynamodb.md).
    table: [GET, PUT, UPDATE, DELETE, "dynamodb:Query", "dynamodb:BatchGetItem"],
    tableIndex: true,
    // The chain (/v1/ca) and the CRL (/v1/crl); the Router serves the published objects
    // (/crl/…, /ca/…, /truststore.pem) from the bucket itself.
    readObjects: ["certificates/*", "ca/*", "crl/*"],
    // In private mode there is no Router: the API serves them, truststore.pem included.
    servesPublication: true,
    putEvents: true,
    startExecution: true,
    answerTasks: true,
    // An admin's resend of a request's approval mails (POST /v1/requests/{id}/approval-mails).
    sendMail: true,
  },
  /** Reads the request and judges it against its profile; writes nothing. */
  ValidateRequest: { table: [GET] },
  StoreRequest: { table: [GET, UPDATE], putEvents: true },
  /** Opens the approval and mails the approvers once (send-once claims). */
  RequestApproval: { table: [GET, UPDATE, DELETE], sendMail: true },
  /**
   * Signs once per request (a claim: Update, which also records the signed certificate; a
   * failed signing releases it: Delete).
   */
  SignCertificate: {
    table: [GET, UPDATE, DELETE],
    readObjects: ["ca/issuing-chain.pem"],
    caKey: ["kms:Sign", "kms:GetPublicKey"],
  },
  StoreCertificate: {
    table: [GET, PUT, UPDATE],
    writeObjects: ["certificates/*"],
  },
  RecordOutcome: { table: [GET, UPDATE] },
  /** Announces the outcome; the requester's mail goes out from the RequesterMail subscriber. */
  NotifyRequester: { table: [GET], putEvents: true },
  /**
   * Bus subscriber: tells the requester, attaching the certificate and chain. Each mail's own
   * status-page link adds its hash to the request (Update); send-once claims as above.
   */
  RequesterMail: {
    table: [GET, UPDATE, DELETE],
    readObjects: ["certificates/*", "ca/issuing-chain.pem"],
    sendMail: true,
    sendToFailureQueue: true,
  },
  /** Bus subscriber: appends every event to its request's audit trail. */
  AuditTrail: { table: [GET, UPDATE], sendToFailureQueue: true },
  /**
   * Query on the index: the revocations marked unpublished (a CRL is owed). Announces each CRL
   * (`crl.published`) for the enforcement sync.
   */
  CrlPublisher: {
    table: [GET, UPDATE, "dynamodb:Query"],
    tableIndex: true,
    readObjects: ["ca/issuing-chain.pem"],
    writeObjects: ["crl/*", ...CA_PUBLICATION_PATTERNS, "truststore.pem"],
    caKey: ["kms:Sign", "kms:GetPublicKey"],
    consumeCrlQueue: true,
    putEvents: true,
  },
  /**
   * The schedule's sweep for stranded requests (stored, but the API died before starting their
   * execution): lists `submitted` requests on the index, re-reads each (Get), starts its
   * execution and records it (Update), announces `request.submitted`.
   */
  RequestSweeper: {
    table: [GET, UPDATE],
    tableIndex: true,
    startExecution: true,
    putEvents: true,
  },
  /**
   * The daily expiry reminders: certificates near or past expiry from the inventory (Query on
   * the index); each mail and event claimed once (Update; Get when the claim is taken; Delete
   * gives it back after a failed send); the requester's status link (Update); SES; PutEvents.
   */
  ExpiryReminders: {
    table: [GET, UPDATE, DELETE],
    tableIndex: true,
    sendMail: true,
    putEvents: true,
  },
  /**
   * The CA function. Runs on every deploy: creates the CA certificate once, then publishes the
   * first CRL. The operator's `--aws` commands invoke it too: the CA's CSR, import and chain,
   * and API keys.
   */
  CaBootstrap: {
    // Put: the operator's first API keys (pki keys create --aws).
    table: [GET, PUT, UPDATE, "dynamodb:Query"],
    tableIndex: true,
    readObjects: ["ca/issuing-chain.pem"],
    writeObjects: ["ca/issuing-chain.pem", "crl/*", ...CA_PUBLICATION_PATTERNS, "truststore.pem"],
    caKey: ["kms:Sign", "kms:GetPublicKey"],
    // crl.published after the first CRL and after an import.
    putEvents: true,
  },
  /**
   * Keeps the configured gates in step (deployed only when `enforcement` names one): its state
   * per gate (Get, Put) and the CRL state (Get); the chain (for the CA id), the bundle and the
   * CRL PEM; `enforcement.updated` / `enforcement.failed`; the gates themselves.
   */
  EnforcementSync: {
    table: [GET, PUT],
    readObjects: ["ca/issuing-chain.pem", "truststore.pem", CRL_PEM_PATTERN],
    putEvents: true,
    enforce: true,
  },
  /** Reads CloudTrail calls from its rule and announces drift (`enforcement.drift`). */
  EnforcementDrift: { putEvents: true },
} as const satisfies Record<string, FunctionGrants>;

export type FunctionName = keyof typeof functionGrants;

export const functionNames = Object.keys(functionGrants) as FunctionName[];

/** Functions deployed only when the configuration calls for them (stacks/enforcement.ts). */
export const OPTIONAL_FUNCTIONS: readonly FunctionName[] = ["EnforcementSync"];

/** The functions every deployment has. */
export const alwaysDeployed = functionNames.filter((name) => !OPTIONAL_FUNCTIONS.includes(name));

/**
 * What key administrators may do: everything that keeps the key managed (and what the deploy
 * reads back), but not Sign or GetPublicKey, and not CreateGrant, with which an administrator
 * could hand themselves the right to sign. PutKeyPolicy could too: that is why it is the
 * administrators' alone, and shows in CloudTrail.
 */
export const KEY_ADMIN_ACTIONS = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:ListKeyPolicies",
  "kms:GetKeyRotationStatus",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateKeyDescription",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:DeleteAlias",
  "kms:ListGrants",
  "kms:RevokeGrant",
] as const;
