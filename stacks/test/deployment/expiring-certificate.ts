/**
 * The expiry reminders on the offline deployment: a certificate of an issued request five days
 * from its notAfter (stored straight in the table, as if issued 85 days ago, since the
 * deployment's clock cannot be moved), and the daily schedule run with SES failing the
 * requester's first send: that run fails once every other reminder went out, the retry sends
 * the rest, and a third run sends nothing.
 */
import { join } from "node:path";
import { loadConfig } from "../../../packages/core/src/policy/config.ts";
import { DynamoRequestRepository } from "../../../packages/core/src/store/dynamo-request-repository.ts";
import type { OfflineDeployment } from "./offline-deployment.ts";

export interface ExpiryFacts {
  readonly serial: string;
  /** How the first run ended (it fails: SES refused the requester's mail). */
  readonly firstRun: string;
  readonly retry: { mailed: { to: string; reminder: number | string }[]; alreadySent: number };
  readonly third: { mailed: unknown[]; alreadySent: number };
  /** The subjects of the reminders SES accepted, by recipient. */
  readonly mails: string[];
}

const DAY = 86_400_000;

export async function remindOfExpiry(
  d: OfflineDeployment,
  requestId: string,
  serial: string,
): Promise<ExpiryFacts> {
  const api = d.deployment.fn("Api");
  const repository = new DynamoRequestRepository({
    client: d.dynamo.client,
    tableName: api.environment.PKI_TABLE!,
  });
  const request = await repository.getRequest(requestId);
  if (!request) throw new Error(`no request ${requestId}`);
  const owners =
    loadConfig(join(api.bundleDir, "pki.config.json")).profiles[request.profile]?.owners ?? [];
  if (owners.length > 0) throw new Error("the conformance profile is expected to have no owners");
  const now = Date.now();
  await repository.putCertificate({
    serial,
    requestId,
    objectKey: `certificates/${serial}.pem`,
    subject: request.csrSummary.subject,
    sans: request.csrSummary.sans,
    profile: request.profile,
    requester: request.requester,
    principal: request.principal,
    caId: "0123456789abcdef",
    renews: null,
    notBefore: new Date(now - 85 * DAY).toISOString(),
    notAfter: new Date(now + 5 * DAY).toISOString(),
  });
  const before = (await d.mails()).length;
  d.ses.failNextSendTo(request.requester);
  const firstRun = await d.runSchedule("ExpiryReminders").then(
    () => "succeeded",
    (error: Error) => `${error.name}: ${error.message}`,
  );
  const retry = await d.runSchedule<ExpiryFacts["retry"]>("ExpiryReminders");
  const third = await d.runSchedule<ExpiryFacts["third"]>("ExpiryReminders");
  await d.settled();
  const mails = (await d.mails())
    .slice(before)
    .filter((m) => m.body.text.includes(serial))
    .map((m) => `${m.destination.to.join(",")} ${m.subject}`);
  return { serial, firstRun, retry, third, mails };
}
