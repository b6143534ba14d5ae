/**
 * A stand-in for an AWS service that speaks the JSON protocol (KMS, EventBridge, Step
 * Functions): POST / with `X-Amz-Target: <prefix>.<Operation>` and a JSON body. The SDK clients
 * of the Lambda bundles reach it through AWS_ENDPOINT_URL_<SERVICE>, so their real
 * serialisation, middleware and error parsing run. Signatures are not checked (nor is IAM: the
 * conformance test does that from the call log).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { IDLE_CONNECTIONS_KEPT_MS } from "../../../packages/core/test/support/dynamo.ts";

/** An error answered the way AWS does: HTTP 400 with `__type`, which the SDK makes the name. */
export class ServiceError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

export type Operations = Record<
  string,
  (input: Record<string, unknown>) => unknown | Promise<unknown>
>;

export interface JsonService {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startJsonService(
  targetPrefix: string,
  operations: Operations,
): Promise<JsonService> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers["x-amz-target"] ?? "");
      const operation = target.startsWith(`${targetPrefix}.`)
        ? target.slice(targetPrefix.length + 1)
        : "";
      const handle = operations[operation];
      if (!handle) {
        reply(400, { __type: "UnknownOperationException", message: `no stand-in for ${target}` });
        return;
      }
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        reply(200, (await handle(text ? JSON.parse(text) : {})) ?? {});
      } catch (error) {
        if (error instanceof ServiceError) {
          reply(error.status, { __type: error.type, message: error.message });
        } else {
          reply(500, { __type: "InternalFailure", message: (error as Error).message });
        }
      }
    });
  });
  return listenLocally(server);
}

/**
 * Listens on a free local port. Clients (the Lambda containers' SDK clients, KMS's with one
 * attempt) keep idle connections as long as they like; a server closing one after Node's
 * default 5 s resets the next request sent on it. Kept for the life of the deployment instead.
 */
export async function listenLocally(
  server: Server,
): Promise<{ readonly endpoint: string; close(): Promise<void> }> {
  server.keepAliveTimeout = IDLE_CONNECTIONS_KEPT_MS;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
