// AES-256-GCM of many short texts at once, byte for byte what node:crypto's aes-256-gcm makes
// (96-bit IV, 128-bit tag, no AAD). The depot seals every PAN of every batch: a createCipheriv
// per PAN cost more than the rest of its record's validation (a native cipher object, its key
// schedule and four calls into C++). Here one ECB cipher makes every counter block of a batch
// in one call (AES itself stays OpenSSL's) and GHASH runs in JavaScript over tables of the
// fixed powers of H. See NIST SP 800-38D, 6.3 (multiplication), 6.4 (GHASH), 7.1 (GCM-AE).
//
// Side channels: the tables hold multiples of the secret H, but they are indexed by the
// ciphertext's bytes, which the seal publishes anyway; no address depends on a secret.

import { createCipheriv, type Cipher, type KeyObject } from 'node:crypto';

/** Texts up to two blocks (a PAN is at most 19 digits). */
export const GCM_BATCH_TEXT_BYTES_MAX = 32;
const BLOCK_BYTES = 16;
const IV_BYTES = 12;
/** Counter blocks per text: J0 (for the tag) and inc32(J0), inc32^2(J0) (SP 800-38D, 7.1). */
const COUNTER_BLOCKS = 3;
/** R of SP 800-38D, 6.3 (11100001 || 0^120): the top word of the reduction. */
const R_TOP = 0xe1000000;
/** Words of a 16-by-256 table of 128-bit products. */
const TABLE_WORDS = BLOCK_BYTES * 256 * 4;
/**
 * Bytes per text in the output layout: IV, tag and ciphertext each in a slot of a multiple of
 * 3 bytes (12, 18, 33), so one base64url of the whole layout holds each part's own base64url
 * at a fixed offset (a zero filler codes the same bits as base64's own zero fill).
 */
const LAYOUT_BYTES = 63;
const LAYOUT_TAG_AT = 12;
const LAYOUT_TEXT_AT = 30;
const LAYOUT_CHARS = (LAYOUT_BYTES / 3) * 4;

/** A 128-bit block as four big-endian 32-bit words: bit 0 of SP 800-38D is the top bit. */
type Block = readonly [number, number, number, number];

/** V·x (SP 800-38D, 6.3, the step of Algorithm 1): shift right, reduce by R. */
function timesX(v: Block): Block {
  const reduce = -(v[3] & 1) & R_TOP;
  return [((v[0] >>> 1) ^ reduce) >>> 0, ((v[1] >>> 1) | (v[0] << 31)) >>> 0,
    ((v[2] >>> 1) | (v[1] << 31)) >>> 0, ((v[3] >>> 1) | (v[2] << 31)) >>> 0];
}

/** X·Y in GF(2^128), SP 800-38D Algorithm 1 (setup only: a few products per key). */
function gfMultiply(x: Block, y: Block): Block {
  let z: [number, number, number, number] = [0, 0, 0, 0];
  let v = y;
  for (let i = 0; i < 128; i += 1) {
    if ((((x[i >>> 5] ?? 0) >>> (31 - (i & 31))) & 1) === 1)
      z = [z[0] ^ v[0], z[1] ^ v[1], z[2] ^ v[2], z[3] ^ v[3]];
    v = timesX(v);
  }
  return z;
}

/**
 * The products b·x^(8p)·y for every byte value b at every byte position p: X·y is then the
 * XOR of 16 entries, one per byte of X (the product is linear in X).
 */
function productTable(y: Block): Int32Array {
  const basis: Block[] = [];
  let v = y;
  for (let i = 0; i < 128; i += 1) {
    basis.push(v);
    v = timesX(v);
  }
  const table = new Int32Array(TABLE_WORDS);
  for (let p = 0; p < BLOCK_BYTES; p += 1)
    for (let b = 1; b < 256; b += 1) {
      // Bit j of a byte (j = 0 its least significant) is bit 8p + 7 - j of the block.
      const low = 31 - Math.clz32(b & -b);
      const unit = basis[8 * p + 7 - low] ?? [0, 0, 0, 0];
      const from = (p * 256 + (b & (b - 1))) * 4;
      const to = (p * 256 + b) * 4;
      for (let w = 0; w < 4; w += 1) table[to + w] = (table[from + w] ?? 0) ^ (unit[w] ?? 0);
    }
  return table;
}

function blockAt(bytes: Uint8Array, at: number): Block {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, BLOCK_BYTES);
  return [view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12)];
}

/** Seals texts under one key: see gcmBatchSealer. */
export interface GcmBatchSealer {
  /**
   * Each text of `texts` (ASCII, at most GCM_BATCH_TEXT_BYTES_MAX bytes: the caller checks)
   * sealed under `ivs[i]` (12 bytes) as `IV.TAG.CIPHERTEXT` in base64url: the parts node's
   * createCipheriv('aes-256-gcm', key, iv) gives for update(text, 'ascii'), final() and
   * getAuthTag(). Throws RangeError for a text or IV out of those bounds.
   */
  seal(texts: readonly string[], ivs: readonly Uint8Array[]): string[];
}

