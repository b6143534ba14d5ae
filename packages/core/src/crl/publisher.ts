/**
 * Publishing the CRL: build it from the revocations store, sign it, and write the objects
 * relying parties fetch (DER at the distribution point, a PEM copy, the CA certificate and the
 * trust-store bundle). Any number of publishers may run at once (a Lambda per batch of
 * revocations, the schedule, a second local process): each asks for a ticket, one at a time
 * holds the CA's lease and publishes under the next cRLNumber, and a caller returns only once
 * a CRL built after its ticket is out. So the numbers in the bucket only ever increase, and no
 * revocation waits for the next one to be published (docs/revocation.md). Where the root's key
 * is held here too (a local two-tier CA), the schedule also publishes the root's CRL and
 * certificate, which the issuing CA certificate points to.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Authority, caIdOfChainPem } from "../ca/authority.ts";
import { publicationKeys } from "../ca/publication-urls.ts";
import { encodePem } from "../encoding/pem.ts";
import { isPkiError, TransientError } from "../errors.ts";
import type { EventBus } from "../events/bus.ts";
import type { Config } from "../policy/config.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type {
  CrlLease,
  CrlPublication,
  RevocationStore,
  UnpublishedRevocation,
} from "../store/revocation-store.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";
import { buildCrl, crlFingerprint, type RevokedEntry } from "./build.ts";
import { publishCaObjects } from "./ca-objects.ts";
import { crlCacheControl } from "./publication-cache.ts";

export type CrlTrigger = "revocation" | "schedule" | "startup";

/**
 * Unpublished revocations cleared per publication. More (a burst) keep the CRL owed, so the
 * next check publishes again and clears the next page.
 */
const UNPUBLISHED_PAGE = 1000;

export interface CrlPublisherDependencies {
  readonly revocations: RevocationStore;
  readonly objects: ObjectStore;
  readonly ca: IssuingCa;
  readonly config: Config;
  /** Where `crl.published` is announced, for the gates (enforcement/sync.ts). */
  readonly events?: EventBus;
  readonly now?: () => Date;
}

export interface CrlPublisherOptions {
  /** How long a holder may take before others may take the lease over. Default 60 s. */
  readonly leaseMs?: number;
  /** How long to wait for another holder's publication before giving up. Default 2 leases. */
  readonly waitMs?: number;
}

export interface CrlStatus extends CrlPublication {
  readonly caId: string;
  /** Where relying parties fetch it (the CRL distribution point of every certificate). */
  readonly url: string;
}

/**
 * The CA's last CRL publication, or undefined before the first. Needs no CA key. `caId`: the
 * CA whose CRL (default: the issuing CA's; the root's, see ca-choice.ts).
 */
export async function crlStatus(
  deps: Pick<CrlPublisherDependencies, "revocations" | "ca" | "config">,
  caId?: string,
): Promise<CrlStatus | undefined> {
  caId ??= caIdOfChainPem(await deps.ca.chainPem());
  const { published } = await deps.revocations.crlState(caId);
  if (!published) return undefined;
  return { caId, ...published, url: `${deps.config.publicBaseUrl}/${publicationKeys(caId).crl}` };
}

export class CrlPublisher {
  private readonly deps: CrlPublisherDependencies;
  private readonly leaseMs: number;
  private readonly waitMs: number;

  constructor(deps: CrlPublisherDependencies, options: CrlPublisherOptions = {}) {
    this.deps = deps;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.waitMs = options.waitMs ?? 2 * this.leaseMs;
  }

  /**
   * Publishes a CRL that lists every revocation recorded before this call (this caller's or
   * a concurrent publisher's) and returns what was published.
   */
  async publish(trigger: CrlTrigger): Promise<CrlPublication> {
    const published = await this.publishFor(await this.deps.ca.issuingAuthority(), trigger);
    // Revocations concern the issuing CA's CRL only; the root's is kept fresh by the schedule.
    if (trigger !== "revocation") {
      const root = await this.heldRoot();
      if (root) await this.publishFor(root, trigger);
    }
    return published;
  }

