// Builds a deny-list image of card tokens from "PAN,PSN" text and the fleet deny key, or from
// tokens already made (the depot merging lists): a radix sort on 16-bit digits of the token
// words, duplicates merged. The PANs live only in the input; the image holds tokens.

import assert from 'node:assert';
import { createHash } from 'node:crypto';

import { panScrub } from '../journal/pan_mask.js';
import { FieldError } from '../params/json_fields.js';
import { DENY_KEY_ID_BYTES, TUNION_SERIAL_DIGITS, type DenyKey } from './deny_key.js';
import {
  DENY_LIST_ENTRIES_MAX,
  DENY_LIST_HEADER_BYTES,
  DENY_LIST_KEY_ID_OFFSET,
  DENY_LIST_MAGIC,
  DENY_LIST_PAN_DIGITS_MAX,
  DENY_LIST_PAN_DIGITS_MIN,
  DENY_LIST_RECORD_BYTES,
  DENY_LIST_RECORD_WORDS,
  DenyList,
  type DenyListResult,
  tokenWord,
} from './deny_list.js';

/** More lines than this (comments included) is refused before parsing. */
const TEXT_LINES_MAX = DENY_LIST_ENTRIES_MAX * 2;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const HASH = 0x23;
const ZERO = 0x30;
/** A CSV header line, skipped when it is the first line. */
const CSV_HEADER = /^pan,psn$/i;
/** The prefix of a T-Union card's line: `tunion:` and its 20-digit application serial. */
const TUNION_PREFIX = 'tunion:';
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One card to list: a bank card (PAN, PSN) or a T-Union card (its 20-digit serial). */
export type DenyEntry =
  | { readonly pan: string; readonly psn: number }
  | { readonly tunionSerial: string };

/** The build input line of an entry (`PAN,PSN` or `tunion:SERIAL`, denyListBuild). */
export function denyLineOf(entry: DenyEntry): string {
  if ('tunionSerial' in entry) return `${TUNION_PREFIX}${entry.tunionSerial}`;
  return `${entry.pan},${entry.psn.toString(16).padStart(2, '0')}`;
}

/** A built image and what went into it. */
export interface DenyListImage {
  readonly image: Uint8Array;
  readonly count: number;
  /** Entries merged because they repeated one (same card, or same token). */
  readonly duplicates: number;
}

/**
 * Builds an image from text and the deny key: one `PAN,PSN` per line (PAN 8..19 digits, PSN
 * as its two digits, "01") or one `tunion:SERIAL` (a T-Union card: the 20 digits of its
 * application serial, file 0015), a CSV with an optional first line `pan,psn`; blank lines and
 * lines starting with '#' are skipped; spaces, tabs and CR around a line are ignored;
 * duplicates are merged. Each card becomes its token (deny_key.ts). Errors: FieldError naming
 * `file` and the line (never the PAN), or the whole file for too many lines or entries.
 */
export function denyListBuild(
  text: string | Uint8Array,
  file: string,
  key: DenyKey,
): DenyListResult<DenyListImage> {
  // A Buffer view: its indexOf is memchr, a plain Uint8Array's is not.
  const bytes = typeof text === 'string'
    ? Buffer.from(text, 'utf8')
    : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  const fail = (field: string, reason: string): DenyListResult<DenyListImage> =>
    ({ ok: false, error: new FieldError(file, field, reason) });
  let lines = 1;
  for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) lines += 1;
  if (lines > TEXT_LINES_MAX) return fail('', `more than ${TEXT_LINES_MAX} lines`);
  const words = new Uint32Array(lines * DENY_LIST_RECORD_WORDS);
  let count = 0;
  let lineNumber = 0;
  for (let start = 0; start <= bytes.length; lineNumber += 1) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    const parsed = lineParse(bytes, start, end, lineNumber === 0, key);
    if (parsed === LINE_BAD || parsed === LINE_BAD_TUNION) {
      // Never echo a PAN into an error (PCI DSS 3.4.1): the line number finds it.
      const text = Buffer.from(bytes.subarray(start, end)).toString().slice(0, 40);
      const got = JSON.stringify(panScrub(text));
      const expected = parsed === LINE_BAD_TUNION
        ? `expected ${TUNION_PREFIX}SERIAL (the ${TUNION_SERIAL_DIGITS} digits of file 0015)`
        : `expected PAN,PSN (8-19 digits, 2 digits) or ${TUNION_PREFIX}SERIAL`;
      return fail(`line ${lineNumber + 1}`, `${expected}, got ${got}`);
    }
    if (parsed !== LINE_SKIPPED) {
      const at = count * DENY_LIST_RECORD_WORDS;
      words[at] = tokenWord(parsed, 0);
      words[at + 1] = tokenWord(parsed, 4);
      words[at + 2] = tokenWord(parsed, 8);
      count += 1;
    }
    start = end + 1;
  }
  return denyListFromTokens(words, count, key.idHex, file);
}

