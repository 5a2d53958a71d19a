// CRC-32/IEEE against its check value and against node's zlib.crc32 on seeded random data.

import { crc32 } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { crc32Ieee } from '../src/app/journal/crc32_ieee.js';

describe('crc32Ieee', () => {
  it('checkValue_of123456789_isCBF43926', () => {
    expect(crc32Ieee(new TextEncoder().encode('123456789'), 0, 9)).toBe(0xcbf43926);
    expect(crc32Ieee(new Uint8Array(0), 0, 0)).toBe(0);
  });

  it('matchesZlibCrc32_onSeededRandomBuffersAndSubranges', () => {
    const seed = 0x5eed;
    const prng = new Prng(seed);
    for (let i = 0; i < 200; i += 1) {
      const bytes = prng.bytes(prng.below(2000));
      const start = prng.below(bytes.length + 1);
      const end = start + prng.below(bytes.length - start + 1);
      const expected = crc32(bytes.subarray(start, end));
      expect(crc32Ieee(bytes, start, end), `seed ${seed} case ${i}`).toBe(expected);
    }
  });
});
