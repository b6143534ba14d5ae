/**
 * Waiting out IAM propagation on the first deploy. The function's role and the CA key's key
 * policy are created moments before the deploy invokes the CA bootstrap, and IAM and KMS are
 * eventually consistent, so its first calls may be denied for a while. The deploy's calls are
 * retried while they are denied, with backoff, for about 90 seconds (the function's timeout is
 * 3 minutes); a denial that outlasts that is real, and the deploy fails saying so.
 */

import { setTimeout as sleep } from "node:timers/promises";

/** How AWS names a denied call: S3 says AccessDenied; KMS and DynamoDB AccessDeniedException. */
const deniedNames: ReadonlySet<string> = new Set(["AccessDenied", "AccessDeniedException"]);

export interface PropagationPolicy {
  /** How long to keep trying after the first denial, in milliseconds. */
  readonly budgetMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** Told before each wait (the function logs it). */
  readonly onRetry: (retry: DeniedRetry) => void;
}

export interface DeniedRetry {
  readonly what: string;
  /** The denied error's name, e.g. AccessDeniedException. */
  readonly error: string;
  readonly attempt: number;
  readonly waitMs: number;
}

export const defaultPropagationPolicy: PropagationPolicy = {
  budgetMs: 90_000,
  sleep: (ms) => sleep(ms),
  now: () => Date.now(),
  onRetry: () => {},
};

const FIRST_WAIT_MS = 1_000;
const LONGEST_WAIT_MS = 15_000;

/**
 * The denied AWS error in `error` or its causes (the KMS signer wraps KMS's errors in a
 * PkiError whose cause is the SDK's), or undefined when access was not denied.
 */
export function deniedError(error: unknown): Error | undefined {
  for (let at = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth++) {
    if (deniedNames.has(at.name)) return at;
  }
  return undefined;
}

/** Retries `run` while it is denied; see propagationRetries. */
export type RetryWhileDenied = <T>(what: string, run: () => Promise<T>) => Promise<T>;

/**
 * Retries for one invocation: each call runs `run`, again after a growing wait while it fails
 * with access denied. The budget is shared by the calls and counted from the first denial;
 * once it is spent, the denial is thrown as an error that names it. Other failures are thrown
 * at once.
 */
export function propagationRetries(
  policy: PropagationPolicy = defaultPropagationPolicy,
): RetryWhileDenied {
  let firstDenial: number | undefined;
  return async (what, run) => {
    let wait = FIRST_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const denied = deniedError(error);
        if (!denied) throw error;
        firstDenial ??= policy.now();
        const spent = policy.now() - firstDenial;
        if (spent >= policy.budgetMs) {
          throw new Error(
            `${what} is still denied after ${attempt} attempts over ${Math.round(spent / 1000)} s: the function's role or the CA key's key policy still denies it (${denied.name}: ${denied.message}).`,
            { cause: error },
          );
        }
        const waitMs = Math.min(wait, policy.budgetMs - spent);
        policy.onRetry({ what, error: denied.name, attempt, waitMs });
        await policy.sleep(waitMs);
        wait = Math.min(wait * 2, LONGEST_WAIT_MS);
      }
    }
  };
}
