/** valibot schemas for every API input; the OpenAPI document is generated from them. */
import { crlCas } from "@spca/core/crl/ca-choice";
import { type RevocationReason, revocationReasons } from "@spca/core/crl/reasons";
import { API_KEY_ID, API_KEY_LABEL_MAX } from "@spca/core/ra/api-keys";
import {
  COMMENT_MAX_LENGTH,
  DECISION_REASON_MAX_LENGTH,
  RequesterEmail,
} from "@spca/core/requests/submission-fields";
import { apiKeyRoles } from "@spca/core/store/request-repository";
import * as v from "valibot";

/** A PEM CSR of the core's 64 KiB DER limit is about 88 KiB of text. */
export const MAX_BODY_BYTES = 96 * 1024;

const Email = RequesterEmail;
const ProfileName = v.pipe(v.string(), v.minLength(1), v.maxLength(63));
const Comment = v.pipe(
  v.string(),
  v.maxLength(COMMENT_MAX_LENGTH, `comment is limited to ${COMMENT_MAX_LENGTH} characters`),
);
const Days = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(36500));

export const SubmitRequestBody = v.strictObject({
  csr: v.pipe(v.string(), v.minLength(1, "csr must not be empty")),
  /** Where mails about the request go; absent: the signed-in principal's own address. */
  email: v.optional(Email),
  profile: ProfileName,
  comment: v.optional(Comment),
  validityDays: v.optional(Days),
});

/** Query parameters for a raw application/pkcs10 submission. */
export const SubmitRequestQuery = v.strictObject({
  /** Where mails about the request go; absent: the signed-in principal's own address. */
  email: v.optional(Email),
  profile: ProfileName,
  comment: v.optional(Comment),
  validityDays: v.optional(v.pipe(v.string(), v.regex(/^[1-9][0-9]{0,4}$/), v.transform(Number))),
});

export const ApprovalToken = v.pipe(
  v.string(),
  v.minLength(1, "token is required"),
  v.maxLength(128),
);

export const DecisionBody = v.strictObject({
  decision: v.picklist(["approve", "reject"], 'decision must be "approve" or "reject"'),
  token: ApprovalToken,
  reason: v.optional(v.pipe(v.string(), v.maxLength(DECISION_REASON_MAX_LENGTH))),
});

export const CreateApiKeyBody = v.strictObject({
  role: v.picklist(apiKeyRoles, `role must be one of ${apiKeyRoles.join(", ")}`),
  /** The person the key acts for: its requests are theirs. */
  owner: v.pipe(
    v.string("owner is required: the email address of the person the key acts for"),
    v.maxLength(254, "owner is at most 254 characters"),
    v.email("owner must be an email address"),
  ),
  label: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(API_KEY_LABEL_MAX, `label is limited to ${API_KEY_LABEL_MAX} characters`),
    ),
    "",
  ),
});

export const ApiKeyId = v.pipe(
  v.string(),
  v.regex(API_KEY_ID, "not an API key id (16 lowercase hex digits)"),
);

export const RequestId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, "not a request id"));
export const SerialParam = v.pipe(
  v.string(),
  v.regex(/^(0x)?[0-9A-Fa-f:]{1,64}$/, "not a hexadecimal serial number"),
);

/** ?ca= on the CRL routes: whose CRL, the issuing CA's (default) or the root's above it. */
export const CrlQuery = v.object({
  ca: v.optional(
    v.picklist(
      crlCas,
      (i) =>
        `ca must be ${crlCas.map((ca) => `"${ca}"`).join(" or ")}, not ${JSON.stringify(i.input)}`,
    ),
    "issuing",
  ),
});

const reasonNames = Object.keys(revocationReasons) as RevocationReason[];

/** RFC 5280 reasons a CRL may carry ("unspecified" is written as no reason code). */
export const RevokeBody = v.strictObject({
  reason: v.picklist(reasonNames, `reason must be one of ${reasonNames.join(", ")}`),
});
