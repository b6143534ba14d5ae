/**
 * The local gateways' server certificate: issued by the CA itself at start-up, for DNS
 * `localhost` and IP 127.0.0.1, so a client that trusts the CA bundle trusts the gateways too.
 * It goes through the signing path (CSR checks, a built-in profile's policy, issuance and the
 * self-check) but not through the request workflow: nobody approves the service's own local
 * listener, and it is not listed with the requested certificates (so it cannot be revoked
 * through the API either; a new one is issued at every start). The key stays in memory.
 */
import { generateKeyPairSync } from "node:crypto";
import type { Authority } from "@spca/core/ca/authority";
import { type IssuedCertificate, issueCertificate } from "@spca/core/certificate/issue";
import { buildCsr } from "@spca/core/csr/build";
import { checkCsr } from "@spca/core/csr/intake";
import { encodePem } from "@spca/core/encoding/pem";
import { ProfileSchema } from "@spca/core/policy/config";
import { evaluatePolicy } from "@spca/core/policy/evaluate";
import { algorithms } from "@spca/core/signer/algorithms";
import { LocalSigner } from "@spca/core/signer/local-signer";
import { subjectAltName } from "@spca/core/x509/extensions";
import type { San } from "@spca/core/x509/general-names";
import { nameObject } from "@spca/core/x509/name";
import * as v from "valibot";

/** The names the gateways answer on; the only ones the built-in profile admits. */
const NAMES: readonly San[] = [
  { type: "dns", value: "localhost" },
  { type: "ip", value: "127.0.0.1" },
];

const VALIDITY_DAYS = 30;
const DAY_MS = 86_400_000;

/** The gateways' profile: server authentication for localhost only, never configurable. */
const GATEWAY_PROFILE = v.parse(ProfileSchema, {
  description: "The local gateways' own server certificate.",
  extendedKeyUsage: ["serverAuth"],
  keys: { ec: ["P-256"] },
  subjectAltNames: { dns: { domains: ["localhost"] }, ip: { ranges: ["127.0.0.1/32"] } },
  subjectAttributes: ["CN"],
  maxSans: NAMES.length,
  validity: { defaultDays: VALIDITY_DAYS, maxDays: VALIDITY_DAYS },
  approval: { mode: "automatic" },
});

export interface ServerIdentity {
  /** PKCS#8 PEM. */
  readonly key: string;
  /** The server certificate followed by the issuing CA's certificate, PEM. */
  readonly cert: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Issues a fresh key and certificate for localhost and 127.0.0.1 under `authority`. */
export async function issueGatewayIdentity(
  authority: Authority,
  now = new Date(),
): Promise<ServerIdentity> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signer = new LocalSigner(privateKey, "local gateway key (in memory)");
  const csr = checkCsr(
    await buildCsr({
      subject: nameObject([{ type: "CN", value: "localhost" }]),
      spki: await signer.publicKey(),
      extensions: [subjectAltName(NAMES, false)],
      signatureAlgorithm: algorithms[signer.algorithm].identifier,
      sign: (info) => signer.sign(info),
    }),
  );
  // A CA that ends sooner than the usual validity still gets a gateway, for what it has left.
  const left = Math.floor((authority.certificate.notAfter.getTime() - now.getTime()) / DAY_MS);
  const days = Math.max(1, Math.min(VALIDITY_DAYS, left));
  const decision = evaluatePolicy(csr, "local-gateway", GATEWAY_PROFILE, days);
  const issued: IssuedCertificate = await issueCertificate(authority, csr, decision, now);
  return {
    key: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    cert: issued.pem + encodePem("CERTIFICATE", authority.certificate.der),
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
  };
}

/**
 * The gateways' identity, renewed once half its life is gone (a service left running for
 * weeks keeps a valid certificate; the gateways pick the new one up at their next reload).
 */
export class GatewayIdentity {
  private readonly authority: () => Promise<Authority>;
  private readonly now: () => Date;
  private held: ServerIdentity | undefined;
  private renewing: Promise<ServerIdentity> | undefined;

  constructor(authority: () => Promise<Authority>, now: () => Date = () => new Date()) {
    this.authority = authority;
    this.now = now;
  }

  /** The current identity, issuing a new one first when there is none or it is half used. */
  async current(): Promise<ServerIdentity> {
    if (this.held && !this.due(this.held)) return this.held;
    this.renewing ??= (async () => issueGatewayIdentity(await this.authority(), this.now()))();
    try {
      this.held = await this.renewing;
      return this.held;
    } finally {
      this.renewing = undefined;
    }
  }

  /** Whether `identity` is no longer the one current() would give. */
  stale(identity: ServerIdentity): boolean {
    return identity !== this.held || this.due(identity);
  }

  private due(identity: ServerIdentity): boolean {
    const half = (identity.notAfter.getTime() - identity.notBefore.getTime()) / 2;
    return this.now().getTime() >= identity.notBefore.getTime() + half;
  }
}
