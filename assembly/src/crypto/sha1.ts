// SHA-1 (FIPS 180-4, 6.1) over linear memory: one streaming context in static buffers.
//
// EMV ODA hashes with SHA-1 only (hash algorithm indicator 01, EMV 4.4 Book 2 Annex B3.1).
// The kernel is single-threaded and each ODA check hashes in one init/update/final pass, so a
// single static context suffices. Whole blocks are compressed straight from the caller's
// bytes; only a partial tail is copied.

import { bytesSwap32 } from '../util/bytes';
import { MD_BLOCK_BYTES, MD_CONTEXT_BYTES, mdFinal, mdReset, mdUpdate } from './md_block';

/** Digest length in bytes. */
export const SHA1_DIGEST_BYTES: u32 = 20;
/** Compression block length in bytes. */
export const SHA1_BLOCK_BYTES: u32 = MD_BLOCK_BYTES;

const context = memory.data(MD_CONTEXT_BYTES, 16);
const schedule = memory.data(80 * 4, 16);
let h0: u32 = 0;
let h1: u32 = 0;
let h2: u32 = 0;
let h3: u32 = 0;
let h4: u32 = 0;
// Working variables of the block being compressed (shared by the round stages).
let va: u32 = 0;
let vb: u32 = 0;
let vc: u32 = 0;
let vd: u32 = 0;
let ve: u32 = 0;

/** Starts a new digest. */
export function sha1Init(): void {
  h0 = 0x67452301;
  h1 = 0xefcdab89;
  h2 = 0x98badcfe;
  h3 = 0x10325476;
  h4 = 0xc3d2e1f0;
  mdReset(context);
}

/** Hashes `length` bytes at `data`. */
export function sha1Update(data: usize, length: u32): void {
  mdUpdate(context, data, length, sha1Compress);
}

/** Finishes the digest and writes its 20 bytes at `digest`. */
export function sha1Final(digest: usize): void {
  mdFinal(context, sha1Compress);
  store<u32>(digest, bytesSwap32(h0));
  store<u32>(digest, bytesSwap32(h1), 4);
  store<u32>(digest, bytesSwap32(h2), 8);
  store<u32>(digest, bytesSwap32(h3), 12);
  store<u32>(digest, bytesSwap32(h4), 16);
}

/** One-shot digest of `length` bytes at `data` into the 20 bytes at `digest`. */
export function sha1Digest(data: usize, length: u32, digest: usize): void {
  sha1Init();
  sha1Update(data, length);
  sha1Final(digest);
}

/**
 * Compresses the 64 bytes at `p` into h0..h4 (FIPS 180-4, 6.1.2). Schedule words 0-19 are
 * prepared here; the rounds run in two halves that hand the working variables over in va..ve
 * (both halves are inlined, so the split only exists in the source).
 */
function sha1Compress(p: usize): void {
  const w = schedule;
  for (let i: usize = 0; i < 64; i += 4) store<u32>(w + i, bytesSwap32(load<u32>(p + i)));
  for (let i: usize = 64; i < 80; i += 4) {
    const y = load<u32>(w + i - 12) ^ load<u32>(w + i - 32) ^ load<u32>(w + i - 56) ^
      load<u32>(w + i - 64);
    store<u32>(w + i, rotl<u32>(y, 1));
  }
  sha1RoundsFirstHalf(w);
  sha1RoundsSecondHalf(w);
}

// Both halves: five rounds per iteration rotate the roles of a..e, so no value is ever moved,
// and the newest value (a) is added last, so each round's critical path is one rotate and one
// add. From round 20 on each schedule word is expanded inside its round (q points 16 words
// behind it, W[t] is stored at q + 64): the schedule's independent loads and XORs fill the
// gaps of the round chain instead of running as a separate pass.

/** Rounds 0-39 (Ch, then parity) from h0..h4 into va..ve. */
@inline
function sha1RoundsFirstHalf(w: usize): void {
  let a = h0;
  let b = h1;
  let c = h2;
  let d = h3;
  let e = h4;
  let x: u32 = 0;
  let q = w;
  while (q < w + 80) {
    e = e + load<u32>(q) + 0x5a827999 + (d ^ (b & (c ^ d))) + rotl<u32>(a, 5);
    b = rotl<u32>(b, 30);
    d = d + load<u32>(q, 4) + 0x5a827999 + (c ^ (a & (b ^ c))) + rotl<u32>(e, 5);
    a = rotl<u32>(a, 30);
    c = c + load<u32>(q, 8) + 0x5a827999 + (b ^ (e & (a ^ b))) + rotl<u32>(d, 5);
    e = rotl<u32>(e, 30);
    b = b + load<u32>(q, 12) + 0x5a827999 + (a ^ (d & (e ^ a))) + rotl<u32>(c, 5);
    d = rotl<u32>(d, 30);
    a = a + load<u32>(q, 16) + 0x5a827999 + (e ^ (c & (d ^ e))) + rotl<u32>(b, 5);
    c = rotl<u32>(c, 30);
    q += 20;
  }
  q = w + 16;
  while (q < w + 96) {
    x = rotl<u32>(load<u32>(q, 52) ^ load<u32>(q, 32) ^ load<u32>(q, 8) ^ load<u32>(q), 1);
    store<u32>(q, x, 64);
    e = e + x + 0x6ed9eba1 + (b ^ c ^ d) + rotl<u32>(a, 5);
    b = rotl<u32>(b, 30);
    x = rotl<u32>(load<u32>(q, 56) ^ load<u32>(q, 36) ^ load<u32>(q, 12) ^ load<u32>(q, 4), 1);
    store<u32>(q, x, 68);
    d = d + x + 0x6ed9eba1 + (a ^ b ^ c) + rotl<u32>(e, 5);
    a = rotl<u32>(a, 30);
    x = rotl<u32>(load<u32>(q, 60) ^ load<u32>(q, 40) ^ load<u32>(q, 16) ^ load<u32>(q, 8), 1);
    store<u32>(q, x, 72);
    c = c + x + 0x6ed9eba1 + (e ^ a ^ b) + rotl<u32>(d, 5);
    e = rotl<u32>(e, 30);
    x = rotl<u32>(load<u32>(q, 64) ^ load<u32>(q, 44) ^ load<u32>(q, 20) ^ load<u32>(q, 12), 1);
    store<u32>(q, x, 76);
    b = b + x + 0x6ed9eba1 + (d ^ e ^ a) + rotl<u32>(c, 5);
    d = rotl<u32>(d, 30);
    x = rotl<u32>(load<u32>(q, 68) ^ load<u32>(q, 48) ^ load<u32>(q, 24) ^ load<u32>(q, 16), 1);
    store<u32>(q, x, 80);
    a = a + x + 0x6ed9eba1 + (c ^ d ^ e) + rotl<u32>(b, 5);
    c = rotl<u32>(c, 30);
    q += 20;
  }
  va = a;
  vb = b;
  vc = c;
  vd = d;
  ve = e;
}

