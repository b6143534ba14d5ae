import type { ApprovalResendResult } from "@spca/core/ra/approval-resend";
import { isRequestId } from "@spca/core/requests/request";
import { expectArgs, UsageError } from "./arguments.ts";
import { requireRunningService } from "./service-client.ts";

export const REQUESTS_USAGE = "pki requests resend ID";

export async function requests(
  dataDir: string,
  sub: string | undefined,
  rest: readonly string[],
  out: (text: string) => void,
): Promise<number> {
  if (sub !== "resend")
    throw new UsageError(`unknown command "requests ${sub ?? ""}"; try ${REQUESTS_USAGE}`);
  const [id] = expectArgs(rest, 1, REQUESTS_USAGE);
  if (!isRequestId(id!))
    throw new UsageError(`"${id}" is not a request id (the id GET /v1/requests/{id} takes)`);
  const service = requireRunningService(
    dataDir,
    "pki requests resend",
    "holds the approval and sends the mails",
  );
  // Not resent on a dropped connection: each call mails new links and voids the last ones.
  const answer = await service.json<ApprovalResendResult>(
    "POST",
    `/v1/requests/${encodeURIComponent(id!)}/approval-mails`,
  );
  out(
    `Approval mails resent for request ${answer.id} to ${answer.mailed.join(", ")}; their earlier links no longer work.\n`,
  );
  if (answer.decided.length > 0)
    out(`Already decided, left as they are: ${answer.decided.join(", ")}.\n`);
  if (answer.deadline) out(`The approval still ends at ${answer.deadline}.\n`);
  return 0;
}
