// DWIN DGUS II serial frames (pure): variable writes, page switch, text values, optional CRC.

import assert from 'node:assert/strict';
import { gbkEncode, gbkPrefixLength } from './gbk_codec.js';

/*
 * Frame layout, host -> display (T5L DGUS II; the older DGUS v2.0 spec uses the same layout):
 *
 *   5A A5 | LEN | CMD | VP_H VP_L | DATA ... | [CRC_L CRC_H]
 *
 * - 5A A5 is the default frame header (the display's project config may change it; we do not).
 * - LEN counts every byte after itself: CMD, VP, DATA and, when enabled, the two CRC bytes.
 *   See DWIN DGUS v2.0 Specification 2.1 "Data Framework" ("data length, including command,
 *   data and checksum").
 * - CMD 0x82 writes DATA into variable memory starting at word address VP; words are big-endian
 *   ("high byte first", same 2.1). The T5L answers `5A A5 03 82 4F 4B` ("OK") to a write.
 * - The CRC is off unless the display's project config turns it on. When on it is
 *   CRC-16/MODBUS over CMD..DATA, sent low byte first (public DWIN T5L libraries agree on this).
 * - Page switch: write `5A 01 PIC_H PIC_L` to system variable VP 0x0084 (T5L PIC_Set: 0x5A
 *   starts one page operation, mode 0x01 = switch page). Public example: page 1 is
 *   `5A A5 07 82 00 84 5A 01 00 01`.
 * - Text display variables (control type 0x11) show bytes from their VP until the word 0xFFFF
 *   or the configured text length, whichever comes first (DGUS v2.0 5.2.2 Text_length). Their
 *   encoding is set per control: 0x01 GB2312, 0x02 GBK among others; we always send GBK.
 */

export const DWIN_HEADER_5AA5: readonly number[] = [0x5a, 0xa5];
export const DWIN_CMD_82_WRITE_VARIABLE = 0x82;
export const DWIN_CMD_83_READ_VARIABLE = 0x83;
/** T5L system variable: PIC_Set (page switch). */
export const DWIN_VP_0084_PIC_SET = 0x0084;
export const DWIN_PIC_SET_START_5A = 0x5a;
export const DWIN_PIC_SET_MODE_01_SWITCH = 0x01;
/** A text display stops at this word. GBK never uses byte 0xFF, so it cannot occur in text. */
export const DWIN_TEXT_END_FFFF = 0xffff;
/** Bytes before the LEN-counted part: header plus LEN itself. */
export const DWIN_FRAME_PREFIX_BYTES = 3;
export const DWIN_CRC_BYTES = 2;
/**
 * Largest DATA we put in one 0x82 write. LEN is one byte, so CMD + VP + DATA + CRC <= 255;
 * public DWIN notes give 246 data bytes as the limit with CRC on; we use that for both modes.
 */
export const DWIN_WRITE_DATA_MAX_BYTES = 246;

/** CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF, no final XOR. */
export function crc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) {
      crc = (crc & 1) !== 0 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    }
  }
  return crc;
}

/** Frame options that must match the display's project configuration. */
export interface DwinFrameOptions {
  /** Append CRC-16/MODBUS (only when the display's config enables CRC). */
  readonly crc: boolean;
}

/**
 * Builds one 0x82 "write variable" frame putting `data` at word address `vp`.
 * `data` must be whole words (even length) and at most DWIN_WRITE_DATA_MAX_BYTES; violations
 * are programmer errors (AssertionError), because callers build data from fixed layouts.
 */
export function dwinWriteFrame(
  vp: number,
  data: Uint8Array,
  options: DwinFrameOptions,
): Uint8Array {
  assert.ok(Number.isInteger(vp) && vp >= 0 && vp <= 0xffff, `VP out of range: ${vp}`);
  assert.equal(data.length % 2, 0, 'DGUS variable data is word data: length must be even');
  assert.ok(data.length > 0 && data.length <= DWIN_WRITE_DATA_MAX_BYTES, 'DGUS data size');
  const body = new Uint8Array(3 + data.length);
  body[0] = DWIN_CMD_82_WRITE_VARIABLE;
  body[1] = vp >> 8;
  body[2] = vp & 0xff;
  body.set(data, 3);
  const crcBytes = options.crc ? DWIN_CRC_BYTES : 0;
  const frame = new Uint8Array(DWIN_FRAME_PREFIX_BYTES + body.length + crcBytes);
  frame[0] = DWIN_HEADER_5AA5[0] ?? 0;
  frame[1] = DWIN_HEADER_5AA5[1] ?? 0;
  frame[2] = body.length + crcBytes;
  frame.set(body, DWIN_FRAME_PREFIX_BYTES);
  if (options.crc) {
    const crc = crc16Modbus(body);
    frame[frame.length - 2] = crc & 0xff;
    frame[frame.length - 1] = crc >> 8;
  }
  assert.ok((frame[2] ?? 0) <= 0xff && frame.length === DWIN_FRAME_PREFIX_BYTES + (frame[2] ?? 0));
  return frame;
}

/** The frame that switches the display to picture (page) `pageId`. */
export function dwinPageSwitchFrame(pageId: number, options: DwinFrameOptions): Uint8Array {
  assert.ok(Number.isInteger(pageId) && pageId >= 0 && pageId <= 0xffff, `page id: ${pageId}`);
  const data = Uint8Array.of(
    DWIN_PIC_SET_START_5A,
    DWIN_PIC_SET_MODE_01_SWITCH,
    pageId >> 8,
    pageId & 0xff,
  );
  return dwinWriteFrame(DWIN_VP_0084_PIC_SET, data, options);
}

/** A text variable's value, ready for `dwinWriteFrame`. */
export interface DwinTextValue {
  readonly data: Uint8Array;
  /** Characters replaced by `?` because GBK lacks them. */
  readonly unmappableCount: number;
  /** True when the text did not fit and was cut at a character boundary. */
  readonly truncated: boolean;
}

/**
 * Encodes `text` for a text display variable of `capacityBytes` (its Text_length, even):
 * GBK bytes, one space when needed to end on a word boundary, then the 0xFFFF end word.
 * The end word is always written so a shorter text never shows the tail of a longer one;
 * that costs two bytes of capacity, so at most `capacityBytes - 2` text bytes are sent.
 */
export function dwinTextValue(text: string, capacityBytes: number): DwinTextValue {
  assert.ok(Number.isInteger(capacityBytes) && capacityBytes >= 2, 'text capacity');
  assert.equal(capacityBytes % 2, 0, 'text capacity must be whole words');
  const encoded = gbkEncode(text);
  const keep = gbkPrefixLength(encoded.bytes, capacityBytes - 2);
  const padBytes = keep % 2;
  const data = new Uint8Array(keep + padBytes + 2);
  data.set(encoded.bytes.subarray(0, keep), 0);
  if (padBytes === 1) data[keep] = 0x20;
  data[data.length - 2] = DWIN_TEXT_END_FFFF >> 8;
  data[data.length - 1] = DWIN_TEXT_END_FFFF & 0xff;
  assert.ok(data.length <= capacityBytes && data.length % 2 === 0);
  return {
    data,
    unmappableCount: encoded.unmappableCount,
    truncated: keep < encoded.bytes.length,
  };
}
