/**
 * Keeping the gates in step with the publication bucket. A run compares what each target
 * holds (its recorded state) with the issuing CA's current CRL and trust-store bundle, and
 * calls the target only when they differ. So it is the same call after a revocation's CRL, on
 * the minute schedule, after a crash or after a lost event: the stored state says what is owed.
 * Targets run side by side and each failure stays its own: it is recorded, announced as
 * `enforcement.failed`, and tried again (after a growing pause, or at once when the
 * publication changes). The CRL itself is never held back by a gate (docs/enforcement.md).
 */
import { caIdOfChainPem } from "../ca/authority.ts";
import { publicationKeys, TRUSTSTORE_KEY } from "../ca/publication-urls.ts";
import { crlFingerprint } from "../crl/build.ts";
import { parseCrl } from "../crl/parse.ts";
import { decodePemBlocks } from "../encoding/pem.ts";
import type { EventBus } from "../events/bus.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { RevocationStore } from "../store/revocation-store.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";
import type { EnforcementStateStore } from "./state-store.ts";
import type {
  EnforcementPublication,
  EnforcementTarget,
  TargetDetails,
  TargetKind,
  TargetState,
} from "./target.ts";

/** First pause after a failure; it doubles with each failure in a row, up to the maximum. */
export const RETRY_FIRST_MS = 60_000;
export const RETRY_MAX_MS = 15 * 60_000;

export interface EnforcementSyncDependencies {
  readonly targets: readonly EnforcementTarget[];
  readonly states: EnforcementStateStore;
  readonly objects: ObjectStore;
  readonly revocations: Pick<RevocationStore, "crlState">;
  readonly ca: Pick<IssuingCa, "chainPem">;
  readonly bus: EventBus;
  /** The publication bucket's name, which trust stores are loaded from. */
  readonly bucket: string;
  readonly now?: () => Date;
}

export type TargetOutcome =
  /** Already holds the current CRL and bundle. */
  | "current"
  /** Brought in step by this run. */
  | "updated"
  | "failed"
  /** Failed earlier for this same publication; its pause has not ended. */
  | "waiting"
  /** Nothing is published yet. */
  | "unpublished";

export interface TargetReport {
  readonly target: string;
  readonly kind: TargetKind;
  readonly outcome: TargetOutcome;
  readonly actions: readonly string[];
  readonly crlNumber?: string | undefined;
  readonly error?: { readonly code: string; readonly message: string; readonly attempts: number };
}

