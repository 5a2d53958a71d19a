// Deny list of PAN+PSN at national scale: a sorted image of fixed-width word records, validated
// in one pass and searched in place (no index, no per-entry objects).

import assert from 'node:assert';
import { createHash } from 'node:crypto';

import { FieldError } from '../params/json_fields.js';

/**
 * Binary layout, version 2 (little-endian integers):
 *
 *   0   8  magic "SHKDENY2"
 *   8   4  count of records
 *   12  2  record size = 12
 *   14  2  reserved = 0
 *   16  32 SHA-256 of the record area
 *   48  count x 12 records, each three u32 words:
 *         w0 = PAN digits 1-8 as BCD, read as one big-endian number (first digit on top)
 *         w1 = PAN digits 9-16, the same way
 *         w2 = PAN digits 17-20 (16 bits) << 16 | PSN (5F34, n2, one BCD byte) << 8 | 0
 *       the PAN right-padded with F nibbles to 20; records strictly ascending by (w0, w1, w2),
 *       which is the byte order of the BCD key, so no duplicates.
 *
 * The header is 48 bytes, so the record area of a file read into its own buffer is 4-byte
 * aligned and is viewed as a Uint32Array without a copy: loading 10^7 entries costs one
 * SHA-256 and one pass of word checks, and a lookup is a binary search on words.
 * Version 1 images (SHKDENY1, 11-byte records) are refused with a rebuild hint.
 */
export const DENY_LIST_MAGIC = 'SHKDENY2';
const DENY_LIST_MAGIC_V1 = 'SHKDENY1';
export const DENY_LIST_HEADER_BYTES = 48;
export const DENY_LIST_RECORD_BYTES = 12;
/** Words per record. */
export const DENY_LIST_RECORD_WORDS = 3;
/** Bound of entries: 20 million (240 MB of image), twice a national list of 10^7. */
export const DENY_LIST_ENTRIES_MAX = 20_000_000;
/** Largest valid image, for readers that bound a file before reading it. */
export const DENY_LIST_IMAGE_BYTES_MAX =
  DENY_LIST_HEADER_BYTES + DENY_LIST_ENTRIES_MAX * DENY_LIST_RECORD_BYTES;
export const DENY_LIST_PAN_DIGITS_MIN = 8;
export const DENY_LIST_PAN_DIGITS_MAX = 19;

export type DenyListResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: FieldError };

/** How much of an image a caller has already authenticated. */
export interface DenyListLoadOptions {
  /**
   * The whole file's SHA-256 was checked against a signed manifest, so the header's digest
   * of the record area need not be computed again (it would double the load time at 10^7).
   * Structure and order are validated either way.
   */
  readonly fileDigestVerified?: boolean;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// Class of a 16-bit group of four BCD nibbles: all digits, digits then 1-3 F pads, all pads,
// anything else. A valid PAN tail (digits 9-20, three groups) is DIGITS* [MIXED] PADS*,
// ending in a pad (at most 19 digits).
const GROUP_DIGITS = 0;
const GROUP_MIXED = 1;
const GROUP_INVALID = 2;
const GROUP_PADS = 3;
const GROUP_CLASS = groupClassTable();
const TAIL_VALID = tailValidTable();

/** A loaded, validated deny list; holds only a view of the image it was loaded from. */
export class DenyList {
  private constructor(
    private readonly words: Uint32Array,
    readonly count: number,
    readonly sha256Hex: string,
  ) {}

