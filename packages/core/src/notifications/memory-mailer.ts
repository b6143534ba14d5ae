/**
 * A Mailer that keeps messages in memory: for unit tests of the steps that send mail
 * (idempotency: "run twice, one email") without an SES stand-in.
 */
import { checkMessage, type Mailer, type OutgoingMail } from "./mailer.ts";

export interface SentMail {
  readonly messageId: string;
  readonly message: OutgoingMail;
}

export class MemoryMailer implements Mailer {
  readonly sent: SentMail[] = [];
  /** When set, the next `send` throws it instead of sending (then it is cleared). */
  failNext: Error | undefined;

  async send(message: OutgoingMail): Promise<{ messageId: string }> {
    const failure = this.failNext;
    if (failure) {
      this.failNext = undefined;
      throw failure;
    }
    checkMessage(message);
    const messageId = `memory-${this.sent.length + 1}`;
    this.sent.push({ messageId, message });
    return { messageId };
  }

  /** Messages sent to `address`, oldest first. */
  to(address: string): OutgoingMail[] {
    return this.sent.filter((s) => s.message.to.includes(address)).map((s) => s.message);
  }
}
