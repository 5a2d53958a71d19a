// GBK encoder: every double-byte code round-trips through Node's own decoder; known codes match.

import { describe, expect, it } from 'vitest';
import {
  DECLINE_REASONS,
  DISPLAY_SCREEN_KINDS,
  GATE_MESSAGES,
  type DisplayScreen,
} from '../../src/ports/display_port.js';
import { screenTexts, SCREEN_REGIONS } from '../../src/display/display_text.js';
import {
  GBK_DOUBLE_BYTE_CODES,
  gbkEncode,
  gbkPrefixLength,
  gbkSupported,
} from '../../src/display/gbk_codec.js';

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

describe('gbkEncode', () => {
  it('gbkSupported_onThisNode_isTrue', () => {
    expect(gbkSupported()).toBe(true);
  });

  it('everyDoubleByteCode_roundTripsThroughTextDecoder', () => {
    const decoder = new TextDecoder('gbk', { fatal: true });
    // The decoder is the independent truth: our bytes must be the bytes it decoded from, or
    // the first code it decodes to the same character (Node 24: A3A0 and A1A1 are both
    // U+3000), and the euro sign (A2E3 on Node 24) stays '?' as on every display font.
    const firstCode = new Map<string, string>();
    let checked = 0;
    let again = 0;
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        if (trail === 0x7f) continue;
        const text = decoder.decode(Uint8Array.of(lead, trail));
        const code = hex(Uint8Array.of(lead, trail));
        const expected = text === '\u20ac' ? '3f' : firstCode.get(text) ?? code;
        if (expected !== code) again += 1;
        firstCode.set(text, expected);
        const encoded = gbkEncode(text);
        if (hex(encoded.bytes) !== expected) throw new Error(`${code} -> ${hex(encoded.bytes)}`);
        expect(encoded.unmappableCount).toBe(expected === '3f' ? 1 : 0);
        checked += 1;
      }
    }
    expect(checked).toBe(GBK_DOUBLE_BYTE_CODES);
    expect(checked).toBe(23_940);
    expect(again).toBeLessThanOrEqual(2);
  });

  it('ascii_isOneByteEach', () => {
    const ascii = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i));
    const encoded = gbkEncode(ascii);
    expect(Array.from(encoded.bytes)).toEqual(Array.from({ length: 128 }, (_, i) => i));
  });

  it('knownGb2312Codes_matchPublishedTable', () => {
    // GB2312 row/cell codes as published (e.g. 设 C9E8, 置 D6C3, 时 CAB1, 间 BCE4).
    expect(hex(gbkEncode('设置时间').bytes)).toBe('c9 e8 d6 c3 ca b1 bc e4');
    expect(hex(gbkEncode('请重刷').bytes)).toBe('c7 eb d6 d8 cb a2');
    expect(hex(gbkEncode('多卡').bytes)).toBe('b6 e0 bf a8');
    expect(hex(gbkEncode('2.00元').bytes)).toBe('32 2e 30 30 d4 aa');
  });

  it('charactersOutsideGbk_becomeQuestionMarks', () => {
    const encoded = gbkEncode('¥€😀a');
    expect(hex(encoded.bytes)).toBe('3f 3f 3f 61');
    expect(encoded.unmappableCount).toBe(3);
  });

  it('everyScreenText_isFullyEncodable', () => {
    const screens: DisplayScreen[] = [];
    for (const kind of DISPLAY_SCREEN_KINDS) {
      if (kind === 'declined') {
        for (const reason of DECLINE_REASONS) screens.push({ kind, reason, detailCode: 12 });
      } else if (kind === 'admitted') {
        screens.push({ kind, amountMinor: 200 });
      } else if (kind === 'idle') {
        screens.push({ kind, fareMinor: 200, lineName: '1路 火车站-机场' });
      } else if (kind === 'approved') {
        screens.push({ kind, amountMinor: 200, balanceMinor: 9_800 });
      } else if (kind === 'gate') {
        for (const message of GATE_MESSAGES) screens.push({ kind, message, persons: 3 });
      } else {
        screens.push({ kind } as DisplayScreen);
      }
    }
    for (const screen of screens) {
      const texts = screenTexts(screen);
      for (const region of SCREEN_REGIONS) {
        expect(gbkEncode(texts[region]).unmappableCount, `${screen.kind}.${region}`).toBe(0);
      }
    }
  });
});

describe('gbkPrefixLength', () => {
  it('neverSplitsADoubleByteCharacter', () => {
    const bytes = gbkEncode('a请请').bytes; // 61 | c7 eb | c7 eb
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => gbkPrefixLength(bytes, n))).toEqual([
      0, 1, 1, 3, 3, 5, 5,
    ]);
  });
});
