/**
 * Mail: the SES identity the functions send as (`mail.from`), and this stage's configuration set,
 * whose bounce, complaint and reject events go to an SNS topic the on-call address hears.
 *
 * The identity is `aws.mail.identity`: the address itself (the default) or its domain, which SES
 * signs with DKIM (its three CNAME records go into Route 53), as DMARC-strict receivers require.
 * SES allows one identity of a name per account and Region, so a second stage sets
 * `aws.mail.shared` and sends through the existing identity (read at deploy, so a missing one
 * fails the deploy) with a configuration set of its own. Sends name the configuration set
 * explicitly (PKI_MAIL_CONFIGURATION_SET), whatever default the identity carries.
 */
import type { AwsContext } from "./aws-context.ts";
import type { Deployment } from "./settings.ts";
import { serviceResourcePolicy } from "./trust.ts";

export interface MailSending {
  /** The identity SES authorizes sends on. */
  readonly identityArn: $util.Output<string>;
  readonly configurationSetName: $util.Output<string>;
  readonly configurationSetArn: $util.Output<string>;
  /** Where bounces, complaints and rejections are published. */
  readonly feedback: sst.aws.SnsTopic;
}

/** The SES events worth a human's attention: a mail that did not reach its approver. */
export const MAIL_FEEDBACK_EVENTS = ["BOUNCE", "COMPLAINT", "REJECT"] as const;

export function mailSending(d: Deployment, context: AwsContext): MailSending {
  const name = d.config.aws.mail.identity ?? d.config.mail.from;
  const isDomain = !name.includes("@");
  const identity = d.config.aws.mail.shared
    ? aws.sesv2.EmailIdentity.get("MailIdentity", name)
    : new aws.sesv2.EmailIdentity("MailIdentity", { emailIdentity: name });
  if (isDomain && !d.config.aws.mail.shared) dkimRecords(d, name, identity);

  const configurationSet = new aws.sesv2.ConfigurationSet("MailConfig", {
    configurationSetName: `${d.app}-${d.stage}-mail`,
    reputationOptions: { reputationMetricsEnabled: true },
  });
  const feedback = new sst.aws.SnsTopic("MailFeedback");
  const configurationSetArn = $interpolate`arn:${context.partition}:ses:${context.region}:${context.accountId}:configuration-set/${configurationSet.configurationSetName}`;
  // SES publishes this stage's events, and nothing else may publish to the topic.
  const topicPolicy = new aws.sns.TopicPolicy("MailFeedbackPolicy", {
    arn: feedback.arn,
    policy: serviceResourcePolicy(
      "ses.amazonaws.com",
      ["sns:Publish"],
      feedback.arn,
      context,
      configurationSetArn,
    ),
  });
  new aws.sesv2.ConfigurationSetEventDestination(
    "MailFeedbackDestination",
    {
      configurationSetName: configurationSet.configurationSetName,
      eventDestinationName: "feedback",
      eventDestination: {
        enabled: true,
        matchingEventTypes: [...MAIL_FEEDBACK_EVENTS],
        snsDestination: { topicArn: feedback.arn },
      },
    },
    { dependsOn: [topicPolicy] },
  );
  if (d.config.aws.alarmEmail) {
    new aws.sns.TopicSubscription("MailFeedbackEmail", {
      topic: feedback.arn,
      protocol: "email",
      endpoint: d.config.aws.alarmEmail,
    });
  }
  return {
    identityArn: $interpolate`arn:${context.partition}:ses:${context.region}:${context.accountId}:identity/${name}`,
    configurationSetName: configurationSet.configurationSetName,
    configurationSetArn,
    feedback,
  };
}

/** Easy DKIM's three CNAME records, in the domain's Route 53 zone. */
function dkimRecords(d: Deployment, domain: string, identity: aws.sesv2.EmailIdentity): void {
  const zoneId = d.config.aws.mail.hostedZoneId
    ? $output(d.config.aws.mail.hostedZoneId)
    : aws.route53.getZoneOutput({ name: domain }).zoneId;
  for (const index of [0, 1, 2]) {
    const token = identity.dkimSigningAttributes.apply((a) => a?.tokens?.[index] ?? "");
    new aws.route53.Record(`MailDkim${index + 1}`, {
      zoneId,
      name: $interpolate`${token}._domainkey.${domain}`,
      type: "CNAME",
      ttl: 1800,
      records: [$interpolate`${token}.dkim.amazonses.com`],
    });
  }
}
