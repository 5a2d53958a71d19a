// SM3 (GB/T 32905-2016) over linear memory: one streaming context in static buffers.
//
// PBOC 3.0 SM ODA hashes with SM3 (JR/T 0025.17; domain.md 3.6): Z_A, then e = SM3(Z_A || M)
// for every SM2 certificate and signed data object. Like sha1.ts the kernel needs one context
// at a time (each check is one init/update/final pass), so the state is static. Whole blocks
// are compressed straight from the caller's bytes; only a partial tail is copied.

import { bytesSwap32 } from '../util/bytes';
import { MD_BLOCK_BYTES, MD_CONTEXT_BYTES, mdFinal, mdReset, mdUpdate } from './md_block';

/** Digest length in bytes. */
export const SM3_DIGEST_BYTES: u32 = 32;
/** Compression block length in bytes. */
export const SM3_BLOCK_BYTES: u32 = MD_BLOCK_BYTES;

const context = memory.data(MD_CONTEXT_BYTES, 16);
// Message expansion W[0..68) (GB/T 32905, 5.3.2); W'[j] = W[j] ^ W[j + 4] is formed in place.
const expanded = memory.data(68 * 4, 16);
const state = memory.data(32, 16);
/** The initial value IV (GB/T 32905, 4.1). */
const IV = memory.data<u32>([
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
]);

/** Starts a new digest with the initial value IV (GB/T 32905, 4.1). */
export function sm3Init(): void {
  memory.copy(state, IV, 32);
  mdReset(context);
}

/** Hashes `length` bytes at `data`. */
export function sm3Update(data: usize, length: u32): void {
  mdUpdate(context, data, length, sm3Compress);
}

/** Finishes the digest (padding of GB/T 32905, 5.2) and writes its 32 bytes at `digest`. */
export function sm3Final(digest: usize): void {
  mdFinal(context, sm3Compress);
  for (let i: usize = 0; i < 32; i += 4) store<u32>(digest + i, bytesSwap32(load<u32>(state + i)));
}

/** One-shot digest of `length` bytes at `data` into the 32 bytes at `digest`. */
export function sm3Digest(data: usize, length: u32, digest: usize): void {
  sm3Init();
  sm3Update(data, length);
  sm3Final(digest);
}

@inline
function p0(x: u32): u32 {
  return x ^ rotl<u32>(x, 9) ^ rotl<u32>(x, 17);
}

@inline
function p1(x: u32): u32 {
  return x ^ rotl<u32>(x, 15) ^ rotl<u32>(x, 23);
}

/**
 * Compresses the 64 bytes at `p` into the state (GB/T 32905, 5.3.3). Rounds 0-15 and 16-63
 * differ only in FF/GG and T_j (selected per round: one loop body keeps the kernel small); the
 * eight words live in locals, and GG's (E & F) | (~E & G) is written as G ^ (E & (F ^ G)).
 */
function sm3Compress(p: usize): void {
  const w = expanded;
  for (let i: usize = 0; i < 64; i += 4) store<u32>(w + i, bytesSwap32(load<u32>(p + i)));
  for (let i: usize = 64; i < 272; i += 4) {
    const x = load<u32>(w + i - 64) ^ load<u32>(w + i - 36) ^ rotl<u32>(load<u32>(w + i - 12), 15);
    store<u32>(w + i, p1(x) ^ rotl<u32>(load<u32>(w + i - 52), 7) ^ load<u32>(w + i - 24));
  }
  let a = load<u32>(state, 0);
  let b = load<u32>(state, 4);
  let c = load<u32>(state, 8);
  let d = load<u32>(state, 12);
  let e = load<u32>(state, 16);
  let f = load<u32>(state, 20);
  let g = load<u32>(state, 24);
  let h = load<u32>(state, 28);
  let t: u32 = 0x79cc4519;
  for (let j: usize = 0; j < 256; j += 4) {
    // Rounds 0-15: FF = GG = XOR; from 16: majority and choice, and T_j = 0x7a879d8a.
    const early = j < 64;
    if (j == 64) t = 0x9d8a7a87;
    const wj = load<u32>(w + j);
    const a12 = rotl<u32>(a, 12);
    const ss1 = rotl<u32>(a12 + e + t, 7);
    const ff = early ? a ^ b ^ c : (a & b) | (c & (a | b));
    const gg = early ? e ^ f ^ g : g ^ (e & (f ^ g));
    const tt1 = ff + d + (ss1 ^ a12) + (wj ^ load<u32>(w + j, 16));
    const tt2 = gg + h + ss1 + wj;
    d = c;
    c = rotl<u32>(b, 9);
    b = a;
    a = tt1;
    h = g;
    g = rotl<u32>(f, 19);
    f = e;
    e = p0(tt2);
    t = rotl<u32>(t, 1);
  }
  store<u32>(state, load<u32>(state, 0) ^ a, 0);
  store<u32>(state, load<u32>(state, 4) ^ b, 4);
  store<u32>(state, load<u32>(state, 8) ^ c, 8);
  store<u32>(state, load<u32>(state, 12) ^ d, 12);
  store<u32>(state, load<u32>(state, 16) ^ e, 16);
  store<u32>(state, load<u32>(state, 20) ^ f, 20);
  store<u32>(state, load<u32>(state, 24) ^ g, 24);
  store<u32>(state, load<u32>(state, 28) ^ h, 28);
}
