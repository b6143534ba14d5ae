/**
 * Doing one thing at most once (sending an email, publishing an event), however often a step,
 * subscriber or job runs: the repository's message claim is taken first, the thing done, then
 * the claim marked sent. A failure gives the claim back so the retry does it at once; a claim
 * held by another run is a TransientError (try later) for a step, or reported as
 * `in-progress` to a job that comes back later anyway. Two runs never both do it.
 */
import { TransientError } from "../errors.ts";
import type { RequestRepository } from "../store/request-repository.ts";
import type { Mailer, OutgoingMail } from "./mailer.ts";

type Claims = Pick<RequestRepository, "claimMessage" | "markMessageSent" | "releaseMessage">;

/**
 * Runs `act` under the claim `(requestId, kind)`; `act` answers the message id to record, if
 * any. With `inProgress: "report"`, a claim another run holds is the answer `in-progress`.
 */
export async function doOnce(
  repository: Claims,
  requestId: string,
  kind: string,
  act: () => Promise<string | undefined>,
  options: { readonly inProgress: "throw" | "report" } = { inProgress: "throw" },
): Promise<"sent" | "already-sent" | "in-progress"> {
  const claim = await repository.claimMessage(requestId, kind);
  if (claim.state === "sent") return "already-sent";
  if (claim.state === "in-progress") {
    if (options.inProgress === "report") return "in-progress";
    throw new TransientError(`The ${kind} mail for ${requestId} is being sent by another run.`);
  }
  let messageId: string | undefined;
  try {
    messageId = await act();
  } catch (error) {
    await repository.releaseMessage(requestId, kind, claim.claimId).catch(() => undefined);
    throw error;
  }
  await repository.markMessageSent(requestId, kind, claim.claimId, { messageId });
  return "sent";
}

export async function sendOnce(
  repository: Claims,
  mailer: Mailer,
  requestId: string,
  kind: string,
  compose: () => OutgoingMail | Promise<OutgoingMail>,
): Promise<"sent" | "already-sent"> {
  const outcome = await doOnce(repository, requestId, kind, async () => {
    return (await mailer.send(await compose())).messageId;
  });
  // doOnce throws rather than answer in-progress unless asked to report it.
  return outcome as "sent" | "already-sent";
}
