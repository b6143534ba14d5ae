/**
 * A status-page secret for one mail. The submission's secret is handed out once and never kept,
 * so each later mail that links to the request (received, issued, rejected, …) mints its own:
 * only its hash is stored with the request (RequestRepository.addStatusSecret), and the secret
 * lives in that mail alone. Minted inside sendOnce's compose step, a mail sent once mints once;
 * a failed send's retry mints afresh, and the unsent secret opens nothing anyone holds.
 */
import type { RequestRepository } from "../store/request-repository.ts";
import { hashSecret, newLinkSecret } from "./secrets.ts";

export async function mintStatusSecret(
  repository: Pick<RequestRepository, "addStatusSecret">,
  requestId: string,
): Promise<string> {
  const secret = newLinkSecret();
  await repository.addStatusSecret(requestId, hashSecret(secret));
  return secret;
}
