/**
 * An ALB or NLB trust store (one resource type for both). The load balancer never fetches a
 * CRL itself: each new CRL object version is added as a revocation list, and the list it
 * replaces is removed afterwards, so the store is never without our list. A CA bundle change
 * is a ModifyTrustStore to the bundle's new object version.
 *
 * Details kept between syncs: `revocationIds`, our lists holding the CRL `revocationFor`
 * (SHA-256 of its DER); `pendingRemoval`, lists of ours already replaced but not yet removed
 * (a run that stopped between Add and Remove). All ids are the service's numbers, as strings.
 */
import {
  AddTrustStoreRevocationsCommand,
  type DescribeTrustStoreRevocation,
  DescribeTrustStoreRevocationsCommand,
  type ElasticLoadBalancingV2Client,
  ModifyTrustStoreCommand,
  RemoveTrustStoreRevocationsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { crlFingerprint } from "../../crl/build.ts";
import type {
  EnforcementPublication,
  EnforcementTarget,
  TargetDetails,
  TargetResult,
  TargetState,
} from "../target.ts";
import { requireVersion, TargetRefusal } from "./quota-error.ts";

/** Elastic Load Balancing quotas per trust store (mutual TLS, "Trust stores" quotas). */
export const TRUST_STORE_MAX_REVOCATION_ENTRIES = 500_000;
export const TRUST_STORE_MAX_REVOCATION_LISTS = 30;
export const TRUST_STORE_MAX_REVOCATION_FILE_BYTES = 50 * 1024 * 1024;

export class AlbTrustStoreTarget implements EnforcementTarget {
  readonly kind = "alb-trust-store" as const;
  readonly id: string;
  private readonly client: ElasticLoadBalancingV2Client;

  constructor(client: ElasticLoadBalancingV2Client, trustStoreArn: string) {
    this.client = client;
    this.id = trustStoreArn;
  }

  async sync(
    publication: EnforcementPublication,
    inPlace: TargetState | undefined,
    checkpoint: (details: TargetDetails) => Promise<void>,
  ): Promise<TargetResult> {
    const actions: string[] = [];
    const crlSha256 = crlFingerprint(publication.crl.der);
    const details = inPlace?.details ?? {};
    let revocationIds = ids(details.revocationIds);
    let revocationFor = typeof details.revocationFor === "string" ? details.revocationFor : "";
    let pending = ids(details.pendingRemoval);
    const kept = (): TargetDetails => ({
      revocationIds,
      revocationFor,
      pendingRemoval: pending,
    });

    // The bundle first. A CRL counts only for an issuer the bundle holds, so a new CA's CRL
    // added before its certificate would be refused (InvalidRevocationContent) or do nothing.
    // The other way round costs at most the moments until Add below: the previous CRL stays in
    // place meanwhile, and a CA just added to the bundle has revoked little or nothing yet.
    if (inPlace?.bundleSha256 !== publication.bundle.sha256) {
      const { bucket, bundle } = publication;
      actions.push("ModifyTrustStore");
      await this.client.send(
        new ModifyTrustStoreCommand({
          TrustStoreArn: this.id,
          CaCertificatesBundleS3Bucket: bucket,
          CaCertificatesBundleS3Key: bundle.key,
          CaCertificatesBundleS3ObjectVersion: requireVersion(bundle, bucket, this.describe()),
        }),
      );
    }

    // Lists an interrupted run replaced: a newer list of ours is in place, so they go first,
    // which also frees their room for the list about to be added.
    if (pending.length > 0 && revocationIds.length > 0) {
      await this.remove(pending, actions);
      pending = [];
      await checkpoint(kept());
    }

    if (inPlace?.crlSha256 !== crlSha256 && revocationFor !== crlSha256) {
      const version = requireVersion(publication.crl, publication.bucket, this.describe());
      await this.checkQuotas(publication, new Set([...revocationIds, ...pending]), actions);
      actions.push("AddTrustStoreRevocations");
      const added = await this.client.send(
        new AddTrustStoreRevocationsCommand({
          TrustStoreArn: this.id,
          RevocationContents: [
            {
              S3Bucket: publication.bucket,
              S3Key: publication.crl.key,
              S3ObjectVersion: version,
              RevocationType: "CRL",
            },
          ],
        }),
      );
      const newIds = (added.TrustStoreRevocations ?? [])
        .map((r) => r.RevocationId)
        .filter((id): id is number => id !== undefined)
        .map(String);
      if (newIds.length === 0) {
        throw new Error(
          `AddTrustStoreRevocations on ${this.id} returned no revocation id for ` +
            `s3://${publication.bucket}/${publication.crl.key} (version ${version}).`,
        );
      }
      // Recorded at once: whatever happens next, the new list and the ones it replaces are known.
      pending = [...pending, ...revocationIds.filter((id) => !newIds.includes(id))];
      revocationIds = newIds;
      revocationFor = crlSha256;
      await checkpoint(kept());
    }

    if (pending.length > 0) {
      await this.remove(pending, actions);
      pending = [];
    }
    return { actions, details: kept() };
  }

  /**
   * Refuses, with the quota named, an Add the service would refuse or that could only succeed
   * by removing our current list first (a moment with no list, which is never done).
   */
  private async checkQuotas(
    publication: EnforcementPublication,
    ours: ReadonlySet<string>,
    actions: string[],
  ): Promise<void> {
    const { crl } = publication;
    const size = crl.body.length;
    if (size > TRUST_STORE_MAX_REVOCATION_FILE_BYTES) {
      throw new TargetRefusal(
        "TrustStoreRevocationFileTooLarge",
        `CRL ${crl.number} (${crl.key}) is ${size} bytes; a trust store revocation file may be ` +
          `at most ${TRUST_STORE_MAX_REVOCATION_FILE_BYTES} bytes (50 MB). ${this.describe()} keeps its current list.`,
      );
    }
    if (crl.entries > TRUST_STORE_MAX_REVOCATION_ENTRIES) {
      throw new TargetRefusal(
        "TooManyTrustStoreRevocationEntries",
        `CRL ${crl.number} lists ${crl.entries} revoked certificates; a trust store holds at most ` +
          `${TRUST_STORE_MAX_REVOCATION_ENTRIES}. ${this.describe()} keeps its current list.`,
      );
    }
    const lists = await this.describeRevocations(actions);
    if (lists.length + 1 > TRUST_STORE_MAX_REVOCATION_LISTS) {
      throw new TargetRefusal(
        "TooManyTrustStoreRevocationLists",
        `${this.describe()} already holds ${lists.length} revocation lists (at most ` +
          `${TRUST_STORE_MAX_REVOCATION_LISTS}); CRL ${crl.number} cannot be added before the list ` +
          "it replaces is removed. Remove lists that are no longer needed.",
      );
    }
    const entriesOf = (list: readonly DescribeTrustStoreRevocation[]) =>
      list.reduce((n, r) => n + (r.NumberOfRevokedEntries ?? 0), 0);
    const others = entriesOf(lists.filter((r) => !ours.has(String(r.RevocationId))));
    const replaced = entriesOf(lists.filter((r) => ours.has(String(r.RevocationId))));
    if (others + crl.entries > TRUST_STORE_MAX_REVOCATION_ENTRIES) {
      throw new TargetRefusal(
        "TooManyTrustStoreRevocationEntries",
        `${this.describe()}: its other revocation lists hold ${others} entries and CRL ` +
          `${crl.number} lists ${crl.entries}, more than the ${TRUST_STORE_MAX_REVOCATION_ENTRIES} a trust store holds.`,
      );
    }
    // During the swap the list being replaced is still there: the store must hold both.
    if (others + replaced + crl.entries > TRUST_STORE_MAX_REVOCATION_ENTRIES) {
      throw new TargetRefusal(
        "TooManyTrustStoreRevocationEntries",
        `${this.describe()}: CRL ${crl.number} (${crl.entries} entries) is added before the list ` +
          `it replaces (${replaced} entries) is removed, and with the other lists (${others} ` +
          `entries) that exceeds the ${TRUST_STORE_MAX_REVOCATION_ENTRIES} a trust store holds. ` +
          "Its current list stays in place.",
      );
    }
  }

  private async describeRevocations(actions: string[]): Promise<DescribeTrustStoreRevocation[]> {
    const lists: DescribeTrustStoreRevocation[] = [];
    let marker: string | undefined;
    do {
      actions.push("DescribeTrustStoreRevocations");
      const page = await this.client.send(
        new DescribeTrustStoreRevocationsCommand({
          TrustStoreArn: this.id,
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      lists.push(...(page.TrustStoreRevocations ?? []));
      marker = page.NextMarker;
    } while (marker);
    return lists;
  }

  /** Removes lists; one already gone (removed by hand, or by a run that then stopped) is fine. */
  private async remove(revocationIds: readonly string[], actions: string[]): Promise<void> {
    try {
      await this.removeCall(revocationIds, actions);
    } catch (error) {
      if (!isRevocationIdNotFound(error)) throw error;
      if (revocationIds.length === 1) return;
      // The call names every id; one missing fails all of them, so each goes on its own.
      for (const id of revocationIds) {
        try {
          await this.removeCall([id], actions);
        } catch (single) {
          if (!isRevocationIdNotFound(single)) throw single;
        }
      }
    }
  }

  private async removeCall(revocationIds: readonly string[], actions: string[]): Promise<void> {
    actions.push("RemoveTrustStoreRevocations");
    await this.client.send(
      new RemoveTrustStoreRevocationsCommand({
        TrustStoreArn: this.id,
        RevocationIds: revocationIds.map(Number),
      }),
    );
  }

  private describe(): string {
    return `trust store ${this.id}`;
  }
}

function ids(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : [...value];
}

function isRevocationIdNotFound(error: unknown): boolean {
  const e = error as { name?: unknown; Code?: unknown } | undefined;
  return e?.name === "RevocationIdNotFoundException" || e?.Code === "RevocationIdNotFound";
}
