// HMAC-SHA256 of short texts in JavaScript, for the PAN token of every record of every batch.
// node's HMAC (createHmac, or a one-shot hash twice) costs two calls into C++ and native
// objects or Buffers per PAN, more than the two SHA-256 blocks it hashes: here the padded key
// blocks are hashed once (RFC 2104, 4: precomputed intermediate states) and each token costs
// two compressions on typed arrays. SHA-256 as in FIPS 180-4, 6.2; it reads no table by a
// secret index (its K table by the round number only), so its timing does not depend on the
// key or the PAN.

/** FIPS 180-4, 4.2.2. */
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
  0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
  0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
  0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
  0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
/** FIPS 180-4, 5.3.3. */
const INITIAL = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
  0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK_BYTES = 64;
const DIGEST_WORDS = 8;

/** Message schedule, shared: every call runs to the end before another starts. */
const schedule = new Int32Array(64);

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** One SHA-256 compression of the 16 words of `block` into `state` (FIPS 180-4, 6.2.2). */
function compress(state: Int32Array, block: Int32Array): void {
  const w = schedule;
  for (let t = 0; t < 16; t += 1) w[t] = block[t] ?? 0;
  for (let t = 16; t < 64; t += 1) {
    const a = w[t - 15] ?? 0;
    const b = w[t - 2] ?? 0;
    const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
    const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
    w[t] = ((w[t - 16] ?? 0) + s0 + (w[t - 7] ?? 0) + s1) | 0;
  }
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  let e = state[4] ?? 0;
  let f = state[5] ?? 0;
  let g = state[6] ?? 0;
  let h = state[7] ?? 0;
  for (let t = 0; t < 64; t += 1) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g))
      + (K[t] ?? 0) + (w[t] ?? 0)) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] ?? 0) + a) | 0;
  state[1] = ((state[1] ?? 0) + b) | 0;
  state[2] = ((state[2] ?? 0) + c) | 0;
  state[3] = ((state[3] ?? 0) + d) | 0;
  state[4] = ((state[4] ?? 0) + e) | 0;
  state[5] = ((state[5] ?? 0) + f) | 0;
  state[6] = ((state[6] ?? 0) + g) | 0;
  state[7] = ((state[7] ?? 0) + h) | 0;
}

/** The state after the first block: the key XOR `pad` (RFC 2104, 2), the key zero-padded. */
function padState(key: Uint8Array, pad: number): Int32Array {
  const block = new Int32Array(16);
  for (let i = 0; i < BLOCK_BYTES; i += 1)
    block[i >> 2] = ((block[i >> 2] ?? 0) << 8) | (((key[i] ?? 0) ^ pad) & 0xff);
  const state = INITIAL.slice();
  compress(state, block);
  return state;
}

/**
 * HMAC-SHA256 under `key` (at most 64 bytes, the block size: the depot's keys are 32) as a
 * function of a text, taken as node's 'ascii' encoding takes it (each character's low byte),
 * lower-case hex out. Throws RangeError for a longer key.
 */
export function hmacSha256Hex(key: Uint8Array): (text: string) => string {
  if (key.length > BLOCK_BYTES) throw new RangeError('HMAC key longer than a block');
  const inner = padState(key, 0x36);
  const outer = padState(key, 0x5c);
  const state = new Int32Array(DIGEST_WORDS);
  const block = new Int32Array(16);
  const digest = Buffer.alloc(4 * DIGEST_WORDS);
  return (text) => {
    state.set(inner);
    hashRest(state, block, text, BLOCK_BYTES);
    block.fill(0);
    block.set(state);
    block[8] = 0x80000000 | 0;
    block[15] = (BLOCK_BYTES + 4 * DIGEST_WORDS) * 8;
    state.set(outer);
    compress(state, block);
    for (let i = 0; i < DIGEST_WORDS; i += 1) digest.writeInt32BE(state[i] ?? 0, 4 * i);
    return digest.toString('hex');
  };
}

/**
 * Hashes `text` and SHA-256's padding (FIPS 180-4, 5.1.1) into `state`, `before` bytes
 * having been hashed already.
 */
function hashRest(state: Int32Array, block: Int32Array, text: string, before: number): void {
  const length = text.length;
  let at = 0;
  for (;;) {
    block.fill(0);
    const take = Math.min(BLOCK_BYTES, length - at);
    for (let j = 0; j < take; j += 1) {
      const byte = text.charCodeAt(at + j) & 0xff;
      block[j >> 2] = (block[j >> 2] ?? 0) | (byte << (24 - 8 * (j & 3)));
    }
    at += take;
    if (take < BLOCK_BYTES) {
      block[take >> 2] = (block[take >> 2] ?? 0) | (0x80 << (24 - 8 * (take & 3)));
      // The 64-bit length goes in the last 8 bytes: of this block, or of one more.
      if (take >= BLOCK_BYTES - 8) {
        compress(state, block);
        block.fill(0);
      }
      const bits = (before + length) * 8;
      block[14] = Math.floor(bits / 0x1_0000_0000);
      block[15] = bits | 0;
      compress(state, block);
      return;
    }
    compress(state, block);
  }
}
