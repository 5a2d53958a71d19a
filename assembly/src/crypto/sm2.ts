// SM2 signature verification (GB/T 32918.2-2016, 7.1) on the recommended curve, allocation-free.
//
// Points are Jacobian (X, Y, Z) over sm2_field's limbs, 96 bytes each; Z = 0 is the
// point at infinity. Verification computes s*G + t*P with one interleaved wNAF ladder: G's odd
// multiples (width 7, 32 affine points) are built once on first use, P's (width 5, 8 Jacobian
// points) per signature, and both share the 256 doublings. The final x1 is never made affine:
// (e + x1) mod n == r is tested as X == c * Z^2 for the one or two field values c that reduce
// to r - e mod n, which saves the inversion. A prepared key (SM2_KEY_BYTES) holds the public
// point and its Z_A (GB/T 32918.2, 5.5), so a CA key costs nothing per tap.

import {
  STATUS_OK, ERR_SM2_POINT_INVALID, ERR_SM2_SIGNATURE_RANGE, ERR_SM2_SIGNATURE_INVALID,
  ERR_SM2_ID_LENGTH,
} from '../status/status';
import {
  SM2_P, SM2_N, SM2_ONE, u256FromBytesBe, u256ToBytesBe, u256Compare, u256IsZero,
  u256AddMod, u256SubMod, u256ReduceN, fpMul, fpSqr, fpAdd, fpSub, fpInv, fpSqrtCandidate,
} from './sm2_field';
import { sm3Init, sm3Update, sm3Final, SM3_DIGEST_BYTES } from './sm3';

/** Public key X || Y, big-endian (64 bytes), as SM certificates carry it (domain.md 3.6). */
export const SM2_PUBLIC_KEY_BYTES: u32 = 64;
/** Signature r || s, big-endian (64 bytes). */
export const SM2_SIGNATURE_BYTES: u32 = 64;
/** Bytes of one prepared key: X, Y (limbs), Z_A. */
export const SM2_KEY_BYTES: u32 = 96;
/** Longest distinguishing ID: ENTL is a 16-bit bit count (GB/T 32918.2, 5.5). */
export const SM2_ID_BYTES_MAX: u32 = 8191;
/** The default distinguishing ID of GM/T 0009-2012, "1234567812345678". */
export const SM2_DEFAULT_ID = memory.data<u8>([
  0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
]);
export const SM2_DEFAULT_ID_BYTES: u32 = 16;

const KEY_X: usize = 0;
const KEY_Y: usize = 32;
const KEY_ZA: usize = 64;

// a || b || xG || yG, big-endian: the curve part of Z_A (GB/T 32918.5, recommended curve).
const CURVE_PARAMETERS_BE = memory.data<u8>([
  0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc,
  0x28, 0xe9, 0xfa, 0x9e, 0x9d, 0x9f, 0x5e, 0x34, 0x4d, 0x5a, 0x9e, 0x4b, 0xcf, 0x65, 0x09, 0xa7,
  0xf3, 0x97, 0x89, 0xf5, 0x15, 0xab, 0x8f, 0x92, 0xdd, 0xbc, 0xbd, 0x41, 0x4d, 0x94, 0x0e, 0x93,
  0x32, 0xc4, 0xae, 0x2c, 0x1f, 0x19, 0x81, 0x19, 0x5f, 0x99, 0x04, 0x46, 0x6a, 0x39, 0xc9, 0x94,
  0x8f, 0xe3, 0x0b, 0xbf, 0xf2, 0x66, 0x0b, 0xe1, 0x71, 0x5a, 0x45, 0x89, 0x33, 0x4c, 0x74, 0xc7,
  0xbc, 0x37, 0x36, 0xa2, 0xf4, 0xf6, 0x77, 0x9c, 0x59, 0xbd, 0xce, 0xe3, 0x6b, 0x69, 0x21, 0x53,
  0xd0, 0xa9, 0x87, 0x7c, 0xc6, 0x2a, 0x47, 0x40, 0x02, 0xdf, 0x32, 0xe5, 0x21, 0x39, 0xf0, 0xa0,
]);
/** b, and G (x, y), as limbs: read from CURVE_PARAMETERS_BE once, at start-up. */
const CURVE_B = memory.data(32, 16);
const G_AFFINE = memory.data(64, 16);
u256FromBytesBe(CURVE_B, CURVE_PARAMETERS_BE + 32);
u256FromBytesBe(G_AFFINE, CURVE_PARAMETERS_BE + 64);
u256FromBytesBe(G_AFFINE + 32, CURVE_PARAMETERS_BE + 96);

