/**
 * An IAM Roles Anywhere trust anchor. It never fetches a CRL itself: ours is imported once
 * (ImportCrl, PEM) and each new CRL replaces its data (UpdateCrl). The CRL's id is kept in the
 * details (`crlId`); a run that stopped after the import finds it again by trust anchor and
 * name, so it is never imported twice. The anchor's CA bundle is not changed here.
 */
import {
  ImportCrlCommand,
  ListCrlsCommand,
  type RolesAnywhereClient,
  UpdateCrlCommand,
} from "@aws-sdk/client-rolesanywhere";
import { crlFingerprint } from "../../crl/build.ts";
import type {
  EnforcementPublication,
  EnforcementTarget,
  TargetDetails,
  TargetResult,
  TargetState,
} from "../target.ts";
import { TargetRefusal } from "./quota-error.ts";

/** ImportCrl and UpdateCrl take `crlData` of at most 300,000 bytes (the PEM). */
export const ROLES_ANYWHERE_MAX_CRL_BYTES = 300_000;
/** Trust-anchor APIs allow about one call a second; the gap runs from one call's end. */
export const ROLES_ANYWHERE_CALL_GAP_MS = 1_000;
const CRL_NAME = /^[ a-zA-Z0-9_-]{1,255}$/;

export interface CallClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const systemClock: CallClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Runs calls one at a time, each at least `gapMs` after the previous one ended. */
class SpacedCalls {
  clock: CallClock = systemClock;
  private tail: Promise<unknown> = Promise.resolve();
  private lastEnded = Number.NEGATIVE_INFINITY;
  private readonly gapMs: number;

  constructor(gapMs: number) {
    this.gapMs = gapMs;
  }

  run<T>(call: () => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      const wait = this.lastEnded + this.gapMs - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait);
      try {
        return await call();
      } finally {
        this.lastEnded = this.clock.now();
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  reset(clock: CallClock): void {
    this.clock = clock;
    this.lastEnded = Number.NEGATIVE_INFINITY;
  }
}

/** One for the process: every trust anchor's calls count against the same account limit. */
const rolesAnywhereCalls = new SpacedCalls(ROLES_ANYWHERE_CALL_GAP_MS);

/** For tests: the clock the spacing reads and sleeps on; returns a function restoring it. */
export function useRolesAnywhereClock(clock: CallClock): () => void {
  rolesAnywhereCalls.reset(clock);
  return () => rolesAnywhereCalls.reset(systemClock);
}

export interface RolesAnywhereCrlOptions {
  /** The imported CRL's name (letters, digits, space, `-`, `_`; at most 255). */
  readonly crlName: string;
  readonly tags: Readonly<Record<string, string>>;
}

export class RolesAnywhereTrustAnchorTarget implements EnforcementTarget {
  readonly kind = "roles-anywhere-trust-anchor" as const;
  readonly id: string;
  private readonly client: RolesAnywhereClient;
  private readonly options: RolesAnywhereCrlOptions;

  constructor(
    client: RolesAnywhereClient,
    trustAnchorArn: string,
    options: RolesAnywhereCrlOptions,
  ) {
    if (!CRL_NAME.test(options.crlName)) {
      throw new RangeError(
        `"${options.crlName}" is not an IAM Roles Anywhere CRL name (1 to 255 letters, digits, spaces, - and _).`,
      );
    }
    this.client = client;
    this.id = trustAnchorArn;
    this.options = options;
  }

  async sync(
    publication: EnforcementPublication,
    inPlace: TargetState | undefined,
    checkpoint: (details: TargetDetails) => Promise<void>,
  ): Promise<TargetResult> {
    const { crl } = publication;
    if (inPlace?.crlSha256 === crlFingerprint(crl.der)) {
      return { actions: [], details: inPlace.details };
    }
    if (crl.body.length > ROLES_ANYWHERE_MAX_CRL_BYTES) {
      throw new TargetRefusal(
        "CrlTooLarge",
        `CRL ${crl.number} (${crl.key}, ${crl.entries} entries) is ${crl.body.length} bytes of PEM; ` +
          `IAM Roles Anywhere takes at most ${ROLES_ANYWHERE_MAX_CRL_BYTES}. The CRL on trust ` +
          `anchor ${this.id} is left as it is.`,
      );
    }
    const actions: string[] = [];
    const known = inPlace?.details.crlId;
    if (typeof known === "string" && known !== "") {
      try {
        await this.update(known, crl.body, actions);
        return { actions, details: { crlId: known } };
      } catch (error) {
        // Deleted by someone else: imported again below.
        if ((error as { name?: unknown })?.name !== "ResourceNotFoundException") throw error;
        await checkpoint({});
      }
    }
    const found = await this.findOurs(actions);
    if (found) {
      await checkpoint({ crlId: found });
      await this.update(found, crl.body, actions);
      return { actions, details: { crlId: found } };
    }
    const crlId = await this.import(crl.body, actions);
    await checkpoint({ crlId });
    return { actions, details: { crlId } };
  }

  /** Our CRL on this trust anchor, imported by a run that stopped before recording its id. */
  private async findOurs(actions: string[]): Promise<string | undefined> {
    let nextToken: string | undefined;
    do {
      actions.push("ListCrls");
      const token = nextToken;
      const page = await rolesAnywhereCalls.run(() =>
        this.client.send(new ListCrlsCommand(token ? { nextToken: token } : {})),
      );
      const ours = (page.crls ?? []).find(
        (c) => c.trustAnchorArn === this.id && c.name === this.options.crlName && c.crlId,
      );
      if (ours?.crlId) return ours.crlId;
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  }

  private async import(pem: Uint8Array, actions: string[]): Promise<string> {
    const tags = Object.entries(this.options.tags).map(([key, value]) => ({ key, value }));
    actions.push("ImportCrl");
    const imported = await rolesAnywhereCalls.run(() =>
      this.client.send(
        new ImportCrlCommand({
          name: this.options.crlName,
          crlData: pem,
          trustAnchorArn: this.id,
          enabled: true,
          ...(tags.length > 0 ? { tags } : {}),
        }),
      ),
    );
    const crlId = imported.crl?.crlId;
    if (!crlId) throw new Error(`ImportCrl for trust anchor ${this.id} returned no CRL id.`);
    return crlId;
  }

  private async update(crlId: string, pem: Uint8Array, actions: string[]): Promise<void> {
    actions.push("UpdateCrl");
    await rolesAnywhereCalls.run(() =>
      this.client.send(new UpdateCrlCommand({ crlId, crlData: pem })),
    );
  }
}
