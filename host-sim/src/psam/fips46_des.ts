// DES and two-key 3DES (EDE) on 8-byte blocks in plain TypeScript (FIPS 46-3), for the cards'
// and the PSAM's MACs and key derivations.
//
// Why not node:crypto: almost every key the simulated world uses is used once or twice (a
// session key per transaction, a MAC key per purchase), and node:crypto pays for a new key with
// an OpenSSL cipher fetch and a JS cipher object (~10-20 us), against a key schedule of about a
// microsecond here. The tables below are built at load time from the standard's own tables
// (FIPS 46-3, Appendix 1), so that what is typed in can be checked against the text; the
// tests compare every operation with node:crypto's 'des-ede-ecb' and 'des-ede-cbc'.

/** DES block size in bytes. */
export const FIPS46_BLOCK_BYTES = 8;

/** IP, the initial permutation: output bit i (1-based, from the left) is input bit IP[i]. */
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/** P, the permutation of the S-boxes' 32 output bits. */
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];

/** PC-1: the key's 56 bits (C then D) from its 64. */
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

/** PC-2: a round key's 48 bits from C and D (56 bits). */
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
  23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
  44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/** Left shifts of C and D before each of the 16 rounds. */
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/** S1..S8, each 4 rows of 16 columns. */
const S = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
    0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
    4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
    15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
    3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
    0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
    13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
    13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
    13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
    1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
    13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
    10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
    3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
    14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
    4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
    11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
    10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
    9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
    4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
    13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
    1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
    6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
    1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
    7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
    2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ],
];

/** Rounds of DES. */
const ROUNDS = 16;

/** Sets `bits` in the table entry at `index` (building the tables). */
function orInto(table: Int32Array, index: number, bits: number): void {
  table[index] = (table[index] ?? 0) | bits;
}

/** Bit `n` (1-based from the left) of a 32-bit word, as 0 or 1. */
function bit32(word: number, n: number): number {
  return (word >>> (32 - n)) & 1;
}

/**
 * SP[box * 64 + x]: S-box `box` on its 6 input bits `x` (b1 b6 pick the row, b2..b5 the
 * column), its 4 output bits placed in the box's nibble (S1 leftmost) and then permuted by P.
 * The round function is then eight lookups ORed together.
 */
const SP = ((): Int32Array => {
  const table = new Int32Array(8 * 64);
  for (let box = 0; box < 8; box += 1) {
    for (let x = 0; x < 64; x += 1) {
      const row = ((x >>> 4) & 2) | (x & 1);
      const column = (x >>> 1) & 15;
      const nibble = S[box]?.[row * 16 + column] ?? 0;
      const placed = (nibble << (28 - 4 * box)) >>> 0;
      let permuted = 0;
      for (let i = 1; i <= 32; i += 1) permuted |= bit32(placed, P[i - 1] ?? 1) << (32 - i);
      table[box * 64 + x] = permuted;
    }
  }
  return table;
})();

/**
 * A 64-bit permutation as byte tables: for each input byte position and value, the bits it
 * gives the output (high word, low word). `table[i]` is the input bit of output bit i + 1.
 */
function byteTables(table: readonly number[]): Int32Array {
  const out = new Int32Array(8 * 256 * 2);
  for (let i = 0; i < 64; i += 1) {
    const source = (table[i] ?? 1) - 1;
    const byte = source >>> 3;
    const mask = 0x80 >>> (source & 7);
    const word = i < 32 ? 0 : 1;
    const value = 1 << (31 - (i & 31));
    for (let v = 0; v < 256; v += 1) {
      if ((v & mask) !== 0) orInto(out, (byte * 256 + v) * 2 + word, value);
    }
  }
  return out;
}

/** FP = IP^-1: output bit IP[i] is input bit i. */
const FP = ((): number[] => {
  const fp = new Array<number>(64).fill(0);
  IP.forEach((source, i) => {
    fp[source - 1] = i + 1;
  });
  return fp;
})();

const IP_BYTES = byteTables(IP);
const FP_BYTES = byteTables(FP);

/** Bits of C (and of D): the two 28-bit halves of the key after PC-1. */
const HALF_BITS = 28;
/** PC-2 takes its first 24 bits from C only, its last 24 from D only. */
const ROUND_KEY_HALF_BITS = 24;