const POINT_BYTES: usize = 96;
const G_WINDOW: u32 = 7;
const P_WINDOW: u32 = 5;
const G_TABLE_POINTS: u32 = 1 << (G_WINDOW - 2);
const P_TABLE_POINTS: u32 = 1 << (P_WINDOW - 2);
// wNAF digits of a 256-bit scalar: at most 257 positions.
const NAF_DIGITS: u32 = 257;

// G's odd multiples 1G, 3G, ..., 63G as affine (x, y) pairs, 64 bytes each.
const gTable = memory.data(<i32>(G_TABLE_POINTS * 64), 16);
let gTableReady: bool = false;
// P's odd multiples 1P, 3P, ..., 15P, Jacobian.
const pTable = memory.data(<i32>(P_TABLE_POINTS * <u32>POINT_BYTES), 16);
const nafG = memory.data(<i32>NAF_DIGITS, 16);
const nafP = memory.data(<i32>NAF_DIGITS, 16);
const nafWork = memory.data(36, 16);
const acc = memory.data(<i32>POINT_BYTES, 16);
const twice = memory.data(<i32>POINT_BYTES, 16);
const negated = memory.data(<i32>POINT_BYTES, 16);
// Field temporaries of the point formulas (never live across calls).
const t0 = memory.data(32, 16);
const t1 = memory.data(32, 16);
const t2 = memory.data(32, 16);
const t3 = memory.data(32, 16);
const t4 = memory.data(32, 16);
const t5 = memory.data(32, 16);
const t6 = memory.data(32, 16);
// Scalars and check values of the verification in progress.
const scalarR = memory.data(32, 16);
const scalarS = memory.data(32, 16);
const scalarT = memory.data(32, 16);
const scalarE = memory.data(32, 16);
const lengthBits = memory.data(2, 4);
const FIELD_ZERO = memory.data(32, 16);

/**
 * Prepares the public key X || Y (64 bytes, big-endian) at `xy` into `key` (SM2_KEY_BYTES):
 * checks that it is a point of the curve (coordinates below p, y^2 = x^3 - 3x + b; GB/T
 * 32918.1, 6.2.2 for a key's validity) and computes Z_A with the ID `id` (`idLength` bytes).
 * Returns STATUS_OK, ERR_SM2_ID_LENGTH or ERR_SM2_POINT_INVALID.
 */
export function sm2KeyPrepare(key: usize, xy: usize, id: usize, idLength: u32): i32 {
  if (idLength > SM2_ID_BYTES_MAX) return ERR_SM2_ID_LENGTH;
  u256FromBytesBe(t0, xy);
  u256FromBytesBe(t1, xy + 32);
  if (u256Compare(t0, SM2_P) >= 0 || u256Compare(t1, SM2_P) >= 0) return ERR_SM2_POINT_INVALID;
  memory.copy(key + KEY_X, t0, 32);
  memory.copy(key + KEY_Y, t1, 32);
  if (!onCurve(key + KEY_X, key + KEY_Y)) return ERR_SM2_POINT_INVALID;
  const bits = idLength << 3;
  store<u8>(lengthBits, <u8>(bits >> 8));
  store<u8>(lengthBits + 1, <u8>bits);
  sm3Init();
  sm3Update(lengthBits, 2);
  sm3Update(id, idLength);
  sm3Update(CURVE_PARAMETERS_BE, 128);
  sm3Update(xy, SM2_PUBLIC_KEY_BYTES);
  sm3Final(key + KEY_ZA);
  return STATUS_OK;
}

/** Z_A (32 bytes) of a prepared key: hash it first, then the message, to get e. */
export function sm2KeyZa(key: usize): usize {
  return key + KEY_ZA;
}

/** Writes the prepared key's public point as X || Y big-endian (64 bytes) at `xy`. */
export function sm2KeyPublic(xy: usize, key: usize): void {
  u256ToBytesBe(xy, key + KEY_X);
  u256ToBytesBe(xy + 32, key + KEY_Y);
}

