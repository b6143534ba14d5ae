/**
 * The CLI's client for the running local service (service-client.ts) when a kept-alive
 * connection dies under a request, as a server closing an idle socket does at the moment the
 * next request arrives (issue 15: "other side closed" in CI). A raw HTTP server here answers a
 * connection's first request and destroys the connection when a second one arrives on it,
 * unanswered: a call that may be repeated is sent once more, on a new connection, and answered;
 * one that may not (creating a key) fails with the server having seen it exactly once. The
 * keep-alive timeouts of the real API server and of the client agree (http-timeouts.ts).
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { connectionDied, serviceClient } from "../src/cli/service-client.ts";
import {
  applyServerTimeouts,
  CLIENT_KEEP_ALIVE_TIMEOUT_MS,
  closeServer,
  SERVER_KEEP_ALIVE_TIMEOUT_MS,
} from "../src/local/http-timeouts.ts";

interface Seen {
  readonly method: string;
  readonly url: string;
  /** Which connection it came on (1, 2, ...). */
  readonly connection: number;
  /** The how-manieth request on that connection. */
  readonly onConnection: number;
  readonly body: string;
  readonly idempotencyKey: string | undefined;
}

/**
 * Answers each connection's first request with JSON and drops the connection on the next (on
 * every request while `mode.dropEverything`).
 */
function droppingServer() {
  const seen: Seen[] = [];
  const mode = { dropEverything: false };
  const connectionOf = new WeakMap<Socket, { id: number; requests: number }>();
  let connections = 0;
  const server = createServer(async (req: IncomingMessage, res) => {
    const socket = req.socket;
    let connection = connectionOf.get(socket);
    if (!connection) {
      connection = { id: ++connections, requests: 0 };
      connectionOf.set(socket, connection);
    }
    connection.requests++;
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({
      method: req.method!,
      url: req.url!,
      connection: connection.id,
      onConnection: connection.requests,
      body,
      idempotencyKey: req.headers["idempotency-key"] as string | undefined,
    });
    if (connection.requests > 1 || mode.dropEverything) {
      socket.destroy(); // no answer: the connection is gone
      return;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  server.keepAliveTimeout = 60_000; // only the dropping closes connections here
  const reset = () => {
    seen.length = 0;
    connections = 0;
    server.closeAllConnections();
  };
  return { server, seen, mode, reset };
}

describe("the CLI's service client on a connection that dies under a request", () => {
  const { server, seen, mode, reset } = droppingServer();
  let api: string;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(reset);

  test("a GET is sent again on a new connection and answered", async () => {
    const client = serviceClient(api, "k");
    assert.deepEqual(await client.json("GET", "/v1/crl/status"), {
      method: "GET",
      url: "/v1/crl/status",
    });
    assert.deepEqual(await client.json("GET", "/v1/keys"), { method: "GET", url: "/v1/keys" });
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.connection, s.onConnection]),
      [
        ["GET", "/v1/crl/status", 1, 1],
        ["GET", "/v1/keys", 1, 2], // the kept-alive connection, dropped
        ["GET", "/v1/keys", 2, 1],
      ],
    );
  });

  test("bytes (pki crl) are fetched again too", async () => {
    const client = serviceClient(api, "k");
    await client.json("GET", "/v1/crl/status");
    const crl = await client.bytes("/v1/crl", "application/pkix-crl");
    assert.equal(JSON.parse(Buffer.from(crl).toString()).url, "/v1/crl");
    assert.equal(seen.filter((s) => s.url === "/v1/crl").length, 2);
  });

  test("a revocation, which the API repeats idempotently, is sent again with the same body", async () => {
    const client = serviceClient(api, "k");
    await client.json("GET", "/v1/crl/status");
    const path = "/v1/certificates/0a1b/revoke";
    assert.deepEqual(
      await client.json("POST", path, { reason: "keyCompromise" }, { idempotent: true }),
      { method: "POST", url: path },
    );
    const posts = seen.filter((s) => s.method === "POST");
    assert.deepEqual(
      posts.map((s) => [s.connection, s.onConnection, s.body]),
      [
        [1, 2, '{"reason":"keyCompromise"}'],
        [2, 1, '{"reason":"keyCompromise"}'],
      ],
    );
  });

  test("a POST with an Idempotency-Key is sent again", async () => {
    const client = serviceClient(api, "k");
    await client.json("GET", "/v1/crl/status");
    await client.json("POST", "/v1/requests", {}, { idempotencyKey: "cli-1" });
    assert.deepEqual(
      seen.filter((s) => s.method === "POST").map((s) => s.idempotencyKey),
      ["cli-1", "cli-1"],
    );
  });

  test("creating a key is not sent again: the call fails and the server saw it once", async () => {
    const client = serviceClient(api, "k");
    await client.json("GET", "/v1/keys");
    await assert.rejects(
      client.json("POST", "/v1/keys", { role: "requester", owner: "ci@example.com", label: "ci" }),
      /The local service should be at http:\/\/127\.0\.0\.1:\d+ \(runtime\.json\) but cannot be reached: .*(other side closed|ECONNRESET)/,
    );
    assert.deepEqual(
      seen.filter((s) => s.method === "POST").map((s) => [s.url, s.connection]),
      [["/v1/keys", 1]],
    );
  });

  test("a call is sent again once, not again and again", async () => {
    mode.dropEverything = true;
    try {
      await assert.rejects(
        serviceClient(api, "k").json("GET", "/v1/keys"),
        /cannot be reached: .*(other side closed|ECONNRESET)/,
      );
    } finally {
      mode.dropEverything = false;
    }
    assert.deepEqual(
      seen.map((s) => [s.url, s.connection]),
      [
        ["/v1/keys", 1],
        ["/v1/keys", 2],
      ],
    );
  });
});

