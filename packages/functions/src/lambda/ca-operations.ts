/**
 * The operator's actions on the deployed CA (`pki ca csr|import|show --aws`, `pki keys create
 * --aws`), run by the CA bootstrap function. Only the signing functions' roles may use the CA's
 * KMS key, and the API needs an admin key before it makes keys, so the operator invokes this
 * function (lambda:InvokeFunction) instead of calling KMS, S3 and DynamoDB.
 *
 * Events: `{"action": "csr", "subject"?: DN}`, `{"action": "import", "chain": PEM}`,
 * `{"action": "show"}`, `{"action": "create-api-key", "role": "requester" | "approver" |
 * "admin" | "auditor", "owner": email, "label"?: text}` (the first admin key, acting for the
 * person `owner` names; the answer is POST /v1/keys's, the secret included, so the function
 * never logs it). Expected failures (any PkiError: a bad bundle, another key's certificate, no
 * certificate yet, a label too long, an owner that is not an email address, a bad event) are
 * answered as `{"error": {"code", "message"}}`, so the operator sees the code; anything else
 * throws and reaches the caller as a Lambda FunctionError. The schemas below are the contract
 * the CLI checks the answers against.
 */

import { caIdOfChainPem } from "@spca/core/ca/authority";
import { caSummary, importCaChain, isChainOfKey } from "@spca/core/ca/bootstrap";
import { createCaCsr } from "@spca/core/ca/create";
import { CA_CHAIN_OBJECT_KEY, readCaChain } from "@spca/core/ca/object-store-ca";
import { publishCaObjects } from "@spca/core/crl/ca-objects";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { isPkiError, PkiError } from "@spca/core/errors";
import { createApiKey } from "@spca/core/ra/api-keys";
import type { Signer } from "@spca/core/signer/signer";
import type { ObjectStore } from "@spca/core/store/object-store";
import { apiKeyRoles, type RequestRepository } from "@spca/core/store/request-repository";
import { issueMessages } from "@spca/core/validation";
import { type NameEntry, parseNameText } from "@spca/core/x509/name";
import * as v from "valibot";

export const CaOperationSchema = v.variant("action", [
  v.strictObject({ action: v.literal("csr"), subject: v.optional(v.string()) }),
  v.strictObject({ action: v.literal("import"), chain: v.string() }),
  v.strictObject({ action: v.literal("show") }),
  v.strictObject({
    action: v.literal("create-api-key"),
    role: v.picklist(apiKeyRoles, `role must be one of ${apiKeyRoles.join(", ")}`),
    // The person the key acts for. That it is an email address is createApiKey's to check
    // (API_KEY_OWNER_INVALID), as is the label's length (API_KEY_LABEL_INVALID).
    owner: v.string("owner must be the email address of the person the key acts for"),
    label: v.optional(v.string(), ""),
  }),
]);

export type CaOperation = v.InferOutput<typeof CaOperationSchema>;
export type CaAction = CaOperation["action"];

const CaSummarySchema = v.object({
  subject: v.string(),
  serial: v.string(),
  notAfter: v.string(),
  chainLength: v.number(),
});

/** What ca/issuing-chain.pem holds when a CSR is asked for, for the operator's notes. */
const InstalledChainSchema = v.variant("status", [
  v.object({ status: v.literal("none") }),
  v.object({ status: v.picklist(["this-key", "other-key"]), ...CaSummarySchema.entries }),
  /** An object that is not a PEM certificate chain. */
  v.object({ status: v.literal("unreadable") }),
  /** The object could not be read or parsed: a note, never a failed CSR. */
  v.object({ status: v.literal("unknown"), reason: v.string() }),
]);

export type InstalledChain = v.InferOutput<typeof InstalledChainSchema>;

/** Each action's result; `location` is the chain's S3 URL, for the operator's messages. */
export const caResultSchemas = {
  csr: v.object({ csr: v.string(), location: v.string(), installed: InstalledChainSchema }),
  import: v.object({ imported: CaSummarySchema, chain: v.string(), location: v.string() }),
  show: v.object({ chain: v.string() }),
  /** POST /v1/keys's answer: the key's record and, this once, its secret. */
  "create-api-key": v.object({
    key: v.string(),
    id: v.string(),
    role: v.picklist(apiKeyRoles),
    label: v.string(),
    owner: v.nullable(v.string()),
    createdAt: v.string(),
    revokedAt: v.nullable(v.string()),
  }),
} as const;

export type CaResults = { [A in CaAction]: v.InferOutput<(typeof caResultSchemas)[A]> };

export const CaErrorResultSchema = v.object({
  error: v.object({ code: v.string(), message: v.string() }),
});

export type CaErrorResult = v.InferOutput<typeof CaErrorResultSchema>;
export type CaOperationResult = CaResults[CaAction] | CaErrorResult;

