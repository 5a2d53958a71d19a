// Fixed-size unsigned big integers on 32-bit limbs in linear memory: multiply, square, divide.
//
// Numbers are little-endian arrays of u32 limbs at raw pointers; the caller owns every buffer
// (static, sized by BN_LIMBS_MAX). Products are formed with u64 arithmetic: a 32x32 product
// plus two 32-bit addends never exceeds 2^64 - 1, so no carry is ever lost. Every 32-bit
// product is first widened (`<u64>a * <u64>b`): asc would otherwise multiply in 32 bits.
// Reduction is Knuth's algorithm D (TAOCP vol. 2, 4.3.1) with the 3-by-2 quotient estimate of
// Moller and Granlund ("Improved division by invariant integers", IEEE TC 2011, alg. 5), so a
// modulus needs no per-key setup beyond normalisation, one reciprocal word and the modulus's
// one's complement (which turns each quotient row into a multiply-accumulate). An e = 3
// operation is two products and two reductions: cheaper than Montgomery's form conversions
// when a key is used once (issuer and ICC keys), and as cheap with the fixed CA keys.
// e = 65537 (17 products) uses Montgomery multiplication on 28-bit limbs with SIMD column sums
// (bn28*, below); it needs the wasm SIMD feature (asconfig.json "enable": ["simd"]).

import { bytesSwap32 } from '../util/bytes';

/** Largest operand: 2048 bits (EMV 4.4 Book 2, 5.1: moduli up to 1984 bits; 2048 with margin). */
export const BN_LIMBS_MAX: u32 = 64;
/** Bytes of a BN_LIMBS_MAX operand. */
export const BN_BYTES_MAX: u32 = BN_LIMBS_MAX * 4;

const MASK32: u64 = 0xffffffff;

/** Reads big-endian bytes `source[0..length)` into `limbs` limbs at `target`, zero-extended. */
export function bnFromBytesBe(target: usize, limbs: u32, source: usize, length: u32): void {
  assert(length <= limbs * 4, 'bytes wider than limbs');
  memory.fill(target, 0, <usize>limbs << 2);
  let i: u32 = 0;
  // Whole limbs from the tail of the byte string: 4 bytes, big-endian.
  while (i + 4 <= length) {
    const p = source + <usize>(length - i - 4);
    store<u32>(target + (<usize>i), bytesSwap32(load<u32>(p)));
    i += 4;
  }
  // The leading 1..3 bytes form the top, partial limb.
  let top: u32 = 0;
  for (let j: u32 = 0; j < length - i; j++) top = (top << 8) | <u32>load<u8>(source + <usize>j);
  if (i < length) store<u32>(target + <usize>i, top);
}

/** Writes the low `length` bytes of the `limbs`-limb number at `source` big-endian. */
export function bnToBytesBe(target: usize, length: u32, source: usize, limbs: u32): void {
  assert(length <= limbs * 4, 'bytes wider than limbs');
  for (let i: u32 = 0; i < length; i++) {
    const limb = load<u32>(source + (<usize>(i >> 2) << 2));
    store<u8>(target + <usize>(length - 1 - i), <u8>(limb >> ((i & 3) << 3)));
  }
}

