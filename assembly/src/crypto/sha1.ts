// SHA-1 (FIPS 180-4, 6.1) over linear memory: one streaming context in static buffers.
//
// EMV ODA hashes with SHA-1 only (hash algorithm indicator 01, EMV 4.4 Book 2 Annex B3.1).
// The kernel is single-threaded and each ODA check hashes in one init/update/final pass, so a
// single static context suffices. Whole blocks are compressed straight from the caller's
// bytes; only a partial tail is copied.

/** Digest length in bytes. */
export const SHA1_DIGEST_BYTES: u32 = 20;
/** Compression block length in bytes. */
export const SHA1_BLOCK_BYTES: u32 = 64;

const block = memory.data(64, 16);
const schedule = memory.data(80 * 4, 16);
let h0: u32 = 0;
let h1: u32 = 0;
let h2: u32 = 0;
let h3: u32 = 0;
let h4: u32 = 0;
let blockUsed: u32 = 0;
let totalLow: u32 = 0;
let totalHigh: u32 = 0;

/** Starts a new digest. */
export function sha1Init(): void {
  h0 = 0x67452301;
  h1 = 0xefcdab89;
  h2 = 0x98badcfe;
  h3 = 0x10325476;
  h4 = 0xc3d2e1f0;
  blockUsed = 0;
  totalLow = 0;
  totalHigh = 0;
}

/** Hashes `length` bytes at `data`. */
export function sha1Update(data: usize, length: u32): void {
  assert(blockUsed < SHA1_BLOCK_BYTES, 'sha1 block state');
  const before = totalLow;
  totalLow += length;
  if (totalLow < before) totalHigh++;
  let p = data;
  let left = length;
  if (blockUsed > 0) {
    const room = SHA1_BLOCK_BYTES - blockUsed;
    const take = left < room ? left : room;
    memory.copy(block + <usize>blockUsed, p, <usize>take);
    blockUsed += take;
    p += <usize>take;
    left -= take;
    if (blockUsed < SHA1_BLOCK_BYTES) return;
    sha1Compress(block);
    blockUsed = 0;
  }
  while (left >= SHA1_BLOCK_BYTES) {
    sha1Compress(p);
    p += <usize>SHA1_BLOCK_BYTES;
    left -= SHA1_BLOCK_BYTES;
  }
  if (left > 0) {
    memory.copy(block, p, <usize>left);
    blockUsed = left;
  }
}

/** Finishes the digest and writes its 20 bytes at `digest`. */
export function sha1Final(digest: usize): void {
  assert(blockUsed < SHA1_BLOCK_BYTES, 'sha1 block state');
  store<u8>(block + <usize>blockUsed, 0x80);
  blockUsed++;
  if (blockUsed > 56) {
    memory.fill(block + <usize>blockUsed, 0, <usize>(SHA1_BLOCK_BYTES - blockUsed));
    sha1Compress(block);
    blockUsed = 0;
  }
  memory.fill(block + <usize>blockUsed, 0, <usize>(56 - blockUsed));
  // Message length in bits, big-endian 64-bit.
  const bitsHigh = (totalHigh << 3) | (totalLow >> 29);
  store<u32>(block, bswap<u32>(bitsHigh), 56);
  store<u32>(block, bswap<u32>(totalLow << 3), 60);
  sha1Compress(block);
  blockUsed = 0;
  store<u32>(digest, bswap<u32>(h0));
  store<u32>(digest, bswap<u32>(h1), 4);
  store<u32>(digest, bswap<u32>(h2), 8);
  store<u32>(digest, bswap<u32>(h3), 12);
  store<u32>(digest, bswap<u32>(h4), 16);
}

/** One-shot digest of `length` bytes at `data` into the 20 bytes at `digest`. */
export function sha1Digest(data: usize, length: u32, digest: usize): void {
  sha1Init();
  sha1Update(data, length);
  sha1Final(digest);
}

