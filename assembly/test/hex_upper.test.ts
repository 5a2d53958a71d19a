import { describe, expect, it } from 'vitest';

import { hexUpper } from '../host/hex_upper.js';

describe('hexUpper', () => {
  it('matches Buffer hex in upper case at every length either side of the table bound', () => {
    const backing = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let length = 0; length <= 40; length += 1) {
      for (const offset of [0, 3]) {
        const bytes = backing.subarray(offset, offset + length);
        expect(hexUpper(bytes)).toBe(Buffer.from(bytes).toString('hex').toUpperCase());
      }
    }
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(hexUpper(every)).toBe(Buffer.from(every).toString('hex').toUpperCase());
  });
});
