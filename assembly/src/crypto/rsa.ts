// RSA public-key operation (x^e mod n, e = 3 or 65537) on prepared keys, allocation-free.
//
// A prepared key holds the modulus normalised for division (top bit set), its one's complement
// and the reciprocal of its top two limbs, so a CA key is prepared once when it is loaded and
// an issuer or ICC key once per recovery, in O(k) time. EMV public operations use e = 3 (all
// UnionPay CA keys) or 65537; see EMV 4.4 Book 2, Annex B2.1 (public exponents 3 and 2^16 + 1).

import {
  STATUS_OK, ERR_RSA_MODULUS_LENGTH, ERR_RSA_MODULUS_INVALID, ERR_RSA_EXPONENT_UNSUPPORTED,
  ERR_RSA_INPUT_LENGTH, ERR_RSA_INPUT_RANGE,
} from '../status/status';
import {
  BN_LIMBS_MAX, BN_BYTES_MAX, bnFromBytesBe, bnToBytesBe, bnCompare, bnMul, bnSquare,
  bnReciprocal3by2, bnReduceNormalized, bnShiftLeft, bnShiftRight, bnComplement,
  BN28_LIMBS_MAX, bn28Limbs, bn28FromLimbs, bn28ToLimbs, bn28MontgomeryN0, bn28MontMul,
  bn28MontSquare, bn28Reverse,
} from './bignum';
import { bytesSwap32 } from '../util/bytes';

/** Shortest modulus accepted: 512 bits (EMV keys start at 512 bits, Book 2 Annex B2.1). */
export const RSA_MODULUS_BYTES_MIN: u32 = 64;
/** Longest modulus accepted: 2048 bits. */
export const RSA_MODULUS_BYTES_MAX: u32 = BN_BYTES_MAX;
/** The two public exponents EMV allows. */
export const RSA_EXPONENT_3: u32 = 3;
export const RSA_EXPONENT_65537: u32 = 65537;

// Layout of a prepared key (RSA_KEY_BYTES, 16-byte aligned by its owner).
const KEY_LIMBS: usize = 0;
const KEY_SHIFT: usize = 4;
const KEY_MODULUS_BYTES: usize = 8;
const KEY_EXPONENT: usize = 12;
const KEY_RECIPROCAL: usize = 16;
const KEY_MONTGOMERY_N0: usize = 20;
const KEY_NORMALISED: usize = 32;
const KEY_COMPLEMENT: usize = KEY_NORMALISED + <usize>BN_BYTES_MAX;
/** Bytes of one prepared key: header, normalised modulus limbs, their one's complement. */
export const RSA_KEY_BYTES: u32 = <u32>KEY_COMPLEMENT + BN_BYTES_MAX;

// Work buffers shared by every operation (the kernel is single-threaded and never re-entrant).
const WORK_LIMBS: u32 = 2 * BN_LIMBS_MAX + 2;
const workX = memory.data(<i32>BN_BYTES_MAX + 8, 16);
const workY = memory.data(<i32>BN_BYTES_MAX + 8, 16);
const workProduct = memory.data(<i32>WORK_LIMBS * 4, 16);
// Montgomery work (e = 65537), 28-bit limbs: modulus, x, two residues, the factors m_i; the
// 32-bit plain modulus with 8 spare bytes for bn28FromLimbs / bn28ToLimbs.
// 16 bytes of slack: a column sum's masked last round reads up to 12 bytes past its end.
const MONT_BYTES: i32 = <i32>BN28_LIMBS_MAX * 4 + 16;
const workModulus = memory.data(<i32>BN_BYTES_MAX + 8, 16);
const workN28 = memory.data(MONT_BYTES, 16);
const workX28 = memory.data(MONT_BYTES, 16);
const workMontA = memory.data(MONT_BYTES, 16);
const workMontB = memory.data(MONT_BYTES, 16);
const workMontM = memory.data(MONT_BYTES, 16);
const workReversed = memory.data(MONT_BYTES, 16);
const workN28Reversed = memory.data(MONT_BYTES, 16);
const workX28Reversed = memory.data(MONT_BYTES, 16);

/**
 * Decodes a public exponent given as big-endian bytes (leading zero bytes allowed, e.g. the
 * 000003 some terminal parameter files carry). Returns 3, 65537, or 0 when it is neither.
 */
export function rsaExponentDecode(exponent: usize, length: u32): u32 {
  let value: u32 = 0;
  for (let i: u32 = 0; i < length; i++) {
    if (value > 0x00ffffff) return 0;
    value = (value << 8) | <u32>load<u8>(exponent + <usize>i);
  }
  return value == RSA_EXPONENT_3 || value == RSA_EXPONENT_65537 ? value : 0;
}

