// Arithmetic modulo the SM2 prime p and the group order n: 256-bit numbers on 8 u32 limbs.
//
// p = 2^256 - 2^224 - 2^96 + 2^64 - 1 (GB/T 32918.5, the recommended curve). A product is
// reduced by the prime's own form (2^256 = 2^224 + 2^96 - 2^64 + 1 mod p: additions only, no
// Montgomery form and no conversions). Every number is a little-endian array of 8 u32 limbs
// at a raw pointer; every result is fully reduced (0 <= x < modulus), so equality is limb
// equality. Operands may alias the result.
// Products are formed with u64 arithmetic (a 32x32 product plus two 32-bit addends never
// exceeds 2^64 - 1); each 32-bit operand is widened first, or asc would multiply in 32 bits.

import { bytesSwap32 } from '../util/bytes';

/** Bytes of one field element or scalar (8 limbs). */
export const SM2_FIELD_BYTES: u32 = 32;

const MASK32: u64 = 0xffffffff;

/** The prime p (little-endian limbs). */
export const SM2_P = memory.data<u32>([
  0xffffffff, 0xffffffff, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe,
]);
/** The group order n. */
export const SM2_N = memory.data<u32>([
  0x39d54123, 0x53bbf409, 0x21c6052b, 0x7203df6b, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe,
]);
/** The field element 1. */
export const SM2_ONE = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0]);

// 17 signed 64-bit accumulators: the 512-bit product and one limb of headroom.
const wide = memory.data(17 * 8, 16);
// Power chains (inversion, square root) keep their intermediate powers here.
const chainX3 = memory.data(32, 16);
const chainX6 = memory.data(32, 16);
const chainX30 = memory.data(32, 16);
const chainX31 = memory.data(32, 16);
const chainX32 = memory.data(32, 16);
const chainAcc = memory.data(32, 16);

/** Reads 32 big-endian bytes into 8 limbs. */
export function u256FromBytesBe(target: usize, source: usize): void {
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(target + i, bytesSwap32(load<u32>(source + 28 - i)));
  }
}

/** Writes 8 limbs as 32 big-endian bytes. */
export function u256ToBytesBe(target: usize, source: usize): void {
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(target + 28 - i, bytesSwap32(load<u32>(source + i)));
  }
}

/** Compares two 256-bit numbers: -1, 0 or 1. */
export function u256Compare(a: usize, b: usize): i32 {
  for (let i: i32 = 28; i >= 0; i -= 4) {
    const x = load<u32>(a + <usize>i);
    const y = load<u32>(b + <usize>i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** True when the number is zero. */
export function u256IsZero(a: usize): bool {
  let acc: u32 = 0;
  for (let i: usize = 0; i < 32; i += 4) acc |= load<u32>(a + i);
  return acc == 0;
}

/** r = a + b mod m, for a, b < m (m is SM2_P or SM2_N). */
export function u256AddMod(r: usize, a: usize, b: usize, m: usize): void {
  let carry: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    carry += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    store<u32>(r + i, <u32>carry);
    carry >>= 32;
  }
  // A sum past 2^256 or at least m loses one m.
  if (carry != 0 || u256Compare(r, m) >= 0) u256SubRaw(r, r, m);
}

/** r = a - b mod m, for a, b < m. */
export function u256SubMod(r: usize, a: usize, b: usize, m: usize): void {
  if (u256SubRaw(r, a, b)) u256AddRaw(r, r, m);
}

/** r = a - b over 256 bits; returns true on a borrow. */
function u256SubRaw(r: usize, a: usize, b: usize): bool {
  let borrow: i64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    borrow += <i64>load<u32>(a + i) - <i64>load<u32>(b + i);
    store<u32>(r + i, <u32>borrow);
    borrow >>= 32;
  }
  return borrow != 0;
}

/** r = a + b over 256 bits, the carry out dropped (callers know it cancels a borrow). */
function u256AddRaw(r: usize, a: usize, b: usize): void {
  let carry: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    carry += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    store<u32>(r + i, <u32>carry);
    carry >>= 32;
  }
}

/** a mod n for any 256-bit a (one subtraction suffices: 2^256 < 2n). */
export function u256ReduceN(r: usize, a: usize): void {
  memory.copy(r, a, 32);
  if (u256Compare(r, SM2_N) >= 0) u256SubRaw(r, r, SM2_N);
}