describe("what counts as a connection that died before an answer", () => {
  const failed = (cause: object) => new TypeError("fetch failed", { cause });
  test("closed or reset under the request", () => {
    const closed = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    assert.equal(connectionDied(failed(closed)), true);
    assert.equal(connectionDied(failed({ code: "ECONNRESET", message: "read ECONNRESET" })), true);
    assert.equal(connectionDied(failed({ code: "EPIPE", message: "write EPIPE" })), true);
  });
  test("not a refusal, a timeout, a malformed answer or anything else", () => {
    for (const cause of [
      { code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:1" },
      { code: "UND_ERR_CONNECT_TIMEOUT", message: "Connect Timeout Error" },
      { code: "UND_ERR_HEADERS_TIMEOUT", message: "Headers Timeout Error" },
      { code: "UND_ERR_BODY_TIMEOUT", message: "Body Timeout Error" },
      { code: "UND_ERR_SOCKET", message: "bad response" },
      { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND" },
    ]) {
      assert.equal(connectionDied(failed(cause)), false, cause.code);
    }
    assert.equal(connectionDied(new Error("boom")), false);
    assert.equal(connectionDied(undefined), false);
  });

  test("a refused connection is an error of its own", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(
      serviceClient(`http://127.0.0.1:${port}`, "k").json("GET", "/v1/keys"),
      /cannot be reached: .*ECONNREFUSED/,
    );
  });
});

describe("keep-alive timeouts", () => {
  let server: Server;
  before(async () => {
    server = createServer((_req, res) => res.end("ok"));
    applyServerTimeouts(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test("the client lets a connection go well before the server would", () => {
    assert.ok(
      CLIENT_KEEP_ALIVE_TIMEOUT_MS + 2_000 <= SERVER_KEEP_ALIVE_TIMEOUT_MS,
      `client ${CLIENT_KEEP_ALIVE_TIMEOUT_MS} ms, server ${SERVER_KEEP_ALIVE_TIMEOUT_MS} ms`,
    );
    assert.equal(server.keepAliveTimeout, SERVER_KEEP_ALIVE_TIMEOUT_MS);
    assert.ok(server.keepAliveTimeoutBuffer >= 0);
  });

  test("the server advertises its timeout, so clients that follow the hint stay under it", async () => {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.text();
    assert.equal(res.headers.get("keep-alive"), `timeout=${SERVER_KEEP_ALIVE_TIMEOUT_MS / 1000}`);
  });

  test("only an HTTP/1.1 server is taken", () => {
    const notHttp1 = {} as Parameters<typeof applyServerTimeouts>[0];
    assert.throws(() => applyServerTimeouts(notHttp1), TypeError);
    assert.throws(() => closeServer(notHttp1), TypeError);
  });
});

describe("closing the server", () => {
  test("a connection answering at close is closed once idle, not a keep-alive timeout later", async () => {
    let answer: (() => void) | undefined;
    const server = createServer((req, res) => {
      if (req.url === "/slow") answer = () => res.end("slow");
      else res.end("ok");
    });
    applyServerTimeouts(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = serviceClient(base, "k");
    await client.bytes("/warm", "*/*"); // a connection left idle
    const slow = fetch(`${base}/slow`).then((r) => r.text());
    while (!answer) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    const closed = closeServer(server);
    answer();
    assert.equal(await slow, "slow");
    await closed;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < SERVER_KEEP_ALIVE_TIMEOUT_MS / 2, `closed after ${elapsed} ms`);
  });
});
