/**
 * The CLI's way into a running local service: runtime.json gives the API's URL and the admin
 * key, and every refusal comes back as an error naming the service's problem code and detail.
 * Connections are kept alive for less time than the service keeps them (http-timeouts.ts), and
 * a call that may be repeated is sent once more when its connection died before an answer: a
 * kept-alive socket can still be closed by the server just as a request goes out (issue 15).
 */
import { PkiError } from "@spca/core/errors";
import { Agent, fetch, type Response } from "undici";
import { CLIENT_KEEP_ALIVE_TIMEOUT_MS } from "../local/http-timeouts.ts";
import { readRuntimeInfo } from "../local/runtime-info.ts";
import { runtimeHolder } from "../local/runtime-lock.ts";

export interface CallOptions {
  /**
   * The API treats this POST as idempotent (revoking a serial again returns the first
   * revocation), so it may be sent again. GET, HEAD, PUT, DELETE and OPTIONS always may.
   */
  readonly idempotent?: boolean;
  /** Sent as Idempotency-Key: the API answers a repeat with the first answer. */
  readonly idempotencyKey?: string;
}

export interface ServiceClient {
  readonly api: string;
  /** JSON in, JSON out; a non-2xx answer throws with the problem's code and detail. */
  json<T>(method: string, path: string, body?: unknown, options?: CallOptions): Promise<T>;
  /** The raw body of a GET, for non-JSON answers (a DER CRL). */
  bytes(path: string, accept: string): Promise<Uint8Array>;
  /** The body of a GET as it arrives, for answers too large to hold (exports). */
  stream(path: string, accept: string): Promise<AsyncIterable<Uint8Array>>;
}

/** The service holding the data folder, or undefined when none runs. */
export function runningService(dataDir: string): ServiceClient | undefined {
  const holder = runtimeHolder(dataDir);
  if (holder === undefined) return undefined;
  const info = readRuntimeInfo(dataDir);
  if (!info || info.pid !== holder) {
    throw new Error(
      `The local service (process ${holder}) holds ${dataDir} but has not written runtime.json yet; try again when it prints "ready".`,
    );
  }
  return serviceClient(info.api, info.adminKey);
}

/** The service answered with a problem: its status and code, for callers that tell them apart. */
export class ServiceRefusal extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(message: string, status: number, code: string | undefined) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * The running service for a command that only works through it; RUNTIME_NOT_RUNNING, saying
 * why (`holds`: what the service has that the command needs) and how to start it, otherwise.
 */
export function requireRunningService(dataDir: string, command: string, holds?: string) {
  const service = runningService(dataDir);
  if (service) return service;
  throw new PkiError(
    "RUNTIME_NOT_RUNNING",
    `${command} goes through the local service${holds ? `, which ${holds}` : ""}; start it on ${dataDir} (npm start) and run ${command} again.`,
  );
}

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/**
 * Whether `error` (a failed fetch) means the connection was closed or reset under the request
 * before any answer came. Refused connections and timeouts are not that, and are not retried.
 */
export function connectionDied(error: unknown): boolean {
  let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (e.code === "ECONNRESET" || e.code === "EPIPE") return true;
    if (
      e.code === "UND_ERR_SOCKET" &&
      (e.message === "other side closed" || e.message === "closed")
    )
      return true;
  }
  return false;
}

/** A client for the API at `api`, authenticating with `adminKey`. */
export function serviceClient(api: string, adminKey: string): ServiceClient {
  const dispatcher = new Agent({
    // The CLI's calls go one after another, on one kept-alive connection.
    connections: 1,
    keepAliveTimeout: CLIENT_KEEP_ALIVE_TIMEOUT_MS,
    // The server's Keep-Alive hint must not stretch it past the server's own timeout.
    keepAliveMaxTimeout: CLIENT_KEEP_ALIVE_TIMEOUT_MS,
  });
  const call = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    options: CallOptions,
  ): Promise<Response> => {
    const retryable =
      IDEMPOTENT_METHODS.has(method) ||
      options.idempotent === true ||
      options.idempotencyKey !== undefined;
    const send = () =>
      fetch(`${api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(options.idempotencyKey === undefined
            ? {}
            : { "idempotency-key": options.idempotencyKey }),
          ...headers,
        },
        ...(body === undefined ? {} : { body }),
        dispatcher,
      });
    let res: Response;
    try {
      try {
        res = await send();
      } catch (error) {
        if (!retryable || !connectionDied(error)) throw error;
        res = await send(); // once more; the dead socket has left the pool
      }
    } catch (error) {
      throw new Error(
        `The local service should be at ${api} (runtime.json) but cannot be reached: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let problem: { code?: string; detail?: string; title?: string } = {};
    try {
      problem = JSON.parse(text);
    } catch {}
    const hint =
      res.status === 401
        ? " The admin key in runtime.json is no longer valid; stop the service to manage keys on the data folder directly."
        : "";
    throw new ServiceRefusal(
      `The local service at ${api} refused ${method} ${path}: ${res.status} ${problem.code ?? ""}: ${problem.detail ?? problem.title ?? text}.${hint}`,
      res.status,
      problem.code,
    );
  };
  return {
    api,
    async json<T>(method: string, path: string, body?: unknown, options: CallOptions = {}) {
      const res = await call(
        method,
        path,
        body === undefined ? {} : { "content-type": "application/json" },
        body === undefined ? undefined : JSON.stringify(body),
        options,
      );
      return (await res.json()) as T;
    },
    async bytes(path: string, accept: string): Promise<Uint8Array> {
      const res = await call("GET", path, { accept }, undefined, {});
      return new Uint8Array(await res.arrayBuffer());
    },
    async stream(path: string, accept: string): Promise<AsyncIterable<Uint8Array>> {
      const res = await call("GET", path, { accept }, undefined, {});
      return res.body ?? (async function* () {})();
    },
  };
}
