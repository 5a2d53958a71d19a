// Signed deny-list deltas: the tokens added and removed from one published list to the next,
// so a validator holding a national list downloads the changes, not the whole list again.
// The format is documented in README.md here ("Deltas").

import { createHash, sign, verify, type KeyObject } from 'node:crypto';

import {
  DENY_LIST_HEADER_BYTES,
  DENY_LIST_KEY_ID_OFFSET,
  DENY_LIST_RECORD_BYTES,
  DENY_LIST_RECORD_WORDS,
  DENY_LIST_ENTRIES_MAX,
  DenyList,
} from './deny_list.js';
import { imageEncode } from './deny_list_build.js';
import { DENY_KEY_ID_BYTES } from './deny_key.js';

/**
 * Binary layout, version 1 (little-endian integers):
 *
 *   0   8  magic "SHKDDLT1"
 *   8   4  fromVersion: the parameter set whose deny list this delta applies to
 *   12  4  toVersion: the set it produces (above fromVersion)
 *   16  32 SHA-256 of the whole base deny_list.bin (header and records)
 *   48  32 SHA-256 of the whole resulting deny_list.bin (what toVersion's manifest lists)
 *   80  8  deny key id of both lists (a key change is never a delta)
 *   88  4  count of added tokens
 *   92  4  count of removed tokens
 *   96  add x 12 bytes: tokens absent from the base, strictly ascending (deny_list.ts order)
 *   ..  remove x 12 bytes: tokens present in the base, strictly ascending
 *   ..  64 Ed25519 signature (RFC 8032) with the parameter signing key over every byte before
 */
export const DENY_DELTA_MAGIC = 'SHKDDLT1';
export const DENY_DELTA_HEADER_BYTES = 96;
export const DENY_DELTA_SIGNATURE_BYTES = 64;

/** Why a delta was refused. */
export type DenyDeltaRefusal =
  /** Not a delta: short, bad magic, counts that do not match the size, unordered tokens. */
  | 'malformed'
  /** The signature does not verify with the validator's parameter key. */
  | 'signature'
  /** Made for another base: fromVersion, the base's SHA-256 or its deny key id differ. */
  | 'wrong-base'
  /** An added token already listed, a removed one not listed, or too many entries. */
  | 'inconsistent'
  /** The rebuilt list's SHA-256 is not the one the delta promises. */
  | 'result-mismatch';

export type DenyDeltaResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly refusal: DenyDeltaRefusal; readonly reason: string };

/** A delta's header fields. */
export interface DenyDeltaHeader {
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly baseSha256Hex: string;
  readonly resultSha256Hex: string;
  readonly keyIdHex: string;
  readonly addCount: number;
  readonly removeCount: number;
}

const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** The little-endian words of `bytes` from `offset` to the end (a copy, aligned). */
function wordsAt(bytes: Uint8Array, offset: number): Uint32Array {
  const n = (bytes.length - offset) >>> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * n);
  const words = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) words[i] = view.getUint32(4 * i, true);
  return words;
}

/** The record words of a valid image. */
const wordsOf = (image: Uint8Array): Uint32Array => wordsAt(image, DENY_LIST_HEADER_BYTES);

