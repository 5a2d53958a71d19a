import { describe, expect, it } from 'vitest';

import { panDigitsOf } from '../host/qpboc_session.js';

/** The definition: the bytes' upper-case hex up to the first D or F. */
function panDigitsByText(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('hex').toUpperCase();
  const end = text.search(/[DF]/);
  return end < 0 ? text : text.slice(0, end);
}

describe('panDigitsOf', () => {
  it('equals the hex text cut at its first D or F, for every nibble at every place', () => {
    const cases: Uint8Array[] = [new Uint8Array(0)];
    for (let length = 1; length <= 12; length += 1) {
      for (let at = 0; at < length; at += 1) {
        for (let byte = 0; byte < 256; byte += 1) {
          const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) % 10 * 0x11);
          bytes[at] = byte;
          cases.push(bytes);
        }
      }
    }
    cases.push(Uint8Array.from(Buffer.from('6217000010000000123FFF', 'hex')));
    cases.push(Uint8Array.from(Buffer.from('6217000010000000123D2912', 'hex')).subarray(2));
    for (const bytes of cases) {
      expect(panDigitsOf(bytes), Buffer.from(bytes).toString('hex')).toBe(panDigitsByText(bytes));
    }
  });
});
