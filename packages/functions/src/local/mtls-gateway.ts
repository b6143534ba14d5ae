/**
 * The local stand-in for an ALB listener with a trust store in verify mode: a client
 * certificate that is revoked (by the published CRL), expired, or not from the CA bundle is
 * refused in the TLS handshake; an accepted one gets 200 and, as JSON, what ALB would forward to
 * its targets about it (subject, serial, SANs and the X-Amzn-Mtls-Clientcert-* headers).
 * Its trust is the published bundle and CRLs, reloaded on every publication (gateway-target.ts).
 */
import type { TLSSocket } from "node:tls";
import { albClientCertHeaders, clientCertFields } from "./client-cert-fields.ts";
import type { GatewayIdentity } from "./gateway-identity.ts";
import { MutualTlsServer } from "./mtls-server.ts";

/** The body the gateway answers an accepted client with. */
export interface MtlsGatewayReply {
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly sans: readonly { readonly type: string; readonly value: string }[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** The headers ALB adds to the request it forwards, with their values. */
  readonly headers: Record<string, string>;
}

export function createMtlsGateway(identity: GatewayIdentity): MutualTlsServer {
  return new MutualTlsServer("mtls gateway", identity, (request, response) => {
    // Only a verified client gets here (rejectUnauthorized); the handshake checked it.
    const peer = (request.socket as TLSSocket).getPeerX509Certificate();
    if (!peer) {
      response.writeHead(403, { "content-type": "application/json" });
      response.end(JSON.stringify({ message: "A client certificate is required." }));
      return;
    }
    const fields = clientCertFields(peer);
    const reply: MtlsGatewayReply = {
      subject: fields.subject,
      issuer: fields.issuer,
      serial: fields.serial,
      sans: fields.sans,
      notBefore: fields.notBefore.toISOString(),
      notAfter: fields.notAfter.toISOString(),
      headers: albClientCertHeaders(fields),
    };
    response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    response.end(JSON.stringify(reply));
  });
}
