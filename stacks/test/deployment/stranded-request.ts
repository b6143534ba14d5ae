/**
 * What an API function that died between storing a request and starting its execution leaves
 * behind: the request in the table, `submitted`, stored long enough ago for the sweep, with no
 * execution. Written straight to the table's stand-in as the API's own code would have (the
 * request repository, the submission's CSR checks and approval plan), so the workflow the
 * RequestSweeper starts for it runs as for any other request.
 */
import { join } from "node:path";
import { planApproval } from "../../../packages/core/src/approvals/approvers.ts";
import { checkCsr } from "../../../packages/core/src/csr/intake.ts";
import { encodePem } from "../../../packages/core/src/encoding/pem.ts";
import {
  principalOfKey,
  requestPrincipalOf,
} from "../../../packages/core/src/identity/principal.ts";
import { loadConfig } from "../../../packages/core/src/policy/config.ts";
import { findProfile } from "../../../packages/core/src/policy/evaluate.ts";
import { newRequestId, summariseCsr } from "../../../packages/core/src/requests/request.ts";
import { DynamoRequestRepository } from "../../../packages/core/src/store/dynamo-request-repository.ts";
import { ecCsrFor } from "../../../packages/core/test/support/openssl.ts";
import { STRANDED_AFTER_MS } from "../../../packages/functions/src/lambda/request-sweeper.ts";
import type { OfflineDeployment } from "./offline-deployment.ts";

/** Stores the stranded request of profile `profile` for `name`; returns its id. */
export async function storeStrandedRequest(
  d: OfflineDeployment,
  work: string,
  profile: string,
  name: string,
): Promise<string> {
  const api = d.deployment.fn("Api");
  const config = loadConfig(join(api.bundleDir, "pki.config.json"));
  // Stored a minute longer ago than the sweep waits for its start.
  const storedAt = new Date(Date.now() - STRANDED_AFTER_MS - 60_000);
  const repository = new DynamoRequestRepository({
    client: d.dynamo.client,
    tableName: api.environment.PKI_TABLE!,
    now: () => storedAt,
  });
  const csr = checkCsr(ecCsrFor(work, name, "DER"));
  // Submitted with a build machine's API key, acting for its owner; mails go to the owner.
  const caller = principalOfKey({
    id: "0123456789abcdef",
    role: "requester",
    owner: "dev@example.com",
  });
  const requester = caller.email!;
  const plan = planApproval(profile, findProfile(config, profile), requester);
  const { request } = await repository.createRequest({
    id: newRequestId(),
    requester,
    principal: requestPrincipalOf(caller, config.identity.roleGroups),
    profile,
    comment: "stored by an API function that died before starting the workflow",
    csr: encodePem("CERTIFICATE REQUEST", csr.der),
    csrSummary: summariseCsr(csr),
    validityDays: null,
    approval: { ...plan, approvers: [...plan.approvers], deadline: null },
    submittedBy: caller.id,
  });
  return request.id;
}
