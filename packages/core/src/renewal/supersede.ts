/**
 * `revokeSuperseded`: once a renewal's certificate is fetched, the holder has its successor,
 * so the one it renews is revoked as `superseded` (where the profile asks for it). A fetch is
 * the first sign the new certificate is in use; revoking at issuance could cut off a service
 * that has not picked up its new certificate yet. Revoking is idempotent, and a failure is
 * recorded and left for the next fetch: it never fails the download.
 */
import { PkiError } from "../errors.ts";
import type { Config } from "../policy/config.ts";
import { type RevocationDependencies, revokeCertificate } from "../ra/revocation.ts";
import type { CertificateRecord } from "../store/request-repository.ts";
import { renewalPolicyOf } from "./policy.ts";

export interface SupersedeDependencies extends RevocationDependencies {
  readonly config: Config;
  /** Where a failure is reported besides the audit trail. */
  readonly warn?: (message: string) => void;
}

/** Revokes what `fetched` renews, if its profile says so; true when it is (now) revoked. */
export async function revokeSuperseded(
  deps: SupersedeDependencies,
  fetched: CertificateRecord,
): Promise<boolean> {
  if (!fetched.renews) return false;
  const profile = deps.config.profiles[fetched.profile];
  if (!profile || !renewalPolicyOf(profile).revokeSuperseded) return false;
  const old = await deps.repository.getCertificate(fetched.renews);
  // Already done, or expired (an expired certificate is not revoked): nothing to do.
  const now = deps.now?.() ?? new Date();
  if (!old || old.revokedAt !== null || Date.parse(old.notAfter) < now.getTime()) return false;
  try {
    await revokeCertificate(deps, {
      serial: old.serial,
      reason: "superseded",
      revokedBy: "renewal",
    });
    return true;
  } catch (error) {
    const why = error instanceof PkiError ? `${error.code}: ${error.message}` : String(error);
    (deps.warn ?? console.warn)(
      `Revoking ${old.serial}, superseded by ${fetched.serial}, failed; the next fetch tries again. ${why}`,
    );
    await deps.repository
      .appendAudit(old.requestId, {
        actor: "renewal",
        action: "superseded revocation failed",
        details: { serial: old.serial, renewedBy: fetched.serial, error: why },
      })
      .catch(() => undefined);
    return false;
  }
}