/**
 * Prepares `key` (RSA_KEY_BYTES) from a big-endian modulus and an exponent value (3 or 65537).
 * Returns STATUS_OK, ERR_RSA_MODULUS_LENGTH (outside 64..256 bytes), ERR_RSA_MODULUS_INVALID
 * (leading zero byte or even), ERR_RSA_EXPONENT_UNSUPPORTED.
 */
export function rsaKeyPrepare(key: usize, modulus: usize, length: u32, exponent: u32): i32 {
  if (length < RSA_MODULUS_BYTES_MIN || length > RSA_MODULUS_BYTES_MAX) {
    return ERR_RSA_MODULUS_LENGTH;
  }
  if (load<u8>(modulus) == 0 || (load<u8>(modulus + <usize>(length - 1)) & 1) == 0) {
    return ERR_RSA_MODULUS_INVALID;
  }
  if (exponent != RSA_EXPONENT_3 && exponent != RSA_EXPONENT_65537) {
    return ERR_RSA_EXPONENT_UNSUPPORTED;
  }
  const limbs = (length + 3) >> 2;
  const d = key + KEY_NORMALISED;
  bnFromBytesBe(d, limbs, modulus, length);
  const top = load<u32>(d + (<usize>(limbs - 1) << 2));
  assert(top != 0, 'modulus top limb');
  const shift = <u32>clz<u32>(top);
  const out = bnShiftLeft(d, limbs, shift);
  assert(out == 0, 'normalisation overflow');
  store<u32>(key + KEY_LIMBS, limbs);
  store<u32>(key + KEY_SHIFT, shift);
  store<u32>(key + KEY_MODULUS_BYTES, length);
  store<u32>(key + KEY_EXPONENT, exponent);
  const d1 = load<u32>(d + (<usize>(limbs - 1) << 2));
  const d0 = load<u32>(d + (<usize>(limbs - 2) << 2));
  store<u32>(key + KEY_RECIPROCAL, bnReciprocal3by2(d1, d0));
  bnComplement(key + KEY_COMPLEMENT, d, limbs);
  // Montgomery's constant from the low limb of the plain modulus (its last 4 bytes).
  const n0 = bytesSwap32(load<u32>(modulus + <usize>(length - 4)));
  store<u32>(key + KEY_MONTGOMERY_N0, bn28MontgomeryN0(n0));
  return STATUS_OK;
}

/** Modulus length in bytes of a prepared key. */
export function rsaKeyModulusLength(key: usize): u32 {
  return load<u32>(key + KEY_MODULUS_BYTES);
}

/** Public exponent (3 or 65537) of a prepared key. */
export function rsaKeyExponent(key: usize): u32 {
  return load<u32>(key + KEY_EXPONENT);
}

/**
 * output[0..N) = input^e mod n for a prepared key with an N-byte modulus; `input` is N
 * big-endian bytes (EMV requires a certificate or signature as long as the modulus).
 * `output` may equal `input`. Returns STATUS_OK, ERR_RSA_INPUT_LENGTH, ERR_RSA_INPUT_RANGE
 * (input >= modulus: not an RSA image, EMV 4.4 Book 2 Annex B2.1).
 */
export function rsaPublic(key: usize, input: usize, inputLength: u32, output: usize): i32 {
  const length = load<u32>(key + KEY_MODULUS_BYTES);
  const limbs = load<u32>(key + KEY_LIMBS);
  const shift = load<u32>(key + KEY_SHIFT);
  assert(limbs >= 16 && limbs <= BN_LIMBS_MAX && shift < 32, 'key not prepared');
  if (inputLength != length) return ERR_RSA_INPUT_LENGTH;
  const d = key + KEY_NORMALISED;
  // Range check on the normalised scale: x * 2^shift < d  <=>  x < n.
  bnFromBytesBe(workY, limbs, input, length);
  const spill = bnShiftLeft(workY, limbs, shift);
  if (spill != 0 || bnCompare(workY, d, limbs) >= 0) return ERR_RSA_INPUT_RANGE;
  bnFromBytesBe(workX, limbs, input, length);
  const v = load<u32>(key + KEY_RECIPROCAL);
  const dc = key + KEY_COMPLEMENT;
  if (load<u32>(key + KEY_EXPONENT) == RSA_EXPONENT_3) {
    rsaCube(limbs, shift, d, dc, v);
  } else {
    rsaPow65537(key, limbs, shift, d, dc, v);
  }
  bnToBytesBe(output, length, workY, limbs);
  return STATUS_OK;
}