/** Rounds 40-79 (Maj, then parity) from va..ve, added into h0..h4. */
@inline
function sha1RoundsSecondHalf(w: usize): void {
  let a = va;
  let b = vb;
  let c = vc;
  let d = vd;
  let e = ve;
  let x: u32 = 0;
  let q = w + 96;
  while (q < w + 176) {
    x = rotl<u32>(load<u32>(q, 52) ^ load<u32>(q, 32) ^ load<u32>(q, 8) ^ load<u32>(q), 1);
    store<u32>(q, x, 64);
    e = e + x + 0x8f1bbcdc + ((b & c) | (d & (b | c))) + rotl<u32>(a, 5);
    b = rotl<u32>(b, 30);
    x = rotl<u32>(load<u32>(q, 56) ^ load<u32>(q, 36) ^ load<u32>(q, 12) ^ load<u32>(q, 4), 1);
    store<u32>(q, x, 68);
    d = d + x + 0x8f1bbcdc + ((a & b) | (c & (a | b))) + rotl<u32>(e, 5);
    a = rotl<u32>(a, 30);
    x = rotl<u32>(load<u32>(q, 60) ^ load<u32>(q, 40) ^ load<u32>(q, 16) ^ load<u32>(q, 8), 1);
    store<u32>(q, x, 72);
    c = c + x + 0x8f1bbcdc + ((e & a) | (b & (e | a))) + rotl<u32>(d, 5);
    e = rotl<u32>(e, 30);
    x = rotl<u32>(load<u32>(q, 64) ^ load<u32>(q, 44) ^ load<u32>(q, 20) ^ load<u32>(q, 12), 1);
    store<u32>(q, x, 76);
    b = b + x + 0x8f1bbcdc + ((d & e) | (a & (d | e))) + rotl<u32>(c, 5);
    d = rotl<u32>(d, 30);
    x = rotl<u32>(load<u32>(q, 68) ^ load<u32>(q, 48) ^ load<u32>(q, 24) ^ load<u32>(q, 16), 1);
    store<u32>(q, x, 80);
    a = a + x + 0x8f1bbcdc + ((c & d) | (e & (c | d))) + rotl<u32>(b, 5);
    c = rotl<u32>(c, 30);
    q += 20;
  }
  while (q < w + 256) {
    x = rotl<u32>(load<u32>(q, 52) ^ load<u32>(q, 32) ^ load<u32>(q, 8) ^ load<u32>(q), 1);
    store<u32>(q, x, 64);
    e = e + x + 0xca62c1d6 + (b ^ c ^ d) + rotl<u32>(a, 5);
    b = rotl<u32>(b, 30);
    x = rotl<u32>(load<u32>(q, 56) ^ load<u32>(q, 36) ^ load<u32>(q, 12) ^ load<u32>(q, 4), 1);
    store<u32>(q, x, 68);
    d = d + x + 0xca62c1d6 + (a ^ b ^ c) + rotl<u32>(e, 5);
    a = rotl<u32>(a, 30);
    x = rotl<u32>(load<u32>(q, 60) ^ load<u32>(q, 40) ^ load<u32>(q, 16) ^ load<u32>(q, 8), 1);
    store<u32>(q, x, 72);
    c = c + x + 0xca62c1d6 + (e ^ a ^ b) + rotl<u32>(d, 5);
    e = rotl<u32>(e, 30);
    x = rotl<u32>(load<u32>(q, 64) ^ load<u32>(q, 44) ^ load<u32>(q, 20) ^ load<u32>(q, 12), 1);
    store<u32>(q, x, 76);
    b = b + x + 0xca62c1d6 + (d ^ e ^ a) + rotl<u32>(c, 5);
    d = rotl<u32>(d, 30);
    x = rotl<u32>(load<u32>(q, 68) ^ load<u32>(q, 48) ^ load<u32>(q, 24) ^ load<u32>(q, 16), 1);
    store<u32>(q, x, 80);
    a = a + x + 0xca62c1d6 + (c ^ d ^ e) + rotl<u32>(b, 5);
    c = rotl<u32>(c, 30);
    q += 20;
  }
  h0 += a;
  h1 += b;
  h2 += c;
  h3 += d;
  h4 += e;
}
