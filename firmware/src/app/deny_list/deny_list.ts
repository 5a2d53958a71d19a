// Deny list of PAN+PSN: compact sorted binary image, validated load, allocation-free lookup.

import assert from 'node:assert';
import { createHash } from 'node:crypto';

import { panScrub } from '../journal/journal_records.js';
import { FieldError } from '../params/json_fields.js';

/**
 * Binary layout (little-endian integers):
 *
 *   0   8  magic "SHKDENY1"
 *   8   4  count of records
 *   12  2  record size = 11
 *   14  2  reserved = 0
 *   16  32 SHA-256 of the record area
 *   48  count x 11 records: PAN as BCD right-padded with F to 10 bytes (20 nibbles),
 *          then PSN (5F34, n2) as one BCD byte; sorted ascending as bytes, no duplicates.
 *
 * Sorted fixed-size records make the lookup a binary search over the image itself: no index,
 * no per-entry objects, O(log n) with one 11-byte scratch key reused for every lookup.
 */
export const DENY_LIST_MAGIC = 'SHKDENY1';
export const DENY_LIST_HEADER_BYTES = 48;
export const DENY_LIST_RECORD_BYTES = 11;
const PAN_BCD_BYTES = 10;
/** Bound of entries (22 MB of image); national lists run to a few hundred thousand. */
export const DENY_LIST_ENTRIES_MAX = 2_000_000;
const PAN_DIGITS_MIN = 8;
const PAN_DIGITS_MAX = 19;
const TEXT_LINES_MAX = DENY_LIST_ENTRIES_MAX * 2;

export type DenyListResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: FieldError };

/** A built image and what went into it. */
export interface DenyListImage {
  readonly image: Uint8Array;
  readonly count: number;
  /** Lines merged because they repeated an entry. */
  readonly duplicates: number;
}

/** A loaded, validated deny list. */
export class DenyList {
  private readonly scratch = new Uint8Array(DENY_LIST_RECORD_BYTES);

  private constructor(
    private readonly records: Uint8Array,
    readonly count: number,
    readonly sha256Hex: string,
  ) {}

  /**
   * Validates an image: magic, record size, size = header + count x 11, SHA-256, BCD of every
   * PAN and PSN, strictly ascending order (which also rules out duplicates). The image is
   * used in place, not copied. Errors: FieldError naming `file` and the record.
   */
  static load(image: Uint8Array, file: string): DenyListResult<DenyList> {
    const fail = (field: string, reason: string): DenyListResult<DenyList> =>
      ({ ok: false, error: new FieldError(file, field, reason) });
    if (image.length < DENY_LIST_HEADER_BYTES) {
      return fail('header', `truncated: ${image.length} bytes`);
    }
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const magic = new TextDecoder().decode(image.subarray(0, 8));
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
    const digest = createHash('sha256').update(records).digest();
    if (!digest.equals(image.subarray(16, 48))) return fail('sha256', 'does not match the records');
    for (let i = 0; i < count; i += 1) {
      const offset = i * DENY_LIST_RECORD_BYTES;
      if (!recordBcdValid(records, offset)) {
        return fail(`record[${i}]`, 'PAN or PSN is not valid BCD');
      }
      if (i > 0 && compareRecords(records, offset - DENY_LIST_RECORD_BYTES, records, offset) >= 0) {
        return fail(`record[${i}]`, 'not strictly ascending (unsorted or duplicate)');
      }
    }
    return { ok: true, value: new DenyList(records, count, digest.toString('hex').toUpperCase()) };
  }