/**
 * Verifies the signature r || s (64 bytes at `signature`) of the digest e = SM3(Z_A || M)
 * (32 bytes at `digest`) under a prepared key (GB/T 32918.2, 7.1 steps B1-B7).
 * Returns STATUS_OK, ERR_SM2_SIGNATURE_RANGE (r or s outside [1, n-1]) or
 * ERR_SM2_SIGNATURE_INVALID (t = 0, the sum at infinity, or R != r).
 */
export function sm2VerifyDigest(key: usize, digest: usize, signature: usize): i32 {
  u256FromBytesBe(scalarR, signature);
  u256FromBytesBe(scalarS, signature + 32);
  if (!scalarInRange(scalarR) || !scalarInRange(scalarS)) return ERR_SM2_SIGNATURE_RANGE;
  u256AddMod(scalarT, scalarR, scalarS, SM2_N);
  if (u256IsZero(scalarT)) return ERR_SM2_SIGNATURE_INVALID;
  u256FromBytesBe(t0, digest);
  u256ReduceN(scalarE, t0);
  gTableBuild();
  pTableBuild(key);
  nafOf(nafG, scalarS, G_WINDOW);
  nafOf(nafP, scalarT, P_WINDOW);
  ladder();
  if (u256IsZero(acc + 64)) return ERR_SM2_SIGNATURE_INVALID;
  return xMatches() ? STATUS_OK : ERR_SM2_SIGNATURE_INVALID;
}

/**
 * Recovers y from x (32 bytes, big-endian, at `compressed + 1`) and the parity in the prefix
 * byte (02 even, 03 odd; GB/T 32918.1, 4.2.10), writing X || Y (64 bytes) at `xy`.
 * Returns STATUS_OK or ERR_SM2_POINT_INVALID (bad prefix, x >= p, or no point with that x).
 */
export function sm2Decompress(xy: usize, compressed: usize): i32 {
  const prefix = <u32>load<u8>(compressed);
  if (prefix != 2 && prefix != 3) return ERR_SM2_POINT_INVALID;
  u256FromBytesBe(t4, compressed + 1);
  if (u256Compare(t4, SM2_P) >= 0) return ERR_SM2_POINT_INVALID;
  curveRight(t5, t4);
  fpSqrtCandidate(t6, t5);
  fpSqr(t3, t6);
  if (u256Compare(t3, t5) != 0) return ERR_SM2_POINT_INVALID;
  if ((load<u32>(t6) & 1) != (prefix & 1)) {
    if (u256IsZero(t6)) return ERR_SM2_POINT_INVALID;
    u256SubMod(t6, SM2_P, t6, SM2_P);
  }
  memory.copy(xy, compressed + 1, 32);
  u256ToBytesBe(xy + 32, t6);
  return STATUS_OK;
}

/** 1 <= k <= n - 1. */
function scalarInRange(k: usize): bool {
  return !u256IsZero(k) && u256Compare(k, SM2_N) < 0;
}

/** r = x^3 - 3x + b ; x must not alias r. */
function curveRight(r: usize, x: usize): void {
  fpSqr(r, x);
  fpMul(r, r, x);
  fpSub(r, r, x);
  fpSub(r, r, x);
  fpSub(r, r, x);
  fpAdd(r, r, CURVE_B);
}

/** y^2 == x^3 - 3x + b for field elements x, y. */
function onCurve(x: usize, y: usize): bool {
  curveRight(t2, x);
  fpSqr(t3, y);
  return u256Compare(t2, t3) == 0;
}

/**
 * r = 2 * q in Jacobian coordinates with a = -3 (dbl-2001-b: 3M + 5S); r may alias q.
 * Doubling the point at infinity (Z = 0) gives Z = 0 again.
 */