  private async publishFor(authority: Authority, trigger: CrlTrigger): Promise<CrlPublication> {
    const ticket = await this.deps.revocations.requestCrl(authority.id);
    const deadline = Date.now() + this.waitMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
      const state = await this.deps.revocations.crlState(authority.id);
      if (state.published && state.coveredTicket >= ticket) return state.published;
      const holder = randomUUID();
      const lease = await this.deps.revocations.acquireCrlLease(
        authority.id,
        holder,
        this.leaseEnd(),
      );
      if (lease) {
        await this.publishUnder(authority, holder, lease, trigger, state.published === null);
        continue;
      }
      if (Date.now() > deadline) {
        throw new TransientError(
          `CRL of CA ${authority.id}: another publisher has held the lease for over ${this.waitMs} ms.`,
        );
      }
      await sleep(delay);
    }
  }

  /** The root CA when its key is here (it signs its own, empty, CRL); else undefined. */
  private async heldRoot(): Promise<Authority | undefined> {
    if (!this.deps.ca.rootAuthority) return undefined;
    try {
      return await this.deps.ca.rootAuthority();
    } catch (error) {
      if (isPkiError(error, "CA_ROOT_NOT_HELD")) return undefined;
      throw error;
    }
  }

  /**
   * Publishes when there is no CRL yet, a recorded revocation is on no published CRL (its
   * event was lost, or the process died before publishing: then as a "revocation"
   * publication), or the last CRL is older than crl.refreshHours.
   */
  async publishIfDue(trigger: CrlTrigger = "schedule"): Promise<CrlPublication | undefined> {
    const { at, unpublished } = await this.due();
    if (unpublished) return this.publish("revocation");
    return at === undefined || at <= this.now().getTime() ? this.publish(trigger) : undefined;
  }

  /**
   * When the schedule should next publish (epoch ms): now while a revocation is unpublished;
   * undefined when nothing is published.
   */
  async nextDue(): Promise<number | undefined> {
    return (await this.due()).at;
  }

  private async due(): Promise<{ at: number | undefined; unpublished: boolean }> {
    const caId = caIdOfChainPem(await this.deps.ca.chainPem());
    const { published } = await this.deps.revocations.crlState(caId);
    if (!published) return { at: undefined, unpublished: false };
    const owed = await this.deps.revocations.unpublishedRevocations(caId, 1);
    if (owed.length > 0) return { at: this.now().getTime(), unpublished: true };
    const at = Date.parse(published.thisUpdate) + this.deps.config.crl.refreshHours * 3_600_000;
    return { at, unpublished: false };
  }

  private async publishUnder(
    authority: Authority,
    holder: string,
    lease: CrlLease,
    trigger: CrlTrigger,
    first: boolean,
  ): Promise<void> {
    const { revocations, objects, config } = this.deps;
    let listed: readonly UnpublishedRevocation[];
    try {
      // Read before the revocations, so each one listed here is in the CRL built below.
      listed = await revocations.unpublishedRevocations(authority.id, UNPUBLISHED_PAGE);
      const now = this.now();
      const cutOff = new Date(now.getTime() - config.crl.expiredGraceDays * 86_400_000);
      const pages: (readonly RevokedEntry[])[] = [];
      for await (const page of revocations.revokedEntries(authority.id, cutOff)) pages.push(page);
      // Whole seconds, as the CRL states them, so the status reports the CRL's own times.
      const thisUpdate = wholeSeconds(now.getTime());
      const nextUpdate = wholeSeconds(now.getTime() + config.crl.validityHours * 3_600_000);
      const der = await buildCrl(authority, {
        number: lease.number,
        thisUpdate,
        nextUpdate,
        entries: (function* () {
          for (const page of pages) yield* page;
        })(),
      });
      // A holder that stalled past its lease must not overwrite a newer CRL.
      if (!(await revocations.renewCrlLease(authority.id, holder, this.leaseEnd()))) {
        throw new TransientError(`CRL ${lease.number}: the publication lease was taken over.`);
      }
      const keys = publicationKeys(authority.id);
      const cacheControl = crlCacheControl(config.crl);
      await objects.put(keys.crl, der, "application/pkix-crl", { cacheControl });
      await objects.put(keys.crlPem, encodePem("X509 CRL", der), "application/x-pem-file", {
        cacheControl,
      });
      if (first || trigger !== "revocation") await this.publishCaObjects(authority);
      const publication: CrlPublication = {
        number: lease.number.toString(),
        thisUpdate: thisUpdate.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
        entries: pages.reduce((n, page) => n + page.length, 0),
        size: der.length,
        sha256: crlFingerprint(der),
        publishedAt: this.now().toISOString(),
        trigger,
      };
      if (!(await revocations.completeCrl(authority.id, holder, lease.ticket, publication))) {
        throw new TransientError(`CRL ${lease.number}: the publication lease was taken over.`);
      }
    } catch (error) {
      await revocations.releaseCrlLease(authority.id, holder).catch(() => undefined);
      throw error;
    }
    // The CRL is out. A mark left by a failure here, or a crash, costs one more CRL later.
    await revocations.markPublished(authority.id, listed).catch(() => undefined);
    await this.announce(authority.id, trigger);
  }

  /**
   * Tells the gates a CRL is out. Best effort: a lost announcement is made good by the
   * enforcement schedule, which compares the gates with the recorded publication.
   */
  private async announce(caId: string, trigger: CrlTrigger): Promise<void> {
    if (!this.deps.events) return;
    try {
      const { published } = await this.deps.revocations.crlState(caId);
      if (!published) return;
      await this.deps.events.publish("crl.published", {
        caId,
        number: published.number,
        thisUpdate: published.thisUpdate,
        nextUpdate: published.nextUpdate,
        entries: published.entries,
        trigger,
      });
    } catch (error) {
      // A detail the catalogue refuses is a bug to see, not a lost event to make good.
      if (isPkiError(error, "EVENT_INVALID")) throw error;
      // Otherwise see above: the schedule catches up.
    }
  }

  /** The CA certificate (DER and PEM) and the trust-store bundle of the whole chain. */
  private async publishCaObjects(authority: Authority): Promise<void> {
    const chainPem = await this.deps.ca.chainPem();
    await publishCaObjects(this.deps.objects, authority.id, authority.certificate.der, chainPem);
  }

  private leaseEnd(): Date {
    return new Date(this.now().getTime() + this.leaseMs);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
