/**
 * The SES identity mail is sent from: `mail.from` in the configuration. SES mails that address
 * a verification link on the first deploy; a new account is in the SES sandbox and can only
 * mail verified recipients until production access is granted (docs/deploy.md).
 */
import type { Deployment } from "./settings.ts";

export function emailIdentity(d: Deployment): sst.aws.Email {
  return new sst.aws.Email("Email", { sender: d.config.mail.from });
}
