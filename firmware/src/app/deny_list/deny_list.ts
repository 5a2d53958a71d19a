// Deny list of card tokens at national scale: a sorted image of 12-byte keyed tokens (never a
// PAN), validated in one pass and searched in place (no index, no per-entry objects).

import { createHash } from 'node:crypto';

import { FieldError } from '../params/json_fields.js';
import { DENY_KEY_ID_BYTES, DENY_TOKEN_BYTES, type DenyKey } from './deny_key.js';

/**
 * Binary layout, version 3 (little-endian integers):
 *
 *   0   8  magic "SHKDENY3"
 *   8   4  count of records
 *   12  2  record size = 12
 *   14  2  reserved = 0
 *   16  32 SHA-256 of the record area
 *   48  8  deny key id: the first 8 bytes of HMAC-SHA-256(denyKey, "shuaka deny key id v1")
 *   56  8  reserved = 0
 *   64  count x 12 records: each the token of a card, the first 12 bytes of
 *       HMAC-SHA-256(denyKey, PAN ASCII digits || PSN byte) (deny_key.ts); read as three
 *       little-endian u32 words w0, w1, w2, records strictly ascending by (w0, w1, w2), so no
 *       duplicates.
 *
 * The header is 64 bytes, so the record area of a file read into its own buffer is 4-byte
 * aligned and is viewed as a Uint32Array without a copy: loading 10^7 entries costs one
 * SHA-256 (skipped when the signed manifest already covered the file) and one pass of order
 * checks, and a lookup is one HMAC then a binary search on words. Version 2 images (SHKDENY2,
 * PANs in clear BCD) and version 1 are refused: they hold PANs at rest (PCI DSS v4.0 3.5.1),
 * and a signed set cannot be migrated in place (its manifest covers the file's hash).
 */
export const DENY_LIST_MAGIC = 'SHKDENY3';
const DENY_LIST_MAGICS_CLEAR = ['SHKDENY1', 'SHKDENY2'];
export const DENY_LIST_HEADER_BYTES = 64;
export const DENY_LIST_RECORD_BYTES = DENY_TOKEN_BYTES;
/** Words per record. */
export const DENY_LIST_RECORD_WORDS = 3;
/** Offset of the deny key id in the header. */
export const DENY_LIST_KEY_ID_OFFSET = 48;
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

/** XOR of an int32 that orders it as its unsigned value. */
const SIGN_BIT = 0x80000000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A loaded, validated deny list; holds only a view of the image it was loaded from. A list
 * answers `contains` only once bound to the deny key it was made with (`bind`).
 */
export class DenyList {
  private constructor(
    private readonly words: Uint32Array,
    readonly count: number,
    readonly sha256Hex: string,
    /** The id of the deny key the tokens were made with (16 hex digits, upper case). */
    readonly keyIdHex: string,
    private readonly key: DenyKey | null,
  ) {}

  /**
   * Validates an image: magic, record size, size = header + count x 12, SHA-256, reserved
   * bytes zero, strictly ascending order (which rules out duplicates). The image is used in
   * place when it is 4-byte aligned (a file read into its own buffer always is), else copied
   * once. The header's SHA-256 is checked unless `options.fileDigestVerified`. Errors:
   * FieldError naming `file` and the field or record (header, magic, recordBytes, count,
   * sha256, record[i]); a clear-PAN image (version 1 or 2) is refused under `magic`.
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
    if (DENY_LIST_MAGICS_CLEAR.includes(magic)) {
      const reason = `${magic} holds clear PANs, refused (PCI DSS 3.5.1): rebuild it as tokens `
        + 'with `shuaka params denylist-build --deny-key FILE` and sign the set again';
      return fail('magic', reason);
    }
    if (magic !== DENY_LIST_MAGIC) return fail('magic', `expected ${DENY_LIST_MAGIC}`);
    const count = view.getUint32(8, true);
    if (view.getUint16(12, true) !== DENY_LIST_RECORD_BYTES || view.getUint16(14, true) !== 0) {
      return fail('recordBytes', `expected ${DENY_LIST_RECORD_BYTES}`);
    }
    if (view.getUint32(56, true) !== 0 || view.getUint32(60, true) !== 0) {
      return fail('reserved', 'bytes 56-63 must be zero');
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
    const bad = firstUnordered(words, count);
    if (bad !== null) {
      return fail(`record[${bad}]`, 'not strictly ascending (unsorted or duplicate)');
    }
    const keyId = Buffer.from(image.buffer, image.byteOffset + DENY_LIST_KEY_ID_OFFSET,
      DENY_KEY_ID_BYTES).toString('hex').toUpperCase();
    const sha = stored.toString('hex').toUpperCase();
    return { ok: true, value: new DenyList(words, count, sha, keyId, null) };
  }

  /**
   * This list bound to `key` (sharing the image), or the refusal when the list was made with
   * another deny key: every lookup would miss, so a listed card would ride. Errors:
   * FieldError naming `file` and `keyId`.
   */
  bind(key: DenyKey, file: string): DenyListResult<DenyList> {
    if (key.idHex !== this.keyIdHex) {
      const reason = `made with deny key ${this.keyIdHex}, this validator holds deny key `
        + `${key.idHex}: provision the fleet's deny key or rebuild the list with it`;
      return { ok: false, error: new FieldError(file, 'keyId', reason) };
    }
    return {
      ok: true, value: new DenyList(this.words, this.count, this.sha256Hex, this.keyIdHex, key),
    };
  }