function pointDouble(r: usize, q: usize): void {
  fpSqr(t0, q + 64);
  fpSqr(t1, q + 32);
  fpMul(t2, q, t1);
  fpSub(t3, q, t0);
  fpAdd(t4, q, t0);
  fpMul(t3, t3, t4);
  fpAdd(t4, t3, t3);
  fpAdd(t3, t3, t4);
  fpAdd(t4, q + 32, q + 64);
  fpSqr(t4, t4);
  fpSub(t4, t4, t1);
  fpSub(r + 64, t4, t0);
  fpAdd(t2, t2, t2);
  fpAdd(t2, t2, t2);
  fpSqr(t4, t3);
  fpSub(t4, t4, t2);
  fpSub(r, t4, t2);
  fpSub(t2, t2, r);
  fpMul(t2, t2, t3);
  fpSqr(t1, t1);
  fpAdd(t1, t1, t1);
  fpAdd(t1, t1, t1);
  fpAdd(t1, t1, t1);
  fpSub(r + 32, t2, t1);
}

/**
 * r = p + q (add-2007-bl without the Z-squared trick); `qAffine` means q's Z is 1 and is not
 * read (mixed addition: 8M + 3S instead of 12M + 4S). r may alias p, not q. Handles every
 * exceptional case: either input at infinity, p == q (doubles), p == -q (infinity).
 */
function pointAdd(r: usize, p: usize, q: usize, qAffine: bool): void {
  if (u256IsZero(p + 64)) {
    memory.copy(r, q, qAffine ? 64 : POINT_BYTES);
    if (qAffine) memory.copy(r + 64, SM2_ONE, 32);
    return;
  }
  if (!qAffine && u256IsZero(q + 64)) {
    if (r != p) memory.copy(r, p, POINT_BYTES);
    return;
  }
  fpSqr(t0, p + 64);
  fpMul(t2, q, t0);
  fpMul(t3, q + 32, p + 64);
  fpMul(t3, t3, t0);
  if (qAffine) {
    memory.copy(t1, p, 32);
    memory.copy(t4, p + 32, 32);
  } else {
    fpSqr(t5, q + 64);
    fpMul(t1, p, t5);
    fpMul(t4, p + 32, q + 64);
    fpMul(t4, t4, t5);
  }
  // t1 = U1, t2 = U2, t4 = S1, t3 = S2.
  fpSub(t2, t2, t1);
  fpSub(t3, t3, t4);
  if (u256IsZero(t2)) {
    if (u256IsZero(t3)) pointDouble(r, p);
    else memory.fill(r, 0, POINT_BYTES);
    return;
  }
  pointAddFinish(r, p, q, qAffine);
}

/** Second half of pointAdd with H in t2, R in t3, U1 in t1, S1 in t4. */
function pointAddFinish(r: usize, p: usize, q: usize, qAffine: bool): void {
  fpMul(r + 64, p + 64, t2);
  if (!qAffine) fpMul(r + 64, r + 64, q + 64);
  fpSqr(t5, t2);
  fpMul(t6, t5, t2);
  fpMul(t1, t1, t5);
  fpSqr(t5, t3);
  fpSub(t5, t5, t6);
  fpSub(t5, t5, t1);
  fpSub(r, t5, t1);
  fpSub(t1, t1, r);
  fpMul(t1, t1, t3);
  fpMul(t6, t6, t4);
  fpSub(r + 32, t1, t6);
}

/** Builds G's odd multiples once (affine): 32 inversions at first use. */
function gTableBuild(): void {
  if (gTableReady) return;
  memory.copy(acc, G_AFFINE, 64);
  memory.copy(acc + 64, SM2_ONE, 32);
  pointDouble(twice, acc);
  for (let i: u32 = 0; i < G_TABLE_POINTS; i++) {
    const entry = gTable + <usize>(i << 6);
    fpInv(t6, acc + 64);
    fpSqr(t5, t6);
    fpMul(entry, acc, t5);
    fpMul(t5, t5, t6);
    fpMul(entry + 32, acc + 32, t5);
    pointAdd(acc, acc, twice, false);
  }
  gTableReady = true;
}

/** Builds 1P, 3P, ..., 15P (Jacobian) for the prepared key. */
function pTableBuild(key: usize): void {
  memory.copy(pTable, key + KEY_X, 64);
  memory.copy(pTable + 64, SM2_ONE, 32);
  pointDouble(twice, pTable);
  for (let i: u32 = 1; i < P_TABLE_POINTS; i++) {
    const entry = pTable + <usize>(i * <u32>POINT_BYTES);
    memory.copy(entry, entry - POINT_BYTES, POINT_BYTES);
    pointAdd(entry, entry, twice, false);
  }
}

