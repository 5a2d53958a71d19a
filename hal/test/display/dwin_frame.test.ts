// DGUS frame codec: wire-exact frames against published DWIN examples and the CRC catalogue.

import { describe, expect, it } from 'vitest';
import {
  crc16Modbus,
  dwinPageSwitchFrame,
  dwinTextValue,
  dwinWriteFrame,
} from '../../src/display/dwin_frame.js';

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
const bytesOf = (text: string): Uint8Array =>
  Uint8Array.from(text.split(' ').map((h) => Number.parseInt(h, 16)));

describe('crc16Modbus', () => {
  it('checkValue_matchesCrcCatalogue', () => {
    // CRC-16/MODBUS catalogue check: CRC of ASCII "123456789" is 0x4B37.
    expect(crc16Modbus(new TextEncoder().encode('123456789'))).toBe(0x4b37);
  });
});

describe('dwinWriteFrame', () => {
  it('write_whenCrcOff_matchesPublishedExample', () => {
    // Published DWIN example: "5aa5 07 82 1000 0064 0032" writes 0x0064, 0x0032 at VP 0x1000.
    const frame = dwinWriteFrame(0x1000, bytesOf('00 64 00 32'), { crc: false });
    expect(hex(frame)).toBe('5a a5 07 82 10 00 00 64 00 32');
  });

  it('write_whenCrcOn_lenCountsCrcAndCrcIsLowByteFirst', () => {
    const frame = dwinWriteFrame(0x1000, bytesOf('00 64 00 32'), { crc: true });
    expect(frame[2]).toBe(0x09);
    expect(frame.length).toBe(3 + 0x09);
    const crc = crc16Modbus(bytesOf('82 10 00 00 64 00 32'));
    expect(frame[frame.length - 2]).toBe(crc & 0xff);
    expect(frame[frame.length - 1]).toBe(crc >> 8);
    expect(hex(frame.subarray(0, 10))).toBe('5a a5 09 82 10 00 00 64 00 32');
  });

  it('write_whenOddByteCount_isAProgrammerError', () => {
    expect(() => dwinWriteFrame(0x1000, bytesOf('00 64 00'), { crc: false })).toThrow();
  });

  it('pageSwitch_matchesPublishedExample', () => {
    // Published T5L example for page 1: 5A A5 07 82 00 84 5A 01 00 01.
    expect(hex(dwinPageSwitchFrame(1, { crc: false }))).toBe('5a a5 07 82 00 84 5a 01 00 01');
    expect(hex(dwinPageSwitchFrame(0x1a, { crc: false }))).toBe('5a a5 07 82 00 84 5a 01 00 1a');
  });
});

describe('dwinTextValue', () => {
  it('chineseText_isGbkThenEndWord', () => {
    expect(hex(dwinTextValue('请重刷', 64).data)).toBe('c7 eb d6 d8 cb a2 ff ff');
  });

  it('oddByteText_isPaddedWithASpaceToAWordBoundary', () => {
    expect(hex(dwinTextValue('abc', 64).data)).toBe('61 62 63 20 ff ff');
  });

  it('emptyText_isJustTheEndWord', () => {
    expect(hex(dwinTextValue('', 64).data)).toBe('ff ff');
  });

  it('tooLongText_isCutAtACharacterBoundaryAndStillTerminated', () => {
    const value = dwinTextValue('a请请请', 8); // room for 6 text bytes: a + 请 + 请 = 5
    expect(hex(value.data)).toBe('61 c7 eb c7 eb 20 ff ff');
    expect(value.truncated).toBe(true);
    const exact = dwinTextValue('请请请', 8);
    expect(hex(exact.data)).toBe('c7 eb c7 eb c7 eb ff ff');
    expect(exact.truncated).toBe(false);
  });
});
