// Test-side RSA: seeded key pairs, BigInt modpow and byte conversions (the independent truth).

import { checkPrimeSync, constants, createPrivateKey, privateEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Prng } from '../../../host-sim/src/prng.js';

/** An RSA key pair for tests; `bytes` is the modulus length (top bit set). */
export interface TestRsaKey {
  readonly bytes: number;
  readonly n: bigint;
  readonly e: bigint;
  readonly d: bigint;
  /** node:crypto private key for fast raw (unpadded) private operations. */
  readonly privateKey: KeyObject;
}

const SMALL_PRIMES: readonly bigint[] = [
  3n,
  5n,
  7n,
  11n,
  13n,
  17n,
  19n,
  23n,
  29n,
  31n,
  37n,
  41n,
  43n,
  47n,
  53n,
  59n,
  61n,
  67n,
  71n,
  73n,
  79n,
  83n,
  89n,
  97n,
];

/** x^e mod m by square-and-multiply (written here, independent of the kernel). */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Big-endian bytes to BigInt. */
export function bytesToBig(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

/** BigInt to exactly `length` big-endian bytes. Throws RangeError when it does not fit. */
export function bigToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i -= 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`value wider than ${length} bytes`);
  return out;
}

/** A random BigInt of exactly `bits` bits (top bit set). */
export function randomBig(prng: Prng, bits: number): bigint {
  const bytes = prng.bytes(Math.ceil(bits / 8));
  let value = bytesToBig(bytes) & ((1n << BigInt(bits)) - 1n);
  value |= 1n << BigInt(bits - 1);
  return value;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError('not invertible');
  return ((oldS % m) + m) % m;
}

/** A prime of exactly `bits` bits from `prng` with gcd(p - 1, e) = 1. */
function seededPrime(prng: Prng, bits: number, e: bigint): bigint {
  for (let attempt = 0; attempt < 100_000; attempt += 1) {
    // The top two bits set make p * q exactly 2 * bits long.
    const candidate = randomBig(prng, bits) | (1n << BigInt(bits - 2)) | 1n;
    if (SMALL_PRIMES.some((s) => candidate % s === 0n)) continue;
    if ((candidate - 1n) % e === 0n) continue;
    if (e === 3n && candidate % 3n !== 2n) continue;
    if (checkPrimeSync(candidate, { checks: 20 })) return candidate;
  }
  throw new Error('no prime found');
}

/**
 * A deterministic RSA key of `bytes` bytes (even byte count: two equal primes) with public
 * exponent `e`, from `prng`.
 */
export function generateTestRsaKey(prng: Prng, bytes: number, e: bigint): TestRsaKey {
  if (bytes % 2 !== 0) throw new RangeError('modulus bytes must be even');
  const bits = bytes * 4;
  for (;;) {
    const p = seededPrime(prng, bits, e);
    const q = seededPrime(prng, bits, e);
    if (p === q) continue;
    const n = p * q;
    const phi = (p - 1n) * (q - 1n);
    const d = modInverse(e, phi);
    const b64 = (v: bigint, len: number): string =>
      Buffer.from(bigToBytes(v, len)).toString('base64url');
    const half = bits / 8;
    const privateKey = createPrivateKey({
      key: {
        kty: 'RSA',
        n: b64(n, bytes),
        e: b64(e, e > 255n ? 3 : 1),
        d: b64(d, bytes),
        p: b64(p, half),
        q: b64(q, half),
        dp: b64(d % (p - 1n), half),
        dq: b64(d % (q - 1n), half),
        qi: b64(modInverse(q, p), half),
      },
      format: 'jwk',
    });
    return { bytes, n, e, d, privateKey };
  }
}

/** Raw private operation message^d mod n (message < n), `key.bytes` bytes out. */
export function rsaSign(key: TestRsaKey, message: Uint8Array): Uint8Array {
  if (message.length !== key.bytes) throw new RangeError('message length');
  return new Uint8Array(
    privateEncrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, message),
  );
}