/**
 * Width-w NAF of the 256-bit scalar k into `digits` (NAF_DIGITS signed bytes, least
 * significant first): each nonzero digit is odd and below 2^(w-1) in magnitude, and any w
 * consecutive digits hold at most one nonzero.
 */
function nafOf(digits: usize, k: usize, window: u32): void {
  memory.copy(nafWork, k, 32);
  store<u32>(nafWork, 0, 32);
  const modulus: i32 = 1 << window;
  for (let i: u32 = 0; i < NAF_DIGITS; i++) {
    let digit: i32 = 0;
    const low = <i32>(load<u32>(nafWork) & <u32>(modulus - 1));
    if ((low & 1) != 0) {
      digit = low >= (modulus >> 1) ? low - modulus : low;
      nafAddSmall(-digit);
    }
    store<i8>(digits + <usize>i, <i8>digit);
    nafShiftRight();
  }
  assert(u256IsZero(nafWork), 'wNAF did not consume the scalar');
}

/** nafWork (9 limbs) += value, for |value| < 2^31; the result stays nonnegative. */
function nafAddSmall(value: i32): void {
  let carry: i64 = <i64>value;
  for (let i: usize = 0; i < 36 && carry != 0; i += 4) {
    carry += <i64>load<u32>(nafWork + i);
    store<u32>(nafWork + i, <u32>carry);
    carry >>= 32;
  }
}

/** nafWork >>= 1 over 9 limbs. */
function nafShiftRight(): void {
  for (let i: usize = 0; i < 32; i += 4) {
    const next = load<u32>(nafWork + i + 4);
    store<u32>(nafWork + i, (load<u32>(nafWork + i) >> 1) | (next << 31));
  }
  store<u32>(nafWork + 32, load<u32>(nafWork + 32) >> 1);
}

/** acc = sum over i of (nafG[i] * G + nafP[i] * P) * 2^i: one shared doubling per digit. */
function ladder(): void {
  memory.fill(acc, 0, POINT_BYTES);
  let i: i32 = <i32>NAF_DIGITS - 1;
  while (i >= 0 && load<i8>(nafG + <usize>i) == 0 && load<i8>(nafP + <usize>i) == 0) i--;
  for (; i >= 0; i--) {
    pointDouble(acc, acc);
    const dg = <i32>load<i8>(nafG + <usize>i);
    if (dg != 0) ladderAdd(gTable + <usize>(((dg < 0 ? -dg : dg) >> 1) << 6), dg < 0, true);
    const dp = <i32>load<i8>(nafP + <usize>i);
    if (dp != 0) {
      const entry = pTable + <usize>(((dp < 0 ? -dp : dp) >> 1) * <i32>POINT_BYTES);
      ladderAdd(entry, dp < 0, false);
    }
  }
}

/** acc += q or acc -= q (negation flips Y: -(X, Y, Z) = (X, -Y, Z)). */
function ladderAdd(q: usize, negative: bool, affine: bool): void {
  if (!negative) {
    pointAdd(acc, acc, q, affine);
    return;
  }
  memory.copy(negated, q, affine ? 64 : POINT_BYTES);
  fpSub(negated + 32, FIELD_ZERO, q + 32);
  pointAdd(acc, acc, negated, affine);
}

/**
 * (e + x1) mod n == r, with x1 = X / Z^2: x1 < p < 2n, so x1 is c = (r - e) mod n or c + n
 * (when below p); each candidate is checked as X == c * Z^2.
 */
function xMatches(): bool {
  fpSqr(t4, acc + 64);
  u256SubMod(t5, scalarR, scalarE, SM2_N);
  if (candidateMatches(t5)) return true;
  // (c + n) mod p exceeds c exactly when c + n < p, the only case where c + n is a candidate.
  u256AddMod(t6, t5, SM2_N, SM2_P);
  if (u256Compare(t6, t5) <= 0) return false;
  return candidateMatches(t6);
}

function candidateMatches(c: usize): bool {
  if (u256Compare(c, SM2_P) >= 0) return false;
  fpMul(t3, c, t4);
  return u256Compare(t3, acc) == 0;
}

/** SM3 digest size re-exported for callers that size e buffers. */
export const SM2_DIGEST_BYTES: u32 = SM3_DIGEST_BYTES;