  /**
   * True when PAN+PSN is listed. `pan` must be 8..19 digits (the kernel strips the F pad;
   * anything else is a programmer error: assertion). `psn` is the raw 5F34 byte: one that is
   * not BCD cannot be listed, so it answers false. Allocates nothing.
   */
  contains(pan: string, psn: number): boolean {
    if (!psnIsBcd(psn)) return false;
    assert(keyEncode(pan, psn, this.scratch, 0), `deny list key ${pan.length} digits, psn ${psn}`);
    let low = 0;
    let high = this.count - 1;
    // Bounded: the interval halves every iteration (at most 21 for 2,000,000 entries).
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = compareRecords(this.records, middle * DENY_LIST_RECORD_BYTES, this.scratch, 0);
      if (order === 0) return true;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/**
 * Builds an image from text: one `PAN,PSN` per line (PSN as its two digits, "01"); blank
 * lines and lines starting with '#' are skipped; duplicates are merged. Errors: FieldError
 * naming `file` and the line.
 */
export function denyListBuild(text: string, file: string): DenyListResult<DenyListImage> {
  const fail = (field: string, reason: string): DenyListResult<DenyListImage> =>
    ({ ok: false, error: new FieldError(file, field, reason) });
  const lines = text.split('\n');
  if (lines.length > TEXT_LINES_MAX) return fail('', `more than ${TEXT_LINES_MAX} lines`);
  const keys: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([0-9]{8,19}),([0-9]{2})$/.exec(line);
    if (match === null) {
      // Never echo a PAN into an error (PCI DSS 3.4.1): the line number finds it.
      const got = JSON.stringify(panScrub(line.slice(0, 40)));
      return fail(`line ${i + 1}`, `expected PAN,PSN (8-19 digits, 2 digits), got ${got}`);
    }
    // Hex of the record: PAN nibbles padded with F, then the PSN byte; hex order = byte order.
    keys.push(`${match[1] ?? ''}`.padEnd(2 * PAN_BCD_BYTES, 'F') + (match[2] ?? ''));
  }
  keys.sort();
  const unique: string[] = [];
  for (const key of keys) if (unique[unique.length - 1] !== key) unique.push(key);
  if (unique.length > DENY_LIST_ENTRIES_MAX) {
    return fail('', `more than ${DENY_LIST_ENTRIES_MAX} entries`);
  }
  const image = new Uint8Array(DENY_LIST_HEADER_BYTES + unique.length * DENY_LIST_RECORD_BYTES);
  const records = image.subarray(DENY_LIST_HEADER_BYTES);
  for (let i = 0; i < unique.length; i += 1) {
    records.set(Buffer.from(unique[i] ?? '', 'hex'), i * DENY_LIST_RECORD_BYTES);
  }
  image.set(new TextEncoder().encode(DENY_LIST_MAGIC), 0);
  const view = new DataView(image.buffer);
  view.setUint32(8, unique.length, true);
  view.setUint16(12, DENY_LIST_RECORD_BYTES, true);
  image.set(createHash('sha256').update(records).digest(), 16);
  assert(DenyList.load(image, file).ok, 'built deny list loads');
  const duplicates = keys.length - unique.length;
  return { ok: true, value: { image, count: unique.length, duplicates } };
}

/** Writes the 11-byte key of PAN+PSN at `out[offset]`; false if PAN or PSN is malformed. */
export function keyEncode(pan: string, psn: number, out: Uint8Array, offset: number): boolean {
  if (pan.length < PAN_DIGITS_MIN || pan.length > PAN_DIGITS_MAX) return false;
  if (!psnIsBcd(psn)) return false;
  for (let i = 0; i < PAN_BCD_BYTES; i += 1) {
    const high = digitAt(pan, 2 * i);
    const low = digitAt(pan, 2 * i + 1);
    if (high < 0 || low < 0) return false;
    out[offset + i] = (high << 4) | low;
  }
  out[offset + PAN_BCD_BYTES] = psn;
  return true;
}

/** Nibble of digit `i` of the PAN, 0xF past its end, -1 for a non-digit. */
function digitAt(pan: string, i: number): number {
  if (i >= pan.length) return 0x0f;
  const code = pan.charCodeAt(i) - 0x30;
  return code >= 0 && code <= 9 ? code : -1;
}

function recordBcdValid(records: Uint8Array, offset: number): boolean {
  let digits = 0;
  let padding = false;
  for (let nibble = 0; nibble < 2 * PAN_BCD_BYTES; nibble += 1) {
    const byte = records[offset + (nibble >> 1)] ?? 0;
    const value = (nibble & 1) === 0 ? byte >> 4 : byte & 0x0f;
    if (value === 0x0f) padding = true;
    else if (padding || value > 9) return false;
    else digits += 1;
  }
  const psn = records[offset + PAN_BCD_BYTES] ?? 0;
  return digits >= PAN_DIGITS_MIN && psnIsBcd(psn);
}

function psnIsBcd(psn: number): boolean {
  return Number.isInteger(psn) && psn >= 0 && psn <= 0x99 && (psn & 0x0f) <= 9;
}

function compareRecords(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): number {
  for (let i = 0; i < DENY_LIST_RECORD_BYTES; i += 1) {
    const difference = (a[aOffset + i] ?? 0) - (b[bOffset + i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
