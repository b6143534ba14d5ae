/**
 * The bounds on what a person types into a request or a decision, shared by the REST API's
 * schemas and the pages' forms so both refuse the same input. Free text is bounded because it
 * lives in the request's own DynamoDB item (docs/dynamodb.md).
 */
import * as v from "valibot";

/** The requester's address: trimmed, an email address, at most RFC 5321's 254 characters. */
export const RequesterEmail = v.pipe(
  // A number or null is as wrong as a malformed address, and said the same way.
  v.string("email must be an email address"),
  v.trim(),
  v.email("email must be an email address"),
  v.maxLength(254),
);

/** The requester's comment for the approvers. */
export const COMMENT_MAX_LENGTH = 1000;

/** An approver's reason for a decision. */
export const DECISION_REASON_MAX_LENGTH = 1000;
