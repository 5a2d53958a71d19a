// The JavaScript HMAC-SHA256 against node:crypto's createHmac: seeded keys (0..64 bytes) and
// texts of every length across one, two and three SHA-256 blocks (0..200 characters, with
// the 55/56/64-byte padding edges), texts beyond ASCII taken as node's 'ascii' takes them, and
// RFC 4231 test case 2. SHUAKA_SEED=N replays a failure.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { Prng } from '../../../host-sim/src/prng.js';
import { hmacSha256Hex } from '../../src/store/hmac_sha256.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 2104);

describe('hmac-sha256 (JavaScript)', () => {
  it('seededKeysAndTextsOfEveryLength_matchNodeCrypto', () => {
    const prng = new Prng(SEED);
    const wrong: string[] = [];
    for (let k = 0; k < 12; k += 1) {
      const key = prng.bytes(k === 0 ? 0 : k === 1 ? 64 : 1 + prng.below(64));
      const hmac = hmacSha256Hex(key);
      for (let length = 0; length <= 200; length += 1) {
        const text = Array.from({ length }, () =>
          String.fromCharCode(k % 3 === 2 ? prng.below(0x3000) : 0x20 + prng.below(95)))
          .join('');
        const expected = createHmac('sha256', key).update(text, 'ascii').digest('hex');
        if (hmac(text) !== expected) wrong.push(`key ${k} length ${length}`);
      }
    }
    expect(wrong, `seed ${SEED}`).toEqual([]);
  });

  it('rfc4231Case2_andAKeyLongerThanABlockIsRefused', () => {
    expect(hmacSha256Hex(Buffer.from('Jefe'))('what do ya want for nothing?'))
      .toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(() => hmacSha256Hex(new Uint8Array(65))).toThrow(RangeError);
  });
});
