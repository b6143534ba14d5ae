import { PkiError } from "../errors.ts";

/**
 * The outgoing-mail port. The domain renders messages (see `messages.ts`) and hands them to a
 * Mailer; the adapter owns the sender address and the transport (SES on AWS, the SES stand-in
 * locally, memory in tests).
 */

export interface MailAttachment {
  /** The file name the recipient sees, with its extension (`<serial>.pem`). */
  readonly filename: string;
  /** The media type, e.g. `application/x-pem-file`. */
  readonly contentType: string;
  /** The file's bytes; a string is sent as UTF-8. */
  readonly content: Uint8Array | string;
}

export interface OutgoingMail {
  /** Recipient addresses; at least one. */
  readonly to: readonly string[];
  /** One line of plain text: line breaks and control characters are not allowed. */
  readonly subject: string;
  /** The plain-text body. */
  readonly text: string;
  /** The HTML body: a complete, self-contained document. */
  readonly html: string;
  readonly attachments?: readonly MailAttachment[] | undefined;
}

export interface Mailer {
  /**
   * Sends one message. Throws a `TransientError` when repeating the call later may succeed
   * (throttling, an unreachable or failing service) and a `PkiError` when it never will.
   * Not idempotent: callers that may run twice must record what they have sent.
   */
  send(message: OutgoingMail): Promise<{ messageId: string }>;
}

/** Bytes of an attachment's content. */
export function attachmentBytes(content: Uint8Array | string): Uint8Array {
  return typeof content === "string" ? new TextEncoder().encode(content) : content;
}

/** SES accepts at most 50 recipients per message (To, Cc and Bcc together). */
export const MAX_RECIPIENTS = 50;

/**
 * Extensions SES refuses as attachments (Amazon SES Developer Guide, "Unsupported attachment
 * types"). Note .cer, .crt and .der: certificates are sent as .pem.
 */
const blockedExtensions = new Set(
  (
    "ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp " +
    "its js jse ksh lib lnk mad maf mag mam maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz " +
    "msc msh msh1 msh2 mshxml msh1xml msh2xml msi msp mst ops pcd pif plg prf prg reg scf scr sct " +
    "shb shs sys ps1 ps1xml ps2 ps2xml psc1 psc2 tmp url vb vbe vbs vps vsmacros vss vst vsw vxd " +
    "ws wsc wsf wsh xnk"
  ).split(" "),
);

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(detail: string): PkiError {
  return new PkiError("EMAIL_MESSAGE_INVALID", detail);
}

/**
 * Refuses what no adapter should send: what SES would refuse, and anything that could forge
 * headers. Every adapter calls it before sending.
 */
export function checkMessage(message: OutgoingMail): void {
  if (message.to.length === 0) throw invalid("It has no recipient.");
  if (message.to.length > MAX_RECIPIENTS) {
    throw invalid(`It has ${message.to.length} recipients; SES allows ${MAX_RECIPIENTS}.`);
  }
  for (const address of message.to) {
    if (CONTROL.test(address) || !/^[^@\s]+@[^@\s]+$/.test(address)) {
      throw invalid(`The recipient "${printable(address)}" is not an email address.`);
    }
  }
  if (message.subject.trim() === "") throw invalid("The subject is empty.");
  if (CONTROL.test(message.subject)) throw invalid("The subject contains a control character.");
  if (message.text === "" && message.html === "") throw invalid("The body is empty.");
  for (const attachment of message.attachments ?? []) {
    const name = attachment.filename;
    if (name === "" || name.length > 255 || CONTROL.test(name) || /[\\/"]/.test(name)) {
      throw invalid(`The attachment name "${printable(name)}" is not a plain file name.`);
    }
    const extension = /\.([^.]+)$/.exec(name)?.[1]?.toLowerCase();
    if (extension !== undefined && blockedExtensions.has(extension)) {
      throw invalid(`SES refuses attachments named *.${extension} ("${printable(name)}").`);
    }
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(attachment.contentType)) {
      throw invalid(`The attachment type "${printable(attachment.contentType)}" is not valid.`);
    }
  }
}

function printable(value: string): string {
  return value.slice(0, 80).replace(/[^\x20-\x7e]/g, "?");
}
