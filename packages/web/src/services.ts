/**
 * What the pages need from the domain: these methods of the registration authority in
 * @spca/core, the same object the REST API uses. Named here, so the pages' reach is plain.
 */
import type { RegistrationAuthority } from "@spca/core/ra/registration-authority";

export type WebServices = Pick<
  RegistrationAuthority,
  | "profiles"
  | "previewCsr"
  | "submit"
  | "getRequest"
  | "getRequestByStatusToken"
  | "getCertificate"
  | "getApproval"
  | "decide"
  | "signIn"
  | "signsInPeople"
  | "beginSignIn"
  | "finishSignIn"
  | "anonymous"
  | "session"
  | "signOut"
  | "listRequests"
  | "certificateInventory"
  | "searchRequests"
  | "revokeCertificate"
  | "approvalProgress"
  | "decideSignedIn"
  | "resendApprovalMails"
  | "crlStatus"
>;
