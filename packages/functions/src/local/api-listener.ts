/**
 * The local API's HTTP server, listening before anything else starts: the address it really
 * listens on (a chosen port, or any free one for --port 0) is what links in mails and URLs in
 * certificates name, so it must be known before the CA is created and the first mail is sent.
 * Until the app is attached, every request is answered 503 with a problem, never held.
 */
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { PkiError } from "@spca/core/errors";
import { Hono } from "hono";
import { problemResponse } from "../api/problem.ts";
import { applyServerTimeouts, closeServer } from "./http-timeouts.ts";

type Fetch = (request: Request, env: unknown) => Response | Promise<Response>;

export interface ApiListener {
  /** `http://127.0.0.1:<port>`: where the API is reached. */
  readonly url: string;
  readonly port: number;
  /** Hands every request from now on to `fetch`. */
  attach(fetch: Fetch): void;
  close(): Promise<void>;
}

/** Every request before the app is attached: a problem as the API words its own. */
const starting = new Hono().all("*", (c) => {
  c.header("Retry-After", "1");
  return problemResponse(c, {
    status: 503,
    code: "SERVICE_STARTING",
    detail: "The service is starting; try again in a moment.",
  });
}).fetch;

export async function listenForApi(port: number): Promise<ApiListener> {
  let handler: Fetch | undefined;
  const server: ServerType = serve({
    fetch: (request, env) => (handler ?? starting)(request, env),
    hostname: "127.0.0.1",
    port,
  });
  applyServerTimeouts(server);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new PkiError(
              "PORT_IN_USE",
              `Something already listens on 127.0.0.1:${port} (another service, or this one on another data folder): pick another port with --port N.`,
            )
          : error,
      );
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    attach: (fetch) => {
      handler = fetch;
    },
    close: () => closeServer(server),
  };
}