  /**
   * Validates an image: magic, record size, size = header + count x 12, SHA-256, BCD of every
   * PAN (8..19 digits, F pads only at the end) and PSN, strictly ascending order (which rules
   * out duplicates). The image is used in place when it is 4-byte aligned (a file read into
   * its own buffer always is), else copied once. The header's SHA-256 is checked unless
   * `options.fileDigestVerified`. Errors: FieldError naming `file` and the
   * field or record (header, magic, recordBytes, count, sha256, record[i]).
   */
  static load(
    image: Uint8Array,
    file: string,
    options: DenyListLoadOptions = {},
  ): DenyListResult<DenyList> {
    const fail = (field: string, reason: string): DenyListResult<DenyList> =>
      ({ ok: false, error: new FieldError(file, field, reason) });
    if (image.length < DENY_LIST_HEADER_BYTES) {
      return fail('header', `truncated: ${image.length} bytes`);
    }
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const magic = Buffer.from(image.buffer, image.byteOffset, 8).toString('latin1');
    if (magic === DENY_LIST_MAGIC_V1) {
      return fail('magic', 'version 1 image: rebuild it with `shuaka params denylist-build`');
    }
    if (magic !== DENY_LIST_MAGIC) return fail('magic', `expected ${DENY_LIST_MAGIC}`);
    const count = view.getUint32(8, true);
    if (view.getUint16(12, true) !== DENY_LIST_RECORD_BYTES || view.getUint16(14, true) !== 0) {
      return fail('recordBytes', `expected ${DENY_LIST_RECORD_BYTES}`);
    }
    if (count > DENY_LIST_ENTRIES_MAX) {
      return fail('count', `${count} exceeds ${DENY_LIST_ENTRIES_MAX}`);
    }
    const sizeExpected = DENY_LIST_HEADER_BYTES + count * DENY_LIST_RECORD_BYTES;
    if (image.length !== sizeExpected) {
      return fail('count', `${count} records need ${sizeExpected} bytes, file has ${image.length}`);
    }
    const records = image.subarray(DENY_LIST_HEADER_BYTES);
    const stored = Buffer.from(image.buffer, image.byteOffset + 16, 32);
    if (options.fileDigestVerified !== true) {
      const digest = createHash('sha256').update(records).digest();
      if (!digest.equals(stored)) return fail('sha256', 'does not match the records');
    }
    const words = recordWords(records);
    const bad = firstBadRecord(words, count);
    if (bad !== null) return fail(`record[${bad.index}]`, bad.reason);
    return { ok: true, value: new DenyList(words, count, stored.toString('hex').toUpperCase()) };
  }

  /**
   * True when PAN+PSN is listed. `pan` must be 8..19 digits (the kernel strips the F pad;
   * anything else is a programmer error: assertion). `psn` is the raw 5F34 byte: one that is
   * not BCD cannot be listed, so it answers false. Allocates nothing.
   */
  contains(pan: string, psn: number): boolean {
    if (!psnIsBcd(psn)) return false;
    const k0 = panWord(pan, 0);
    const k1 = panWord(pan, 8);
    const t = panWord(pan, 16);
    assert(
      k0 >= 0 && k1 >= 0 && t >= 0 && pan.length >= DENY_LIST_PAN_DIGITS_MIN
        && pan.length <= DENY_LIST_PAN_DIGITS_MAX,
      `deny list key ${pan.length} digits`,
    );
    const k2 = (((t >>> 16) << 16) | (psn << 8)) >>> 0;
    return this.search(k0, k1, k2);
  }

  /**
   * Bytes of the one buffer the list keeps alive: the image's own buffer when it was loaded
   * in place (no index, no per-entry objects), else the aligned copy of the records.
   */
  get retainedBytes(): number {
    return this.words.buffer.byteLength;
  }

