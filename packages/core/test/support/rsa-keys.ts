/**
 * RSA private keys built from chosen primes, for the hostile-CSR corpus: weak keys (ROCA,
 * Fermat-close primes, a small factor) and unusual exponents that no key generator makes.
 * Everything is BigInt arithmetic plus node:crypto's primality test; each search is bounded.
 */
import {
  checkPrimeSync,
  createPrivateKey,
  generatePrimeSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

export function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError("not invertible");
  return ((oldS % m) + m) % m;
}

/** A uniformly random integer in [low, high]. */
export function randomBetween(low: bigint, high: bigint): bigint {
  if (high < low) throw new RangeError("empty range");
  const span = high - low + 1n;
  const bytes = Math.ceil(bitLength(span) / 8) + 8;
  return low + (BigInt(`0x${randomBytes(bytes).toString("hex")}`) % span);
}

export function isProbablePrime(n: bigint): boolean {
  return checkPrimeSync(n, { checks: 32 });
}

const SIEVE_PRIMES = (() => {
  const primes: number[] = [];
  for (let n = 3; n < 4000; n += 2) if (primes.every((p) => n % p !== 0)) primes.push(n);
  return primes;
})();

/** The smallest probable prime >= start, searching at most maxSteps odd candidates. */
export function nextPrime(start: bigint, maxSteps = 200_000): bigint {
  let candidate = start | 1n;
  const residues = SIEVE_PRIMES.map((p) => Number(candidate % BigInt(p)));
  for (let step = 0; step < maxSteps; step++, candidate += 2n) {
    let sieved = false;
    for (let i = 0; i < SIEVE_PRIMES.length; i++) {
      const p = SIEVE_PRIMES[i]!;
      const r = residues[i]!;
      if (r === 0 && candidate !== BigInt(p)) sieved = true;
      residues[i] = (r + 2) % p;
    }
    if (!sieved && isProbablePrime(candidate)) return candidate;
  }
  throw new Error(`no prime within ${maxSteps} odd numbers of the start`);
}

const b64url = (n: bigint): string => {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex").toString("base64url");
};

/** The JWK of the RSA private key with primes p, q and public exponent e. */
export function rsaJwkFromPrimes(p: bigint, q: bigint, e = 65537n) {
  const n = p * q;
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  const d = modInverse(e, lambda);
  return {
    kty: "RSA",
    n: b64url(n),
    e: b64url(e),
    d: b64url(d),
    p: b64url(p),
    q: b64url(q),
    dp: b64url(d % (p - 1n)),
    dq: b64url(d % (q - 1n)),
    qi: b64url(modInverse(q, p)),
  };
}

export function rsaKeyFromPrimes(p: bigint, q: bigint, e = 65537n): KeyObject {
  return createPrivateKey({ key: rsaJwkFromPrimes(p, q, e), format: "jwk" });
}

/** A 1024-bit prime whose two top bits are set, so two of them make a 2048-bit modulus. */
function prime1024(options: { add?: bigint; rem?: bigint } = {}, e = 65537n): bigint {
  for (let i = 0; i < 100; i++) {
    const p = generatePrimeSync(1024, { bigint: true, ...options });
    if (p >> 1022n === 3n && gcd(e, p - 1n) === 1n) return p;
  }
  throw new Error("no suitable 1024-bit prime in 100 tries");
}

/** An RSA 2048 key with public exponent 3 (allowed: odd and >= 3). */
export function exponentThreeKey(): KeyObject {
  // p = 5 mod 6 makes p odd and p - 1 prime to 3.
  const p = prime1024({ add: 6n, rem: 5n }, 3n);
  let q = p;
  while (q === p) q = prime1024({ add: 6n, rem: 5n }, 3n);
  return rsaKeyFromPrimes(p, q, 3n);
}

/** An RSA 2048 key whose primes are so close that Fermat's method splits it at once. */
export function fermatKey(): KeyObject {
  const p = prime1024();
  for (let i = 0; i < 100; i++) {
    const q = nextPrime(p + 2n + randomBetween(0n, 1n << 20n));
    if (gcd(65537n, q - 1n) === 1n && bitLength(p * q) === 2048) return rsaKeyFromPrimes(p, q);
  }
  throw new Error("no Fermat-close prime found");
}

/** 2 * 3 * 5 * ... * 167, the primorial Infineon's RSALib used for 512-960-bit primes. */
export const ROCA_M = (() => {
  let m = 1n;
  for (let n = 2n; n <= 167n; n++) {
    let prime = true;
    for (let d = 2n; d * d <= n; d++) if (n % d === 0n) prime = false;
    if (prime) m *= n;
  }
  return m;
})();

/** A 1024-bit prime of the ROCA form k * M + (65537^a mod M), top two bits set. */
export function rocaPrime(maxTries = 20_000): bigint {
  const low = (3n << 1022n) / ROCA_M + 1n;
  const high = ((1n << 1024n) - 1n) / ROCA_M - 1n;
  for (let i = 0; i < maxTries; i++) {
    const a = randomBetween(1n, 1n << 32n);
    const p = randomBetween(low, high) * ROCA_M + modPow(65537n, a, ROCA_M);
    if (p >> 1022n === 3n && gcd(65537n, p - 1n) === 1n && isProbablePrime(p)) return p;
  }
  throw new Error(`no ROCA-form prime in ${maxTries} tries`);
}

/** An RSA 2048 key with the ROCA fingerprint: both primes of Infineon's form. */
export function rocaKey(): KeyObject {
  const p = rocaPrime();
  let q = rocaPrime();
  while (q === p) q = rocaPrime();
  return rsaKeyFromPrimes(p, q);
}

/**
 * An RSA key whose modulus is `factor` times one large prime and exactly `bits` long. It signs
 * like any other RSA key: the arithmetic does not care how unbalanced the primes are.
 */
export function smallFactorKey(factor = 751n, bits = 2048): KeyObject {
  const low = (1n << BigInt(bits - 1)) / factor + 1n;
  const high = ((1n << BigInt(bits)) - 1n) / factor;
  for (let i = 0; i < 10; i++) {
    // Start low enough in the range that the search cannot run past its end.
    const q = nextPrime(randomBetween(low, low + (high - low) / 2n));
    if (q <= high && gcd(65537n, q - 1n) === 1n && bitLength(factor * q) === bits) {
      return rsaKeyFromPrimes(factor, q);
    }
  }
  throw new Error("no large prime for the small-factor key");
}