/**
 * workY = workX^3 mod n. Works on the normalised scale: the remainder of (x^2 * 2^s) mod d is
 * (x^2 mod n) * 2^s, and multiplying it by the plain x gives the next dividend already shifted,
 * so only the first product is shifted and only the final remainder is shifted back.
 */
function rsaCube(limbs: u32, shift: u32, d: usize, dc: usize, v: u32): void {
  const productLimbs = 2 * limbs + 1;
  bnSquare(workProduct, workX, limbs);
  store<u32>(workProduct + (<usize>(2 * limbs) << 2), bnShiftLeft(workProduct, 2 * limbs, shift));
  bnReduceNormalized(workProduct, productLimbs, d, dc, limbs, v);
  memory.copy(workY, workProduct, <usize>limbs << 2);
  bnMul(workProduct, workY, workX, limbs);
  store<u32>(workProduct + (<usize>(2 * limbs) << 2), 0);
  bnReduceNormalized(workProduct, productLimbs, d, dc, limbs, v);
  memory.copy(workY, workProduct, <usize>limbs << 2);
  bnShiftRight(workY, limbs, shift);
}

/**
 * workY = workX^65537 mod n by Montgomery arithmetic on 28-bit limbs (R = 2^(28 k28)):
 * X = x R mod n by one division, sixteen Montgomery squarings (x^65536 R), then one
 * Montgomery product with the plain x, which leaves the Montgomery domain by itself:
 * x^65536 R * x / R = x^65537 mod n. The per-key constant n0' was set by rsaKeyPrepare;
 * the conversion needs no R^2 mod n, so a key used once costs nothing extra. On entry
 * workY holds x * 2^shift (rsaPublic's range check).
 */
function rsaPow65537(key: usize, limbs: u32, shift: u32, d: usize, dc: usize, v: u32): void {
  const bytes = <usize>limbs << 2;
  const k28 = bn28Limbs(load<u32>(key + KEY_MODULUS_BYTES));
  const n0 = load<u32>(key + KEY_MONTGOMERY_N0);
  memory.copy(workModulus, d, bytes);
  bnShiftRight(workModulus, limbs, shift);
  memory.fill(workModulus + bytes, 0, <usize>BN_BYTES_MAX + 8 - bytes);
  bn28FromLimbs(workN28, k28, workModulus);
  bn28Reverse(workN28Reversed, workN28, k28);
  memory.copy(workModulus, workX, bytes);
  bn28FromLimbs(workX28, k28, workModulus);
  bn28Reverse(workX28Reversed, workX28, k28);
  // Dividend (x 2^shift) 2^(28 k28): its top `limbs` limbs stay below d, as the division needs.
  const rBits = k28 * 28;
  const at = <usize>(rBits >> 5) << 2;
  const dividendLimbs = limbs + (rBits >> 5) + ((rBits & 31) != 0 ? 1 : 0);
  memory.fill(workProduct, 0, <usize>dividendLimbs << 2);
  memory.copy(workProduct + at, workY, bytes);
  if ((rBits & 31) != 0) {
    store<u32>(workProduct + at + bytes, bnShiftLeft(workProduct + at, limbs, rBits & 31));
  }
  bnReduceNormalized(workProduct, dividendLimbs, d, dc, limbs, v);
  memory.copy(workModulus, workProduct, bytes);
  bnShiftRight(workModulus, limbs, shift);
  bn28FromLimbs(workMontA, k28, workModulus);
  let from = workMontA;
  let to = workMontB;
  for (let i: u32 = 0; i < 16; i++) {
    bn28MontSquare(to, from, workReversed, workN28, workN28Reversed, workMontM, k28, n0);
    const t = from;
    from = to;
    to = t;
  }
  bn28MontMul(to, from, workX28Reversed, load<u32>(workX28), workN28, workN28Reversed,
    workMontM, k28, n0);
  bn28ToLimbs(workModulus, <u32>bytes, to, k28);
  memory.copy(workY, workModulus, bytes);
}

/** target = (workProduct mod n), workProduct holding a 2k-limb plain product. */
function rsaReduceInto(target: usize, limbs: u32, shift: u32, d: usize, dc: usize, v: u32): void {
  const top = workProduct + (<usize>(2 * limbs) << 2);
  store<u32>(top, bnShiftLeft(workProduct, 2 * limbs, shift));
  bnReduceNormalized(workProduct, 2 * limbs + 1, d, dc, limbs, v);
  memory.copy(target, workProduct, <usize>limbs << 2);
  bnShiftRight(target, limbs, shift);
}