/**
 * PC-1 as byte tables: for each key byte position and value, the bits it gives C (word 0)
 * and D (word 1), each a 28-bit number with C1 (D1) as its top bit.
 */
const PC1_BYTES = ((): Int32Array => {
  const out = new Int32Array(8 * 256 * 2);
  PC1.forEach((sourceBit, i) => {
    const source = sourceBit - 1;
    const mask = 0x80 >>> (source & 7);
    const value = 1 << (HALF_BITS - 1 - (i % HALF_BITS));
    for (let v = 0; v < 256; v += 1) {
      const word = i < HALF_BITS ? 0 : 1;
      if ((v & mask) !== 0) orInto(out, ((source >>> 3) * 256 + v) * 2 + word, value);
    }
  });
  return out;
})();

/**
 * PC-2 as tables on 7-bit groups of C (tables 0..3) and of D (4..7): each value of a group
 * gives its bits of the round key's left (from C) or right (from D) 24 bits.
 */
const PC2_GROUPS = ((): Int32Array => {
  const out = new Int32Array(8 * 128);
  PC2.forEach((sourceBit, j) => {
    const fromD = j >= ROUND_KEY_HALF_BITS;
    const source = sourceBit - 1 - (fromD ? HALF_BITS : 0);
    const group = (fromD ? 4 : 0) + Math.floor(source / 7);
    const mask = 0x40 >>> (source % 7);
    const value = 1 << (ROUND_KEY_HALF_BITS - 1 - (j % ROUND_KEY_HALF_BITS));
    for (let v = 0; v < 128; v += 1) if ((v & mask) !== 0) orInto(out, group * 128 + v, value);
  });
  return out;
})();

/** The round key's 24 bits `half` (0: from C, 1: from D) of the 28-bit `word`. */
function pc2Half(word: number, half: number): number {
  const at = half * 4 * 128;
  return (PC2_GROUPS[at + (word >>> 21)] ?? 0)
    | (PC2_GROUPS[at + 128 + ((word >>> 14) & 127)] ?? 0)
    | (PC2_GROUPS[at + 256 + ((word >>> 7) & 127)] ?? 0)
    | (PC2_GROUPS[at + 384 + (word & 127)] ?? 0);
}

/**
 * The 16 round keys of the 8-byte key at `at` (parity bits ignored): round i's 48 bits as
 * two 24-bit numbers at 2i (S1..S4's chunks) and 2i + 1 (S5..S8's).
 */
function roundKeys(key: Uint8Array, at: number): Int32Array {
  let c = 0;
  let d = 0;
  for (let i = 0; i < 8; i += 1) {
    const index = (i * 256 + (key[at + i] ?? 0)) * 2;
    c |= PC1_BYTES[index] ?? 0;
    d |= PC1_BYTES[index + 1] ?? 0;
  }
  const mask = (1 << HALF_BITS) - 1;
  const out = new Int32Array(ROUNDS * 2);
  for (let round = 0; round < ROUNDS; round += 1) {
    const shift = SHIFTS[round] ?? 1;
    c = ((c << shift) | (c >>> (HALF_BITS - shift))) & mask;
    d = ((d << shift) | (d >>> (HALF_BITS - shift))) & mask;
    out[round * 2] = pc2Half(c, 0);
    out[round * 2 + 1] = pc2Half(d, 1);
  }
  return out;
}

/**
 * f(R, K) with the round key's halves `left` (S1..S4) and `right` (S5..S8). E's chunk i is R's
 * bits 4i .. 4i + 5 (1-based, bit 0 being bit 32): six bits of R rotated right by one, from
 * its bit 4i on (the last chunk wraps around: its low four bits, then its top two). Written
 * out box by box: a loop over the boxes, with a rotation and a choice of half in each, made
 * the round twice as slow.
 */
