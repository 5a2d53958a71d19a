// Hex and concatenation helpers of the test PKI and the cards, against byte-by-byte reference
// code written here (parseInt per pair, toString(16) per byte) on seeded random data.

import { describe, expect, it } from 'vitest';

import { berTlv, concatBytes, fromBcd, fromHex, toHex } from '../../src/pki/emv_bytes.js';
import { Prng } from '../../src/prng.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0xe3b);

function referenceHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('emv_bytes', () => {
  it('toHexAndFromHex_matchTheReference_onSeededBytes_withSpacesAndUpperCase', () => {
    const prng = new Prng(SEED);
    for (let i = 0; i < 300; i += 1) {
      const bytes = prng.bytes(prng.below(70));
      const hex = referenceHex(bytes);
      expect(toHex(bytes), `seed ${SEED} case ${i}`).toBe(hex);
      // A view into a larger buffer: only its own bytes.
      const wide = new Uint8Array(bytes.length + 4);
      wide.set(bytes, 2);
      expect(toHex(wide.subarray(2, 2 + bytes.length))).toBe(hex);
      const spaced = hex.toUpperCase()
        .replace(/(..)/g, (pair) => (prng.chance(0.3) ? `${pair} ` : pair));
      const back = fromHex(prng.chance(0.5) ? spaced : `\n ${spaced}\t`);
      expect(back, `seed ${SEED} case ${i}`).toEqual(bytes);
      expect(back.constructor).toBe(Uint8Array);
    }
  });

  it('fromHex_refusesOddLengthsAndNonHexCharacters', () => {
    for (const bad of ['a', 'abc', 'zz', '0g', '12 3', '0x12', '--']) {
      expect(() => fromHex(bad), bad).toThrow(RangeError);
    }
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it('concatBytes_joinsInOrder_includingEmptyParts', () => {
    const prng = new Prng(SEED + 1);
    const parts = Array.from({ length: 7 }, () => prng.bytes(prng.below(5)));
    const joined = concatBytes(...parts);
    expect(Array.from(joined)).toEqual(parts.flatMap((p) => Array.from(p)));
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it('berTlv_tagLengthValue_asTheBerRulesSpell_onSeededTagsAndLengths', () => {
    const prng = new Prng(SEED);
    // Reference: tag bytes big-endian without leading zeros; length short form below 128,
    // else 81 L or 82 LH LL (ISO/IEC 8825-1 definite form).
    const lengthHex = (n: number): string =>
      n < 0x80 ? hexByte(n) : n < 0x100 ? `81${hexByte(n)}` : `82${hexByte(n >> 8)}${hexByte(n)}`;
    for (const tag of [0x5a, 0x9f36, 0xbf0c, 0xdf8101, 0x70]) {
      for (const n of [0, 1, 0x7f, 0x80, 0xff, 0x100, 300, prng.below(600)]) {
        const value = prng.bytes(n);
        const expected = `${tag.toString(16).padStart(2, '0')}${lengthHex(n)}${referenceHex(value)}`;
        expect(toHex(berTlv(tag, value)), `tag ${tag} length ${n}`).toBe(expected);
      }
    }
    expect(() => berTlv(0x1000000, new Uint8Array(1))).toThrow(RangeError);
    expect(() => berTlv(0, new Uint8Array(1))).toThrow(RangeError);
    expect(() => berTlv(0x5a, new Uint8Array(0x10000))).toThrow(RangeError);
  });

  it('toHex_everyByteValue_atEveryShortLength_matchesTheReference', () => {
    // Up to 8 bytes toHex joins pairs itself; from 9 on Buffer spells them.
    for (let length = 1; length <= 10; length += 1) {
      for (let first = 0; first < 256; first += 1) {
        const bytes = Uint8Array.from({ length }, (_, i) => (first + i * 29) & 0xff);
        expect(toHex(bytes)).toBe(referenceHex(bytes));
      }
    }
    expect(toHex(new Uint8Array(0))).toBe('');
  });

  it('fromBcd_matchesTheDecimalTextOfItsHex_onSeededBcdAndNonBcd_upTo10Bytes', () => {
    const prng = new Prng(SEED);
    for (let i = 0; i < 2000; i += 1) {
      const length = prng.below(11);
      // Mostly decimal nibbles (BCD), now and then any byte.
      const bytes = Uint8Array.from({ length }, () =>
        prng.chance(0.05) ? prng.below(256) : (prng.below(10) << 4) | prng.below(10),
      );
      const hex = referenceHex(bytes);
      const expected = /^[0-9]*$/.test(hex) ? (hex === '' ? 0 : Number.parseInt(hex, 10)) : null;
      expect(fromBcd(bytes), `seed ${SEED} case ${i} ${hex}`).toBe(expected);
    }
    expect(fromBcd(Uint8Array.of(0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99))).toBe(99999999999999);
    expect(fromBcd(Uint8Array.of(0x00, 0x00, 0x01, 0x2a))).toBeNull();
  });
});

function hexByte(b: number): string {
  return (b & 0xff).toString(16).padStart(2, '0');
}