export class EnforcementSync {
  private readonly deps: EnforcementSyncDependencies;
  /** Runs one at a time in this process; on AWS the function's concurrency is one. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(deps: EnforcementSyncDependencies) {
    this.deps = deps;
  }

  get targets(): readonly EnforcementTarget[] {
    return this.deps.targets;
  }

  /** Brings every target in step with the current publication; one report per target. */
  run(): Promise<readonly TargetReport[]> {
    const run = this.queue.then(() => this.runOnce());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runOnce(): Promise<readonly TargetReport[]> {
    const { targets, revocations, objects, ca } = this.deps;
    if (targets.length === 0) return [];
    const caId = caIdOfChainPem(await ca.chainPem());
    const { published } = await revocations.crlState(caId);
    const bundle = published ? await objects.get(TRUSTSTORE_KEY) : undefined;
    if (!published || !bundle) {
      return targets.map((t) => ({
        target: t.id,
        kind: t.kind,
        outcome: "unpublished",
        actions: [],
      }));
    }
    const bundleSha256 = crlFingerprint(bundle.body);
    let publication: Promise<EnforcementPublication> | undefined;
    const load = () => {
      publication ??= this.readPublication(caId, {
        key: TRUSTSTORE_KEY,
        body: bundle.body,
        versionId: bundle.versionId,
        sha256: bundleSha256,
      });
      return publication;
    };
    return Promise.all(
      targets.map((target) => this.syncTarget(target, published.sha256, bundleSha256, load)),
    );
  }

  private async syncTarget(
    target: EnforcementTarget,
    crlSha256: string,
    bundleSha256: string,
    load: () => Promise<EnforcementPublication>,
  ): Promise<TargetReport> {
    const { states } = this.deps;
    const base = { target: target.id, kind: target.kind };
    const inPlace = await states.get(target.id);
    if (inPlace?.crlSha256 === crlSha256 && inPlace.bundleSha256 === bundleSha256) {
      return { ...base, outcome: "current", actions: [], crlNumber: inPlace.crlNumber };
    }
    const now = this.now();
    const attempt = `${crlSha256}:${bundleSha256}`;
    if (
      inPlace?.failedFor === attempt &&
      inPlace.retryAt !== undefined &&
      Date.parse(inPlace.retryAt) > now.getTime()
    ) {
      return { ...base, outcome: "waiting", actions: [], crlNumber: inPlace.crlNumber };
    }
    let details: TargetDetails = inPlace?.details ?? {};
    const recorded = (): TargetState => ({
      ...base,
      crlSha256: inPlace?.crlSha256,
      bundleSha256: inPlace?.bundleSha256,
      crlNumber: inPlace?.crlNumber,
      details,
      failures: inPlace?.failures ?? 0,
      lastError: inPlace?.lastError,
      retryAt: inPlace?.retryAt,
      failedFor: inPlace?.failedFor,
      updatedAt: inPlace?.updatedAt ?? now.toISOString(),
    });
    try {
      const publication = await load();
      const result = await target.sync(publication, inPlace, async (checkpoint) => {
        details = checkpoint;
        await states.put(recorded());
      });
      const updatedAt = this.now().toISOString();
      const crlNumber = publication.crl.number.toString();
      await states.put({
        ...base,
        crlSha256: crlFingerprint(publication.crl.der),
        bundleSha256: publication.bundle.sha256,
        crlNumber,
        details: result.details,
        failures: 0,
        lastError: undefined,
        retryAt: undefined,
        failedFor: undefined,
        updatedAt,
      });
      await this.announce("enforcement.updated", {
        ...base,
        crlNumber,
        actions: [...result.actions],
        updatedAt,
      });
      return { ...base, outcome: "updated", actions: result.actions, crlNumber };
    } catch (error) {
      const failures = (inPlace?.failures ?? 0) + 1;
      const code = errorCode(error);
      const message = `${(error as Error)?.message ?? String(error)}`.slice(0, 2048);
      const failedAt = this.now();
      const pause = Math.min(RETRY_FIRST_MS * 2 ** (failures - 1), RETRY_MAX_MS);
      await states
        .put({
          ...recorded(),
          failures,
          lastError: `${code}: ${message}`,
          retryAt: new Date(failedAt.getTime() + pause).toISOString(),
          failedFor: attempt,
        })
        .catch(() => undefined);
      await this.announce("enforcement.failed", {
        ...base,
        code,
        message,
        attempts: failures,
        failedAt: failedAt.toISOString(),
      });
      return {
        ...base,
        outcome: "failed",
        actions: [],
        crlNumber: inPlace?.crlNumber,
        error: { code, message, attempts: failures },
      };
    }
  }

  /** The CRL (PEM object) and bundle as the bucket holds them now, versions included. */
  private async readPublication(
    caId: string,
    bundle: EnforcementPublication["bundle"],
  ): Promise<EnforcementPublication> {
    const key = publicationKeys(caId).crlPem;
    const object = await this.deps.objects.get(key);
    if (!object)
      throw new Error(`The CRL ${key} is recorded as published but is not in the bucket.`);
    const block = decodePemBlocks(new TextDecoder().decode(object.body)).find(
      (b) => b.label === "X509 CRL",
    );
    if (!block) throw new Error(`${key} holds no PEM "X509 CRL" block.`);
    const parsed = parseCrl(block.der);
    let entries = 0;
    for (const _ of parsed.entries()) entries++;
    return {
      bucket: this.deps.bucket,
      caId,
      crl: {
        key,
        body: object.body,
        versionId: object.versionId,
        sha256: crlFingerprint(object.body),
        der: block.der,
        number: parsed.number ?? 0n,
        entries,
        nextUpdate: parsed.nextUpdate,
      },
      bundle,
    };
  }

  /** An event that cannot be sent does not undo the work; the state holds the truth. */
  private async announce(
    type: "enforcement.updated" | "enforcement.failed",
    detail: Parameters<EventBus["publish"]>[1],
  ): Promise<void> {
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the two details are checked by the catalogue.
      await this.deps.bus.publish(type, detail as any);
    } catch {
      // The bus's own log says why; the next change announces again.
    }
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** The service's error name (an SDK error's `name`), or ours for a plain error. */
function errorCode(error: unknown): string {
  // An SDK error's wire code (`Code`: TooManyTrustStoreRevocationEntries) is what the AWS
  // documentation names; its `name` adds "Exception". Ours and PkiError carry `code`.
  const { Code, code } = (error ?? {}) as { Code?: unknown; code?: unknown };
  for (const candidate of [Code, code]) {
    if (typeof candidate === "string" && /^[A-Za-z_]{1,128}$/.test(candidate)) return candidate;
  }
  const name = (error as { name?: unknown } | undefined)?.name;
  if (typeof name === "string" && name !== "" && name !== "Error" && name.length <= 128) {
    return name;
  }
  return "EnforcementError";
}
