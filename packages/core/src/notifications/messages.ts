/**
 * Every email the PKI sends, as pure functions from plain inputs to an `OutgoingMail`. Inputs
 * carry only what the message shows, so these depend on no store or request model.
 *
 * Names, comments and reasons come from requesters and approvers and are hostile until shown
 * otherwise: `render.ts` escapes them for HTML and cleans them for text.
 */
import { decodePemBlocks, PemError } from "../encoding/pem.ts";
import { PkiError } from "../errors.ts";
import type { MailAttachment, OutgoingMail } from "./mailer.ts";
import { type Block, type Field, formatTime, renderMail } from "./render.ts";

/** What every message says about the request it concerns. */
export interface RequestSummary {
  readonly requestId: string;
  /** The profile's name. */
  readonly profile: string;
  /** The subject distinguished name as text (`CN=www.example.com, O=Example`); may be empty. */
  readonly subject: string;
  /** The subject alternative names as text (`DNS:www.example.com`, `IP:192.0.2.1`). */
  readonly sans: readonly string[];
}

interface Addressed {
  /** The recipient's address. */
  readonly to: string;
  /** Where the service is reached, e.g. `https://pki.example.com`; links are built on it. */
  readonly publicBaseUrl: string;
}

/**
 * What the requester's mails link with: a status-page secret minted for this one mail (its
 * SHA-256 stored with the request, RequestRepository.addStatusSecret). The status page and the
 * downloads open with it in a browser, with no API key and no sign-in.
 */
interface StatusLinked {
  readonly statusToken: string;
}

export interface RequestReceivedInput extends RequestSummary, Addressed, StatusLinked {}

export interface ApprovalNeededInput extends RequestSummary, Addressed {
  /** The id in the approval link `<publicBaseUrl>/approvals/<approvalId>?token=<token>`. */
  readonly approvalId: string;
  /** This approver's secret. */
  readonly token: string;
  /** The requester's email address. */
  readonly requester: string;
  /** `RSA`, `EC P-256`, … */
  readonly keyType: string;
  readonly keyBits: number;
  /** The SHA-256 fingerprint the approver compares, as hex. */
  readonly sha256Fingerprint: string;
  readonly comment?: string | undefined;
  /** The checks the request passed, in words. */
  readonly checks: readonly string[];
  /** When the request expires unless decided. */
  readonly deadline: Date;
  /** With a quorum: how many distinct approvals the request needs. */
  readonly approvalsRequired?: number | undefined;
}

export interface CertificateIssuedInput extends RequestSummary, Addressed, StatusLinked {
  /** The serial number as hex, as the API names it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The certificate, PEM. Attached as `<serial>.pem`. */
  readonly certificatePem: string;
  /** The chain, PEM, as `GET /v1/certificates/{serial}?chain=true` serves it. Attached as `<serial>-chain.pem`. */
  readonly chainPem: string;
}

export interface RequestRejectedInput extends RequestSummary, Addressed, StatusLinked {
  readonly reason: string;
  /** Who rejected it: an approver's address, or e.g. "policy" for an automatic rejection. */
  readonly rejectedBy: string;
}

export interface RequestExpiredInput extends RequestSummary, Addressed, StatusLinked {
  /** The deadline that passed without a decision. */
  readonly deadline: Date;
}

export interface RequestFailedInput extends RequestSummary, Addressed, StatusLinked {
  readonly reason: string;
}

export interface CertificateRevokedInput extends RequestSummary, Addressed, StatusLinked {
  readonly serial: string;
  /** The RFC 5280 reason name, e.g. `keyCompromise`. */
  readonly reason: string;
  readonly revokedAt: Date;
}

export const PEM_CONTENT_TYPE = "application/x-pem-file";

// ---------------------------------------------------------------------------------------------
// Links

