/**
 * Fermat factorisation: when p and q are close, a = ceil(sqrt(n)) plus a few steps gives
 * a^2 - n = b^2 and n = (a - b)(a + b). The Baseline Requirements ask CAs to reject moduli
 * this breaks within 100 rounds (as Boulder and badkeys do).
 */
export const FERMAT_ROUNDS = 100;

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // Newton's method from an over-estimate.
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

// Squares modulo 64 and 63 filter out most non-squares before the costly isqrt.
const squaresMod64 = new Set(Array.from({ length: 64 }, (_, i) => (i * i) % 64));
const squaresMod63 = new Set(Array.from({ length: 63 }, (_, i) => (i * i) % 63));

function isSquare(n: bigint): bigint | undefined {
  if (!squaresMod64.has(Number(n & 63n)) || !squaresMod63.has(Number(n % 63n))) return undefined;
  const r = isqrt(n);
  return r * r === n ? r : undefined;
}

/** Returns the factors when Fermat's method splits `n` within the allowed rounds. */
export function fermatFactor(n: bigint, rounds = FERMAT_ROUNDS): [bigint, bigint] | undefined {
  let a = isqrt(n);
  if (a * a < n) a += 1n;
  for (let i = 0; i < rounds; i++, a += 1n) {
    const b = isSquare(a * a - n);
    if (b !== undefined) return [a - b, a + b];
  }
  return undefined;
}
