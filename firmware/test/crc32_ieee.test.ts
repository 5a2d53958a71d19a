// CRC-32/IEEE against its check value and against node's zlib.crc32 on seeded random data.

import { crc32 } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { crc32Ieee, crc32IeeeTable } from '../src/app/journal/crc32_ieee.js';

describe('crc32Ieee', () => {
  it('checkValue_of123456789_isCBF43926', () => {
    expect(crc32Ieee(new TextEncoder().encode('123456789'), 0, 9)).toBe(0xcbf43926);
    expect(crc32Ieee(new Uint8Array(0), 0, 0)).toBe(0);
    const check = new TextEncoder().encode('123456789');
    expect(crc32IeeeTable(check, 0, check.length)).toBe(0xcbf43926);
  });

  it('tableAndZlibPaths_agree_aroundTheSwitchLength', () => {
    // crc32Ieee takes zlib's CRC from 64 bytes on, the table below: every length either side.
    const seed = 0xc3c3;
    const prng = new Prng(seed);
    for (let length = 0; length <= 160; length += 1) {
      const bytes = prng.bytes(length + 9);
      const start = prng.below(9);
      const end = start + length;
      const table = crc32IeeeTable(bytes, start, end);
      expect(crc32Ieee(bytes, start, end), `seed ${seed} length ${length}`).toBe(table);
      expect(table, `seed ${seed} length ${length}`).toBe(crc32(bytes.subarray(start, end)));
    }
  });

  it('badRange_throwsRangeError', () => {
    expect(() => crc32Ieee(new Uint8Array(4), 3, 2)).toThrow(RangeError);
    expect(() => crc32Ieee(new Uint8Array(100), 0, 101)).toThrow(RangeError);
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
