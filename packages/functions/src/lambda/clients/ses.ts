/** SES: the mailer, sending as the configured sender. */
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SesMailer } from "@spca/core/notifications/ses-mailer";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function sesAdapters(
  client: () => SESv2Client = () => tracedClient(new SESv2Client({})),
): Required<Pick<AwsAdapters, "mailer">> {
  return {
    mailer: ({ config }) => new SesMailer({ client: client(), from: config.mail.from }),
  };
}