/** Compares two `limbs`-limb numbers: -1, 0 or 1. */
export function bnCompare(a: usize, b: usize, limbs: u32): i32 {
  let i = limbs;
  while (i > 0) {
    i--;
    const x = load<u32>(a + (<usize>i << 2));
    const y = load<u32>(b + (<usize>i << 2));
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Number of significant limbs (0 for zero). */
export function bnLimbCount(a: usize, limbs: u32): u32 {
  let i = limbs;
  while (i > 0 && load<u32>(a + (<usize>(i - 1) << 2)) == 0) i--;
  return i;
}

/**
 * r[0..n] += q[0..n) * ai, n = (qEnd - q) / 4 limbs, the final carry stored at r[n] (which
 * the caller has zeroed). The one inner loop of both multiplication and squaring.
 */
@inline
function bnMulAddRow(r: usize, q: usize, qEnd: usize, ai: u64): void {
  let carry: u64 = 0;
  // Four limbs per round: the limb count is a multiple of 4 for every EMV key size we meet,
  // but any remainder falls through to the single-limb tail.
  while (q + 16 <= qEnd) {
    let t = ai * <u64>load<u32>(q) + <u64>load<u32>(r) + carry;
    store<u32>(r, <u32>t);
    t = ai * <u64>load<u32>(q, 4) + <u64>load<u32>(r, 4) + (t >> 32);
    store<u32>(r, <u32>t, 4);
    t = ai * <u64>load<u32>(q, 8) + <u64>load<u32>(r, 8) + (t >> 32);
    store<u32>(r, <u32>t, 8);
    t = ai * <u64>load<u32>(q, 12) + <u64>load<u32>(r, 12) + (t >> 32);
    store<u32>(r, <u32>t, 12);
    carry = t >> 32;
    q += 16;
    r += 16;
  }
  while (q < qEnd) {
    const t = ai * <u64>load<u32>(q) + <u64>load<u32>(r) + carry;
    store<u32>(r, <u32>t);
    carry = t >> 32;
    q += 4;
    r += 4;
  }
  store<u32>(r, <u32>carry);
}

/** target[0..2k) = a * b, a and b of `k` limbs; target must not overlap a or b. */
export function bnMul(target: usize, a: usize, b: usize, k: u32): void {
  assert(k > 0 && k <= BN_LIMBS_MAX, 'bnMul size');
  memory.fill(target, 0, <usize>k << 3);
  const bEnd = b + (<usize>k << 2);
  for (let i: u32 = 0; i < k; i++) {
    const ai = <u64>load<u32>(a + (<usize>i << 2));
    bnMulAddRow(target + (<usize>i << 2), b, bEnd, ai);
  }
}

/** target[0..2k) = a^2, a of `k` limbs; target must not overlap a. */
export function bnSquare(target: usize, a: usize, k: u32): void {
  assert(k > 0 && k <= BN_LIMBS_MAX, 'bnSquare size');
  memory.fill(target, 0, <usize>k << 3);
  // Off-diagonal products a_i * a_j (i < j), each once.
  const aEnd = a + (<usize>k << 2);
  for (let i: u32 = 0; i + 1 < k; i++) {
    const ai = <u64>load<u32>(a + (<usize>i << 2));
    bnMulAddRow(target + (<usize>(2 * i + 1) << 2), a + (<usize>(i + 1) << 2), aEnd, ai);
  }
  // Double the off-diagonal sum and add the squares a_i^2 in one carry pass.
  let carry: u64 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const ai = <u64>load<u32>(a + (<usize>i << 2));
    const sq = ai * ai;
    const p = target + (<usize>(2 * i) << 2);
    const lo = <u64>load<u32>(p);
    const hi = <u64>load<u32>(p, 4);
    // The doubled limbs are 33-bit values in u64, so the bit shifted out travels in t >> 32.
    let t = (lo << 1) + (sq & MASK32) + carry;
    store<u32>(p, <u32>t);
    t = (hi << 1) + (sq >> 32) + (t >> 32);
    store<u32>(p, <u32>t, 4);
    carry = t >> 32;
  }
  assert(carry == 0, 'square overflow');
}

/**
 * Reciprocal for the 3-by-2 quotient estimate of a normalised divisor top (d1, d0), d1 >= 2^31:
 * floor((2^96 - 1) / (d1 * 2^32 + d0)) - 2^32 (Moller-Granlund alg. 6).
 */
export function bnReciprocal3by2(d1: u32, d0: u32): u32 {
  assert(d1 >= 0x80000000, 'divisor not normalised');
  let v = <u32>(0xffffffffffffffff / <u64>d1 - 0x100000000);
  let p: u32 = d1 * v;
  p += d0;
  if (p < d0) {
    v--;
    if (p >= d1) {
      v--;
      p -= d1;
    }
    p -= d1;
  }
  const t = <u64>v * <u64>d0;
  const t1 = <u32>(t >> 32);
  const t0 = <u32>t;
  p += t1;
  if (p < t1) {
    v--;
    if (p > d1 || (p == d1 && t0 >= d0)) v--;
  }
  return v;
}

/**
 * Reduces `u` (uLimbs limbs) in place modulo the normalised k-limb divisor `d` (top bit set,
 * k >= 2) whose one's complement is `dc` and whose 3-by-2 reciprocal is `v`. The top k limbs of
 * u must already be below d (true for a product of two residues shifted like d, plus a zero
 * top limb). On return u[0..k) holds the remainder and u[k..uLimbs) is zero.
 */
export function bnReduceNormalized(
  u: usize, uLimbs: u32, d: usize, dc: usize, k: u32, v: u32,
): void {
  assert(k >= 2 && k <= BN_LIMBS_MAX, 'reduce divisor size');
  assert(uLimbs > k && uLimbs <= 2 * BN_LIMBS_MAX + 1, 'reduce dividend size');
  const d1 = load<u32>(d + (<usize>(k - 1) << 2));
  const d0 = load<u32>(d + (<usize>(k - 2) << 2));
  const dd = (<u64>d1 << 32) | <u64>d0;
  assert(d1 >= 0x80000000, 'divisor not normalised');
  let j = uLimbs - k;
  // One quotient digit per round, most significant first: uLimbs - k rounds.
  while (j > 0) {
    j--;
    // Memory offsets are unsigned in wasm, so the window is read upwards from its base.
    const window = u + (<usize>(j + k - 2) << 2);
    const top = window + 8;
    const u0 = load<u32>(window);
    const u1 = load<u32>(window, 4);
    const u2 = load<u32>(window, 8);
    let q: u32;
    if (u2 == d1 && u1 == d0) {
      // (u2, u1) == (d1, d0) is outside the estimate's domain; the quotient digit is β - 1
      // or β - 2, and the add-back below corrects the rare second case.
      q = 0xffffffff;
    } else {
      q = reduceEstimate(u2, u1, u0, d1, d0, dd, v);
    }
    if (q == 0) continue;
    if (reduceSubMul(u + (<usize>j << 2), dc, k, q)) {
      // The estimate was one too large: add the divisor back once (probability ~2^-31).
      reduceAddBack(u + (<usize>j << 2), d, k);
    }
    assert(load<u32>(top) == 0, 'quotient digit left a top limb');
  }
}

/** Quotient digit of (u2 u1 u0) / (d1 d0) with reciprocal v (Moller-Granlund alg. 5). */
@inline
function reduceEstimate(u2: u32, u1: u32, u0: u32, d1: u32, d0: u32, dd: u64, v: u32): u32 {
  const qq = <u64>v * <u64>u2 + ((<u64>u2 << 32) | <u64>u1);
  let q1 = <u32>(qq >> 32);
  const q0 = <u32>qq;
  const r1w: u32 = u1 - q1 * d1;
  let r = ((<u64>r1w << 32) | <u64>u0) - <u64>d0 * <u64>q1 - dd;
  q1++;
  if (<u32>(r >> 32) >= q0) {
    q1--;
    r += dd;
  }
  if (r >= dd) q1++;
  return q1;
}

/**
 * u[0..k] -= q * d[0..k), computed as an addition with the complement dc = ~d:
 * u - q*d = u + q*dc + q - q*2^(32k), so the row is a multiply-accumulate and the subtraction
 * happens once, on the top limb. The next quotient digit needs this row's top limbs, so rows
 * cannot overlap: the row runs as two interleaved carry chains (low and high half) to halve
 * its latency, and the low half's carry is then rippled into the high half (almost always a
 * single limb). Returns true when the result went negative (the digit was one too large).
 */
@inline
function reduceSubMul(u: usize, dc: usize, k: u32, q: u32): bool {
  const qw = <u64>q;
  const half = <usize>(k >> 1) << 2;
  let low: u64 = qw;
  let high: u64 = 0;
  let p = u;
  let s = dc;
  const sEnd = dc + half;
  while (s + 8 <= sEnd) {
    let tl = qw * <u64>load<u32>(s) + <u64>load<u32>(p) + low;
    let th = qw * <u64>load<u32>(s + half) + <u64>load<u32>(p + half) + high;
    store<u32>(p, <u32>tl);
    store<u32>(p + half, <u32>th);
    tl = qw * <u64>load<u32>(s, 4) + <u64>load<u32>(p, 4) + (tl >> 32);
    th = qw * <u64>load<u32>(s + half, 4) + <u64>load<u32>(p + half, 4) + (th >> 32);
    store<u32>(p, <u32>tl, 4);
    store<u32>(p + half, <u32>th, 4);
    low = tl >> 32;
    high = th >> 32;
    p += 8;
    s += 8;
  }
  while (s < sEnd) {
    const tl = qw * <u64>load<u32>(s) + <u64>load<u32>(p) + low;
    const th = qw * <u64>load<u32>(s + half) + <u64>load<u32>(p + half) + high;
    store<u32>(p, <u32>tl);
    store<u32>(p + half, <u32>th);
    low = tl >> 32;
    high = th >> 32;
    p += 4;
    s += 4;
  }
  // An odd k leaves one limb at the top of the high half.
  const end = u + (<usize>k << 2);
  p += half;
  s += half;
  if (p < end) {
    const th = qw * <u64>load<u32>(s) + <u64>load<u32>(p) + high;
    store<u32>(p, <u32>th);
    high = th >> 32;
  }
  // Ripple the low half's carry upwards; it stops at the first limb that does not overflow.
  p = u + half;
  while (low != 0 && p < end) {
    const t = <u64>load<u32>(p) + low;
    store<u32>(p, <u32>t);
    low = t >> 32;
    p += 4;
  }
  const t = <i64>load<u32>(end) + <i64>high + <i64>low - <i64>qw;
  store<u32>(end, <u32>t);
  return t < 0;
}

/** u[0..k] += d[0..k) (the final carry out of u[k] cancels the earlier borrow). */
function reduceAddBack(u: usize, d: usize, k: u32): void {
  let carry: u64 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const t = <u64>load<u32>(u + (<usize>i << 2)) + <u64>load<u32>(d + (<usize>i << 2)) + carry;
    store<u32>(u + (<usize>i << 2), <u32>t);
    carry = t >> 32;
  }
  const p = u + (<usize>k << 2);
  store<u32>(p, <u32>(<u64>load<u32>(p) + carry));
}