/** One row of the schoolbook product: slot += ai * bj + carry; returns the new carry. */
@inline
function mac(slot: usize, ai: u64, bj: u64, carry: u64): u64 {
  const v = ai * bj + load<u64>(slot) + carry;
  store<u64>(slot, v & MASK32);
  return v >> 32;
}

/**
 * r = a * b mod p. The 512-bit product is built row by row in `wide` (each row's eight
 * multiply-adds unrolled, b's limbs in locals), then reduced.
 */
export function fpMul(r: usize, a: usize, b: usize): void {
  const b0 = <u64>load<u32>(b, 0);
  const b1 = <u64>load<u32>(b, 4);
  const b2 = <u64>load<u32>(b, 8);
  const b3 = <u64>load<u32>(b, 12);
  const b4 = <u64>load<u32>(b, 16);
  const b5 = <u64>load<u32>(b, 20);
  const b6 = <u64>load<u32>(b, 24);
  const b7 = <u64>load<u32>(b, 28);
  memory.fill(wide, 0, 17 * 8);
  for (let i: usize = 0; i < 8; i++) {
    const ai = <u64>load<u32>(a + (i << 2));
    const t = wide + (i << 3);
    let c = mac(t, ai, b0, 0);
    c = mac(t + 8, ai, b1, c);
    c = mac(t + 16, ai, b2, c);
    c = mac(t + 24, ai, b3, c);
    c = mac(t + 32, ai, b4, c);
    c = mac(t + 40, ai, b5, c);
    c = mac(t + 48, ai, b6, c);
    c = mac(t + 56, ai, b7, c);
    store<u64>(t + 64, c);
  }
  fpReduceWide(r);
}

/** r = a^2 mod p: off-diagonal products once, doubled, plus the squares. */
export function fpSqr(r: usize, a: usize): void {
  memory.fill(wide, 0, 17 * 8);
  for (let i: usize = 0; i < 7; i++) {
    const ai = <u64>load<u32>(a + (i << 2));
    let c: u64 = 0;
    for (let j: usize = i + 1; j < 8; j++) {
      c = mac(wide + ((i + j) << 3), ai, <u64>load<u32>(a + (j << 2)), c);
    }
    store<u64>(wide + ((i + 8) << 3), c);
  }
  fpSqrDiagonal(a);
  fpReduceWide(r);
}

/** wide = 2 * wide + the squares a_i^2 at limb 2i, carried through all 16 limbs. */
@inline
function fpSqrDiagonal(a: usize): void {
  let carry: u64 = 0;
  for (let i: usize = 0; i < 8; i++) {
    const ai = <u64>load<u32>(a + (i << 2));
    const sq = ai * ai;
    const lo = wide + (i << 4);
    let v = (load<u64>(lo) << 1) + (sq & MASK32) + carry;
    store<u64>(lo, v & MASK32);
    v = (load<u64>(lo, 8) << 1) + (sq >> 32) + (v >> 32);
    store<u64>(lo, v & MASK32, 8);
    carry = v >> 32;
  }
}

/**
 * r = the 512-bit number in `wide` (limbs as u64 values below 2^32) mod p, by the SM2 prime's
 * own form: with x = 2^32, x^8 = x^7 + x^3 - x^2 + 1 (mod p), so each high limb c8..c15 folds
 * into the low half with small signed coefficients (precomputed by substitution; the table in
 * each line below). The signed column sums are carried, the carry out of 2^256 is folded again
 * the same way, and one conditional subtraction leaves r < p.
 */