/** `publicBaseUrl` without trailing slashes, after checking it is a plain http(s) URL. */
export function baseUrl(publicBaseUrl: string): string {
  const url = URL.parse(publicBaseUrl);
  if (!url) {
    throw new PkiError("CONFIG_INVALID", `The public base URL "${publicBaseUrl}" is not a URL.`);
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.username !== "" ||
    url.password !== "" ||
    url.search !== "" ||
    url.hash !== "" ||
    /[\s"'<>\\]/.test(publicBaseUrl)
  ) {
    throw new PkiError(
      "CONFIG_INVALID",
      `The public base URL "${publicBaseUrl}" must be a plain http(s) URL without query or fragment.`,
    );
  }
  return publicBaseUrl.replace(/\/+$/, "");
}

/** The approval page: `<publicBaseUrl>/approvals/<id>?token=<secret>`. */
export function approvalUrl(publicBaseUrl: string, approvalId: string, token: string): string {
  return `${baseUrl(publicBaseUrl)}/approvals/${encodeURIComponent(approvalId)}?token=${encodeURIComponent(token)}`;
}

/** The request's status page, for whoever holds its secret: `/requests/<id>?token=<secret>`. */
export function requestPagePath(requestId: string, token: string): string {
  return `/requests/${encodeURIComponent(requestId)}?token=${encodeURIComponent(token)}`;
}

/**
 * A download beside the status page, opened by the same secret:
 * `/requests/<id>/certificate.pem?token=<secret>` or `/requests/<id>/fullchain.pem?token=<secret>`.
 */
export function requestDownloadPath(
  requestId: string,
  file: "certificate.pem" | "fullchain.pem",
  token: string,
): string {
  return `/requests/${encodeURIComponent(requestId)}/${file}?token=${encodeURIComponent(token)}`;
}

// Mails link only to pages that open in a browser by their link alone (the API's /v1 routes
// need a key): the status page and its downloads, by a secret minted for each mail.

/** The status page in a mail: `<publicBaseUrl>/requests/<id>?token=<secret>`. */
export function requestPageUrl(publicBaseUrl: string, requestId: string, token: string): string {
  return `${baseUrl(publicBaseUrl)}${requestPagePath(requestId, token)}`;
}

/** A download in a mail: `<publicBaseUrl>/requests/<id>/<file>?token=<secret>`. */
export function requestDownloadUrl(
  publicBaseUrl: string,
  requestId: string,
  file: "certificate.pem" | "fullchain.pem",
  token: string,
): string {
  return `${baseUrl(publicBaseUrl)}${requestDownloadPath(requestId, file, token)}`;
}

// ---------------------------------------------------------------------------------------------
// Shared parts

/** How a subject line names the request: its subject, else its first SAN, else its id. */
function nameOf(input: RequestSummary): string {
  return input.subject.trim() || input.sans[0] || `request ${input.requestId}`;
}

function requestFields(input: RequestSummary): Field[] {
  return [
    { label: "Request", value: input.requestId, mono: true },
    { label: "Profile", value: input.profile },
    { label: "Subject", value: input.subject.trim() === "" ? "(empty)" : input.subject },
    { label: "SANs", value: input.sans },
  ];
}

function statusLink(input: RequestSummary & Addressed & StatusLinked): Field {
  return {
    label: "Status",
    value: requestPageUrl(input.publicBaseUrl, input.requestId, input.statusToken),
    link: true,
  };
}

function mail(
  input: Addressed,
  subject: string,
  heading: string,
  blocks: readonly Block[],
  attachments?: readonly MailAttachment[],
): OutgoingMail {
  const rendered = renderMail(subject, heading, blocks);
  return {
    to: [input.to],
    ...rendered,
    ...(attachments ? { attachments } : {}),
  };
}

const FOOTER: Block = {
  kind: "paragraph",
  text: "This message was sent by the private certificate authority. Replies are not read.",
};

// ---------------------------------------------------------------------------------------------
// Messages

/** To the requester, once the request is stored. */
export function requestReceivedMail(input: RequestReceivedInput): OutgoingMail {
  return mail(
    input,
    `Certificate request received: ${nameOf(input)}`,
    "Your certificate request has been received",
    [
      {
        kind: "paragraph",
        text: "The request below has been received. You will get another email when it is issued, rejected or expires.",
      },
      { kind: "fields", rows: [...requestFields(input), statusLink(input)] },
      FOOTER,
    ],
  );
}

/** To one approver: the approval link, with what they need to decide. */
export function approvalNeededMail(input: ApprovalNeededInput): OutgoingMail {
  if (!Number.isSafeInteger(input.keyBits) || input.keyBits <= 0) {
    throw new PkiError("EMAIL_MESSAGE_INVALID", `The key size ${input.keyBits} is not valid.`);
  }
  const quorum =
    input.approvalsRequired !== undefined && input.approvalsRequired > 1
      ? ` It needs ${input.approvalsRequired} approvals from different approvers.`
      : "";
  const blocks: Block[] = [
    {
      kind: "paragraph",
      text: `A certificate request needs your decision.${quorum} Check the details below, then open the link to approve or reject it. The link is yours alone: do not forward it.`,
    },
    {
      kind: "action",
      label: "Review the request",
      url: approvalUrl(input.publicBaseUrl, input.approvalId, input.token),
    },
    {
      kind: "paragraph",
      text: "Opening the link changes nothing: the request is approved or rejected only when you choose Approve or Reject on that page.",
    },
    {
      kind: "fields",
      rows: [
        ...requestFields(input),
        { label: "Requester", value: input.requester },
        { label: "Key", value: `${input.keyType}, ${input.keyBits} bits` },
        { label: "SHA-256 fingerprint", value: input.sha256Fingerprint, mono: true },
        { label: "Decide by", value: formatTime(input.deadline) },
      ],
    },
    { kind: "list", title: "Policy checks passed", items: input.checks },
  ];
  if (input.comment !== undefined && input.comment.trim() !== "") {
    blocks.push({ kind: "quote", title: "Comment from the requester", text: input.comment });
  }
  blocks.push({
    kind: "paragraph",
    text: `If nobody decides by ${formatTime(input.deadline)}, the request expires.`,
  });
  blocks.push(FOOTER);
  return mail(
    input,
    `Approval needed: ${nameOf(input)}`,
    "A certificate request needs your approval",
    blocks,
  );
}

/** To the requester: the certificate and its chain, attached. */
export function certificateIssuedMail(input: CertificateIssuedInput): OutgoingMail {
  if (!/^[0-9A-Fa-f]{1,64}$/.test(input.serial)) {
    throw new PkiError("EMAIL_MESSAGE_INVALID", `The serial "${input.serial}" is not hex.`);
  }
  requirePem(input.certificatePem, "certificate");
  requirePem(input.chainPem, "chain");
  const days = Math.round((input.notAfter.getTime() - input.notBefore.getTime()) / 86_400_000);
  return mail(
    input,
    `Certificate issued: ${nameOf(input)} (serial ${input.serial})`,
    "Your certificate has been issued",
    [
      {
        kind: "paragraph",
        text: `The certificate is attached as ${input.serial}.pem, with its chain as ${input.serial}-chain.pem.`,
      },
      {
        kind: "fields",
        rows: [
          { label: "Serial", value: input.serial, mono: true },
          ...requestFields(input),
          { label: "Valid from", value: formatTime(input.notBefore) },
          { label: "Valid until", value: `${formatTime(input.notAfter)} (${days} days)` },
          {
            label: "Certificate",
            value: requestDownloadUrl(
              input.publicBaseUrl,
              input.requestId,
              "certificate.pem",
              input.statusToken,
            ),
            link: true,
          },
          {
            label: "Full chain",
            value: requestDownloadUrl(
              input.publicBaseUrl,
              input.requestId,
              "fullchain.pem",
              input.statusToken,
            ),
            link: true,
          },
          statusLink(input),
        ],
      },
      FOOTER,
    ],
    [
      {
        filename: `${input.serial}.pem`,
        contentType: PEM_CONTENT_TYPE,
        content: input.certificatePem,
      },
      {
        filename: `${input.serial}-chain.pem`,
        contentType: PEM_CONTENT_TYPE,
        content: input.chainPem,
      },
    ],
  );
}

/** To the requester: an approver or the policy said no. */
export function requestRejectedMail(input: RequestRejectedInput): OutgoingMail {
  return mail(
    input,
    `Certificate request rejected: ${nameOf(input)}`,
    "Your certificate request was rejected",
    [
      { kind: "paragraph", text: "The request below was rejected. No certificate was issued." },
      {
        kind: "fields",
        rows: [
          ...requestFields(input),
          { label: "Rejected by", value: input.rejectedBy },
          statusLink(input),
        ],
      },
      { kind: "quote", title: "Reason", text: input.reason },
      FOOTER,
    ],
  );
}

/** To the requester: nobody decided before the deadline. */
export function requestExpiredMail(input: RequestExpiredInput): OutgoingMail {
  return mail(
    input,
    `Certificate request expired: ${nameOf(input)}`,
    "Your certificate request expired",
    [
      {
        kind: "paragraph",
        text: `No decision was made on the request below by its deadline, ${formatTime(input.deadline)}, so it has expired and no certificate was issued. Submit it again if you still need the certificate.`,
      },
      {
        kind: "fields",
        rows: [
          ...requestFields(input),
          { label: "Deadline", value: formatTime(input.deadline) },
          statusLink(input),
        ],
      },
      FOOTER,
    ],
  );
}

/** To the requester: the request could not be completed. */
export function requestFailedMail(input: RequestFailedInput): OutgoingMail {
  return mail(
    input,
    `Certificate request failed: ${nameOf(input)}`,
    "Your certificate request failed",
    [
      {
        kind: "paragraph",
        text: "The request below could not be completed, and no certificate was issued.",
      },
      { kind: "fields", rows: [...requestFields(input), statusLink(input)] },
      { kind: "quote", title: "Reason", text: input.reason },
      FOOTER,
    ],
  );
}

function requirePem(text: string, what: string): void {
  let labels: string[];
  try {
    labels = decodePemBlocks(text).map((b) => b.label);
  } catch (error) {
    const detail = error instanceof PemError ? `: ${error.message}` : "";
    throw new PkiError("EMAIL_MESSAGE_INVALID", `The ${what} is not PEM${detail}.`);
  }
  if (labels.length === 0 || labels.some((l) => l !== "CERTIFICATE")) {
    throw new PkiError("EMAIL_MESSAGE_INVALID", `The ${what} is not PEM certificates.`);
  }
}

/** To the requester, once their certificate is revoked. */
export function certificateRevokedMail(input: CertificateRevokedInput): OutgoingMail {
  return mail(input, `Certificate revoked: ${nameOf(input)}`, "Your certificate was revoked", [
    {
      kind: "paragraph",
      text: "The certificate below was revoked. Relying parties reject it as soon as they load the new CRL, so replace it now: submit a new request with a new key.",
    },
    {
      kind: "fields",
      rows: [
        { label: "Serial", value: input.serial, mono: true },
        { label: "Reason", value: input.reason },
        { label: "Revoked", value: formatTime(input.revokedAt) },
        ...requestFields(input),
        statusLink(input),
      ],
    },
    FOOTER,
  ]);
}