/** -1, 0, 1 comparing record `i` of `a` with record `j` of `b` (deny_list.ts order). */
function compare(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let w = 0; w < DENY_LIST_RECORD_WORDS; w += 1) {
    const x = a[i * DENY_LIST_RECORD_WORDS + w] ?? 0;
    const y = b[j * DENY_LIST_RECORD_WORDS + w] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Appends record `i` of `from` to `to` at record `at`. */
function copyRecord(from: Uint32Array, i: number, to: Uint32Array, at: number): void {
  to.set(from.subarray(i * DENY_LIST_RECORD_WORDS, (i + 1) * DENY_LIST_RECORD_WORDS),
    at * DENY_LIST_RECORD_WORDS);
}

/**
 * The signed delta from `base` (the deny list of set `fromVersion`) to `target` (of set
 * `toVersion`): one merge pass over the two sorted lists. Throws RangeError when either image
 * is not a valid deny list, the two were made with different deny keys, or the versions do
 * not ascend (programmer errors: the depot builds both lists itself).
 */
export function denyDeltaBuild(base: Uint8Array, target: Uint8Array, fromVersion: number,
  toVersion: number, privateKey: KeyObject): Uint8Array {
  const lists = [base, target].map((image, i) => {
    const loaded = DenyList.load(image, i === 0 ? 'base' : 'target');
    if (!loaded.ok) throw new RangeError(loaded.error.message);
    return loaded.value;
  });
  if (lists[0]?.keyIdHex !== lists[1]?.keyIdHex) throw new RangeError('deny key changed');
  if (!(toVersion > fromVersion && fromVersion >= 0 && toVersion <= 0xffff_ffff)) {
    throw new RangeError(`versions ${fromVersion} -> ${toVersion}`);
  }
  const a = wordsOf(base);
  const b = wordsOf(target);
  const na = a.length / DENY_LIST_RECORD_WORDS;
  const nb = b.length / DENY_LIST_RECORD_WORDS;
  const add = new Uint32Array(b.length);
  const remove = new Uint32Array(a.length);
  let adds = 0;
  let removes = 0;
  let i = 0;
  let j = 0;
  while (i < na || j < nb) {
    const c = i >= na ? 1 : j >= nb ? -1 : compare(a, i, b, j);
    if (c < 0) copyRecord(a, i++, remove, removes++);
    else if (c > 0) copyRecord(b, j++, add, adds++);
    else { i += 1; j += 1; }
  }
  const body = DENY_DELTA_HEADER_BYTES + (adds + removes) * DENY_LIST_RECORD_BYTES;
  const delta = new Uint8Array(body + DENY_DELTA_SIGNATURE_BYTES);
  const view = new DataView(delta.buffer);
  delta.set(Buffer.from(DENY_DELTA_MAGIC, 'latin1'), 0);
  view.setUint32(8, fromVersion, true);
  view.setUint32(12, toVersion, true);
  delta.set(sha256(base), 16);
  delta.set(sha256(target), 48);
  const keyIdEnd = DENY_LIST_KEY_ID_OFFSET + DENY_KEY_ID_BYTES;
  delta.set(base.subarray(DENY_LIST_KEY_ID_OFFSET, keyIdEnd), 80);
  view.setUint32(88, adds, true);
  view.setUint32(92, removes, true);
  writeWords(view, DENY_DELTA_HEADER_BYTES, add, adds);
  writeWords(view, DENY_DELTA_HEADER_BYTES + adds * DENY_LIST_RECORD_BYTES, remove, removes);
  delta.set(sign(null, delta.subarray(0, body), privateKey), body);
  return delta;
}

function writeWords(view: DataView, offset: number, words: Uint32Array, records: number): void {
  for (let k = 0; k < records * DENY_LIST_RECORD_WORDS; k += 1) {
    view.setUint32(offset + 4 * k, words[k] ?? 0, true);
  }
}

/** The header of `delta` when its size and magic are right; no signature check. */
export function denyDeltaHeader(delta: Uint8Array): DenyDeltaResult<DenyDeltaHeader> {
  const malformed = (reason: string): DenyDeltaResult<never> =>
    ({ ok: false, refusal: 'malformed', reason });
  if (delta.length < DENY_DELTA_HEADER_BYTES + DENY_DELTA_SIGNATURE_BYTES) {
    return malformed(`truncated: ${delta.length} bytes`);
  }
  const text = Buffer.from(delta.buffer, delta.byteOffset, delta.byteLength);
  if (text.toString('latin1', 0, 8) !== DENY_DELTA_MAGIC) {
    return malformed(`magic: expected ${DENY_DELTA_MAGIC}`);
  }
  const view = new DataView(delta.buffer, delta.byteOffset, delta.byteLength);
  const addCount = view.getUint32(88, true);
  const removeCount = view.getUint32(92, true);
  const size = DENY_DELTA_HEADER_BYTES + (addCount + removeCount) * DENY_LIST_RECORD_BYTES
    + DENY_DELTA_SIGNATURE_BYTES;
  if (addCount > DENY_LIST_ENTRIES_MAX || removeCount > DENY_LIST_ENTRIES_MAX
    || delta.length !== size) {
    return malformed(`${addCount} adds and ${removeCount} removes need ${size} bytes, `
      + `delta has ${delta.length}`);
  }
  return { ok: true, value: {
    fromVersion: view.getUint32(8, true),
    toVersion: view.getUint32(12, true),
    baseSha256Hex: text.toString('hex', 16, 48),
    resultSha256Hex: text.toString('hex', 48, 80),
    keyIdHex: text.toString('hex', 80, 88).toUpperCase(),
    addCount,
    removeCount,
  } };
}

/**
 * Applies `delta` to `base`, the installed deny list of set `baseVersion`: checks the
 * signature with the parameter key, the base (version, whole-file SHA-256, key id), that every
 * added token is new and every removed one listed, both in strict order; then merges in one
 * pass and checks the result's SHA-256. Resolves with the new image and its version.
 * Refusals: every DenyDeltaRefusal. The image still goes through the signed manifest.
 */
export function denyDeltaApply(base: Uint8Array, baseVersion: number, delta: Uint8Array,
  publicKey: KeyObject): DenyDeltaResult<{ image: Uint8Array; version: number }> {
  const parsed = denyDeltaHeader(delta);
  if (!parsed.ok) return parsed;
  const head = parsed.value;
  const body = delta.length - DENY_DELTA_SIGNATURE_BYTES;
  if (!verify(null, delta.subarray(0, body), publicKey, delta.subarray(body))) {
    return { ok: false, refusal: 'signature', reason: 'signature does not verify' };
  }
  const wrongBase = (reason: string): DenyDeltaResult<never> =>
    ({ ok: false, refusal: 'wrong-base', reason });
  if (head.fromVersion !== baseVersion) {
    return wrongBase(`made for set ${head.fromVersion}, installed ${baseVersion}`);
  }
  if (sha256(base).toString('hex') !== head.baseSha256Hex) {
    return wrongBase('base deny list SHA-256 differs');
  }
  const loaded = DenyList.load(base, 'installed');
  if (!loaded.ok) return wrongBase(loaded.error.message);
  if (loaded.value.keyIdHex !== head.keyIdHex) return wrongBase('deny key id differs');
  const merged = denyDeltaMerge(wordsOf(base), delta, head);
  if (!merged.ok) return merged;
  const image = imageEncode(merged.value, merged.value.length / DENY_LIST_RECORD_WORDS,
    head.keyIdHex);
  if (sha256(image).toString('hex') !== head.resultSha256Hex) {
    return { ok: false, refusal: 'result-mismatch', reason: 'rebuilt list SHA-256 differs' };
  }
  return { ok: true, value: { image, version: head.toVersion } };
}

/** The base's words with the delta's removes taken out and adds merged in, in order. */
function denyDeltaMerge(a: Uint32Array, delta: Uint8Array, head: DenyDeltaHeader):
  DenyDeltaResult<Uint32Array> {
  const inconsistent = (reason: string): DenyDeltaResult<never> =>
    ({ ok: false, refusal: 'inconsistent', reason });
  const records = delta.subarray(DENY_DELTA_HEADER_BYTES,
    delta.length - DENY_DELTA_SIGNATURE_BYTES);
  const all = wordsAt(records, 0);
  const add = all.subarray(0, head.addCount * DENY_LIST_RECORD_WORDS);
  const remove = all.subarray(head.addCount * DENY_LIST_RECORD_WORDS);
  for (const [name, list, n] of [['add', add, head.addCount],
    ['remove', remove, head.removeCount]] as const) {
    for (let k = 1; k < n; k += 1) {
      if (compare(list, k - 1, list, k) >= 0) {
        return { ok: false, refusal: 'malformed', reason: `${name}[${k}] not ascending` };
      }
    }
  }
  const na = a.length / DENY_LIST_RECORD_WORDS;
  const count = na + head.addCount - head.removeCount;
  if (count < 0 || count > DENY_LIST_ENTRIES_MAX) {
    return inconsistent(`${count} entries after the delta`);
  }
  const out = new Uint32Array(count * DENY_LIST_RECORD_WORDS);
  let i = 0;
  let j = 0;
  let r = 0;
  let o = 0;
  while (i < na || j < head.addCount) {
    if (r < head.removeCount && i < na && compare(a, i, remove, r) === 0) {
      i += 1;
      r += 1;
      continue;
    }
    if (r < head.removeCount && (i >= na || compare(a, i, remove, r) > 0)) {
      return inconsistent(`removed token ${r} is not listed`);
    }
    const c = i >= na ? 1 : j >= head.addCount ? -1 : compare(a, i, add, j);
    if (c === 0) return inconsistent(`added token ${j} is already listed`);
    if (o >= count) return inconsistent('more entries than the counts allow');
    if (c < 0) copyRecord(a, i++, out, o++);
    else copyRecord(add, j++, out, o++);
  }
  if (r < head.removeCount) return inconsistent(`removed token ${r} is not listed`);
  return { ok: true, value: out };
}