function feistel(r: number, left: number, right: number): number {
  const rr = (r >>> 1) | (r << 31);
  return (SP[((rr >>> 26) & 63) ^ ((left >>> 18) & 63)] ?? 0)
    | (SP[64 + (((rr >>> 22) & 63) ^ ((left >>> 12) & 63))] ?? 0)
    | (SP[128 + (((rr >>> 18) & 63) ^ ((left >>> 6) & 63))] ?? 0)
    | (SP[192 + (((rr >>> 14) & 63) ^ (left & 63))] ?? 0)
    | (SP[256 + (((rr >>> 10) & 63) ^ ((right >>> 18) & 63))] ?? 0)
    | (SP[320 + (((rr >>> 6) & 63) ^ ((right >>> 12) & 63))] ?? 0)
    | (SP[384 + (((rr >>> 2) & 63) ^ ((right >>> 6) & 63))] ?? 0)
    | (SP[448 + ((((rr & 15) << 2) | (rr >>> 30)) ^ (right & 63))] ?? 0);
}

/** The two 32-bit halves of a permuted block (IP or FP by `tables`) of `bytes` at `at`. */
function permute(tables: Int32Array, bytes: Uint8Array, at: number, out: Int32Array): void {
  let high = 0;
  let low = 0;
  for (let i = 0; i < 8; i += 1) {
    const index = (i * 256 + (bytes[at + i] ?? 0)) * 2;
    high |= tables[index] ?? 0;
    low |= tables[index + 1] ?? 0;
  }
  out[0] = high;
  out[1] = low;
}

/**
 * The 16 rounds on the halves in `lr` (after IP), encrypting (`decrypt` false) or decrypting
 * with `keys`; leaves R16 L16 in `lr`, the order FP takes them in.
 */
function rounds(lr: Int32Array, keys: Int32Array, decrypt: boolean): void {
  let l = lr[0] ?? 0;
  let r = lr[1] ?? 0;
  // Two rounds a step, the halves' roles swapped in the second (no swap of variables).
  const step = decrypt ? -4 : 4;
  for (let keyAt = decrypt ? 2 * ROUNDS - 2 : 0, done = 0; done < ROUNDS; done += 2) {
    l ^= feistel(r, keys[keyAt] ?? 0, keys[keyAt + 1] ?? 0);
    const second = keyAt + step / 2;
    r ^= feistel(l, keys[second] ?? 0, keys[second + 1] ?? 0);
    keyAt += step;
  }
  lr[0] = r;
  lr[1] = l;
}

/** A key's round keys: one key for DES, K1 and K2 for two-key 3DES (EDE). */
export class Fips46Key {
  private readonly k1: Int32Array;
  private readonly k2: Int32Array | null;
  private readonly halves = new Int32Array(2);
  private readonly block = new Uint8Array(FIPS46_BLOCK_BYTES);

  /** `key`: 8 bytes (DES) or 16 (3DES K1 ‖ K2). Throws RangeError on any other length. */
  constructor(key: Uint8Array) {
    if (key.length !== 8 && key.length !== 16) throw new RangeError(`DES key ${key.length} bytes`);
    this.k1 = roundKeys(key, 0);
    this.k2 = key.length === 16 ? roundKeys(key, 8) : null;
  }

  /**
   * Encrypts the block of `input` at `inAt` into `output` at `outAt` (they may be the same):
   * DES, or E_K1(D_K2(E_K1(x))). FP and IP between the stages cancel and are left out: a
   * stage's R16 L16 is the next stage's L0 R0.
   */
  encryptBlock(input: Uint8Array, inAt: number, output: Uint8Array, outAt: number): void {
    const lr = this.halves;
    permute(IP_BYTES, input, inAt, lr);
    rounds(lr, this.k1, false);
    if (this.k2 !== null) {
      rounds(lr, this.k2, true);
      rounds(lr, this.k1, false);
    }
    const block = this.block;
    writeWord(block, 0, lr[0] ?? 0);
    writeWord(block, 4, lr[1] ?? 0);
    permute(FP_BYTES, block, 0, lr);
    writeWord(output, outAt, lr[0] ?? 0);
    writeWord(output, outAt + 4, lr[1] ?? 0);
  }
}

function writeWord(bytes: Uint8Array, at: number, word: number): void {
  bytes[at] = word >>> 24;
  bytes[at + 1] = (word >>> 16) & 0xff;
  bytes[at + 2] = (word >>> 8) & 0xff;
  bytes[at + 3] = word & 0xff;
}
