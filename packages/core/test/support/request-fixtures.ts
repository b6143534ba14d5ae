/**
 * Requests for tests of the store and what stands on it: a NewRequest as a submission hands it
 * over (a random CSR DER, so no two are alike, with its summary), the approval snapshots tests
 * give it, and a DynamoRequestRepository on a fresh dynalite table with a clock the test moves.
 */
import { createHash, randomBytes } from "node:crypto";
import { type NewRequest, newRequestId } from "../../src/requests/request.ts";
import { DynamoRequestRepository } from "../../src/store/dynamo-request-repository.ts";
import type { LocalDynamo } from "./dynamo.ts";

/** Whom a fixture request's key acts for, and where its mails go unless a test says otherwise. */
export const FIXTURE_REQUESTER = "requester@example.com";
/** Who submits fixture requests: an API key acting for FIXTURE_REQUESTER. */
export const FIXTURE_KEY_PRINCIPAL = "api-key:0123456789abcdef";
/** Where a fixture repository's clock starts. */
export const FIXTURE_START = new Date("2030-01-01T00:00:00.000Z");

/** Automatic approval: no approvers, nothing to wait for. */
export const automaticApproval: NewRequest["approval"] = {
  mode: "automatic",
  approvers: [],
  quorum: 0,
  timeoutSeconds: 0,
  deadline: null,
};

/** Manual approval by `approvers`, `quorum` of them needed within `timeoutSeconds`. */
export function manualApproval(
  approvers: readonly string[],
  quorum: number,
  timeoutSeconds: number,
): NewRequest["approval"] {
  return { mode: "manual", approvers: [...approvers], quorum, timeoutSeconds, deadline: null };
}

/**
 * A request for the server profile, automatically approved, submitted by FIXTURE_KEY_PRINCIPAL
 * acting for FIXTURE_REQUESTER, whose mails go to FIXTURE_REQUESTER; `overrides` replace any
 * field. Who asked stays the principal when only `requester` (where mails go) is replaced.
 */
export function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  const der = randomBytes(64);
  return {
    id: newRequestId(),
    requester: FIXTURE_REQUESTER,
    profile: "server",
    comment: null,
    csr: `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`,
    csrSummary: {
      subject: "CN=app.example.com",
      sans: [{ type: "dns", value: "app.example.com" }],
      key: "EC P-256",
      keyType: "EC P-256",
      keyBits: 256,
      sha256: createHash("sha256").update(der).digest("hex"),
      publicKeySha256: "ab".repeat(32),
      checks: ["signature verifies"],
    },
    validityDays: 90,
    approval: automaticApproval,
    submittedBy: FIXTURE_KEY_PRINCIPAL,
    principal: { id: FIXTURE_KEY_PRINCIPAL, email: FIXTURE_REQUESTER, groups: [] },
    ...overrides,
  };
}

/**
 * A repository on a fresh table of `dynamo`, on a clock that stands at `start` until the test
 * sets `clock.now` or calls `advance`.
 */
export async function freshRepository(dynamo: LocalDynamo, start: Date = FIXTURE_START) {
  const clock = { now: start };
  const tableName = await dynamo.freshTable();
  const repo = new DynamoRequestRepository({
    client: dynamo.client,
    tableName,
    now: () => clock.now,
  });
  const advance = (seconds: number) => {
    clock.now = new Date(clock.now.getTime() + seconds * 1000);
  };
  return { repo, clock, advance, tableName };
}
