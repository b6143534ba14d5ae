/**
 * The CLI's way into a running local service: runtime.json gives the API's URL and the admin
 * key, and every refusal comes back as an error naming the service's problem code and detail.
 */
import { readRuntimeInfo } from "../local/runtime-info.ts";
import { runtimeHolder } from "../local/runtime-lock.ts";

export interface ServiceClient {
  readonly api: string;
  /** JSON in, JSON out; a non-2xx answer throws with the problem's code and detail. */
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The raw body of a GET, for non-JSON answers (a DER CRL). */
  bytes(path: string, accept: string): Promise<Uint8Array>;
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

function serviceClient(api: string, adminKey: string): ServiceClient {
  const call = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...headers },
        ...(body === undefined ? {} : { body }),
      });
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
    throw new Error(
      `The local service at ${api} refused ${method} ${path}: ${res.status} ${problem.code ?? ""}: ${problem.detail ?? problem.title ?? text}.${hint}`,
    );
  };
  return {
    api,
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await call(
        method,
        path,
        body === undefined ? {} : { "content-type": "application/json" },
        body === undefined ? undefined : JSON.stringify(body),
      );
      return (await res.json()) as T;
    },
    async bytes(path: string, accept: string): Promise<Uint8Array> {
      const res = await call("GET", path, { accept });
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