  /** Binary search on the record words: at most 25 probes for 2 x 10^7 entries. */
  private search(k0: number, k1: number, k2: number): boolean {
    const words = this.words;
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = compareAt(words, middle * DENY_LIST_RECORD_WORDS, k0, k1, k2);
      if (order === 0) return true;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/** Order of the record at word `at` against the key (k0, k1, k2): -1, 0 or 1. */
function compareAt(words: Uint32Array, at: number, k0: number, k1: number, k2: number): number {
  const w0 = words[at] ?? 0;
  if (w0 !== k0) return w0 < k0 ? -1 : 1;
  const w1 = words[at + 1] ?? 0;
  if (w1 !== k1) return w1 < k1 ? -1 : 1;
  const w2 = words[at + 2] ?? 0;
  if (w2 !== k2) return w2 < k2 ? -1 : 1;
  return 0;
}

/**
 * The record area as u32 words: a view when aligned on a little-endian host, else a copy
 * (unaligned buffer, or a big-endian host reading the little-endian file).
 */
function recordWords(records: Uint8Array): Uint32Array {
  const n = records.length >>> 2;
  if (LITTLE_ENDIAN && records.byteOffset % 4 === 0) {
    return new Uint32Array(records.buffer, records.byteOffset, n);
  }
  const words = new Uint32Array(n);
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  for (let i = 0; i < n; i += 1) words[i] = view.getUint32(4 * i, true);
  return words;
}

/** The first record that is malformed or out of order, or null. One pass, no allocation. */
function firstBadRecord(
  words: Uint32Array,
  count: number,
): { index: number; reason: string } | null {
  let p0 = -1;
  let p1 = 0;
  let p2 = 0;
  const end = count * DENY_LIST_RECORD_WORDS;
  for (let at = 0; at < end; at += DENY_LIST_RECORD_WORDS) {
    const w0 = words[at] ?? 0;
    const w1 = words[at + 1] ?? 0;
    const w2 = words[at + 2] ?? 0;
    if (!recordValid(w0, w1, w2)) {
      return { index: at / DENY_LIST_RECORD_WORDS, reason: 'PAN or PSN is not valid BCD' };
    }
    if (w0 < p0 || (w0 === p0 && (w1 < p1 || (w1 === p1 && w2 <= p2)))) {
      const reason = 'not strictly ascending (unsorted or duplicate)';
      return { index: at / DENY_LIST_RECORD_WORDS, reason };
    }
    p0 = w0;
    p1 = w1;
    p2 = w2;
  }
  return null;
}

/** Digits 1-8 all BCD; digits 9-20 digits then F pads; PSN BCD; the low byte zero. */
export function recordValid(w0: number, w1: number, w2: number): boolean {
  // Eight nibbles all <= 9: a nibble 1xyz with xyz >= 2 carries into its top bit when
  // xyz + 6 is formed, so (w & 0x7..7) + 0x6..6 shares a top bit with w only above 9.
  if ((((w0 & 0x77777777) + 0x66666666) & w0 & 0x88888888) !== 0) return false;
  if ((w2 & 0xff) !== 0 || (w2 & 0x0a00) === 0x0a00 || (w2 & 0x0c00) === 0x0c00) return false;
  if ((w2 & 0xa000) === 0xa000 || (w2 & 0xc000) === 0xc000) return false;
  const tail = ((GROUP_CLASS[w1 >>> 16] ?? GROUP_INVALID) << 4)
    | ((GROUP_CLASS[w1 & 0xffff] ?? GROUP_INVALID) << 2)
    | (GROUP_CLASS[w2 >>> 16] ?? GROUP_INVALID);
  return TAIL_VALID[tail] === 1;
}

/**
 * The record word of PAN digits from..from+7 (F past the PAN's end); -1 when a character in
 * that range is not a digit.
 */
export function panWord(pan: string, from: number): number {
  let word = 0;
  for (let i = from; i < from + 8; i += 1) {
    let nibble = 0x0f;
    if (i < pan.length) {
      nibble = pan.charCodeAt(i) - 0x30;
      if (nibble < 0 || nibble > 9) return -1;
    }
    word = (word << 4) | nibble;
  }
  return word >>> 0;
}

/** True for a BCD byte 00..99 (the PSN, 5F34 n2). */
export function psnIsBcd(psn: number): boolean {
  return Number.isInteger(psn) && psn >= 0 && psn <= 0x99 && (psn & 0x0f) <= 9;
}

function groupClassTable(): Uint8Array {
  const table = new Uint8Array(0x10000);
  for (let group = 0; group < 0x10000; group += 1) {
    const nibbles = [group >> 12, (group >> 8) & 15, (group >> 4) & 15, group & 15];
    const pads = nibbles.filter((n) => n === 15).length;
    const padsAtEnd = nibbles.slice(4 - pads).every((n) => n === 15);
    const digitsFirst = nibbles.slice(0, 4 - pads).every((n) => n <= 9);
    let cls = GROUP_INVALID;
    if (padsAtEnd && digitsFirst) cls = pads === 0 ? GROUP_DIGITS : pads === 4 ? GROUP_PADS : 1;
    table[group] = cls;
  }
  assert(GROUP_MIXED === 1, 'class numbering');
  return table;
}

function tailValidTable(): Uint8Array {
  const table = new Uint8Array(64);
  const { DIGITS, MIXED, PADS } = { DIGITS: GROUP_DIGITS, MIXED: GROUP_MIXED, PADS: GROUP_PADS };
  const valid = [
    [DIGITS, DIGITS, MIXED], [DIGITS, DIGITS, PADS], [DIGITS, MIXED, PADS],
    [DIGITS, PADS, PADS], [MIXED, PADS, PADS], [PADS, PADS, PADS],
  ];
  for (const [a = 0, b = 0, c = 0] of valid) table[(a << 4) | (b << 2) | c] = 1;
  return table;
}
