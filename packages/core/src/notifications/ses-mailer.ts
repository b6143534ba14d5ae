/**
 * The SES v2 adapter of the Mailer port. One SendEmail call per message, with `Simple` content:
 * subject, text and HTML bodies, and SES v2's own `Attachments`, so SES builds the MIME tree
 * (multipart/mixed around multipart/alternative) and no MIME is assembled here.
 *
 * Errors: throttling, 5xx answers and network failures become a `TransientError` (the workflow
 * retries those); anything SES will refuse again becomes a `PkiError` with an `EMAIL_*` code.
 */
import {
  type Attachment,
  type SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
} from "@aws-sdk/client-sesv2";
import { type AwsLikeError, isRetryableAwsError } from "../aws-errors.ts";
import { type ErrorCode, PkiError, TransientError } from "../errors.ts";
import {
  attachmentBytes,
  CONTROL,
  checkMessage,
  type Mailer,
  type OutgoingMail,
} from "./mailer.ts";

export interface SesMailerOptions {
  readonly client: SESv2Client;
  /** The verified sender, e.g. `"PKI <pki@example.com>"`. */
  readonly from: string;
  readonly replyTo?: readonly string[] | undefined;
  readonly configurationSetName?: string | undefined;
}

export class SesMailer implements Mailer {
  readonly client: SESv2Client;
  readonly from: string;
  readonly replyTo: readonly string[] | undefined;
  readonly configurationSetName: string | undefined;

  constructor(options: SesMailerOptions) {
    if (!options.from.includes("@") || CONTROL.test(options.from)) {
      throw new PkiError("CONFIG_INVALID", `The sender address "${options.from}" is not valid.`);
    }
    this.client = options.client;
    this.from = options.from;
    this.replyTo = options.replyTo;
    this.configurationSetName = options.configurationSetName;
  }

  async send(message: OutgoingMail): Promise<{ messageId: string }> {
    const input = this.toSendEmailInput(message);
    let output: { MessageId?: string | undefined };
    try {
      output = await this.client.send(new SendEmailCommand(input));
    } catch (error) {
      throw classifySesError(error);
    }
    if (!output.MessageId) {
      throw new PkiError("EMAIL_SEND_FAILED", "SES answered without a message id.");
    }
    return { messageId: output.MessageId };
  }

  /** The SendEmail request for `message`, after checking it. Exposed for tests. */
  toSendEmailInput(message: OutgoingMail): SendEmailCommandInput {
    checkMessage(message);
    const attachments: Attachment[] = (message.attachments ?? []).map((a) => ({
      FileName: a.filename,
      ContentType: a.contentType,
      ContentDisposition: "ATTACHMENT",
      ContentTransferEncoding: "BASE64",
      RawContent: attachmentBytes(a.content),
    }));
    return {
      FromEmailAddress: this.from,
      Destination: { ToAddresses: [...message.to] },
      ...(this.replyTo?.length ? { ReplyToAddresses: [...this.replyTo] } : {}),
      ...(this.configurationSetName ? { ConfigurationSetName: this.configurationSetName } : {}),
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: "UTF-8" },
          Body: {
            Text: { Data: message.text, Charset: "UTF-8" },
            Html: { Data: message.html, Charset: "UTF-8" },
          },
          ...(attachments.length > 0 ? { Attachments: attachments } : {}),
        },
      },
    };
  }
}

/** SES error names worth repeating later. */
const transientNames = new Set([
  "TooManyRequestsException", // the sending rate (HTTP 429)
  // A sending quota; the workflow's bounded retries may outlast a short one.
  "LimitExceededException",
  "InternalServiceErrorException",
  "ThrottlingException",
  "Throttling",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);

/** SES error names that will fail again, and what they mean. */
const permanentCodes: Readonly<Record<string, ErrorCode>> = {
  MessageRejected: "EMAIL_REJECTED",
  BadRequestException: "EMAIL_REJECTED",
  MailFromDomainNotVerifiedException: "EMAIL_SENDER_NOT_VERIFIED",
  AccountSuspendedException: "EMAIL_SENDING_DISABLED",
  SendingPausedException: "EMAIL_SENDING_DISABLED",
};

/** Whether a failed SES call may succeed if repeated. */
export function isTransientSesError(error: unknown): boolean {
  return isRetryableAwsError(error, transientNames);
}

/** The error `send` throws for a failed SendEmail call: a TransientError or a PkiError. */
export function classifySesError(error: unknown): TransientError | PkiError {
  if (error instanceof PkiError || error instanceof TransientError) return error;
  const e = (typeof error === "object" && error !== null ? error : {}) as AwsLikeError;
  const name = typeof e.name === "string" ? e.name : "Error";
  const summary =
    typeof e.message === "string" && e.message ? `${name}: ${e.message}` : String(error);
  if (isTransientSesError(error)) {
    return new TransientError(`SES SendEmail failed and may succeed later: ${summary}`, {
      cause: error,
    });
  }
  const details: Record<string, unknown> = { sesError: name };
  if (e.$metadata?.httpStatusCode !== undefined)
    details.httpStatusCode = e.$metadata.httpStatusCode;
  if (e.$metadata?.requestId !== undefined) details.requestId = e.$metadata.requestId;
  return new PkiError(
    permanentCodes[name] ?? "EMAIL_SEND_FAILED",
    summary.replace(/\.?$/, "."),
    details,
  );
}
