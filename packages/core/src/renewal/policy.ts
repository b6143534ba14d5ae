/**
 * A profile's renewal policy: whether a renewal is approved again or inherits the original
 * approval, when in a certificate's life it may be renewed, whether the renewed key may be
 * reused, and whether the old certificate is revoked (superseded) once its successor is fetched.
 */
import * as v from "valibot";
import { GraceDays } from "../policy/fields.ts";

/** Two thirds of the lifetime: where step-ca and cert-manager start renewing by default. */
export const DEFAULT_RENEWAL_START_FRACTION = 2 / 3;

export const RenewalSchema = v.strictObject({
  /**
   * `again`: the renewal waits for the profile's approvers like a new request. `inherit`: the
   * original request's approval stands. Default: `inherit` for automatic profiles, `again`
   * for manual ones.
   */
  approval: v.optional(
    v.picklist(["again", "inherit"], 'renewal.approval must be "again" or "inherit"'),
  ),
  window: v.optional(
    v.strictObject({
      /** The window opens at this fraction of the certificate's lifetime (0: at once). */
      startFraction: v.optional(
        v.pipe(
          v.number(),
          v.minValue(0, "renewal.window.startFraction must be between 0 and 1"),
          v.maxValue(1, "renewal.window.startFraction must be between 0 and 1"),
        ),
        DEFAULT_RENEWAL_START_FRACTION,
      ),
      /** And closes this many days after the certificate expires. */
      graceDays: v.optional(GraceDays("renewal.window.graceDays", 365), 0),
    }),
    {},
  ),
  /** Whether the renewal's CSR may carry the same public key as the certificate it renews. */
  reuseKey: v.optional(v.boolean(), false),
  /** Revoke the renewed certificate (reason superseded) once its successor is downloaded. */
  revokeSuperseded: v.optional(v.boolean(), false),
});

export type RenewalSettings = v.InferOutput<typeof RenewalSchema>;

export interface RenewalPolicy {
  readonly approval: "again" | "inherit";
  readonly startFraction: number;
  readonly graceDays: number;
  readonly reuseKey: boolean;
  readonly revokeSuperseded: boolean;
}

/** The policy in force for a profile: its `renewal`, with defaults by its approval mode. */
export function renewalPolicyOf(profile: {
  readonly approval: { readonly mode: "automatic" | "manual" };
  readonly renewal?: RenewalSettings | undefined;
}): RenewalPolicy {
  const settings = profile.renewal;
  return {
    approval: settings?.approval ?? (profile.approval.mode === "automatic" ? "inherit" : "again"),
    startFraction: settings?.window.startFraction ?? DEFAULT_RENEWAL_START_FRACTION,
    graceDays: settings?.window.graceDays ?? 0,
    reuseKey: settings?.reuseKey ?? false,
    revokeSuperseded: settings?.revokeSuperseded ?? false,
  };
}

export interface RenewalWindow {
  readonly opensAt: string;
  readonly closesAt: string;
}

const DAY_MS = 86_400_000;

/** When a certificate valid from `notBefore` to `notAfter` may be renewed under `policy`. */
export function renewalWindow(
  notBefore: string,
  notAfter: string,
  policy: Pick<RenewalPolicy, "startFraction" | "graceDays">,
): RenewalWindow {
  const from = Date.parse(notBefore);
  const to = Date.parse(notAfter);
  // Whole seconds, as certificates carry them.
  const opens = Math.floor((from + (to - from) * policy.startFraction) / 1000) * 1000;
  return {
    opensAt: new Date(opens).toISOString(),
    closesAt: new Date(to + policy.graceDays * DAY_MS).toISOString(),
  };
}