/** Shifts the `limbs`-limb number at `a` left by `shift` (0..31) bits in place; returns the
 *  bits shifted out of the top limb. */
export function bnShiftLeft(a: usize, limbs: u32, shift: u32): u32 {
  assert(shift < 32, 'shift past a limb');
  if (shift == 0) return 0;
  let out: u32 = 0;
  for (let i: u32 = 0; i < limbs; i++) {
    const p = a + (<usize>i << 2);
    const x = load<u32>(p);
    store<u32>(p, (x << shift) | out);
    out = x >> (32 - shift);
  }
  return out;
}

/** Shifts the `limbs`-limb number at `a` right by `shift` (0..31) bits in place. */
export function bnShiftRight(a: usize, limbs: u32, shift: u32): void {
  assert(shift < 32, 'shift past a limb');
  if (shift == 0) return;
  let inBits: u32 = 0;
  let i = limbs;
  while (i > 0) {
    i--;
    const p = a + (<usize>i << 2);
    const x = load<u32>(p);
    store<u32>(p, (x >> shift) | inBits);
    inBits = x << (32 - shift);
  }
}

/** target[0..limbs) = ~a[0..limbs) (one's complement, used as the reduction's divisor image). */
export function bnComplement(target: usize, a: usize, limbs: u32): void {
  for (let i: u32 = 0; i < limbs; i++) {
    store<u32>(target + (<usize>i << 2), ~load<u32>(a + (<usize>i << 2)));
  }
}