  /** True once bound to its deny key (a validator's set); false for a tool's view. */
  get bound(): boolean {
    return this.key !== null;
  }

  /**
   * True when the card PAN+PSN is listed: one HMAC (its token), then a binary search. `pan`
   * as the kernel gives it (8..19 digits, F pad stripped); `psn` the raw 5F34 byte. A PAN or
   * PSN that no token can be made of answers false. Throws Error when the list is not bound
   * to a deny key (a programmer error: a validator's set is always bound, see bind).
   */
  contains(pan: string, psn: number): boolean {
    if (this.key === null) throw new Error('deny list used without its deny key (bind it)');
    const token = this.key.token(pan, psn);
    return token !== null && this.containsToken(token);
  }

  /**
   * True when the T-Union card of this application serial (file 0015 bytes 11-20, its 20
   * digits) is listed: one HMAC (DenyKey.tokenTunion), then the search. A serial that is not
   * 20 digits answers false. Throws Error when the list is not bound to a deny key.
   */
  containsTunion(serialDigits: string): boolean {
    if (this.key === null) throw new Error('deny list used without its deny key (bind it)');
    const token = this.key.tokenTunion(serialDigits);
    return token !== null && this.containsToken(token);
  }

  /** True when the 12-byte `token` is listed. Allocates nothing. */
  containsToken(token: Uint8Array): boolean {
    return this.search(tokenWord(token, 0), tokenWord(token, 4), tokenWord(token, 8));
  }

  /**
   * Bytes of the one buffer the list keeps alive: the image's own buffer when it was loaded
   * in place (no index, no per-entry objects), else the aligned copy of the records.
   */
  get retainedBytes(): number {
    return this.words.buffer.byteLength;
  }

  /**
   * Search on the record words. Tokens are HMAC outputs, uniform over w0, so an interpolation
   * probe lands next to the key (about 2-3 probes at 10^7, each a cache miss in a 120 MB
   * image, against 24 for bisection); every other step bisects, which bounds the worst case
   * at twice bisection's probes whatever the data.
   */
  private search(k0: number, k1: number, k2: number): boolean {
    const words = this.words;
    let low = 0;
    let high = this.count - 1;
    for (let step = 0; low <= high; step += 1) {
      let middle = (low + high) >>> 1;
      if ((step & 1) === 0) {
        const w0Low = words[low * DENY_LIST_RECORD_WORDS] ?? 0;
        const w0High = words[high * DENY_LIST_RECORD_WORDS] ?? 0;
        if (k0 < w0Low || k0 > w0High) return false;
        if (w0High > w0Low) {
          middle = low + Math.floor(((k0 - w0Low) / (w0High - w0Low)) * (high - low));
        }
      }
      const order = compareAt(words, middle * DENY_LIST_RECORD_WORDS, k0, k1, k2);
      if (order === 0) return true;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/** The little-endian u32 at `at` of a token. */
export function tokenWord(token: Uint8Array, at: number): number {
  return ((token[at] ?? 0) | ((token[at + 1] ?? 0) << 8) | ((token[at + 2] ?? 0) << 16)
    | ((token[at + 3] ?? 0) << 24)) >>> 0;
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

/**
 * Index of the first record not above its predecessor, or null. One pass, no allocation.
 * The words are read as int32 with the sign bit flipped, which orders them as their unsigned
 * values: the loop stays on small integers (a u32 above 2^31 is a heap double in V8, and
 * made this pass 5x slower: 160 against 33 ms at 10^7 records). Tokens are uniform, so the
 * first word nearly always decides.
 */
function firstUnordered(words: Uint32Array, count: number): number | null {
  if (count === 0) return null;
  const ints = new Int32Array(words.buffer, words.byteOffset, words.length);
  const end = count * DENY_LIST_RECORD_WORDS;
  let p0 = (ints[0] ?? 0) ^ SIGN_BIT;
  let p1 = (ints[1] ?? 0) ^ SIGN_BIT;
  let p2 = (ints[2] ?? 0) ^ SIGN_BIT;
  for (let at = DENY_LIST_RECORD_WORDS; at < end; at += DENY_LIST_RECORD_WORDS) {
    const w0 = (ints[at] ?? 0) ^ SIGN_BIT;
    if (w0 > p0) {
      p0 = w0;
      p1 = (ints[at + 1] ?? 0) ^ SIGN_BIT;
      p2 = (ints[at + 2] ?? 0) ^ SIGN_BIT;
      continue;
    }
    const w1 = (ints[at + 1] ?? 0) ^ SIGN_BIT;
    const w2 = (ints[at + 2] ?? 0) ^ SIGN_BIT;
    if (w0 < p0 || w1 < p1 || (w1 === p1 && w2 <= p2)) return at / DENY_LIST_RECORD_WORDS;
    p1 = w1;
    p2 = w2;
  }
  return null;
}
