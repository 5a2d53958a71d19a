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
    store<u32>(target + (<usize>i), bswap<u32>(load<u32>(p)));
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
