/**
 * The revocation authorizer's decision: the CA bundle and the CRL, each a PublishedSource
 * confirmed at most `maxAgeSeconds` ago, made into a RevocationList once per version of either,
 * and each client certificate checked under that list. It fails closed: when there is no CRL it
 * can trust (unreachable, unparsable, not from a CA in the bundle, badly signed, older than one
 * it already held, or past its nextUpdate) every certificate is denied, with the reason.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { parseCaBundle, type TrustedCa } from "./ca-bundle.ts";
import { type CachedCertificate, CertificateCache } from "./certificate-cache.ts";
import {
  checkClientCertificate,
  type Decision,
  issuerProblem,
  readClientCertificate,
} from "./client-certificate-check.ts";
import { PublishedSource, type Snapshot } from "./published-source.ts";
import { loadRevocationList, type RevocationList } from "./revocation-list.ts";

export interface RevocationAuthorizerOptions {
  /** The published DER CRL: http(s):// or s3://bucket/key. */
  readonly crlUrl: string;
  /** The published PEM CA bundle (truststore.pem): the same forms. */
  readonly caBundleUrl: string;
  /** How long a fetched (or 304-confirmed) CRL and bundle are used without asking again. */
  readonly maxAgeSeconds: number;
  readonly fetch?: typeof fetch;
  readonly s3?: () => S3Client;
  readonly now?: () => Date;
  /** Told when a new CRL or bundle is loaded or refused: once per version, not per request. */
  readonly onTrustChange?: (change: TrustChange) => void;
  /** Parsed and signature-checked client certificates kept (default 1,000; 0: none). */
  readonly certificateCacheSize?: number;
}

export type TrustChange =
  | {
      readonly loaded: true;
      readonly issuer: string;
      readonly crlNumber: bigint | undefined;
      readonly entries: number;
      readonly thisUpdate: Date;
      readonly nextUpdate: Date;
    }
  | { readonly loaded: false; readonly reason: string };

type Trust = { readonly list: RevocationList } | { readonly problem: string };

export class RevocationAuthorizer {
  private readonly options: RevocationAuthorizerOptions;
  private readonly crl: PublishedSource;
  private readonly bundle: PublishedSource;
  /** What the current versions of the two objects gave, good or bad, so neither is re-read. */
  private derived: { readonly key: string; readonly trust: Trust } | undefined;
  /** The bundle's CAs, kept while its version stays, so a new CRL alone re-reads only the CRL. */
  private bundleCas: { readonly generation: number; readonly cas: TrustedCa[] } | undefined;
  /** The highest cRLNumber loaded per issuing key: a replayed older CRL is refused. */
  private readonly highestNumber = new Map<string, bigint>();
  private readonly certificates: CertificateCache;

  constructor(options: RevocationAuthorizerOptions) {
    if (!Number.isFinite(options.maxAgeSeconds) || options.maxAgeSeconds < 0) {
      throw new RangeError(`maxAgeSeconds must be 0 or more, not ${options.maxAgeSeconds}`);
    }
    this.options = options;
    this.certificates = new CertificateCache(options.certificateCacheSize ?? 1000);
    const sourceOptions = {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.s3 ? { s3: options.s3 } : {}),
      ...(options.now ? { now: options.now } : {}),
    };
    this.crl = new PublishedSource(options.crlUrl, sourceOptions);
    this.bundle = new PublishedSource(options.caBundleUrl, sourceOptions);
  }

  async decide(pem: unknown): Promise<Decision> {
    // A missing or unparsable certificate is denied without asking for anything.
    const cached = this.read(pem);
    if ("problem" in cached) return { allow: false, reason: cached.problem };
    const { cert } = cached;
    const trust = await this.trust();
    const now = this.now();
    const untrusted = "problem" in trust ? trust.problem : trust.list.staleAt(now);
    if (untrusted !== undefined || "problem" in trust) {
      const reason = `no CRL to trust: ${untrusted}`;
      return { allow: false, reason, serial: cert.serial, failClosed: true };
    }
    const ca = trust.list.issuer;
    if (cached.verdict?.ca !== ca) cached.verdict = { ca, issuerProblem: issuerProblem(cert, ca) };
    return checkClientCertificate(cert, trust.list, now, cached.verdict);
  }

  private read(pem: unknown): CachedCertificate | { problem: string } {
    const hit = typeof pem === "string" ? this.certificates.get(pem) : undefined;
    if (hit) return hit;
    const cert = readClientCertificate(pem);
    if ("problem" in cert) return cert;
    const entry: CachedCertificate = { cert };
    this.certificates.add(pem as string, entry);
    return entry;
  }

  private async trust(): Promise<Trust> {
    const maxAgeMs = this.options.maxAgeSeconds * 1000;
    const [bundle, crl] = await Promise.allSettled([
      this.bundle.fresh(maxAgeMs),
      this.crl.fresh(maxAgeMs),
    ]);
    if (bundle.status === "rejected" || crl.status === "rejected") {
      const reasons = [bundle, crl].flatMap((r) =>
        r.status === "rejected" ? [(r.reason as Error).message] : [],
      );
      return { problem: reasons.join("; ") };
    }
    const key = `${bundle.value.generation}/${crl.value.generation}`;
    if (this.derived?.key !== key) {
      const trust = this.load(bundle.value, crl.value);
      this.derived = { key, trust };
      this.options.onTrustChange?.(
        "problem" in trust
          ? { loaded: false, reason: trust.problem }
          : {
              loaded: true,
              issuer: trust.list.issuer.name,
              crlNumber: trust.list.number,
              entries: trust.list.size,
              thisUpdate: trust.list.thisUpdate,
              nextUpdate: trust.list.nextUpdate,
            },
      );
    }
    return this.derived.trust;
  }

  private load(bundle: Snapshot, crl: Snapshot): Trust {
    let list: RevocationList;
    try {
      if (this.bundleCas?.generation !== bundle.generation) {
        this.bundleCas = undefined;
        this.bundleCas = { generation: bundle.generation, cas: parseCaBundle(bundle.body) };
      }
      list = loadRevocationList(crl.body, this.bundleCas.cas);
    } catch (error) {
      return { problem: `${(error as Error).message} (${this.crl.description})` };
    }
    const issuerKey = Buffer.from(list.issuer.spki).toString("hex");
    const highest = this.highestNumber.get(issuerKey);
    if (list.number !== undefined && highest !== undefined && list.number < highest) {
      return {
        problem: `the CRL's number ${list.number} is below ${highest}, which was already loaded: an older CRL is being served (${this.crl.description})`,
      };
    }
    if (list.number !== undefined) this.highestNumber.set(issuerKey, list.number);
    return { list };
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
