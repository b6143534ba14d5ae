/** SES: the mailer, sending as the configured sender. */
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SesMailer } from "@spca/core/notifications/ses-mailer";
import type { AwsAdapters } from "../aws-services.ts";
import { tracedClient } from "../observability.ts";
import { type IamRequest, type IamRequestsOf, logCalls } from "../sdk-call-log.ts";

/** `client` defaults to the Lambda environment's, traced (see observability.ts). */
export function sesAdapters(
  client: () => SESv2Client = () => logCalls(tracedClient(new SESv2Client({})), sesRequests),
): Required<Pick<AwsAdapters, "mailer">> {
  return {
    mailer: ({ config, mailConfigurationSet }) =>
      new SesMailer({
        client: client(),
        from: config.mail.from,
        ...(mailConfigurationSet ? { configurationSetName: mailConfigurationSet } : {}),
      }),
  };
}

/**
 * What IAM authorizes for SendEmail: the identity that verifies the sender (the address, or its
 * domain: both are asked here, as SES picks whichever is verified), the configuration set, and
 * in the SES sandbox every recipient's identity too.
 */
export const sesRequests: IamRequestsOf = (operation, input, target) => {
  const identity = (name: string) =>
    `arn:${target.partition}:ses:${target.region}:${target.account}:identity/${name}`;
  if (operation !== "SendEmail") return [{ action: `ses:${operation}`, resource: "*" }];
  const from = addressOf(String(input.FromEmailAddress ?? ""));
  const destination = (input.Destination ?? {}) as Record<string, string[] | undefined>;
  const recipients = [
    ...(destination.ToAddresses ?? []),
    ...(destination.CcAddresses ?? []),
    ...(destination.BccAddresses ?? []),
  ].map(addressOf);
  const context = { "ses:FromAddress": from, "ses:Recipients": recipients };
  const send = (resource: string, why?: string): IamRequest => ({
    action: "ses:SendEmail",
    resource,
    context,
    ...(why ? { why } : {}),
  });
  return [
    send(identity(from), "the sender, when verified as an address"),
    send(
      identity(from.slice(from.lastIndexOf("@") + 1)),
      "the sender, when verified by its domain",
    ),
    ...(typeof input.ConfigurationSetName === "string"
      ? [
          send(
            `arn:${target.partition}:ses:${target.region}:${target.account}:configuration-set/${input.ConfigurationSetName}`,
          ),
        ]
      : []),
    ...recipients.map((to) => send(identity(to), "in the SES sandbox, each recipient's identity")),
  ];
};

/** `pki@example.com` from `"PKI" <pki@example.com>` or the bare address. */
function addressOf(text: string): string {
  return (/<([^>]+)>\s*$/.exec(text)?.[1] ?? text).trim().toLowerCase();
}
