// Merkle-Damgård framing shared by SHA-1 (FIPS 180-4, 5.1.1 and 6.1) and SM3 (GB/T 32905, 5.2):
// 64-byte blocks, then a 0x80 byte, zeros and the message length in bits as a big-endian 64-bit
// tail. Each digest keeps its own context in static memory, so the two may interleave. The
// caller's whole blocks are compressed straight from its bytes; only a partial tail is copied.

import { bytesSwap32 } from '../util/bytes';

/** Compression block length in bytes (both digests). */
export const MD_BLOCK_BYTES: u32 = 64;
/** Context size: the partial block, then bytes used in it and the 64-bit byte count (u32s). */
export const MD_CONTEXT_BYTES: u32 = 76;
const USED: usize = 64;
const TOTAL_LOW: usize = 68;
const TOTAL_HIGH: usize = 72;

/** Empties the context `ctx` for a new message. */
export function mdReset(ctx: usize): void {
  store<u32>(ctx + USED, 0);
  store<u32>(ctx + TOTAL_LOW, 0);
  store<u32>(ctx + TOTAL_HIGH, 0);
}

/** Feeds `length` bytes at `data`; `compress` takes each full 64-byte block. */
export function mdUpdate(
  ctx: usize,
  data: usize,
  length: u32,
  compress: (block: usize) => void,
): void {
  let used = load<u32>(ctx + USED);
  assert(used < MD_BLOCK_BYTES, 'md block state');
  const before = load<u32>(ctx + TOTAL_LOW);
  store<u32>(ctx + TOTAL_LOW, before + length);
  if (before + length < before) store<u32>(ctx + TOTAL_HIGH, load<u32>(ctx + TOTAL_HIGH) + 1);
  let p = data;
  let left = length;
  if (used > 0) {
    const room = MD_BLOCK_BYTES - used;
    const take = left < room ? left : room;
    memory.copy(ctx + <usize>used, p, <usize>take);
    used += take;
    p += <usize>take;
    left -= take;
    store<u32>(ctx + USED, used);
    if (used < MD_BLOCK_BYTES) return;
    compress(ctx);
    store<u32>(ctx + USED, 0);
  }
  while (left >= MD_BLOCK_BYTES) {
    compress(p);
    p += <usize>MD_BLOCK_BYTES;
    left -= MD_BLOCK_BYTES;
  }
  if (left > 0) memory.copy(ctx, p, <usize>left);
  store<u32>(ctx + USED, left);
}

/** Pads the message and compresses the last block(s); the context is then empty. */
export function mdFinal(ctx: usize, compress: (block: usize) => void): void {
  let used = load<u32>(ctx + USED);
  assert(used < MD_BLOCK_BYTES, 'md block state');
  store<u8>(ctx + <usize>used, 0x80);
  used++;
  if (used > 56) {
    memory.fill(ctx + <usize>used, 0, <usize>(MD_BLOCK_BYTES - used));
    compress(ctx);
    used = 0;
  }
  memory.fill(ctx + <usize>used, 0, <usize>(56 - used));
  const totalLow = load<u32>(ctx + TOTAL_LOW);
  const bitsHigh = (load<u32>(ctx + TOTAL_HIGH) << 3) | (totalLow >> 29);
  store<u32>(ctx, bytesSwap32(bitsHigh), 56);
  store<u32>(ctx, bytesSwap32(totalLow << 3), 60);
  compress(ctx);
  mdReset(ctx);
}
