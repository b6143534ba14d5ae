/** The renewal part of a certificate's view: when its window is and how it is approved. */
import type { Config } from "../policy/config.ts";
import { renewalPolicyOf, renewalWindow } from "../renewal/policy.ts";
import type { CertificateRecord } from "../store/request-repository.ts";
import type { RenewalView } from "./views.ts";

export function renewalView(
  config: Config,
  record: Pick<CertificateRecord, "profile" | "notBefore" | "notAfter">,
): RenewalView | null {
  const profile = config.profiles[record.profile];
  if (!profile) return null;
  const policy = renewalPolicyOf(profile);
  return { ...renewalWindow(record.notBefore, record.notAfter, policy), approval: policy.approval };
}
