/**
 * CRL reason codes (RFC 5280 5.3.1) this CA uses. "unspecified" is expressed by leaving the
 * reasonCode entry extension out (Baseline Requirements 7.2.2); certificateHold is never used.
 */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;

export type RevocationReason = keyof typeof revocationReasons;

export function isRevocationReason(value: string): value is RevocationReason {
  return Object.hasOwn(revocationReasons, value);
}

export function reasonName(code: number): RevocationReason | undefined {
  return (Object.keys(revocationReasons) as RevocationReason[]).find(
    (k) => revocationReasons[k] === code,
  );
}
