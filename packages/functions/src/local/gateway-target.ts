/**
 * The local gateways as enforcement targets (kind "local-gateway"): the sync hands each the
 * current publication and it swaps its TLS trust in place. The ALB stand-in takes the bundle
 * and the CRLs (the issuing CA's from the publication, the ones above it from chain-crls.ts);
 * the API Gateway stand-in takes the bundle only, as a truststore does, since its authorizer
 * checks revocation. A gateway lives in this process, so it starts each run holding nothing
 * (local-enforcement.ts records that before the first sync).
 */
import { createHash } from "node:crypto";
import type {
  EnforcementPublication,
  EnforcementTarget,
  TargetResult,
} from "@spca/core/enforcement/target";
import { type ChainCrlSources, chainCrls } from "./chain-crls.ts";
import type { GatewayTrust, MutualTlsServer } from "./mtls-server.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const sha256 = (pem: string) => createHash("sha256").update(pem).digest("hex");

/** A CA above the issuing CA has no CRL to be had; the gateway refuses every client meanwhile. */
export class ChainCrlUnavailable extends Error {
  override readonly name = "ChainCrlUnavailable";
}

export class LocalGatewayTarget implements EnforcementTarget {
  readonly kind = "local-gateway" as const;
  readonly id: string;
  private readonly gateway: MutualTlsServer;
  /** Where the CRLs above the issuing CA come from; undefined: the gateway takes no CRLs. */
  private readonly revocation: ChainCrlSources | undefined;
  /** The publication last loaded, for reloading when only a CRL above it changed. */
  private loaded: { caId: string; bundlePem: string; crlPem: string } | undefined;

  constructor(id: string, gateway: MutualTlsServer, revocation?: ChainCrlSources) {
    this.id = id;
    this.gateway = gateway;
    this.revocation = revocation;
  }

  async sync(publication: EnforcementPublication): Promise<TargetResult> {
    const bundlePem = text(publication.bundle.body);
    if (!this.revocation) {
      await this.gateway.load({ bundlePem });
      return { actions: ["SetSecureContext"], details: {} };
    }
    this.loaded = { caId: publication.caId, bundlePem, crlPem: text(publication.crl.body) };
    return { actions: ["SetSecureContext"], details: await this.loadWithChainCrls() };
  }

  /**
   * Reloads when a CRL above the issuing CA changed since the last load (the root's CRL is
   * republished on its own, after the issuing CA's); returns whether it did. Also retries a
   * CRL that was missing.
   */
  async refreshChainCrls(): Promise<boolean> {
    if (!this.revocation || !this.loaded) return false;
    const { pems } = await chainCrls(this.loaded.bundlePem, this.loaded.caId, this.revocation);
    const held = this.gateway.loaded?.crlPems?.slice(1) ?? [];
    if (pems.length === held.length && pems.every((pem, i) => pem === held[i])) return false;
    await this.loadWithChainCrls();
    return true;
  }

  private async loadWithChainCrls(): Promise<Record<string, string[]>> {
    const { caId, bundlePem, crlPem } = this.loaded!;
    const chain = await chainCrls(bundlePem, caId, this.revocation!);
    // Loaded even with a CRL missing: CRL_CHECK_ALL then refuses every client (fail closed),
    // where the gateway's previous CRLs would still let a newly revoked one in.
    const trust: GatewayTrust = { bundlePem, crlPems: [crlPem, ...chain.pems] };
    await this.gateway.load(trust);
    if (chain.missing.length > 0) {
      throw new ChainCrlUnavailable(
        `The gateway refuses every client until it has the CRL of each CA of the chain: ${chain.missing.join("; ")}`,
      );
    }
    return { chainCrls: chain.pems.map(sha256) };
  }
}
