/**
 * Sending one email at most once, however often a step or subscriber runs: the repository's
 * message claim is taken first, the mail sent, then the claim marked sent. A failed send gives
 * the claim back so the retry sends at once; a claim held by another run is a TransientError
 * (try later), so two runs never both send.
 */
import { TransientError } from "../errors.ts";
import type { RequestRepository } from "../store/request-repository.ts";
import type { Mailer, OutgoingMail } from "./mailer.ts";

export async function sendOnce(
  repository: RequestRepository,
  mailer: Mailer,
  requestId: string,
  kind: string,
  compose: () => OutgoingMail | Promise<OutgoingMail>,
): Promise<"sent" | "already-sent"> {
  const claim = await repository.claimMessage(requestId, kind);
  if (claim.state === "sent") return "already-sent";
  if (claim.state === "in-progress") {
    throw new TransientError(`The ${kind} mail for ${requestId} is being sent by another run.`);
  }
  let messageId: string;
  try {
    ({ messageId } = await mailer.send(await compose()));
  } catch (error) {
    await repository.releaseMessage(requestId, kind, claim.claimId).catch(() => undefined);
    throw error;
  }
  await repository.markMessageSent(requestId, kind, claim.claimId, { messageId });
  return "sent";
}