/** A batch sealer under `key` (an AES-256 secret KeyObject). */
export function gcmBatchSealer(key: KeyObject): GcmBatchSealer {
  const ecb = createCipheriv('aes-256-ecb', key, null);
  ecb.setAutoPadding(false);
  // H = CIPH_K(0^128) (SP 800-38D, 7.1 step 1).
  const h = blockAt(ecb.update(new Uint8Array(BLOCK_BYTES)), 0);
  const h2 = gfMultiply(h, h);
  const tables = { h2: productTable(h2), h3: productTable(gfMultiply(h2, h)) };
  // len(A) || len(C) (bits) times H, per text length: the last GHASH block of every text.
  const lengthTerms: Block[] = [];
  for (let n = 0; n <= GCM_BATCH_TEXT_BYTES_MAX; n += 1)
    lengthTerms.push(gfMultiply([0, 0, 0, 8 * n], h));
  return { seal: (texts, ivs) => sealAll(ecb, tables, lengthTerms, texts, ivs) };
}

interface PowerTables {
  readonly h2: Int32Array;
  readonly h3: Int32Array;
}

function sealAll(ecb: Cipher, tables: PowerTables, lengthTerms: readonly Block[],
  texts: readonly string[], ivs: readonly Uint8Array[]): string[] {
  const count = texts.length;
  const counters = Buffer.alloc(COUNTER_BLOCKS * BLOCK_BYTES * count);
  for (let i = 0; i < count; i += 1) {
    const iv = ivs[i];
    if (iv?.length !== IV_BYTES) throw new RangeError(`IV ${i} is not ${IV_BYTES} bytes`);
    for (let c = 0; c < COUNTER_BLOCKS; c += 1) {
      const at = (i * COUNTER_BLOCKS + c) * BLOCK_BYTES;
      counters.set(iv, at);
      counters[at + BLOCK_BYTES - 1] = c + 1;
    }
  }
  const stream = ecb.update(counters);
  const layout = Buffer.alloc(LAYOUT_BYTES * count);
  for (let i = 0; i < count; i += 1)
    sealOne(texts[i] ?? '', stream, i * COUNTER_BLOCKS * BLOCK_BYTES, tables,
      lengthTerms, layout, i * LAYOUT_BYTES);
  for (let i = 0; i < count; i += 1) layout.set(ivs[i] ?? [], i * LAYOUT_BYTES);
  const chars = layout.toString('base64url');
  const sealed = new Array<string>(count);
  for (let i = 0; i < count; i += 1) {
    const at = i * LAYOUT_CHARS;
    const textChars = Math.ceil((4 * (texts[i] ?? '').length) / 3);
    sealed[i] = `${chars.slice(at, at + 16)}.${chars.slice(at + 16, at + 38)}.${
      chars.slice(at + 40, at + 40 + textChars)}`;
  }
  return sealed;
}

/**
 * Encrypts `text` with the keystream at `streamAt` (after J0's block) into `layout` at `out`
 * and writes its tag: GHASH(C || len) XOR CIPH_K(J0), where GHASH of m blocks is
 * C1·H^(m+1) ^ ... ^ Cm·H^2 ^ len·H (SP 800-38D, 6.4, unrolled for m = 1 or 2).
 */
function sealOne(text: string, stream: Buffer, streamAt: number, tables: PowerTables,
  lengthTerms: readonly Block[], layout: Buffer, out: number): void {
  const length = text.length;
  if (length > GCM_BATCH_TEXT_BYTES_MAX)
    throw new RangeError(`text of ${length} characters (at most ${GCM_BATCH_TEXT_BYTES_MAX})`);
  const textAt = out + LAYOUT_TEXT_AT;
  for (let j = 0; j < length; j += 1) {
    const code = text.charCodeAt(j);
    if (code > 0x7f) throw new RangeError('text is not ASCII');
    layout[textAt + j] = code ^ (stream[streamAt + BLOCK_BYTES + j] ?? 0);
  }
  const term = lengthTerms[length] ?? [0, 0, 0, 0];
  const tag = [term[0], term[1], term[2], term[3]];
  const first = length > BLOCK_BYTES ? tables.h3 : tables.h2;
  ghashAdd(tag, first, layout, textAt);
  if (length > BLOCK_BYTES) ghashAdd(tag, tables.h2, layout, textAt + BLOCK_BYTES);
  for (let w = 0; w < 4; w += 1) {
    const j0 = stream.readInt32BE(streamAt + 4 * w);
    layout.writeInt32BE((tag[w] ?? 0) ^ j0, out + LAYOUT_TAG_AT + 4 * w);
  }
}

/** sum ^= block·y, y the power of H whose table is `table`; layout is zero past the text. */
function ghashAdd(sum: number[], table: Int32Array, layout: Uint8Array, at: number): void {
  let z0 = sum[0] ?? 0;
  let z1 = sum[1] ?? 0;
  let z2 = sum[2] ?? 0;
  let z3 = sum[3] ?? 0;
  for (let p = 0; p < BLOCK_BYTES; p += 1) {
    const entry = (p * 256 + (layout[at + p] ?? 0)) * 4;
    z0 ^= table[entry] ?? 0;
    z1 ^= table[entry + 1] ?? 0;
    z2 ^= table[entry + 2] ?? 0;
    z3 ^= table[entry + 3] ?? 0;
  }
  sum[0] = z0;
  sum[1] = z1;
  sum[2] = z2;
  sum[3] = z3;
}
