/**
 * Keep-alive timeouts of the local API server and of the CLI's client, kept in one place so
 * the client always drops an idle connection before the server does. Otherwise the client may
 * send a request on a socket the server is closing at that moment, and the request dies with
 * "other side closed" or ECONNRESET (issue 15). The server also advertises its timeout
 * (`Keep-Alive: timeout=30`), which Node's fetch and browsers follow with a margin.
 */
import { Server } from "node:http";
import type { ServerType } from "@hono/node-server";

/** How long the local API keeps an idle connection open. */
export const SERVER_KEEP_ALIVE_TIMEOUT_MS = 30_000;

/** How long the CLI keeps an idle connection to the local API: well under the server's. */
export const CLIENT_KEEP_ALIVE_TIMEOUT_MS = 4_000;

function http1(server: ServerType): Server {
  if (!(server instanceof Server)) throw new TypeError("An HTTP/1.1 server is expected");
  return server;
}

/**
 * Sets the keep-alive timeouts on the server `serve()` returned; call it before the server
 * takes connections (they apply to connections accepted afterwards).
 */
export function applyServerTimeouts(server: ServerType): void {
  const s = http1(server);
  s.keepAliveTimeout = SERVER_KEEP_ALIVE_TIMEOUT_MS;
  // The socket outlives the advertised timeout by this much, for a request already on its way.
  s.keepAliveTimeoutBuffer = 1_000;
}

/**
 * Stops taking connections and resolves once every open one is closed. A connection still
 * answering when this is called is closed as soon as it is idle, not a keep-alive timeout later
 * (`server.close()` alone closes only the connections idle at the time).
 */
export function closeServer(server: ServerType): Promise<void> {
  const s = http1(server);
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => s.closeIdleConnections(), 100);
    s.close(() => {
      clearInterval(sweep);
      resolve();
    });
  });
}