function fpReduceWide(r: usize): void {
  const w = wide;
  const c8 = load<i64>(w, 64);
  const c9 = load<i64>(w, 72);
  const c10 = load<i64>(w, 80);
  const c11 = load<i64>(w, 88);
  const c12 = load<i64>(w, 96);
  const c13 = load<i64>(w, 104);
  const c14 = load<i64>(w, 112);
  const c15 = load<i64>(w, 120);
  const s1415 = c14 + c15;
  const s1213 = c12 + c13;
  let v: i64 = load<i64>(w, 0) + c8 + c9 + c10 + c11 + s1213 + c13 + ((s1415) << 1);
  store<u32>(r, <u32>v, 0);
  v = (v >> 32) + load<i64>(w, 8) + c9 + c10 + c11 + s1213 + (s1415 << 1);
  store<u32>(r, <u32>v, 4);
  v = (v >> 32) + load<i64>(w, 16) - c8 - c9 - c13 - c14;
  store<u32>(r, <u32>v, 8);
  v = (v >> 32) + load<i64>(w, 24) + c8 + c11 + s1213 + c13 + s1415;
  store<u32>(r, <u32>v, 12);
  v = (v >> 32) + load<i64>(w, 32) + c9 + s1213 + (c14 << 1) + c15;
  store<u32>(r, <u32>v, 16);
  v = (v >> 32) + load<i64>(w, 40) + c10 + c13 + c14 + (c15 << 1);
  store<u32>(r, <u32>v, 20);
  v = (v >> 32) + load<i64>(w, 48) + c11 + s1415;
  store<u32>(r, <u32>v, 24);
  v = (v >> 32) + load<i64>(w, 56) + c8 + c9 + c10 + c11 + (s1213 << 1) + (s1415 << 1) + c15;
  store<u32>(r, <u32>v, 28);
  fpFoldCarry(r, v >> 32);
}

/**
 * r (8 limbs) + carry * 2^256 mod p, with 2^256 = 2^224 + 2^96 - 2^64 + 1: a fold may carry
 * once more (at most twice for a negative carry), then r < 2^256 < 2p and one subtraction of p
 * finishes.
 */
function fpFoldCarry(r: usize, carry: i64): void {
  let top = carry;
  for (let round = 0; top != 0; round++) {
    assert(round < 4, 'sm2 reduction bound');
    let v: i64 = <i64>load<u32>(r, 0) + top;
    store<u32>(r, <u32>v, 0);
    v = (v >> 32) + <i64>load<u32>(r, 4);
    store<u32>(r, <u32>v, 4);
    v = (v >> 32) + <i64>load<u32>(r, 8) - top;
    store<u32>(r, <u32>v, 8);
    v = (v >> 32) + <i64>load<u32>(r, 12) + top;
    store<u32>(r, <u32>v, 12);
    for (let i: usize = 16; i < 28; i += 4) {
      v = (v >> 32) + <i64>load<u32>(r + i);
      store<u32>(r + i, <u32>v);
    }
    v = (v >> 32) + <i64>load<u32>(r, 28) + top;
    store<u32>(r, <u32>v, 28);
    top = v >> 32;
  }
  if (u256Compare(r, SM2_P) >= 0) u256SubRaw(r, r, SM2_P);
}

/** r = a + b mod p (limbs unrolled: the point formulas call it about ten times a step). */
export function fpAdd(r: usize, a: usize, b: usize): void {
  let v: u64 = <u64>load<u32>(a, 0) + <u64>load<u32>(b, 0);
  store<u32>(r, <u32>v, 0);
  v = (v >> 32) + <u64>load<u32>(a, 4) + <u64>load<u32>(b, 4);
  store<u32>(r, <u32>v, 4);
  v = (v >> 32) + <u64>load<u32>(a, 8) + <u64>load<u32>(b, 8);
  store<u32>(r, <u32>v, 8);
  v = (v >> 32) + <u64>load<u32>(a, 12) + <u64>load<u32>(b, 12);
  store<u32>(r, <u32>v, 12);
  v = (v >> 32) + <u64>load<u32>(a, 16) + <u64>load<u32>(b, 16);
  store<u32>(r, <u32>v, 16);
  v = (v >> 32) + <u64>load<u32>(a, 20) + <u64>load<u32>(b, 20);
  store<u32>(r, <u32>v, 20);
  v = (v >> 32) + <u64>load<u32>(a, 24) + <u64>load<u32>(b, 24);
  store<u32>(r, <u32>v, 24);
  v = (v >> 32) + <u64>load<u32>(a, 28) + <u64>load<u32>(b, 28);
  store<u32>(r, <u32>v, 28);
  // A carry out of 2^256 folds back as 2^256 mod p; else r < 2p needs at most one p less.
  if ((v >> 32) != 0) fpFoldCarry(r, 1);
  else if (u256Compare(r, SM2_P) >= 0) u256SubRaw(r, r, SM2_P);
}