// Montgomery arithmetic on 28-bit limbs (for e = 65537). A 28 x 28-bit product is below 2^56,
// so a whole product-scanning column (at most 2k + 2 products, k <= 74 for 2048 bits) sums in
// one u64 without any carry handling: two loads, one multiply and one add per product, where
// 32-bit limbs need the product split into halves and two sums. 14 % more limbs, about half
// the instructions per product.

/** Bits per limb of the Montgomery form. */
export const BN28_BITS: u32 = 28;
const MASK28: u64 = 0x0fffffff;
/** Most 28-bit limbs of a BN_LIMBS_MAX operand (2048 bits: 74). */
export const BN28_LIMBS_MAX: u32 = (BN_LIMBS_MAX * 32 + 27) / 28;

/** 28-bit limbs needed for a `bytes`-byte number. */
export function bn28Limbs(bytes: u32): u32 {
  return (bytes * 8 + 27) / 28;
}

/**
 * target[0..k28) = the 28-bit limbs of the 32-bit-limb number at `source`. Limb i is bits
 * 28i..28i+27, read as one u64 at byte 3.5i; `source` must be readable (and zero) up to
 * 8 bytes past the number's last limb.
 */
export function bn28FromLimbs(target: usize, k28: u32, source: usize): void {
  for (let i: u32 = 0; i < k28; i++) {
    const limb = load<u64>(source + <usize>((7 * i) >> 1)) >> (<u64>(i & 1) << 2);
    store<u32>(target + (<usize>i << 2), <u32>(limb & MASK28));
  }
}