/**
 * Builds an image from `count` tokens given as record words (three per token, the token's
 * little-endian u32s) made with the deny key `keyIdHex`: sorted, duplicates merged. `words`
 * is reordered in place. Errors: FieldError for more than DENY_LIST_ENTRIES_MAX entries.
 */
export function denyListFromTokens(
  words: Uint32Array,
  count: number,
  keyIdHex: string,
  file: string,
): DenyListResult<DenyListImage> {
  assert(/^[0-9A-F]{16}$/.test(keyIdHex), 'deny key id is 16 upper-case hex digits');
  const records = words.subarray(0, count * DENY_LIST_RECORD_WORDS);
  const sorted = count <= INSERTION_SORT_COUNT_MAX
    ? insertionSort(records, count)
    : radixSort(records, count);
  const unique = mergeDuplicates(sorted, count);
  if (unique > DENY_LIST_ENTRIES_MAX) {
    const reason = `more than ${DENY_LIST_ENTRIES_MAX} entries`;
    return { ok: false, error: new FieldError(file, '', reason) };
  }
  const image = imageEncode(sorted, unique, keyIdHex);
  assert(DenyList.load(image, file).ok, 'built deny list loads');
  return { ok: true, value: { image, count: unique, duplicates: count - unique } };
}

const LINE_SKIPPED = 0;
const LINE_BAD = 2;
const LINE_BAD_TUNION = 3;

/**
 * Parses bytes[start, end): LINE_SKIPPED (blank, comment, a first-line CSV header), LINE_BAD,
 * or the card's token.
 */
function lineParse(
  bytes: Buffer,
  start: number,
  end: number,
  first: boolean,
  key: DenyKey,
): Uint8Array | typeof LINE_SKIPPED | typeof LINE_BAD | typeof LINE_BAD_TUNION {
  let from = start;
  let to = end;
  while (from < to && isBlank(bytes[from] ?? 0)) from += 1;
  while (to > from && isBlank(bytes[to - 1] ?? 0)) to -= 1;
  if (from === to || bytes[from] === HASH) return LINE_SKIPPED;
  if (first && CSV_HEADER.test(bytes.toString('latin1', from, to))) return LINE_SKIPPED;
  if (bytes.toString('latin1', from, from + TUNION_PREFIX.length) === TUNION_PREFIX) {
    // tokenTunion checks the serial is exactly 20 ASCII digits.
    const serial = bytes.toString('latin1', from + TUNION_PREFIX.length, to);
    return key.tokenTunion(serial) ?? LINE_BAD_TUNION;
  }
  const digits = to - from - 3;
  if (digits < DENY_LIST_PAN_DIGITS_MIN || digits > DENY_LIST_PAN_DIGITS_MAX) return LINE_BAD;
  if (bytes[from + digits] !== COMMA) return LINE_BAD;
  const psnHigh = (bytes[to - 2] ?? 0) - ZERO;
  const psnLow = (bytes[to - 1] ?? 0) - ZERO;
  if (!isDigit(psnHigh) || !isDigit(psnLow)) return LINE_BAD;
  const token = key.token(bytes.toString('latin1', from, from + digits), (psnHigh << 4) | psnLow);
  return token ?? LINE_BAD;
}

function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB || byte === CR;
}

function isDigit(value: number): boolean {
  return value >= 0 && value <= 9;
}

/**
 * Lists up to this many entries are sorted by insertion: the radix sort's cost is six passes
 * over a 65,536-entry histogram whatever the count (~2 ms), more than a few hundred
 * comparisons of a short list (a depot's test set, a simulator's handful of cards).
 */
const INSERTION_SORT_COUNT_MAX = 64;

/**
 * Sorts `count` records of three words ascending by (w0, w1, w2) in place, by insertion (the
 * order radixSort gives: both are stable and records equal in all three words are identical).
 * Returns `words`.
 */
