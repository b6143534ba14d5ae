/**
 * The enforcement-target port: a gate that refuses revoked certificates (an ALB or NLB trust
 * store, an API Gateway custom domain, an IAM Roles Anywhere trust anchor, or locally the
 * mutual-TLS stand-ins). The sync (sync.ts) hands each target the current publication and what
 * it last recorded for that target; the target makes the calls that bring it in step.
 */

export type TargetKind =
  | "alb-trust-store"
  | "api-gateway-domain"
  | "roles-anywhere-trust-anchor"
  | "local-gateway";

/** One published object, exactly as read from the bucket. */
export interface PublishedObject {
  /** Its key in the publication bucket. */
  readonly key: string;
  readonly body: Uint8Array;
  /** The S3 object version read (a versioned bucket); undefined locally. */
  readonly versionId: string | undefined;
  /** SHA-256 of the body, hex: what a target's state records as "in place". */
  readonly sha256: string;
}

/** What the gates are brought in step with: the issuing CA's current CRL and CA bundle. */
export interface EnforcementPublication {
  /** The publication bucket (trust stores and truststores are loaded from it). */
  readonly bucket: string;
  readonly caId: string;
  /** The CRL as PEM (`ca/<id>/crl.pem`): ALB trust stores and IAM Roles Anywhere take PEM. */
  readonly crl: PublishedObject & {
    readonly der: Uint8Array;
    readonly number: bigint;
    readonly entries: number;
    readonly nextUpdate: Date | undefined;
  };
  /** The trust-store bundle (`truststore.pem`): the CA chain, PEM. */
  readonly bundle: PublishedObject;
}

/** Per-target facts a target keeps between syncs (revocation ids, a CRL id), as strings. */
export type TargetDetails = Readonly<Record<string, string | readonly string[]>>;

/** What was last recorded for a target. */
export interface TargetState {
  readonly target: string;
  readonly kind: TargetKind;
  /** SHA-256 of the CRL and of the bundle the target holds; undefined before the first. */
  readonly crlSha256: string | undefined;
  readonly bundleSha256: string | undefined;
  /** The cRLNumber it holds, decimal. */
  readonly crlNumber: string | undefined;
  readonly details: TargetDetails;
  /** Failed attempts in a row since it was last in step. */
  readonly failures: number;
  readonly lastError: string | undefined;
  /** When a failed target is tried again at the earliest, unless the publication changes. */
  readonly retryAt: string | undefined;
  /** The CRL and bundle hashes (`<crl>:<bundle>`) the last failed attempt was for. */
  readonly failedFor: string | undefined;
  readonly updatedAt: string;
}

export interface TargetResult {
  /** The calls made, in order ("AddTrustStoreRevocations", ...); empty when none were needed. */
  readonly actions: readonly string[];
  /** What to keep for the next sync. */
  readonly details: TargetDetails;
}

export interface EnforcementTarget {
  /** The ARN, domain name or local name that identifies the gate (the state's key). */
  readonly id: string;
  readonly kind: TargetKind;
  /**
   * Brings the gate in step with `publication`. `inPlace` is what the last sync recorded (or
   * undefined): compare its hashes to the publication's to know what changed. Must be safe to
   * run again after failing part-way: `checkpoint` saves details at once (say, revocation ids
   * just added and not yet recorded), so a crash leaves nothing unaccounted for. Throws on
   * failure; an error whose `name` is the service's error code is reported with that code.
   */
  sync(
    publication: EnforcementPublication,
    inPlace: TargetState | undefined,
    checkpoint: (details: TargetDetails) => Promise<void>,
  ): Promise<TargetResult>;
}
