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
  | "dynamodb:Query";

/** Key patterns in the private bucket (IAM resource suffixes after `<bucket arn>/`). */
export type ObjectPattern =
  | "ca/issuing-chain.pem"
  | "pending/*"
  | "certificates/*"
  | "crl/*"
  | "ca/*"
  | (typeof CA_PUBLICATION_PATTERNS)[number]
  | "truststore.pem";

/**
 * The published CA certificates, `ca/<16 hex digits>.cer|.pem`: `?` matches one character, so
 * these never match `ca/issuing-chain.pem`, which only the bootstrap may write.
 */
export const CA_PUBLICATION_PATTERNS = [
  "ca/????????????????.cer",
  "ca/????????????????.pem",
] as const;

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
}

const GET: TableAction = "dynamodb:GetItem";
const PUT: TableAction = "dynamodb:PutItem";
const UPDATE: TableAction = "dynamodb:UpdateItem";
/** Releasing a send-once claim after a failed send deletes it (RequestRepository.releaseMessage). */
const DELETE: TableAction = "dynamodb:DeleteItem";

/** The Lambda functions, by their SST component name. */
export const functionGrants = {
  /** The REST API and the approval pages. */
  Api: {
    table: [GET, PUT, UPDATE, "dynamodb:Query"],
    tableIndex: true,
    readObjects: ["certificates/*", "ca/*", "crl/*", "truststore.pem"],
    putEvents: true,
    startExecution: true,
    answerTasks: true,
  },
  /** Reads the request and judges it against its profile; writes nothing. */
  ValidateRequest: { table: [GET] },
  StoreRequest: { table: [GET, UPDATE], putEvents: true },
  /** Opens the approval and mails the approvers once (send-once claims). */
  RequestApproval: { table: [GET, PUT, UPDATE, DELETE], sendMail: true },
  SignCertificate: {
    table: [GET, PUT, UPDATE, DELETE],
    readObjects: ["ca/issuing-chain.pem", "pending/*"],
    writeObjects: ["pending/*"],
    caKey: ["kms:Sign", "kms:GetPublicKey"],
  },
  StoreCertificate: {
    table: [GET, PUT, UPDATE],
    readObjects: ["pending/*"],
    writeObjects: ["certificates/*"],
  },
  RecordOutcome: { table: [GET, UPDATE] },
  /** Announces the outcome; the requester's mail goes out from the RequesterMail subscriber. */
  NotifyRequester: { table: [GET], putEvents: true },
  /** Bus subscriber: tells the requester, attaching the certificate and chain. */
  RequesterMail: {
    table: [GET, PUT, UPDATE, DELETE],
    readObjects: ["certificates/*", "ca/issuing-chain.pem"],
    sendMail: true,
    sendToFailureQueue: true,
  },
  /** Bus subscriber: appends every event to its request's audit trail. */
  AuditTrail: { table: [GET, UPDATE], sendToFailureQueue: true },
  CrlPublisher: {
    table: [GET, PUT, UPDATE, "dynamodb:Query"],
    readObjects: ["ca/issuing-chain.pem"],
    writeObjects: ["crl/*", ...CA_PUBLICATION_PATTERNS, "truststore.pem"],
    caKey: ["kms:Sign", "kms:GetPublicKey"],
    consumeCrlQueue: true,
  },
  /** Runs on every deploy: creates the CA certificate once, then publishes the first CRL. */
  CaBootstrap: {
    table: [GET, PUT, UPDATE, "dynamodb:Query"],
    readObjects: ["ca/issuing-chain.pem"],
    writeObjects: ["ca/issuing-chain.pem", "crl/*", ...CA_PUBLICATION_PATTERNS, "truststore.pem"],
    caKey: ["kms:Sign", "kms:GetPublicKey"],
  },
} as const satisfies Record<string, FunctionGrants>;

export type FunctionName = keyof typeof functionGrants;

export const functionNames = Object.keys(functionGrants) as FunctionName[];