function insertionSort(words: Uint32Array, count: number): Uint32Array {
  const w = DENY_LIST_RECORD_WORDS;
  for (let i = 1; i < count; i += 1) {
    const a = words[i * w] ?? 0;
    const b = words[i * w + 1] ?? 0;
    const c = words[i * w + 2] ?? 0;
    let j = i - 1;
    for (; j >= 0; j -= 1) {
      const x = words[j * w] ?? 0;
      const y = words[j * w + 1] ?? 0;
      const z = words[j * w + 2] ?? 0;
      if (x < a || (x === a && (y < b || (y === b && z <= c)))) break;
      words.copyWithin((j + 1) * w, j * w, j * w + w);
    }
    words[(j + 1) * w] = a;
    words[(j + 1) * w + 1] = b;
    words[(j + 1) * w + 2] = c;
  }
  return words;
}

/**
 * Sorts `count` records of three words ascending by (w0, w1, w2): LSD radix sort on 16-bit
 * digits, least significant first, skipping a digit every record shares. Stable, O(6 n), one
 * scratch copy. Returns the sorted words (either buffer).
 */
function radixSort(input: Uint32Array, count: number): Uint32Array {
  let from: Uint32Array = input;
  let to: Uint32Array = new Uint32Array(input.length);
  const histogram = new Uint32Array(0x10000);
  // (word, shift) from the least significant 16-bit digit to the most significant.
  const digits: readonly (readonly [number, number])[] = [
    [2, 0], [2, 16], [1, 0], [1, 16], [0, 0], [0, 16],
  ];
  for (const [word, shift] of digits) {
    histogram.fill(0);
    for (let i = word; i < from.length; i += DENY_LIST_RECORD_WORDS) {
      const d = ((from[i] ?? 0) >>> shift) & 0xffff;
      histogram[d] = (histogram[d] ?? 0) + 1;
    }
    if (histogram.includes(count)) continue;
    let sum = 0;
    for (let d = 0; d < 0x10000; d += 1) {
      const n = histogram[d] ?? 0;
      histogram[d] = sum;
      sum += n;
    }
    for (let i = 0; i < from.length; i += DENY_LIST_RECORD_WORDS) {
      const d = ((from[i + word] ?? 0) >>> shift) & 0xffff;
      const at = (histogram[d] ?? 0) * DENY_LIST_RECORD_WORDS;
      histogram[d] = (histogram[d] ?? 0) + 1;
      to[at] = from[i] ?? 0;
      to[at + 1] = from[i + 1] ?? 0;
      to[at + 2] = from[i + 2] ?? 0;
    }
    [from, to] = [to, from];
  }
  return from;
}

/** Removes adjacent equal records in place; returns how many remain. */
function mergeDuplicates(words: Uint32Array, count: number): number {
  let unique = 0;
  for (let i = 0; i < count; i += 1) {
    const at = i * DENY_LIST_RECORD_WORDS;
    const last = (unique - 1) * DENY_LIST_RECORD_WORDS;
    if (unique > 0 && words[last] === words[at] && words[last + 1] === words[at + 1]
      && words[last + 2] === words[at + 2]) {
      continue;
    }
    const to = unique * DENY_LIST_RECORD_WORDS;
    words[to] = words[at] ?? 0;
    words[to + 1] = words[at + 1] ?? 0;
    words[to + 2] = words[at + 2] ?? 0;
    unique += 1;
  }
  return unique;
}

/** Header (with the key id) + little-endian record words + SHA-256 of the record area. */
export function imageEncode(words: Uint32Array, count: number, keyIdHex: string): Uint8Array {
  const image = new Uint8Array(DENY_LIST_HEADER_BYTES + count * DENY_LIST_RECORD_BYTES);
  const view = new DataView(image.buffer);
  image.set(Buffer.from(DENY_LIST_MAGIC, 'latin1'), 0);
  view.setUint32(8, count, true);
  view.setUint16(12, DENY_LIST_RECORD_BYTES, true);
  const keyId = Buffer.from(keyIdHex, 'hex');
  assert(keyId.length === DENY_KEY_ID_BYTES, 'deny key id length');
  image.set(keyId, DENY_LIST_KEY_ID_OFFSET);
  if (LITTLE_ENDIAN) {
    image.set(new Uint8Array(words.buffer, words.byteOffset, count * DENY_LIST_RECORD_BYTES),
      DENY_LIST_HEADER_BYTES);
  } else {
    for (let i = 0; i < count * DENY_LIST_RECORD_WORDS; i += 1) {
      view.setUint32(DENY_LIST_HEADER_BYTES + 4 * i, words[i] ?? 0, true);
    }
  }
  const records = image.subarray(DENY_LIST_HEADER_BYTES);
  image.set(createHash('sha256').update(records).digest(), 16);
  return image;
}
