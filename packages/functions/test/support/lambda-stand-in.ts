/**
 * Lambda's Invoke API, answered in process by the real function handlers, so the real SDK's
 * serialisation is exercised both ways: `POST /2015-03-31/functions/<name>/invocations` with the
 * JSON event as the body. As Lambda does, it answers 200 with the handler's JSON result, or 200
 * with `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage, trace}` when the handler
 * throws; 404 ResourceNotFoundException for a function it does not have; 403
 * AccessDeniedException while `deny` names a caller (lambda:InvokeFunction not granted).
 *
 * Two ways in: `client()`, a LambdaClient whose requestHandler calls the stand-in directly, and
 * `serve()`, an HTTP endpoint for the CLI in a child process (AWS_ENDPOINT_URL_LAMBDA).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { LambdaClient } from "@aws-sdk/client-lambda";

export type FunctionHandler = (event: never) => Promise<unknown>;

interface InvokeRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array;
}

interface InvokeResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

export const STAND_IN_ACCOUNT = "111122223333";
export const STAND_IN_REGION = "eu-west-1";

export class LambdaStandIn {
  /** The functions, by name (an ARN or partial ARN is reduced to its name). */
  readonly functions = new Map<string, FunctionHandler>();
  /** The events each function received, in order. */
  readonly events: { readonly name: string; readonly event: unknown }[] = [];
  /** While set, every invocation is denied to this principal (an ARN, for the message). */
  deny: string | undefined;

  /** A client whose every request is answered here. */
  client(): LambdaClient {
    return new LambdaClient({
      region: STAND_IN_REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      requestHandler: {
        handle: async (request: { method: string; path: string; body?: string | Uint8Array }) => ({
          response: await this.answer({
            method: request.method,
            path: request.path,
            body: bytes(request.body),
          }),
        }),
      },
    });
  }

  /** An HTTP endpoint answering the same way; `close()` stops it. */
  async serve(): Promise<{ readonly url: string; close(): Promise<void> }> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", async () => {
        const answer = await this.answer({
          method: req.method ?? "GET",
          path: req.url ?? "/",
          body: Buffer.concat(chunks),
        });
        res.writeHead(answer.statusCode, answer.headers).end(answer.body);
      });
    });
    // SDK clients keep idle connections and reuse them; a server closing one (Node's default:
    // after 5 s) races that reuse on a busy machine (ECONNRESET). Kept until close() instead.
    server.keepAliveTimeout = 60 * 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  private async answer(request: InvokeRequest): Promise<InvokeResponse> {
    const match = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(\?|$)/.exec(request.path);
    if (request.method !== "POST" || !match) {
      return error(400, "InvalidRequestContentException", `Not an Invoke: ${request.path}`);
    }
    const name = functionName(decodeURIComponent(match[1]!));
    const arn = `arn:aws:lambda:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:function:${name}`;
    if (this.deny) {
      return error(
        403,
        "AccessDeniedException",
        `User: ${this.deny} is not authorized to perform: lambda:InvokeFunction on resource: ${arn} because no identity-based policy allows the lambda:InvokeFunction action`,
      );
    }
    const handler = this.functions.get(name);
    if (!handler) return error(404, "ResourceNotFoundException", `Function not found: ${arn}`);
    let event: unknown;
    try {
      event = JSON.parse(Buffer.from(request.body).toString("utf8"));
    } catch {
      return error(400, "InvalidRequestContentException", "Could not parse request body into json");
    }
    this.events.push({ name, event });
    try {
      return json(200, await handler(event as never));
    } catch (e) {
      const thrown = e as Error;
      return json(
        200,
        {
          errorType: thrown.name,
          errorMessage: thrown.message,
          trace: String(thrown.stack).split("\n"),
        },
        { "X-Amz-Function-Error": "Unhandled" },
      );
    }
  }
}

/** `name`, `123456789012:function:name` or the full ARN, with or without a qualifier. */
function functionName(text: string): string {
  return text.split(":function:").at(-1)!.split(":")[0]!;
}

function bytes(body: string | Uint8Array | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array();
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}

function json(
  statusCode: number,
  value: unknown,
  headers: Record<string, string> = {},
): InvokeResponse {
  return {
    statusCode,
    headers: {
      "Content-Type": "application/json",
      "X-Amz-Executed-Version": "$LATEST",
      "X-Amzn-RequestId": "00000000-0000-0000-0000-000000000000",
      ...headers,
    },
    body: Buffer.from(JSON.stringify(value ?? null), "utf8"),
  };
}

function error(statusCode: number, type: string, message: string): InvokeResponse {
  return {
    statusCode,
    headers: {
      "Content-Type": "application/json",
      "X-Amzn-ErrorType": type,
      "X-Amzn-RequestId": "00000000-0000-0000-0000-000000000000",
    },
    body: Buffer.from(JSON.stringify({ Type: "User", message }), "utf8"),
  };
}
