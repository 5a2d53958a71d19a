// Arithmetic modulo the SM2 prime p and the group order n: 256-bit numbers on 8 u32 limbs.
//
// p = 2^256 - 2^224 - 2^96 + 2^64 - 1 (GB/T 32918.5, the recommended curve). Field elements
// are kept in Montgomery form (x * 2^256 mod p). Because p = -1 mod 2^32, the Montgomery
// factor -p^-1 mod 2^32 is 1: each reduction step takes m = the lowest limb, and adding m * p
// is four limb additions (m at 2^64 and 2^256, -m at 2^96 and 2^224), with no multiplication.
// Every number is a little-endian array of 8 u32 limbs at a raw pointer; every result is fully
// reduced (0 <= x < modulus), so equality is limb equality. Operands may alias the result.
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
/** 2^512 mod p: multiplying by it enters Montgomery form. */
const R2_MOD_P = memory.data<u32>([
  0x00000003, 0x00000002, 0xffffffff, 0x00000002, 0x00000001, 0x00000001, 0x00000002, 0x00000004,
]);
/** 1 in Montgomery form (2^256 mod p). */
export const SM2_ONE_MONT = memory.data<u32>([
  0x00000001, 0x00000000, 0xffffffff, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000001,
]);
/** Plain 1 (multiplying by it leaves Montgomery form). */
const ONE_PLAIN = memory.data<u32>([1, 0, 0, 0, 0, 0, 0, 0]);

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
 * r = a * b / 2^256 mod p (Montgomery product). The 512-bit product is built row by row in
 * `wide` (each row's eight multiply-adds unrolled, b's limbs in locals), then reduced.
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

/** r = a^2 / 2^256 mod p: off-diagonal products once, doubled, plus the squares. */
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
  // Double the cross terms and add a_i^2 at limb 2i, carrying through all 16 limbs.
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
  fpReduceWide(r);
}

/**
 * Montgomery reduction of the 512-bit number in `wide` (limbs as u64 values below 2^32):
 * eight steps each add m * p with m = the lowest live limb, which clears it; the upper half
 * is then below 2p, and one conditional subtraction of p leaves r < p.
 */
function fpReduceWide(r: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    const s = wide + (i << 3);
    const v = load<i64>(s);
    const m = v & <i64>MASK32;
    // v - m is a multiple of 2^32 (the limb m*p cancels); its carry moves up a limb.
    store<i64>(s, load<i64>(s, 8) + (v >> 32), 8);
    store<i64>(s, load<i64>(s, 16) + m, 16);
    store<i64>(s, load<i64>(s, 24) - m, 24);
    store<i64>(s, load<i64>(s, 56) - m, 56);
    store<i64>(s, load<i64>(s, 64) + m, 64);
  }
  let carry: i64 = 0;
  for (let i: usize = 8; i < 16; i++) {
    carry += load<i64>(wide + (i << 3));
    store<u32>(r + ((i - 8) << 2), <u32>carry);
    carry >>= 32;
  }
  carry += load<i64>(wide + 128);
  assert(carry == 0 || carry == 1, 'sm2 reduction bound');
  if (carry != 0 || u256Compare(r, SM2_P) >= 0) u256SubRaw(r, r, SM2_P);
}

/** r = a + b mod p. */
@inline
export function fpAdd(r: usize, a: usize, b: usize): void {
  u256AddMod(r, a, b, SM2_P);
}

/** r = a - b mod p. */
@inline
export function fpSub(r: usize, a: usize, b: usize): void {
  u256SubMod(r, a, b, SM2_P);
}

/** r = a (plain, < p) in Montgomery form. */
export function fpToMont(r: usize, a: usize): void {
  fpMul(r, a, R2_MOD_P);
}

/** r = a (Montgomery form) as a plain number below p. */
export function fpFromMont(r: usize, a: usize): void {
  fpMul(r, a, ONE_PLAIN);
}

/** r = a^(2^count) * b: `count` squarings then one multiplication (power chains; b != r). */
function fpSqrNMul(r: usize, a: usize, count: u32, b: usize): void {
  assert(b != r, 'power chain aliasing');
  if (r != a) memory.copy(r, a, 32);
  for (let i: u32 = 0; i < count; i++) fpSqr(r, r);
  fpMul(r, r, b);
}

/**
 * Builds x^(2^k - 1) for k = 3, 6, 30, 31, 32 (runs of ones) from x in Montgomery form; the
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