/**
 * target[0..bytes) = the 28-bit-limb number at `source` as 32-bit limbs; `target` must have
 * 8 writable bytes past `bytes` (they are zeroed; the number must fit in `bytes`).
 */
export function bn28ToLimbs(target: usize, bytes: u32, source: usize, k28: u32): void {
  memory.fill(target, 0, <usize>bytes + 8);
  for (let i: u32 = 0; i < k28; i++) {
    const p = target + <usize>((7 * i) >> 1);
    const limb = <u64>load<u32>(source + (<usize>i << 2)) << (<u64>(i & 1) << 2);
    store<u64>(p, load<u64>(p) | limb);
  }
}

/** n0' = -n^-1 mod 2^28 for an odd n (Montgomery's per-modulus constant), from n's low word. */
export function bn28MontgomeryN0(low: u32): u32 {
  assert((low & 1) == 1, 'Montgomery modulus must be odd');
  // Newton's iteration doubles the correct low bits; an odd x is its own inverse mod 8.
  let x: u32 = low;
  x *= 2 - low * x; // 6 bits
  x *= 2 - low * x; // 12 bits
  x *= 2 - low * x; // 24 bits
  x *= 2 - low * x; // 48 >= 28 bits
  return (0 - x) & <u32>MASK28;
}

/**
 * rx[0..k) = x[k-1..0]: the reversed copy that lets a column's second operand, x_(c-j), be
 * read upwards like the first, four limbs per SIMD load.
 */
export function bn28Reverse(rx: usize, x: usize, k: u32): void {
  const last = x + (<usize>(k - 1) << 2);
  for (let i: u32 = 0; i < k; i++) {
    store<u32>(rx + (<usize>i << 2), load<u32>(last - (<usize>i << 2)));
  }
}

/**
 * r[0..k) = a * b * 2^(-28k) mod n, all k 28-bit limbs (Montgomery multiplication in the
 * "FIPS" product-scanning form of Koc, Acar and Kaliski, IEEE Micro 1996). a, b < n < 2^(28k),
 * n odd; rb and rn are b and n reversed (bn28Reverse); m is k limbs of scratch; r must not
 * overlap a, b or m. Column c sums a_j b_(c-j) + m_j n_(c-j); rb + 4(k-1-c+j) holds b_(c-j).
 */
export function bn28MontMul(
  r: usize, a: usize, rb: usize, b0: u32, n: usize, rn: usize, m: usize, k: u32, n0: u32,
): void {
  let acc: u64 = 0;
  // Columns 0..k-1 end by choosing m[c] so that the column's low 28 bits become zero.
  for (let c: u32 = 0; c < k; c++) {
    const y = <usize>(k - 1 - c) << 2;
    acc += montDot(a, rb + y, c) + montDot(m, rn + y, c);
    acc += <u64>load<u32>(a + (<usize>c << 2)) * <u64>b0;
    const mc = (<u32>acc * n0) & <u32>MASK28;
    store<u32>(m + (<usize>c << 2), mc);
    acc = (acc + <u64>mc * <u64>load<u32>(n)) >> 28;
  }
  // Columns k..2k-2 (j = c-k+1..k-1) give the result limbs.
  for (let c: u32 = k; c < 2 * k - 1; c++) {
    const first = <usize>(c - k + 1) << 2;
    acc += montDot(a + first, rb, 2 * k - 1 - c) + montDot(m + first, rn, 2 * k - 1 - c);
    store<u32>(r + first - 4, <u32>(acc & MASK28));
    acc >>= 28;
  }
  store<u32>(r + (<usize>(k - 1) << 2), <u32>(acc & MASK28));
  bn28FinalSubtract(r, n, k, <u32>(acc >> 28));
}

