/** NIST SP 800-89 5.3.3: an RSA modulus must have no prime factor below 752. */
export const SMALL_PRIMES: readonly number[] = (() => {
  const primes: number[] = [];
  for (let n = 2; n < 752; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
  return primes;
})();

// The product of all those primes, so one gcd-free reduction answers for all of them.
const PRODUCT = SMALL_PRIMES.reduce((acc, p) => acc * BigInt(p), 1n);

export function smallFactorOf(modulus: bigint): number | undefined {
  const residue = modulus % PRODUCT;
  for (const p of SMALL_PRIMES) if (residue % BigInt(p) === 0n) return p;
  return undefined;
}