/** Compresses the 64 bytes at `p` into h0..h4 (FIPS 180-4, 6.1.2). */
function sha1Compress(p: usize): void {
  const w = schedule;
  for (let i: usize = 0; i < 64; i += 4) store<u32>(w + i, bswap<u32>(load<u32>(p + i)));
  for (let i: usize = 64; i < 320; i += 4) {
    const x = load<u32>(w + i - 12) ^ load<u32>(w + i - 32) ^ load<u32>(w + i - 56) ^
      load<u32>(w + i - 64);
    store<u32>(w + i, rotl<u32>(x, 1));
  }
  let a = h0;
  let b = h1;
  let c = h2;
  let d = h3;
  let e = h4;
  // Five rounds per iteration with the roles of a..e rotated, so no value is ever moved.
  let q = w;
  const end0 = w + 80;
  while (q < end0) {
    e += rotl<u32>(a, 5) + (d ^ (b & (c ^ d))) + 0x5a827999 + load<u32>(q); b = rotl<u32>(b, 30);
    d += rotl<u32>(e, 5) + (c ^ (a & (b ^ c))) + 0x5a827999 + load<u32>(q, 4); a = rotl<u32>(a, 30);
    c += rotl<u32>(d, 5) + (b ^ (e & (a ^ b))) + 0x5a827999 + load<u32>(q, 8); e = rotl<u32>(e, 30);
    b += rotl<u32>(c, 5) + (a ^ (d & (e ^ a))) + 0x5a827999 + load<u32>(q, 12); d = rotl<u32>(d, 30);
    a += rotl<u32>(b, 5) + (e ^ (c & (d ^ e))) + 0x5a827999 + load<u32>(q, 16); c = rotl<u32>(c, 30);
    q += 20;
  }
  const end1 = w + 160;
  while (q < end1) {
    e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0x6ed9eba1 + load<u32>(q); b = rotl<u32>(b, 30);
    d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0x6ed9eba1 + load<u32>(q, 4); a = rotl<u32>(a, 30);
    c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0x6ed9eba1 + load<u32>(q, 8); e = rotl<u32>(e, 30);
    b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0x6ed9eba1 + load<u32>(q, 12); d = rotl<u32>(d, 30);
    a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0x6ed9eba1 + load<u32>(q, 16); c = rotl<u32>(c, 30);
    q += 20;
  }
  const end2 = w + 240;
  while (q < end2) {
    e += rotl<u32>(a, 5) + ((b & c) | (d & (b | c))) + 0x8f1bbcdc + load<u32>(q);
    b = rotl<u32>(b, 30);
    d += rotl<u32>(e, 5) + ((a & b) | (c & (a | b))) + 0x8f1bbcdc + load<u32>(q, 4);
    a = rotl<u32>(a, 30);
    c += rotl<u32>(d, 5) + ((e & a) | (b & (e | a))) + 0x8f1bbcdc + load<u32>(q, 8);
    e = rotl<u32>(e, 30);
    b += rotl<u32>(c, 5) + ((d & e) | (a & (d | e))) + 0x8f1bbcdc + load<u32>(q, 12);
    d = rotl<u32>(d, 30);
    a += rotl<u32>(b, 5) + ((c & d) | (e & (c | d))) + 0x8f1bbcdc + load<u32>(q, 16);
    c = rotl<u32>(c, 30);
    q += 20;
  }
  const end3 = w + 320;
  while (q < end3) {
    e += rotl<u32>(a, 5) + (b ^ c ^ d) + 0xca62c1d6 + load<u32>(q); b = rotl<u32>(b, 30);
    d += rotl<u32>(e, 5) + (a ^ b ^ c) + 0xca62c1d6 + load<u32>(q, 4); a = rotl<u32>(a, 30);
    c += rotl<u32>(d, 5) + (e ^ a ^ b) + 0xca62c1d6 + load<u32>(q, 8); e = rotl<u32>(e, 30);
    b += rotl<u32>(c, 5) + (d ^ e ^ a) + 0xca62c1d6 + load<u32>(q, 12); d = rotl<u32>(d, 30);
    a += rotl<u32>(b, 5) + (c ^ d ^ e) + 0xca62c1d6 + load<u32>(q, 16); c = rotl<u32>(c, 30);
    q += 20;
  }
  h0 += a;
  h1 += b;
  h2 += c;
  h3 += d;
  h4 += e;
}