/** r = a - b mod p (limbs unrolled). */
export function fpSub(r: usize, a: usize, b: usize): void {
  let v: i64 = <i64>load<u32>(a, 0) - <i64>load<u32>(b, 0);
  store<u32>(r, <u32>v, 0);
  v = (v >> 32) + <i64>load<u32>(a, 4) - <i64>load<u32>(b, 4);
  store<u32>(r, <u32>v, 4);
  v = (v >> 32) + <i64>load<u32>(a, 8) - <i64>load<u32>(b, 8);
  store<u32>(r, <u32>v, 8);
  v = (v >> 32) + <i64>load<u32>(a, 12) - <i64>load<u32>(b, 12);
  store<u32>(r, <u32>v, 12);
  v = (v >> 32) + <i64>load<u32>(a, 16) - <i64>load<u32>(b, 16);
  store<u32>(r, <u32>v, 16);
  v = (v >> 32) + <i64>load<u32>(a, 20) - <i64>load<u32>(b, 20);
  store<u32>(r, <u32>v, 20);
  v = (v >> 32) + <i64>load<u32>(a, 24) - <i64>load<u32>(b, 24);
  store<u32>(r, <u32>v, 24);
  v = (v >> 32) + <i64>load<u32>(a, 28) - <i64>load<u32>(b, 28);
  store<u32>(r, <u32>v, 28);
  // A borrow means r = a - b + 2^256: add p back (the carry out cancels the borrow).
  if ((v >> 32) != 0) u256AddRaw(r, r, SM2_P);
}

/** r = a^(2^count) * b: `count` squarings then one multiplication (power chains; b != r). */
function fpSqrNMul(r: usize, a: usize, count: u32, b: usize): void {
  assert(b != r, 'power chain aliasing');
  if (r != a) memory.copy(r, a, 32);
  for (let i: u32 = 0; i < count; i++) fpSqr(r, r);
  fpMul(r, r, b);
}

/**
 * Builds x^(2^k - 1) for k = 3, 6, 30, 31, 32 (runs of ones) from x; the
 * inversion and square-root exponents are made of such runs.
 */
function fpChainRuns(x: usize): void {
  fpSqr(chainAcc, x);
  fpMul(chainAcc, chainAcc, x);
  fpSqrNMul(chainX3, chainAcc, 1, x);
  fpSqrNMul(chainX6, chainX3, 3, chainX3);
  // x^(2^12 - 1) waits in chainX31 (free until the end) because the next step multiplies by it.
  fpSqrNMul(chainX31, chainX6, 6, chainX6);
  fpSqrNMul(chainAcc, chainX31, 12, chainX31);
  fpSqrNMul(chainX30, chainAcc, 6, chainX6);
  fpSqrNMul(chainX31, chainX30, 1, x);
  fpSqrNMul(chainX32, chainX31, 1, x);
}

/**
 * r = x^(p-2) = 1/x mod p (Fermat; x != 0). p - 2 in binary: 31 ones, 0, 128 ones,
 * 32 zeros, 32 ones, 30 ones, 0, 1 (from the top).
 */
export function fpInv(r: usize, x: usize): void {
  fpChainRuns(x);
  fpSqrNMul(chainAcc, chainX31, 1 + 32, chainX32);
  for (let i = 0; i < 3; i++) fpSqrNMul(chainAcc, chainAcc, 32, chainX32);
  fpSqrNMul(chainAcc, chainAcc, 32 + 32, chainX32);
  fpSqrNMul(chainAcc, chainAcc, 30, chainX30);
  fpSqr(chainAcc, chainAcc);
  fpSqr(chainAcc, chainAcc);
  fpMul(r, chainAcc, x);
}

/**
 * r = x^((p+1)/4), a square root of x when one exists (p = 3 mod 4); the caller squares it
 * back to check. (p+1)/4 in binary: 31 ones, 0, 128 ones, 31 zeros, 1, 62 zeros.
 */
export function fpSqrtCandidate(r: usize, x: usize): void {
  fpChainRuns(x);
  fpSqrNMul(chainAcc, chainX31, 1 + 32, chainX32);
  for (let i = 0; i < 3; i++) fpSqrNMul(chainAcc, chainAcc, 32, chainX32);
  fpSqrNMul(chainAcc, chainAcc, 32, x);
  memory.copy(r, chainAcc, 32);
  for (let i = 0; i < 62; i++) fpSqr(r, r);
}
