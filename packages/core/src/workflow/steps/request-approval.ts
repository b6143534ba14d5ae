/**
 * RequestApproval (a callback task): stores the workflow's task token and one link per
 * approver, then mails each approver their link. The link's secret exists only in that email
 * (the store keeps its hash), which is why this step sends it itself rather than through the
 * bus. Run again (a retry), it re-sends only to approvers whose mail is not recorded as sent,
 * with a new secret, and refreshes the task token; mails recorded as sent are never sent twice.
 * An attempt cut short between SES accepting a mail and recording it may have sent it: the
 * earlier link then stays valid beside the new one (the repository keeps its hash). An admin's
 * resend (ra/approval-resend.ts) sends the same mail with a new link and drops the earlier ones.
 */

import { TransientError } from "../../errors.ts";
import { hashSecret, newLinkSecret } from "../../links/secrets.ts";
import { approvalNeededMail } from "../../notifications/messages.ts";
import { approvalMailInput } from "../../notifications/request-mail-inputs.ts";
import { requireRequest } from "../../store/request-repository.ts";
import type { StepPayloads } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";

export async function requestApproval(
  { requestId, taskToken, executionId }: StepPayloads["RequestApproval"],
  deps: StepDependencies,
): Promise<null> {
  const now = deps.now?.() ?? new Date();
  const request = await requireRequest(deps.repository, requestId);
  const existing = await deps.repository.getApproval(requestId);
  const deadline =
    existing?.deadline ??
    new Date(now.getTime() + request.approval.timeoutSeconds * 1000).toISOString();
  const decided = new Set(
    (existing?.links ?? []).filter((l) => l.usedAt !== null).map((l) => l.approver.toLowerCase()),
  );
  const pending = request.approval.approvers.filter((a) => !decided.has(a.toLowerCase()));

  // Claim each approver's mail first: a sent mail means that approver keeps their link; a claim
  // another run holds means try again later; the rest get a fresh secret and a mail now.
  const unsent: { approver: string; kind: string; claimId: string; secret: string }[] = [];
  try {
    for (const approver of pending) {
      const kind = `approval-needed:${approver.toLowerCase()}`;
      // The execution's own earlier attempt (crashed or timed out) never blocks it.
      const claim = await deps.repository.claimMessage(
        requestId,
        kind,
        executionId === undefined ? {} : { owner: executionId },
      );
      if (claim.state === "in-progress") {
        throw new TransientError(`Another run is mailing ${approver} about ${requestId}.`);
      }
      if (claim.state === "claimed") {
        unsent.push({ approver, kind, claimId: claim.claimId, secret: newLinkSecret() });
      }
    }
    await deps.repository.openApproval(requestId, {
      taskToken,
      deadline,
      links: unsent.map(({ approver, secret }) => ({
        approver,
        secretHash: hashSecret(secret),
        expiresAt: deadline,
      })),
      actor: "workflow",
    });
    while (unsent.length > 0) {
      const { approver, kind, claimId, secret } = unsent[0]!;
      const { messageId } = await deps.mailer.send(
        approvalNeededMail(
          approvalMailInput(request, {
            approver,
            token: secret,
            deadline,
            publicBaseUrl: deps.config.publicBaseUrl,
          }),
        ),
      );
      unsent.shift();
      await deps.repository.markMessageSent(requestId, kind, claimId, { messageId });
    }
  } finally {
    // Claims of mails that did not go out are given back, so the retry sends them at once.
    for (const { kind, claimId } of unsent) {
      await deps.repository.releaseMessage(requestId, kind, claimId).catch(() => undefined);
    }
  }
  return null;
}
