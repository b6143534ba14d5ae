/**
 * `pki ca csr|import|show --aws`: the CA as deployed to AWS, for an offline root
 * (`aws.ca.bootstrap: "external"`), and `pki keys create --aws`: an API key in the deployment's
 * table (the first admin key: the API makes keys only for an admin key). Only the signing
 * functions may use the CA's KMS key, so these commands invoke the deployed CA bootstrap
 * function, which holds the key, the bucket and the table (lambda/ca-operations.ts): the
 * operator needs lambda:InvokeFunction on that function alone.
 * They run through `npx sst shell`, which puts the app's linked resources in the environment:
 * SST_RESOURCE_Pki (stacks/index.ts) names the function. No local data folder is used.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import type { AwsLikeError } from "@spca/core/aws-errors";
import { PkiError } from "@spca/core/errors";
import type { ApiKeyRole } from "@spca/core/store/request-repository";
import { issueMessages } from "@spca/core/validation";
import * as v from "valibot";
import {
  type CaAction,
  CaErrorResultSchema,
  type CaOperation,
  type CaResults,
  caResultSchemas,
  type InstalledChain,
  operatorCommand,
} from "../lambda/ca-operations.ts";
import { printCreatedKey } from "./keys.ts";

/** The variable `sst shell` sets for the stacks' `sst.Linkable("Pki", …)`. */
export const PKI_RESOURCE_VARIABLE = "SST_RESOURCE_Pki";

/** A Lambda function name, or its (full or partial) ARN, optionally with a version or alias. */
const FUNCTION_NAME =
  /^((arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;

/**
 * The fields of SST_RESOURCE_Pki the CLI reads; the others (bucket, caKeyArn, table, SST's
 * "type" …) are ignored.
 */
const PkiResourceSchema = v.object({
  caFunction: v.pipe(
    v.string(),
    v.regex(FUNCTION_NAME, "must be the CA bootstrap function's name or ARN"),
  ),
  region: v.nullish(v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "must be an AWS Region name"))),
});

export type PkiResource = v.InferOutput<typeof PkiResourceSchema>;

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * SST_RESOURCE_Pki, checked. `sub` (csr, import, show, create-api-key) goes into the error
 * messages.
 */
export function pkiResourceFromEnvironment(env: Environment, sub: string): PkiResource {
  const text = env[PKI_RESOURCE_VARIABLE];
  const run = `Run it through SST, which links the deployed CA: ${operatorCommand(sub)}`;
  if (!text) {
    throw new PkiError("AWS_TARGET_MISSING", `${PKI_RESOURCE_VARIABLE} is not set. ${run}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PkiError(
      "AWS_TARGET_INVALID",
      `${PKI_RESOURCE_VARIABLE} is not JSON (${(e as Error).message}). ${run}`,
    );
  }
  const result = v.safeParse(PkiResourceSchema, json);
  if (!result.success) {
    throw new PkiError(
      "AWS_TARGET_INVALID",
      `${PKI_RESOURCE_VARIABLE}: ${issueMessages(result.issues, { schema: PkiResourceSchema }).join("; ")}. Deploy the current stacks (they link "Pki"), then: ${operatorCommand(sub)}`,
    );
  }
  return result.output;
}

/**
 * An expected failure the CA function answered with (a PkiError there): main prints it as it
 * prints a PkiError, `pki: CODE: message`.
 */
export class CaFunctionError extends Error {
  override readonly name = "CaFunctionError";
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

export type AwsCaCommand =
  | { readonly sub: "csr"; readonly subject?: string }
  | { readonly sub: "import"; readonly pem: string }
  | { readonly sub: "show" }
  | {
      readonly sub: "create-api-key";
      readonly role: ApiKeyRole;
      /** The email address of the person the key acts for. */
      readonly owner: string;
      readonly label: string;
    };

export interface AwsCaRun {
  /** From pkiResourceFromEnvironment. */
  readonly resource: PkiResource;
  /** Tests hand in a client pointed at a stand-in. */
  readonly lambda?: LambdaClient;
  readonly out: Output;
}

/** Runs one `pki … --aws` command against the function SST_RESOURCE_Pki names. */
export async function runAwsCaCommand(command: AwsCaCommand, run: AwsCaRun): Promise<void> {
  const { caFunction } = run.resource;
  const region = run.resource.region ?? caFunction.match(/^arn:[^:]+:lambda:([^:]+):/)?.[1];
  const client = run.lambda ?? new LambdaClient(region ? { region } : {});
  const invoke = <A extends CaAction>(operation: Extract<CaOperation, { action: A }>) =>
    invokeCaFunction(client, caFunction, operation);
  try {
    switch (command.sub) {
      case "csr": {
        const subject = command.subject === undefined ? {} : { subject: command.subject };
        const result = await invoke({ action: "csr", ...subject });
        const note = installedNote(result.installed, result.location);
        if (note) run.out.stderr(`pki: note: ${note}\n`);
        run.out.stdout(result.csr);
        return;
      }
      case "import": {
        const { imported, chain, location } = await invoke({
          action: "import",
          chain: command.pem,
        });
        run.out.stderr(
          `CA certificate imported into ${location}: ${imported.subject}, serial ${imported.serial}, valid until ${imported.notAfter}, ${imported.chainLength} certificate${imported.chainLength === 1 ? "" : "s"} above it.\n` +
            "The CRL publisher's schedule (at most an hour apart) publishes the CRL, the CA certificate and truststore.pem.\n",
        );
        run.out.stdout(chain);
        return;
      }
      case "show":
        run.out.stdout((await invoke({ action: "show" })).chain);
        return;
      case "create-api-key": {
        const { key, ...record } = await invoke({
          action: "create-api-key",
          role: command.role,
          owner: command.owner,
          label: command.label,
        });
        printCreatedKey(
          run.out,
          { key, record },
          `the deployment's table (through the CA function ${caFunction})`,
        );
        return;
      }
    }
  } finally {
    if (!run.lambda) client.destroy();
  }
}

