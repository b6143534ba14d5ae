/**
 * The storage authority's port for revocations and for the CRL built from them: each
 * certificate revoked at most once (the first reason stands), the revoked serials a CRL lists,
 * and the publication state that keeps cRLNumber strictly increasing however many publishers
 * run at once. The DynamoDB adapter (dynamo-revocation-store.ts) implements it; the protocol
 * is in docs/revocation.md.
 */
import type { RevokedEntry } from "../crl/build.ts";
import type { RevocationReason } from "../crl/reasons.ts";

export interface RevocationRecord {
  /** The issuing CA's id (Authority.id): each CA has its own CRL. */
  readonly caId: string;
  /** Lowercase hex, normalised (certificate/serial.ts). */
  readonly serial: string;
  /** The certificate's notAfter: the CRL keeps the entry until a grace period after it. */
  readonly notAfter: string;
  readonly reason: RevocationReason;
  /** Whole seconds, as the CRL states it. */
  readonly revokedAt: string;
  readonly requestId: string | null;
  /** Who revoked it: an API key id, or "cli". */
  readonly revokedBy: string;
}

export interface RecordRevocationResult {
  readonly record: RevocationRecord;
  /** False when the certificate was already revoked: `record` is that first revocation. */
  readonly created: boolean;
}

/** What one published CRL was; the status the API and `pki crl status` report. */
export interface CrlPublication {
  /** cRLNumber, decimal. */
  readonly number: string;
  readonly thisUpdate: string;
  readonly nextUpdate: string;
  readonly entries: number;
  /** Bytes of DER. */
  readonly size: number;
  readonly sha256: string;
  readonly publishedAt: string;
  /** What caused it: "revocation", "schedule" or "startup". */
  readonly trigger: string;
}

export interface CrlLease {
  /** The cRLNumber this holder publishes under: higher than any handed out before. */
  readonly number: bigint;
  /** Publication requests up to this ticket are covered by what the holder publishes. */
  readonly ticket: number;
}

export interface CrlState {
  readonly published: CrlPublication | null;
  /** The highest request ticket that a published CRL covers. */
  readonly coveredTicket: number;
  readonly lastTicket: number;
}

/** A revocation no published CRL is known to list yet (its key in the CA's partition). */
export interface UnpublishedRevocation {
  readonly serial: string;
  readonly notAfter: string;
}

export interface RevocationStore {
  /**
   * Records a revocation once. A second call (any reason) returns the first, `created: false`.
   * The record is written marked unpublished, in the same write: the durable fact that a CRL
   * is owed, whatever happens to the event that announces it.
   */
  recordRevocation(record: RevocationRecord): Promise<RecordRevocationResult>;

  /**
   * Revocations still marked unpublished, oldest first, at most `limit`. Read from an index, so
   * a revocation recorded a moment ago may be missing; one seen here is in any strongly
   * consistent `revokedEntries` read that starts afterwards.
   */
  unpublishedRevocations(caId: string, limit: number): Promise<readonly UnpublishedRevocation[]>;

  /**
   * Whether the revocation of this certificate still carries its unpublished mark: no completed
   * CRL is known to list it. Strongly consistent (the item itself, not the index).
   */
  isUnpublished(caId: string, serial: string, notAfter: string): Promise<boolean>;

  /** Clears the unpublished mark of revocations a completed CRL lists. */
  markPublished(caId: string, revocations: readonly UnpublishedRevocation[]): Promise<void>;

  /** The revocation of a certificate (found by its serial and notAfter), strongly consistent. */
  getRevocation(
    caId: string,
    serial: string,
    notAfter: string,
  ): Promise<RevocationRecord | undefined>;

  /**
   * The CA's revoked certificates whose notAfter is at or after `notAfterFrom`, page by page,
   * strongly consistent: every revocation recorded before the call is in it.
   */
  revokedEntries(caId: string, notAfterFrom: Date): AsyncIterable<readonly RevokedEntry[]>;

  /** Asks for a new CRL; the ticket is covered once a CRL built after it is published. */
  requestCrl(caId: string): Promise<number>;

  /**
   * Takes the CA's publication lease until `until` if nobody holds it (or their lease ran
   * out), with the next cRLNumber; undefined while another publisher holds it.
   */
  acquireCrlLease(caId: string, holder: string, until: Date): Promise<CrlLease | undefined>;

  /** Extends a held lease; false when it was lost (another publisher took it over). */
  renewCrlLease(caId: string, holder: string, until: Date): Promise<boolean>;

  /** Records the publication and releases the lease; false when the lease was lost. */
  completeCrl(
    caId: string,
    holder: string,
    ticket: number,
    publication: CrlPublication,
  ): Promise<boolean>;

  /** Gives the lease back after a failed publication (nothing if it was lost). */
  releaseCrlLease(caId: string, holder: string): Promise<void>;

  /**
   * Ends whatever lease is held, whoever holds it. Only for a caller that knows no other
   * publisher is alive: the local service at start-up, under its data-folder lock.
   */
  breakCrlLease(caId: string): Promise<void>;

  crlState(caId: string): Promise<CrlState>;
}
