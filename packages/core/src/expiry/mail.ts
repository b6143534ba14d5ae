/**
 * The expiry reminder: what expires when, its names, and how to renew it. One mail per
 * recipient (the requester, the profile's owners); only the requester's carries a status-page
 * link, since that page is the request's and the owners did not ask for it.
 */
import type { OutgoingMail } from "../notifications/mailer.ts";
import { requestPageUrl } from "../notifications/messages.ts";
import { type Block, type Field, formatTime, renderMail } from "../notifications/render.ts";

export interface ExpiryReminderInput {
  readonly to: string;
  readonly publicBaseUrl: string;
  readonly serial: string;
  readonly requestId: string;
  readonly profile: string;
  readonly subject: string;
  /** As text: `DNS:www.example.com`. */
  readonly sans: readonly string[];
  readonly notAfter: Date;
  /** The threshold this reminder is for, in days; "expired" once notAfter has passed. */
  readonly reminder: number | "expired";
  /** The requester's own status-page secret; absent for the owners' copies. */
  readonly statusToken?: string | undefined;
  /** Whom the certificate was issued to, shown to the owners. */
  readonly requester: string;
}

export function expiryReminderMail(input: ExpiryReminderInput): OutgoingMail {
  const name = input.subject.trim() || input.sans[0] || `serial ${input.serial}`;
  const until = formatTime(input.notAfter);
  const expired = input.reminder === "expired";
  const subject = expired
    ? `Certificate expired: ${name}`
    : `Certificate expires in ${days(input.reminder as number)}: ${name}`;
  const lead = expired
    ? `The certificate below expired on ${until} and has not been renewed. Anything still using it is refusing or being refused connections now.`
    : `The certificate below expires on ${until}, in ${days(input.reminder as number)} or less. Renew it before then.`;
  const rows: Field[] = [
    { label: "Serial", value: input.serial, mono: true },
    { label: "Expires", value: until },
    { label: "Profile", value: input.profile },
    { label: "Subject", value: input.subject.trim() === "" ? "(empty)" : input.subject },
    { label: "SANs", value: input.sans },
    { label: "Requested for", value: input.requester },
    { label: "Request", value: input.requestId, mono: true },
  ];
  if (input.statusToken !== undefined) {
    rows.push({
      label: "Status",
      value: requestPageUrl(input.publicBaseUrl, input.requestId, input.statusToken),
      link: true,
    });
  }
  const blocks: Block[] = [
    { kind: "paragraph", text: lead },
    { kind: "fields", rows },
    {
      kind: "list",
      title: "To renew it",
      items: [
        "with the CLI: pki renew --cert cert.pem --key key.pem",
        `with the API: POST /v1/certificates/${input.serial}/renew (with your API key)`,
      ],
    },
    {
      kind: "paragraph",
      text: "Once it is renewed (or revoked) no more reminders are sent about it. This message was sent by the private certificate authority. Replies are not read.",
    },
  ];
  const heading = expired ? "A certificate has expired" : "A certificate is about to expire";
  return { to: [input.to], ...renderMail(subject, heading, blocks) };
}

function days(n: number): string {
  return n === 1 ? "1 day" : `${n} days`;
}