/**
 * r[0..k) = a^2 * 2^(-28k) mod n: bn28MontMul with each off-diagonal product a_j * a_(c-j)
 * formed once and doubled (about 1.5 k^2 products instead of 2 k^2). Column bound: 2k + 1
 * products below 2^56 plus the carry stay below 2^64 for k <= 74. ra is k limbs of scratch.
 */
export function bn28MontSquare(
  r: usize, a: usize, ra: usize, n: usize, rn: usize, m: usize, k: u32, n0: u32,
): void {
  bn28Reverse(ra, a, k);
  let acc: u64 = 0;
  for (let c: u32 = 0; c < 2 * k - 1; c++) {
    const jLow: u32 = c < k ? 0 : c - k + 1;
    const x = <usize>jLow << 2;
    const y = <usize>(k - 1 - c + jLow) << 2;
    // Off-diagonal pairs j < c - j, doubled; then the square of a_(c/2) for an even column.
    const pairs = ((c + 1) >> 1) - jLow;
    if (<i32>pairs > 0) acc += montDot(a + x, ra + y, pairs) << 1;
    if ((c & 1) == 0) {
      const v = <u64>load<u32>(a + (<usize>(c >> 1) << 2));
      acc += v * v;
    }
    // m_j * n_(c-j) for j = jLow..min(c, k)-1.
    acc += montDot(m + x, rn + y, (c < k ? c : k) - jLow);
    if (c < k) {
      const mc = (<u32>acc * n0) & <u32>MASK28;
      store<u32>(m + (<usize>c << 2), mc);
      acc += <u64>mc * <u64>load<u32>(n);
    } else {
      store<u32>(r + (<usize>(c - k) << 2), <u32>(acc & MASK28));
    }
    acc >>= 28;
  }
  store<u32>(r + (<usize>(k - 1) << 2), <u32>(acc & MASK28));
  bn28FinalSubtract(r, n, k, <u32>(acc >> 28));
}

// Lane masks keeping the first 0..3 u32 lanes of a vector: the tail of a column sum.
const TAIL_MASKS = memory.data<u32>([
  0, 0, 0, 0,
  0xffffffff, 0, 0, 0,
  0xffffffff, 0xffffffff, 0, 0,
  0xffffffff, 0xffffffff, 0xffffffff, 0,
], 16);

/**
 * Sum of x[t] * y[t] for t < count, 28-bit limbs: four products per round as two SIMD
 * widening multiplies (i64x2.extmul_*_i32x4_u), each lane summing its own products. The last
 * 1..3 limbs are one more round with the lanes past the end masked to zero, so up to 12 bytes
 * past x + 4 count are read (every Montgomery buffer has that slack).
 */
@inline
function montDot(x: usize, y: usize, count: u32): u64 {
  let lanes = i64x2.splat(0);
  const end4 = x + (<usize>(count & ~3) << 2);
  while (x < end4) {
    const vx = v128.load(x);
    const vy = v128.load(y);
    lanes = i64x2.add(
      lanes,
      i64x2.add(i64x2.extmul_low_i32x4_u(vx, vy), i64x2.extmul_high_i32x4_u(vx, vy)),
    );
    x += 16;
    y += 16;
  }
  const vx = v128.and(v128.load(x), v128.load(TAIL_MASKS + (<usize>(count & 3) << 4)));
  const vy = v128.load(y);
  lanes = i64x2.add(
    lanes,
    i64x2.add(i64x2.extmul_low_i32x4_u(vx, vy), i64x2.extmul_high_i32x4_u(vx, vy)),
  );
  return <u64>i64x2.extract_lane(lanes, 0) + <u64>i64x2.extract_lane(lanes, 1);
}

/** r -= n when (top, r) >= n: brings a Montgomery result (below 2n) below n. */
function bn28FinalSubtract(r: usize, n: usize, k: u32, top: u32): void {
  if (top == 0 && bnCompare(r, n, k) < 0) return;
  let borrow: u32 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const p = r + (<usize>i << 2);
    const t = load<u32>(p) - load<u32>(n + (<usize>i << 2)) - borrow;
    store<u32>(p, t & <u32>MASK28);
    borrow = t >> 31;
  }
}
