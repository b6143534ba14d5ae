/**
 * An HTTPS server that requires a client certificate and checks it in the handshake against a
 * trust it is handed (the published CA bundle, and the published CRLs when it checks
 * revocation), swapped in place on every publication: the local gateways' common part.
 * Connections open at a swap keep the handshake they made, as on ALB and API Gateway.
 * A TLS server makes the decision; only accepted connections reach an HTTP server (which
 * never listens itself), so the handler never sees a client that failed the check.
 */
import { constants } from "node:crypto";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  type TLSSocket,
  type Server as TlsServer,
} from "node:tls";
import { normaliseSerial } from "@spca/core/certificate/serial";
import type { GatewayIdentity, ServerIdentity } from "./gateway-identity.ts";
import { SERVER_KEEP_ALIVE_TIMEOUT_MS } from "./http-timeouts.ts";

export interface GatewayTrust {
  /** The trust-store bundle: every CA certificate of the chain, PEM. */
  readonly bundlePem: string;
  /**
   * The CRLs (PEM), one per CA of the chain: OpenSSL then checks every certificate of the
   * client's chain (Node turns on CRL_CHECK_ALL). Undefined: the chain and dates only.
   */
  readonly crlPems?: readonly string[];
}

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export class MutualTlsServer {
  private readonly tls: TlsServer;
  private readonly http: HttpServer;
  private readonly identity: GatewayIdentity;
  private trust: GatewayTrust | undefined;
  private serving: ServerIdentity | undefined;

  constructor(name: string, identity: GatewayIdentity, handler: Handler) {
    this.identity = identity;
    this.http = createHttpServer(handler);
    this.http.keepAliveTimeout = SERVER_KEEP_ALIVE_TIMEOUT_MS;
    // Not rejectUnauthorized, which would close the connection before anyone could say whose
    // it was: the same refusal (the connection closed right after the handshake, no HTTP),
    // made here, with OpenSSL's verdict (CERT_REVOKED, ...) and the certificate in the log.
    this.tls = createTlsServer({ requestCert: true, rejectUnauthorized: false });
    this.tls.on("secureConnection", (socket: TLSSocket) => {
      if (socket.authorized) {
        this.http.emit("connection", socket);
        return;
      }
      const peer = socket.getPeerX509Certificate();
      const why = peer
        ? `${socket.authorizationError} (serial ${normaliseSerial(peer.serialNumber)}, ${peer.subject.replaceAll("\n", ", ")})`
        : "no client certificate";
      console.error(`${name}: refused a client in the handshake: ${why}`);
      socket.destroy();
    });
    // A handshake that fails outright (no certificate at all, a protocol error) ends here.
    this.tls.on("tlsClientError", () => undefined);
  }

  get loaded(): GatewayTrust | undefined {
    return this.trust;
  }

  /** Swaps in `trust` (and a renewed server certificate, when due) for new handshakes. */
  async load(trust: GatewayTrust): Promise<void> {
    const identity = await this.identity.current();
    this.tls.setSecureContext(secureContext(identity, trust));
    this.trust = trust;
    this.serving = identity;
  }

  /** Reloads with a new server certificate once the current one is half used. */
  async renewIdentity(): Promise<void> {
    if (this.trust && this.serving && this.identity.stale(this.serving)) {
      await this.load(this.trust);
    }
  }

  /** Listens on 127.0.0.1 (port 0: any free one); refuses before a trust is loaded. */
  async listen(port = 0): Promise<string> {
    if (!this.trust) throw new Error("A gateway must not take connections before it has a trust.");
    await new Promise<void>((resolve, reject) => {
      this.tls.once("error", reject);
      this.tls.listen(port, "127.0.0.1", () => {
        this.tls.off("error", reject);
        resolve();
      });
    });
    return `https://127.0.0.1:${(this.tls.address() as AddressInfo).port}`;
  }

  /** Stops taking connections; resolves once the open ones are closed (idle ones at once). */
  close(): Promise<void> {
    if (!this.tls.listening) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // The TLS server counts the connections; the HTTP server knows which ones are idle.
      const sweep = setInterval(() => this.http.closeIdleConnections(), 100);
      this.tls.close(() => {
        clearInterval(sweep);
        resolve();
      });
      this.http.closeIdleConnections();
    });
  }
}

function secureContext(identity: ServerIdentity, trust: GatewayTrust): SecureContextOptions {
  return {
    key: identity.key,
    cert: identity.cert,
    // Only the bundle: without `ca`, Node would trust its public root store instead.
    ca: trust.bundlePem,
    ...(trust.crlPems ? { crl: [...trust.crlPems] } : {}),
    minVersion: "TLSv1.2",
    // No session tickets: a resumed session skips the client certificate check, so a revoked
    // client could come back on an old ticket. ALB does not resume mutual-TLS sessions either.
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}
