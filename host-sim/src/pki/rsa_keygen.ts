// Deterministic RSA key pairs for the test PKI: seeded prime search, node:crypto private ops.

import { checkPrimeSync, constants, createPrivateKey, privateEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Prng } from '../prng.js';

/** Public exponents the EMV/PBOC certificate formats allow. */
export type RsaExponent = 3 | 65537;

/** An RSA key pair. All numbers are BigInt; `bits` is the exact modulus length. */
export interface RsaKeyPair {
  readonly bits: number;
  readonly n: bigint;
  readonly e: bigint;
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
}

/** Smallest and largest modulus sizes we generate (EMV allows up to 1984 bits). */
export const RSA_BITS_MIN = 512;
export const RSA_BITS_MAX = 1984;

/** Odd primes below this bound pre-filter candidates before the costly primality test. */
const SIEVE_BOUND = 4096;
/** A prime search gives up after this many candidates (expected: a few hundred). */
const CANDIDATES_MAX = 200_000;

const SIEVE_PRIMES: readonly number[] = sievePrimes(SIEVE_BOUND);

/**
 * Generates a key pair whose primes come only from `prng`, so the same seed always yields the
 * same key. Candidates are sieved by small primes, then tested with OpenSSL's Miller-Rabin
 * (node:crypto `checkPrimeSync`, which is deterministic for our purpose: a prime always
 * passes, a composite fails with probability above 1 - 2^-128).
 * For e = 3 every prime satisfies p = 2 (mod 3), so gcd(e, p - 1) = 1.
 * Throws RangeError when `bits` is not a multiple of 8 within RSA_BITS_MIN..RSA_BITS_MAX.
 */
export function generateRsaKeyPair(prng: Prng, bits: number, e: RsaExponent): RsaKeyPair {
  if (!(bits % 8 === 0 && bits >= RSA_BITS_MIN && bits <= RSA_BITS_MAX)) {
    throw new RangeError(`RSA modulus of ${bits} bits`);
  }
  const pBits = Math.ceil(bits / 2);
  const qBits = bits - pBits;
  const p = searchPrime(prng, pBits, e);
  let q = searchPrime(prng, qBits, e);
  while (q === p) q = searchPrime(prng, qBits, e);
  return rsaKeyFromPrimes(p, q, BigInt(e));
}

/**
 * Rebuilds a key pair from its primes (fixtures store only p and q).
 * Throws RangeError when e is not invertible modulo lcm(p - 1, q - 1).
 */
export function rsaKeyFromPrimes(p: bigint, q: bigint, e: bigint): RsaKeyPair {
  const n = p * q;
  const lambda = lcm(p - 1n, q - 1n);
  const d = modInverse(e, lambda);
  return { bits: n.toString(2).length, n, e, d, p, q };
}

const keyObjects = new WeakMap<RsaKeyPair, KeyObject>();

/**
 * The raw RSA private operation m^d mod n (no padding), through OpenSSL with CRT.
 * `message` must be exactly bits/8 bytes and numerically below n (EMV messages start 6A).
 * Returns the signature, left-padded to the modulus length.
 * Throws RangeError on a wrong message length.
 */
export function rsaPrivate(key: RsaKeyPair, message: Uint8Array): Uint8Array {
  const size = key.bits / 8;
  if (message.length !== size) throw new RangeError(`message ${message.length} != ${size} bytes`);
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = createPrivateKey({ key: rsaJwk(key), format: 'jwk' });
    keyObjects.set(key, keyObject);
  }
  const out = privateEncrypt({ key: keyObject, padding: constants.RSA_NO_PADDING }, message);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The raw public operation s^e mod n with BigInt, left-padded to the modulus length. */
export function rsaPublic(key: Pick<RsaKeyPair, 'n' | 'e' | 'bits'>, data: Uint8Array): Uint8Array {
  return bigToBytes(modPow(bytesToBig(data), key.e, key.n), key.bits / 8);
}

/** Big-endian unsigned bytes to BigInt. */
export function bytesToBig(bytes: Uint8Array): bigint {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

/** BigInt to big-endian bytes of exactly `length` bytes. Throws RangeError if it does not fit. */
export function bigToBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16);
  if (value < 0n || hex.length > length * 2) throw new RangeError(`${hex.length / 2} > ${length}`);
  const padded = hex.padStart(length * 2, '0');
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) out[i] = parseInt(padded.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Square-and-multiply modular exponentiation. */
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

function searchPrime(prng: Prng, bits: number, e: RsaExponent): bigint {
  const bytes = prng.bytes(Math.ceil(bits / 8));
  const excess = bytes.length * 8 - bits;
  // Clear bits above `bits`, then set the top two so p*q has exactly pBits + qBits bits.
  bytes[0] = ((bytes[0] ?? 0) & (0xff >>> excess)) | (0xc0 >>> excess);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) | 1;
  const start = bytesToBig(bytes);
  const residues = SIEVE_PRIMES.map((s) => Number(start % BigInt(s)));
  const startMod3 = Number(start % 3n);
  for (let offset = 0; offset < CANDIDATES_MAX * 2; offset += 2) {
    if (e === 3 && (startMod3 + offset) % 3 !== 2) continue;
    if (!sieveSurvives(residues, offset)) continue;
    const candidate = start + BigInt(offset);
    if (e === 65537 && (candidate - 1n) % 65537n === 0n) continue;
    if (checkPrimeSync(candidate)) return candidate;
  }
  throw new Error(`no ${bits}-bit prime within ${CANDIDATES_MAX} candidates`);
}

function sieveSurvives(residues: readonly number[], offset: number): boolean {
  for (let i = 0; i < residues.length; i += 1) {
    const s = SIEVE_PRIMES[i] ?? 1;
    if (((residues[i] ?? 0) + offset) % s === 0) return false;
  }
  return true;
}

function sievePrimes(bound: number): number[] {
  const composite = new Uint8Array(bound);
  const primes: number[] = [];
  for (let i = 3; i < bound; i += 2) {
    if (composite[i] === 1) continue;
    primes.push(i);
    for (let j = i * i; j < bound; j += 2 * i) composite[j] = 1;
  }
  return primes;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function lcm(a: bigint, b: bigint): bigint {
  return (a / gcd(a, b)) * b;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new RangeError('exponent not invertible');
  return ((oldS % m) + m) % m;
}

function rsaJwk(key: RsaKeyPair): {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
} {
  const b64 = (v: bigint): string => {
    const hex = v.toString(16);
    return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex').toString('base64url');
  };
  return {
    kty: 'RSA',
    n: b64(key.n),
    e: b64(key.e),
    d: b64(key.d),
    p: b64(key.p),
    q: b64(key.q),
    dp: b64(key.d % (key.p - 1n)),
    dq: b64(key.d % (key.q - 1n)),
    qi: b64(modInverse(key.q, key.p)),
  };
}
