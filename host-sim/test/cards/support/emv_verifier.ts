// Test-only independent RSA/EMV verifier: BigInt modpow + node:crypto SHA-1, per domain.md 3.2-3.4.

import { createHash } from 'node:crypto';
import { toHexT } from './tlv_walk.js';

/** A public key as the terminal knows it. */
export interface PublicKey {
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
}

function big(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHexT(bytes)}`);
}

/** s^e mod n with BigInt, as bytes of the modulus length. */
export function recover(key: PublicKey, signed: Uint8Array): Uint8Array {
  const n = big(key.modulus);
  let e = big(key.exponent);
  let base = big(signed) % n;
  let result = 1n;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * base) % n;
    base = (base * base) % n;
    e >>= 1n;
  }
  const hex = result.toString(16).padStart(key.modulus.length * 2, '0');
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return toHexT(a) === toHexT(b);
}

/** Checks 6A .. hash BC framing and the hash over X[1..N-21) || tail; returns X or an error. */
function checkRecovered(x: Uint8Array, format: number, tail: Uint8Array): Uint8Array | string {
  const n = x.length;
  if (x[0] !== 0x6a || x[n - 1] !== 0xbc) return 'bad header/trailer';
  if (x[1] !== format) return `format ${x[1]} != ${format}`;
  const hash = x.subarray(n - 21, n - 1);
  if (!same(hash, sha1(x.subarray(1, n - 21), tail))) return 'hash mismatch';
  return x;
}

/** Recovered issuer key or an error string. See EMV Book 2, 6.3 (domain.md 3.2). */
export function recoverIssuerKey(
  ca: PublicKey,
  cert: Uint8Array,
  remainder: Uint8Array,
  exponent: Uint8Array,
  panDigits: string,
): { key: PublicKey; serial: string; expiryMmyy: string } | string {
  if (cert.length !== ca.modulus.length) return 'issuer cert length';
  const x = checkRecovered(recover(ca, cert), 0x02, new Uint8Array([...remainder, ...exponent]));
  if (typeof x === 'string') return x;
  const idHex = toHexT(x.subarray(2, 6)).replace(/f+$/, '');
  if (!panDigits.startsWith(idHex)) return `issuer id ${idHex} vs PAN`;
  if (x[11] !== 0x01 || x[12] !== 0x01) return 'algorithm indicators';
  const nI = x[13] ?? 0;
  const field = x.subarray(15, x.length - 21);
  const modulus =
    nI <= field.length ? field.slice(0, nI) : new Uint8Array([...field, ...remainder]);
  if (modulus.length !== nI) return 'issuer modulus length';
  return {
    key: { modulus, exponent },
    serial: toHexT(x.subarray(8, 11)),
    expiryMmyy: toHexT(x.subarray(6, 8)),
  };
}

/** Recovered ICC key or an error string. See EMV Book 2, 6.4 (domain.md 3.3). */
export function recoverIccKey(
  issuer: PublicKey,
  cert: Uint8Array,
  remainder: Uint8Array,
  exponent: Uint8Array,
  staticData: Uint8Array,
  panDigits: string,
): { key: PublicKey; expiryMmyy: string } | string {
  if (cert.length !== issuer.modulus.length) return 'ICC cert length';
  const tail = new Uint8Array([...remainder, ...exponent, ...staticData]);
  const y = checkRecovered(recover(issuer, cert), 0x04, tail);
  if (typeof y === 'string') return y;
  const pan = toHexT(y.subarray(2, 12)).replace(/f+$/, '');
  if (pan !== panDigits) return `PAN ${pan} != ${panDigits}`;
  const nIc = y[19] ?? 0;
  const field = y.subarray(21, y.length - 21);
  const modulus =
    nIc <= field.length ? field.slice(0, nIc) : new Uint8Array([...field, ...remainder]);
  if (modulus.length !== nIc) return 'ICC modulus length';
  return { key: { modulus, exponent }, expiryMmyy: toHexT(y.subarray(12, 14)) };
}

/**
 * fDDA: verifies the SDAD and returns the ICC dynamic number it carries (the 2-byte ATC on
 * PBOC cards), or an error string. v01 when `cardAuthData` (9F69) is given, else v00 (the hash
 * then covers 9F37 only, which is also plain EMV DDA with DDOL = 9F37). See domain.md 3.4.
 */
export function verifySdad(
  icc: PublicKey,
  sdad: Uint8Array,
  un: Uint8Array,
  amount: Uint8Array,
  currency: Uint8Array,
  cardAuthData: Uint8Array | null,
): Uint8Array | string {
  if (sdad.length !== icc.modulus.length) return 'SDAD length';
  const tail =
    cardAuthData === null ? un : new Uint8Array([...un, ...amount, ...currency, ...cardAuthData]);
  const z = checkRecovered(recover(icc, sdad), 0x05, tail);
  if (typeof z === 'string') return z;
  if (z[2] !== 0x01) return 'hash algorithm';
  const lDd = z[3] ?? 0;
  const idnLength = z[4] ?? 0;
  if (idnLength < 2 || idnLength + 1 > lDd) return 'IDN length';
  return z.slice(5, 5 + idnLength);
}

/** SDA: verifies the SSAD (93) with the issuer key; returns the DAC or an error string. */
export function verifySsad(
  issuer: PublicKey,
  ssad: Uint8Array,
  staticData: Uint8Array,
): Uint8Array | string {
  if (ssad.length !== issuer.modulus.length) return 'SSAD length';
  const x = checkRecovered(recover(issuer, ssad), 0x03, staticData);
  if (typeof x === 'string') return x;
  if (x[2] !== 0x01) return 'hash algorithm';
  return x.slice(3, 5);
}

/** What a CDA signature carries. See EMV 4.4 Book 2, 6.6.2. */
export interface CdaContent {
  readonly idn: Uint8Array;
  readonly cid: number;
  readonly cryptogram: Uint8Array;
  readonly transactionDataHash: Uint8Array;
}

/** CDA: verifies the SDAD of a GENERATE AC (hash over the body and 9F37) and splits it. */
export function verifyCdaSdad(
  icc: PublicKey,
  sdad: Uint8Array,
  un: Uint8Array,
): CdaContent | string {
  if (sdad.length !== icc.modulus.length) return 'SDAD length';
  const z = checkRecovered(recover(icc, sdad), 0x05, un);
  if (typeof z === 'string') return z;
  const lDd = z[3] ?? 0;
  const idnLength = z[4] ?? 0;
  if (lDd !== 1 + idnLength + 1 + 8 + 20) return `L_DD ${lDd}`;
  const at = 5 + idnLength;
  return {
    idn: z.slice(5, at),
    cid: z[at] ?? -1,
    cryptogram: z.slice(at + 1, at + 9),
    transactionDataHash: z.slice(at + 9, at + 29),
  };
}

/** SHA-1 of the concatenation (for the transaction data hash code). */
export function sha1Of(...parts: Uint8Array[]): Uint8Array {
  return sha1(...parts);
}
