/**
 * Every rejection the PKI core makes carries a stable, machine-readable code and a message
 * that names the problem. Codes never change meaning once shipped: API clients and the
 * hostile-CSR corpus key on them.
 */
export const errorCodes = {
  // Input framing
  CSR_EMPTY: "The CSR is empty.",
  CSR_TOO_LARGE: "The CSR is larger than the limit.",
  CSR_PEM_INVALID: "The PEM armour is not a single CERTIFICATE REQUEST block.",
  CSR_DER_MALFORMED: "The CSR is not valid DER.",
  CSR_TRAILING_DATA: "There are bytes after the CSR.",
  CSR_VERSION_UNSUPPORTED: "Only version 1 (0) CSRs are accepted.",
  CSR_ATTRIBUTE_UNSUPPORTED: "The CSR carries an attribute other than extensionRequest.",
  // Proof of possession
  CSR_SIGNATURE_ALGORITHM_FORBIDDEN: "The CSR's signature algorithm is not allowed.",
  CSR_SIGNATURE_INVALID: "The CSR's self-signature does not verify.",
  // Keys
  KEY_ALGORITHM_UNSUPPORTED: "The public key algorithm is not supported.",
  KEY_RSA_TOO_SMALL: "The RSA key is smaller than 2048 bits.",
  KEY_RSA_TOO_LARGE: "The RSA key is larger than 8192 bits.",
  KEY_RSA_MODULUS_INVALID: "The RSA modulus is malformed.",
  KEY_RSA_EXPONENT_INVALID: "The RSA public exponent is not allowed.",
  KEY_RSA_ROCA: "The RSA key has the ROCA (Infineon) fingerprint.",
  KEY_RSA_DEBIAN_WEAK: "The RSA key is a known Debian weak key.",
  KEY_RSA_FERMAT: "The RSA modulus factors by Fermat's method: its primes are too close.",
  KEY_RSA_SMALL_FACTOR: "The RSA modulus has a small prime factor.",
  KEY_EC_CURVE_UNSUPPORTED: "The elliptic curve is not P-256, P-384 or P-521.",
  KEY_EC_POINT_INVALID: "The elliptic-curve public key is not a valid point on its curve.",
  // Names
  CSR_SUBJECT_INVALID: "The CSR subject is malformed.",
  CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED: "The CSR subject has an attribute the CA does not issue.",
  CSR_NAME_CONTROL_CHARACTER: "A name contains a NUL or control character.",
  CSR_CN_TOO_LONG: "The common name is longer than 64 characters.",
  CSR_CN_NOT_IN_SANS: "The common name is not one of the subject alternative names.",
  CSR_SAN_MISSING: "The CSR has no subject alternative names.",
  CSR_SAN_INVALID_DNS: "A DNS name is not a valid host name.",
  CSR_SAN_INVALID_IP: "An IP address SAN is malformed.",
  CSR_SAN_INVALID_EMAIL: "An email SAN is malformed.",
  CSR_SAN_INVALID_URI: "A URI SAN is malformed.",
  CSR_SAN_UNSUPPORTED_TYPE: "A SAN is of a type the CA does not issue.",
  CSR_SAN_DUPLICATE: "A SAN appears more than once.",
  CSR_TOO_MANY_SANS: "The CSR has more SANs than any profile allows.",
  // Requested extensions
  CSR_EXTENSION_MALFORMED: "A requested extension is malformed.",
  CSR_EXTENSION_DUPLICATE: "A requested extension appears more than once.",
  CSR_CA_REQUESTED: "The CSR asks for a CA certificate (basicConstraints cA=TRUE).",
  CSR_UNKNOWN_CRITICAL_EXTENSION:
    "The CSR requests a critical extension the CA does not implement.",
  // Profile policy
  PROFILE_UNKNOWN: "There is no profile with that name.",
  POLICY_KEY_NOT_ALLOWED: "The profile does not allow this key type or size.",
  POLICY_SAN_TYPE_NOT_ALLOWED: "The profile does not allow this kind of SAN.",
  POLICY_DNS_NOT_ALLOWED: "The profile does not allow this DNS name.",
  POLICY_WILDCARD_NOT_ALLOWED: "The profile does not allow wildcard names.",
  POLICY_IP_NOT_ALLOWED: "The profile does not allow this IP address.",
  POLICY_EMAIL_NOT_ALLOWED: "The profile does not allow this email address.",
  POLICY_URI_NOT_ALLOWED: "The profile does not allow this URI.",
  POLICY_TOO_MANY_SANS: "The request has more SANs than the profile allows.",
  POLICY_SUBJECT_VALUE_NOT_ALLOWED: "The profile does not allow this subject attribute value.",
  POLICY_SUBJECT_ATTRIBUTE_REQUIRED: "The profile requires a subject attribute the CSR lacks.",
  POLICY_VALIDITY_INVALID: "The requested validity is not a positive whole number of days.",
  POLICY_VALIDITY_TOO_LONG: "The requested validity is longer than the profile allows.",
  POLICY_VALIDITY_BEYOND_CA: "The certificate would outlive the issuing CA certificate.",
  // Configuration
  CONFIG_INVALID: "The configuration file is invalid.",
  AWS_TARGET_MISSING: "The deployed CA's resources (SST_RESOURCE_Pki) are not in the environment.",
  AWS_TARGET_INVALID: "SST_RESOURCE_Pki does not describe the deployed CA.",
  // CA lifecycle
  CA_NOT_INITIALISED: "No CA exists in this data folder.",
  CA_ROOT_NOT_HELD: "This data folder holds no separate root CA key.",
  CA_ALREADY_EXISTS: "A CA already exists in this data folder.",
  CA_IMPORT_INVALID: "The certificate cannot be imported as this CA's certificate.",
  CA_KEY_MISMATCH: "The certificate's public key does not match the CA key.",
  SIGNER_UNSUPPORTED: "The key or signing algorithm is not supported.",
  SIGNER_FAILED: "The signer could not sign.",
  SELF_CHECK_FAILED: "The issued object failed its self-check and was not released.",
  // Certificates and revocation
  CERT_NOT_FOUND: "There is no certificate with that serial number.",
  CERT_EXPIRED: "The certificate has expired.",
  REVOCATION_REASON_INVALID: "The revocation reason is not allowed.",
  CRL_NOT_PUBLISHED: "No CRL has been published yet.",
  CRL_ROOT_UNAVAILABLE: "This CA publishes no CRL for a separate root CA.",
  INPUT_INVALID: "The input is not a CSR, certificate or CRL.",
  INPUT_UNREADABLE: "The input file cannot be read.",
  // Inventory and renewal
  INVENTORY_FORBIDDEN: "The caller's role does not allow listing certificates.",
  RENEWAL_NOT_ALLOWED: "Only the certificate's requester (or an admin) may renew it.",
  RENEWAL_PROFILE_MISMATCH: "A renewal must be for the profile of the certificate it renews.",
  RENEWAL_NAMES_WIDENED: "A renewal may only carry names the renewed certificate has.",
  RENEWAL_KEY_REUSED: "The profile does not allow a renewal to reuse the certificate's key.",
  RENEWAL_OUTSIDE_WINDOW: "The certificate is not in its renewal window.",
  RENEWAL_CERT_REVOKED: "A revoked certificate cannot be renewed.",
  RENEWAL_SUPERSEDED: "The certificate was already renewed; renew its successor.",
  // Email
  EMAIL_MESSAGE_INVALID: "The email message cannot be sent as composed.",
  EMAIL_REJECTED: "SES rejected the email message.",
  EMAIL_SENDER_NOT_VERIFIED: "The sender address or its MAIL FROM domain is not verified in SES.",
  EMAIL_SENDING_DISABLED: "Email sending is paused or the SES account is suspended.",
  EMAIL_SEND_FAILED: "The email could not be sent.",
  // Approvals
  APPROVAL_QUORUM_UNREACHABLE: "The profile's approval quorum cannot be met without the requester.",
  APPROVAL_TOKEN_INVALID: "The approval link is not valid for this request.",
  APPROVAL_EXPIRED: "The approval link has expired.",
  APPROVAL_ALREADY_DECIDED: "This approval link has already been used.",
  APPROVAL_NOT_PENDING: "The request is no longer waiting for approval.",
  APPROVAL_SELF: "Requesters cannot approve their own requests.",
  APPROVAL_WRONG_APPROVER: "The signed-in identity is not the approver this link was sent to.",
  APPROVAL_DELIVERY_FAILED: "The decision is recorded but could not be passed to the workflow yet.",
  APPROVAL_PERSON_REQUIRED:
    "Deciding without the emailed link needs the approver signed in in person, not an API key.",
  APPROVAL_RESEND_INCOMPLETE:
    "The approval links were replaced, but not every new approval mail could be sent.",
  // Local runtime
  RUNTIME_RUNNING: "The local service is running on this data folder.",
  RUNTIME_NOT_RUNNING: "The local service is not running on this data folder.",
  PORT_IN_USE: "The port is taken.",
  SERVICE_STARTING: "The service is starting.",
  REGISTRY_CONFLICT:
    "This data folder's certificates are kept by the other registry (pki issue or the local service).",
  // Events
  EVENT_INVALID: "The event does not match the event catalogue.",
  // Requests and storage
  REQUEST_NOT_FOUND: "There is no request with that id.",
  REQUEST_EXISTS: "A request with that id already exists.",
  REQUEST_TRANSITION_INVALID: "The request lifecycle does not allow that status change.",
  REQUEST_STATE_CONFLICT: "The request is no longer in the status the change expects.",
  REQUEST_EMAIL_REQUIRED: "The request needs an address for its mails.",
  IDEMPOTENCY_KEY_INVALID: "The Idempotency-Key must be 1 to 255 printable ASCII characters.",
  IDEMPOTENCY_KEY_REUSED: "The Idempotency-Key was already used for a different request.",
  APPROVER_NOT_LISTED: "That approver is not on the request's approver list.",
  CERT_SERIAL_EXISTS: "A certificate with that serial number already exists.",
  API_KEY_EXISTS: "An API key with that id already exists.",
  API_KEY_NOT_FOUND: "There is no API key with that id.",
  API_KEY_LABEL_INVALID: "The API key's label is too long.",
  API_KEY_OWNER_INVALID: "An API key's owner must be the email address of the person it acts for.",
  PAGE_CURSOR_INVALID: "The page cursor is not one this listing gave out.",
  STATUS_LINKS_EXHAUSTED: "The request holds as many status-page links as it may.",
  // Identity
  SIGN_IN_FAILED: "Signing in through the identity provider failed.",
  IDENTITY_PROVIDER_UNAVAILABLE: "The identity provider cannot be reached.",
  MESSAGE_CLAIM_LOST: "Another sender took over this message.",
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class PkiError extends Error {
  override readonly name = "PkiError";
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, detail?: string, details?: Record<string, unknown>) {
    super(detail ? `${errorCodes[code]} ${detail}` : errorCodes[code]);
    this.code = code;
    this.details = details;
  }
}

/**
 * A failure that may pass if the same call is repeated later: a throttled, unavailable or
 * unreachable dependency. The workflow's Retry policy matches on the name "TransientError".
 */
export class TransientError extends Error {
  override readonly name = "TransientError";
}

export function isTransientError(value: unknown): value is TransientError {
  return value instanceof Error && value.name === "TransientError";
}

export function isPkiError(value: unknown, code?: ErrorCode): value is PkiError {
  return value instanceof PkiError && (code === undefined || value.code === code);
}
