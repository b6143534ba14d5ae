/**
 * The local stand-in for an API Gateway HTTP API custom domain with mutual TLS and a Lambda
 * REQUEST authorizer. Like API Gateway, it checks the client certificate's chain and dates
 * against the truststore in the TLS handshake, and leaves revocation to the authorizer: it
 * builds the payload 2.0 event, with `requestContext.authentication.clientCert`, calls the real
 * `mtls-authorizer` handler, and answers 403 {"message":"Forbidden"} when it denies, or 200
 * with the authorizer's context (what the integration would receive) when it allows.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { type AuthorizerSettings, mtlsAuthorizer } from "../lambda/mtls-authorizer.ts";
import { certificateOrderDn, clientCertFields } from "./client-cert-fields.ts";
import type { GatewayIdentity } from "./gateway-identity.ts";
import { MutualTlsServer } from "./mtls-server.ts";

/** The part of the payload 2.0 REQUEST authorizer event this stand-in fills in. */
export interface HttpApiAuthorizerEvent {
  readonly version: "2.0";
  readonly type: "REQUEST";
  readonly routeArn: string;
  readonly identitySource: readonly string[];
  readonly routeKey: "$default";
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly cookies?: readonly string[];
  readonly headers: Record<string, string>;
  readonly queryStringParameters?: Record<string, string>;
  readonly requestContext: {
    readonly accountId: string;
    readonly apiId: string;
    readonly authentication: {
      readonly clientCert: {
        readonly clientCertPem: string;
        readonly subjectDN: string;
        readonly issuerDN: string;
        readonly serialNumber: string;
        readonly validity: { readonly notBefore: string; readonly notAfter: string };
      };
    };
    readonly domainName: string;
    readonly domainPrefix: string;
    readonly http: {
      readonly method: string;
      readonly path: string;
      readonly protocol: string;
      readonly sourceIp: string;
      readonly userAgent: string;
    };
    readonly requestId: string;
    readonly routeKey: "$default";
    readonly stage: "$default";
    readonly time: string;
    readonly timeEpoch: number;
  };
}

const ACCOUNT = "000000000000";
const API_ID = "local";

export function createApiGatewayStandIn(
  identity: GatewayIdentity,
  /** The published CRL's and bundle's URLs (the local API serves the bucket's objects). */
  settings: AuthorizerSettings,
): MutualTlsServer {
  // One authorizer for the server's life, like a warm Lambda: its CRL cache carries over.
  const authorize = mtlsAuthorizer(settings);
  return new MutualTlsServer("api gateway stand-in", identity, (request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    // API Gateway answers once the request is in; the authorizer never sees the body.
    request.resume();
    request.once("end", () => {
      let event: HttpApiAuthorizerEvent;
      try {
        event = authorizerEvent(request);
      } catch {
        reply(400, { message: "Bad Request" });
        return;
      }
      authorize(event).then(
        (result) =>
          result.isAuthorized
            ? reply(200, result.context ?? {})
            : reply(403, { message: "Forbidden" }),
        (error: unknown) => {
          // An authorizer that fails is a 500 on API Gateway too; the log says why.
          console.error(`api gateway stand-in: the authorizer failed: ${(error as Error).stack}`);
          reply(500, { message: "Internal Server Error" });
        },
      );
    });
  });
}

/** The payload 2.0 event API Gateway hands a REQUEST authorizer for `request`. */
export function authorizerEvent(
  request: IncomingMessage,
  now = new Date(),
): HttpApiAuthorizerEvent {
  const socket = request.socket as TLSSocket;
  const peer = socket.getPeerX509Certificate();
  if (!peer) throw new Error("No client certificate");
  const fields = clientCertFields(peer);
  const url = new URL(request.url ?? "/", "https://local");
  const method = request.method ?? "GET";
  const headers: Record<string, string> = {};
  // Header names lower-cased, repeated headers joined with commas (cookies travel apart).
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === "cookie" || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const cookies = request.headers.cookie?.split(/;\s*/).filter((c) => c !== "");
  const query: Record<string, string> = {};
  for (const key of new Set(url.searchParams.keys())) {
    query[key] = url.searchParams.getAll(key).join(",");
  }
  const host = request.headers.host ?? "localhost";
  return {
    version: "2.0",
    type: "REQUEST",
    routeArn: `arn:aws:execute-api:us-east-1:${ACCOUNT}:${API_ID}/$default/${method}${url.pathname}`,
    identitySource: [],
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: API_ID,
      authentication: {
        clientCert: {
          clientCertPem: fields.pem,
          // API Gateway gives the names in certificate order, and the dates as OpenSSL
          // prints them ("May 28 12:30:02 2019 GMT"), which is what Node gives too.
          subjectDN: certificateOrderDn(peer.subject),
          issuerDN: certificateOrderDn(peer.issuer),
          serialNumber: fields.serial,
          validity: { notBefore: peer.validFrom, notAfter: peer.validTo },
        },
      },
      domainName: host.replace(/:\d+$/, ""),
      domainPrefix: host.split(".")[0]!.replace(/:\d+$/, ""),
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: socket.remoteAddress ?? "",
        userAgent: request.headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
  };
}

const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");

/** "12/Mar/2020:19:03:58 +0000", the requestContext.time format. */
function clfTime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
