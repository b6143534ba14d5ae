/**
 * A record of every AWS call a function's code makes, as IAM will authorize it: the action, the
 * resource ARN AWS evaluates and the request's condition keys. Stand-ins ignore IAM, so the IAM
 * conformance test (stacks/test/iam-conformance.test.ts) runs each Lambda bundle with this log
 * on and holds every line against the function's synthesized role and the resource policies.
 *
 * Off unless PKI_SDK_CALL_LOG names a file; then each call appends one JSON line to it. The
 * account is not something a client knows: PKI_SDK_CALL_LOG_ACCOUNT gives it.
 */
import { appendFileSync } from "node:fs";

/** One authorization AWS makes for a call. */
export interface IamRequest {
  readonly action: string;
  /** The ARN AWS evaluates, or "*" for actions without a resource type. */
  readonly resource: string;
  /** Condition keys the request carries that our policies test. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** Why this authorization is needed, when the action is not the call's own. */
  readonly why?: string;
}

/** Where the call goes: the parts of an ARN a client cannot be asked for. */
export interface CallTarget {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** The authorizations one operation of one service needs, from its input. */
export type IamRequestsOf = (
  operation: string,
  input: Readonly<Record<string, unknown>>,
  target: CallTarget,
) => IamRequest[];

/** One line of the log. */
export interface LoggedCall {
  /** AWS_LAMBDA_FUNCTION_NAME of the process that made the call. */
  readonly function: string | undefined;
  /** The SDK client, e.g. "S3Client". */
  readonly service: string;
  /** The operation, e.g. "GetObject". */
  readonly operation: string;
  readonly requests: readonly IamRequest[];
  /** The error's name when the call failed (NoSuchKey, ConditionalCheckFailedException, ...). */
  readonly error?: string;
}

interface MiddlewareClient {
  readonly config: { region: unknown };
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: object }) => Promise<unknown>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

/** Adds the logging middleware to `client` when PKI_SDK_CALL_LOG is set; returns the client. */
export function logCalls<C>(
  client: C,
  requestsOf: IamRequestsOf,
  env: Readonly<Record<string, string | undefined>> = process.env,
): C {
  const file = env.PKI_SDK_CALL_LOG;
  if (!file) return client;
  const sdk = client as unknown as MiddlewareClient;
  sdk.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
      const region = await regionOf(sdk.config.region);
      const target: CallTarget = {
        partition: partitionOf(region),
        region,
        account: env.PKI_SDK_CALL_LOG_ACCOUNT ?? "000000000000",
      };
      const line = {
        function: env.AWS_LAMBDA_FUNCTION_NAME,
        service: context.clientName ?? "Unknown",
        operation,
        requests: requestsOf(operation, args.input as Record<string, unknown>, target),
      };
      try {
        const result = await next(args);
        appendFileSync(file, `${JSON.stringify(line)}\n`);
        return result;
      } catch (error) {
        appendFileSync(
          file,
          `${JSON.stringify({ ...line, error: (error as Error).name } satisfies LoggedCall)}\n`,
        );
        throw error;
      }
    },
    { step: "initialize", name: "pkiSdkCallLog" },
  );
  return client;
}

async function regionOf(region: unknown): Promise<string> {
  const value = typeof region === "function" ? await (region as () => unknown)() : region;
  return String(value ?? "");
}

/** The ARN partition of a Region. */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}