/** What the operator should know about the chain already installed, if anything. */
function installedNote(installed: InstalledChain, where: string): string | undefined {
  switch (installed.status) {
    case "none":
      return undefined;
    case "unknown":
      return `could not check for an installed certificate: ${installed.reason}`;
    case "unreadable":
      return `${where} exists but is not a PEM certificate chain; pki ca import --aws will replace it (earlier versions stay in the bucket's version history).`;
    case "this-key":
      return `${where} already holds a certificate for this key (${installed.subject}, serial ${installed.serial}, valid until ${installed.notAfter}); importing a new one replaces it (a renewal).`;
    case "other-key":
      return `${where} holds the certificate of another key (${installed.subject}, serial ${installed.serial}); pki ca import --aws will not replace it until it is moved away deliberately.`;
  }
}

/**
 * Invokes the CA function (RequestResponse) and checks its answer: the action's result, or a
 * CaFunctionError for an error result. A failed invocation or a function that failed
 * (FunctionError) is an Error naming the function and the error.
 */
async function invokeCaFunction<A extends CaAction>(
  client: LambdaClient,
  functionName: string,
  operation: Extract<CaOperation, { action: A }>,
): Promise<CaResults[A]> {
  const named = `CA function ${functionName}`;
  let response: InvokeCommandOutput;
  try {
    response = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: new TextEncoder().encode(JSON.stringify(operation)),
      }),
    );
  } catch (error) {
    throw new Error(`Invoking the ${named} failed: ${sdkFailure(error)}`, { cause: error });
  }
  const text = Buffer.from(response.Payload ?? new Uint8Array()).toString("utf8");
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = text;
  }
  if (response.FunctionError) {
    const { errorType, errorMessage } = (answer ?? {}) as {
      errorType?: unknown;
      errorMessage?: unknown;
    };
    const why =
      typeof errorMessage === "string"
        ? `${typeof errorType === "string" ? `${errorType}: ` : ""}${errorMessage}`
        : text;
    throw new Error(`The ${named} failed (${response.FunctionError}): ${why}`);
  }
  const refusal = v.safeParse(CaErrorResultSchema, answer);
  if (refusal.success)
    throw new CaFunctionError(refusal.output.error.code, refusal.output.error.message);
  const result = v.safeParse(caResultSchemas[operation.action], answer);
  if (!result.success) {
    throw new Error(
      `The ${named} answered "${operation.action}" with something else (${issueMessages(result.issues).join("; ")}); is the stage deployed with the current stacks?`,
    );
  }
  return result.output as CaResults[A];
}

/** An SDK failure, with what the operator can do about the usual ones. */
function sdkFailure(error: unknown): string {
  const e = error as AwsLikeError;
  const name = typeof e?.name === "string" ? e.name : "Error";
  const message = typeof e?.message === "string" ? e.message.replace(/\.?$/, ".") : String(error);
  const hint =
    name === "AccessDeniedException"
      ? " The caller needs lambda:InvokeFunction on the CA function."
      : name === "ResourceNotFoundException"
        ? " Is the stage deployed with the current stacks, in this account and Region?"
        : "";
  return `${name}: ${message}${hint}`;
}