/** How to run an --aws command (by its action), for messages to the operator. */
export function operatorCommand(action: string): string {
  const command =
    action === "create-api-key"
      ? "keys create --role ROLE --owner EMAIL"
      : `ca ${action === "import" ? "import FILE" : action}`;
  return `npx sst shell --stage <stage> -- npx pki ${command} --aws`;
}

/** Whether an event asks for an operator action rather than the deploy's bootstrap. */
export function isCaOperation(event: unknown): boolean {
  return typeof event === "object" && event !== null && "action" in event;
}

export interface CaOperationContext {
  readonly objects: ObjectStore;
  readonly signer: () => Promise<Signer>;
  /** config.ca.subject: the CSR's subject unless the operator names another. */
  readonly subject: string;
  /** s3://<bucket>/ca/issuing-chain.pem. */
  readonly location: string;
  /** The clock for the imported certificates' dates. */
  readonly now?: () => Date;
  /** The table's API keys, opened only for create-api-key. */
  readonly apiKeys: () => Pick<RequestRepository, "createApiKey">;
}

export async function runCaOperation(
  event: unknown,
  context: CaOperationContext,
): Promise<CaOperationResult> {
  try {
    const operation = parseOperation(event);
    switch (operation.action) {
      case "csr":
        return await csr(context, operation.subject);
      case "import":
        return await importChain(context, operation.chain);
      case "show":
        return { chain: await chainPem(context) };
      case "create-api-key": {
        const { role, owner, label } = operation;
        const { key, record } = await createApiKey(context.apiKeys(), { role, owner, label });
        return { ...record, key };
      }
    }
  } catch (error) {
    if (isPkiError(error)) return { error: { code: error.code, message: error.message } };
    throw error;
  }
}

function parseOperation(event: unknown): CaOperation {
  const result = v.safeParse(CaOperationSchema, event);
  if (result.success) return result.output;
  throw new PkiError(
    "EVENT_INVALID",
    `${issueMessages(result.issues, { schema: CaOperationSchema }).join("; ")}. Operator actions are {"action": "csr", "subject"?: DN}, {"action": "import", "chain": PEM}, {"action": "show"} and {"action": "create-api-key", "role": ${apiKeyRoles.map((r) => `"${r}"`).join(" | ")}, "owner": email, "label"?: text}.`,
  );
}

/** A CSR for the KMS key, with what the bucket holds already (checked against the key). */
async function csr(context: CaOperationContext, subjectText?: string): Promise<CaResults["csr"]> {
  const subject = nameOf(subjectText ?? context.subject);
  const signer = await context.signer();
  const request = encodePem("CERTIFICATE REQUEST", await createCaCsr(signer, subject));
  return {
    csr: request,
    location: context.location,
    installed: await installed(context.objects, signer),
  };
}

function nameOf(text: string): NameEntry[] {
  try {
    return parseNameText(text);
  } catch (error) {
    throw new PkiError("CSR_SUBJECT_INVALID", `subject: ${(error as Error).message}.`);
  }
}

async function installed(objects: ObjectStore, signer: Signer): Promise<InstalledChain> {
  try {
    const chain = await readCaChain(objects);
    if (!chain) return { status: "none" };
    const summary = caSummary(chain);
    return { status: (await isChainOfKey(chain, signer)) ? "this-key" : "other-key", ...summary };
  } catch (error) {
    if (isPkiError(error, "CA_NOT_INITIALISED")) return { status: "unreadable" };
    return { status: "unknown", reason: (error as Error).message };
  }
}

/**
 * Validates the bundle against the KMS key and installs it (importCaChain, which also keeps a
 * chain of another key already in the bucket, as the deploy's bootstrap keeps it).
 */
async function importChain(context: CaOperationContext, pem: string): Promise<CaResults["import"]> {
  const imported = await importCaChain(
    context.objects,
    await context.signer(),
    pem,
    context.now?.(),
  );
  const chain = await chainPem(context);
  // Relying parties and the gates (the enforcement sync looks every minute) get the new CA
  // certificate and bundle now, not at the next scheduled CRL.
  const certificate = decodePemBlocks(chain)[0]!.der;
  await publishCaObjects(context.objects, caIdOfChainPem(chain), certificate, chain);
  return { imported, chain, location: context.location };
}

async function chainPem(context: CaOperationContext): Promise<string> {
  const object = await context.objects.get(CA_CHAIN_OBJECT_KEY);
  if (!object) {
    throw new PkiError(
      "CA_NOT_INITIALISED",
      `${context.location} does not exist: the deploy's CA bootstrap has not run, or (aws.ca.bootstrap "external") the CA awaits its certificate: ${operatorCommand("csr")}, have the root sign it, then ${operatorCommand("import")}.`,
    );
  }
  return Buffer.from(object.body).toString("utf8");
}
