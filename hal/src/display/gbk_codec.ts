// GBK encoder for display text, built once by inverting Node's own GBK decoder.

import assert from 'node:assert/strict';

/**
 * Node ships a GBK *decoder* (WHATWG Encoding, backed by ICU) but no encoder. Serial HMI
 * displays sold in China (DWIN DGUS, Nextion with Chinese fonts) take text in GB2312/GBK, so we
 * build the encoder by decoding every double-byte GBK code once and inverting the result.
 *
 * GBK double-byte codes: lead byte 0x81..0xFE, trail byte 0x40..0xFE except 0x7F. That is
 * 126 * 190 = 23,940 codes. Every one decodes to one BMP code point (asserted while building),
 * so the inverse is a plain 64 Ki-entry table. Decoders differ in two codes: Node 24's follows
 * the WHATWG index as revised in 2023, where A3A0 decodes to U+3000 as A1A1 does (the first
 * is kept, so the encoder's bytes stay the same) and A2E3 to the euro sign (left out, below).
 */
export const GBK_LEAD_FIRST = 0x81;
export const GBK_LEAD_LAST = 0xfe;
export const GBK_TRAIL_FIRST = 0x40;
export const GBK_TRAIL_LAST = 0xfe;
/** 0x7F (DEL) is never a trail byte. */
export const GBK_TRAIL_EXCLUDED = 0x7f;
export const GBK_TRAILS_PER_LEAD = GBK_TRAIL_LAST - GBK_TRAIL_FIRST; // 191 values minus 0x7F
export const GBK_DOUBLE_BYTE_CODES = (GBK_LEAD_LAST - GBK_LEAD_FIRST + 1) * GBK_TRAILS_PER_LEAD;

/** The byte written in place of a character the display's font encoding cannot represent. */
export const GBK_SUBSTITUTE_BYTE = 0x3f; // '?'

/**
 * The euro sign: GB18030 put it at A2E3 (newer decoders return it there), code page 936 at the
 * single byte 0x80, GB2312 display fonts nowhere. Never encoded, whatever the runtime decodes.
 */
const EURO_SIGN = 0x20ac;

/** Index = BMP code point, value = GBK code (lead << 8 | trail), 0 = not encodable. */
let encodeTable: Uint16Array | null = null;
let supported: boolean | null = null;

/** True when this runtime can decode GBK (full ICU). Without it the table cannot be built. */
export function gbkSupported(): boolean {
  if (supported === null) {
    try {
      new TextDecoder('gbk');
      supported = true;
    } catch {
      supported = false;
    }
  }
  return supported;
}

/**
 * Builds the table on first use (about 15 ms, 128 KiB). Decodes one lead byte's 190 codes per
 * call and asserts each yields exactly 190 code points, so a decoder that ever returned a
 * replacement or a surrogate pair would stop us instead of silently shifting the table.
 */
function table(): Uint16Array {
  if (encodeTable !== null) return encodeTable;
  assert.ok(gbkSupported(), 'GBK decoder missing: Node was built without full ICU');
  const decoder = new TextDecoder('gbk', { fatal: true });
  const built = new Uint16Array(0x10000);
  const row = new Uint8Array(GBK_TRAILS_PER_LEAD * 2);
  for (let lead = GBK_LEAD_FIRST; lead <= GBK_LEAD_LAST; lead++) {
    const trails = tableRow(row, lead);
    const text = decoder.decode(row);
    assert.equal(text.length, GBK_TRAILS_PER_LEAD, `GBK row ${lead.toString(16)} not 1:1`);
    for (let i = 0; i < GBK_TRAILS_PER_LEAD; i++) {
      const codePoint = text.charCodeAt(i);
      assert.ok(codePoint !== 0xfffd, 'GBK decoder produced a replacement character');
      // Keep the first code for a code point (WHATWG "index pointer" takes the first too).
      if (built[codePoint] === 0 && codePoint !== EURO_SIGN) {
        built[codePoint] = (lead << 8) | (trails[i] ?? 0);
      }
    }
  }
  encodeTable = built;
  return built;
}

/** Fills `row` with every (lead, trail) pair of one lead byte; returns the trail bytes used. */
function tableRow(row: Uint8Array, lead: number): number[] {
  const trails: number[] = [];
  for (let trail = GBK_TRAIL_FIRST; trail <= GBK_TRAIL_LAST; trail++) {
    if (trail === GBK_TRAIL_EXCLUDED) continue;
    row[trails.length * 2] = lead;
    row[trails.length * 2 + 1] = trail;
    trails.push(trail);
  }
  assert.equal(trails.length, GBK_TRAILS_PER_LEAD);
  return trails;
}

/** Result of encoding: the bytes and how many characters had to be substituted. */
export interface GbkEncoded {
  readonly bytes: Uint8Array;
  /** Characters not in GBK (emoji, U+00A5 "¥", the euro sign) written as `?`. */
  readonly unmappableCount: number;
}

/**
 * Encodes `text` as GBK: ASCII U+0000..U+007F as one byte, everything else as the double-byte
 * code, `?` for characters GBK lacks. The single byte 0x80 (the euro sign in Windows code
 * page 936) is deliberately not produced: display fonts do not agree on it.
 *
 * Throws an AssertionError when the runtime has no GBK decoder (check `gbkSupported()` first).
 */
export function gbkEncode(text: string): GbkEncoded {
  const codes = table();
  const out: number[] = [];
  let unmappableCount = 0;
  for (const ch of text) {
    const codePoint = ch.codePointAt(0) ?? 0;
    if (codePoint < 0x80) {
      out.push(codePoint);
      continue;
    }
    const code = codePoint <= 0xffff ? (codes[codePoint] ?? 0) : 0;
    if (code === 0) {
      out.push(GBK_SUBSTITUTE_BYTE);
      unmappableCount += 1;
      continue;
    }
    out.push(code >> 8, code & 0xff);
  }
  return { bytes: Uint8Array.from(out), unmappableCount };
}

/**
 * Length in bytes of the longest prefix of `bytes` (GBK) that fits in `limitBytes` without
 * splitting a double-byte character. `bytes` must come from `gbkEncode`.
 */
export function gbkPrefixLength(bytes: Uint8Array, limitBytes: number): number {
  let at = 0;
  while (at < bytes.length) {
    const width = (bytes[at] ?? 0) >= GBK_LEAD_FIRST ? 2 : 1;
    if (at + width > limitBytes) break;
    at += width;
  }
  return at;
}
