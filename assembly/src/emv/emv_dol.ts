// EMV Data Object List processing (EMV 4.4 Book 3, 5.4): parse a DOL, build its data.

import {
  STATUS_OK,
  ERR_DOL_MALFORMED,
  ERR_DOL_TOO_MANY_ENTRIES,
  ERR_DOL_TOO_LONG,
  ERR_DOL_ENTRY_TOO_LONG,
} from '../status/status';
import { bytesCopy, bytesFill } from '../util/bytes';
import { FORMAT_N, FORMAT_CN, emvTagFormat } from './emv_tags';
import { TlvStore } from './tlv_store';

/** Most entries one DOL may list (a qPBOC PDOL has 9 to 12). */
export const DOL_ENTRIES_MAX: u32 = 32;
/** Longest data one entry may request: no EMV object is longer than a 2048-bit signature. */
export const DOL_ENTRY_LENGTH_MAX: u32 = 256;

// Parsed entries of the last dolParse.
const dolTags = memory.data(<i32>DOL_ENTRIES_MAX * 4, 4);
const dolLengths = memory.data(<i32>DOL_ENTRIES_MAX * 4, 4);
let dolCount: u32 = 0;
let dolTotal: u32 = 0;

/** Number of entries of the last successful dolParse. */
export function dolEntryCount(): u32 {
  return dolCount;
}

/** Sum of the requested lengths of the last successful dolParse. */
export function dolDataLength(): u32 {
  return dolTotal;
}

/** Tag of entry `index` of the last dolParse. */
export function dolEntryTag(index: u32): u32 {
  assert(index < dolCount, 'dol entry index');
  return load<u32>(dolTags + ((<usize>index) << 2));
}

/** Requested length of entry `index` of the last dolParse. */
export function dolEntryLength(index: u32): u32 {
  assert(index < dolCount, 'dol entry index');
  return load<u32>(dolLengths + ((<usize>index) << 2));
}

/**
 * Parses the DOL at `dol[0..length)`: tags (1-3 bytes) each followed by a one-byte length.
 * Returns STATUS_OK, ERR_DOL_MALFORMED (truncated tag or length, or a long-form length),
 * ERR_DOL_TOO_MANY_ENTRIES, ERR_DOL_ENTRY_TOO_LONG.
 */
export function dolParse(dol: usize, length: u32): i32 {
  dolCount = 0;
  dolTotal = 0;
  let p: u32 = 0;
  while (p < length) {
    const first = <u32>load<u8>(dol + <usize>p);
    let tag = first;
    p++;
    if ((first & 0x1f) == 0x1f) {
      let size: u32 = 1;
      for (;;) {
        if (p >= length) return ERR_DOL_MALFORMED;
        const next = <u32>load<u8>(dol + <usize>p);
        p++;
        size++;
        if (size > 3) return ERR_DOL_MALFORMED;
        tag = (tag << 8) | next;
        if ((next & 0x80) == 0) break;
      }
    }
    if (p >= length) return ERR_DOL_MALFORMED;
    const entryLength = <u32>load<u8>(dol + <usize>p);
    p++;
    // DOL lengths are one byte in EMV; a value >= 0x80 would be a BER long form we refuse.
    if (entryLength >= 0x80) return ERR_DOL_ENTRY_TOO_LONG;
    if (dolCount >= DOL_ENTRIES_MAX) return ERR_DOL_TOO_MANY_ENTRIES;
    store<u32>(dolTags + ((<usize>dolCount) << 2), tag);
    store<u32>(dolLengths + ((<usize>dolCount) << 2), entryLength);
    dolCount++;
    dolTotal += entryLength;
  }
  assert(dolTotal <= DOL_ENTRIES_MAX * 0x7f, 'dol total bound');
  return STATUS_OK;
}

/**
 * Builds the data of the last parsed DOL from `source` into `target` (capacity `capacity`).
 * Book 3 5.4: missing tags and constructed tags give zeros; a longer value is truncated on
 * the right, except format n (keeps the rightmost bytes); a shorter value is padded with
 * zeros on the right, except n (leading zeros) and cn (trailing FF).
 * Returns the data length (>= 0) or ERR_DOL_TOO_LONG.
 */
export function dolBuild(source: TlvStore, target: usize, capacity: u32): i32 {
  if (dolTotal > capacity) return ERR_DOL_TOO_LONG;
  let q: usize = target;
  for (let i: u32 = 0; i < dolCount; i++) {
    const tag = load<u32>(dolTags + ((<usize>i) << 2));
    const want = load<u32>(dolLengths + ((<usize>i) << 2));
    const index = source.find(tag);
    if (index < 0 || isConstructedTag(tag)) {
      bytesFill(q, 0, want);
    } else {
      dolBuildOne(source.valuePtr(index), source.valueLength(index), emvTagFormat(tag), q, want);
    }
    q += <usize>want;
  }
  assert(q - target == <usize>dolTotal, 'dol data length');
  return <i32>dolTotal;
}

function isConstructedTag(tag: u32): bool {
  let first = tag;
  while (first > 0xff) first >>= 8;
  return (first & 0x20) != 0;
}

function dolBuildOne(value: usize, have: u32, format: u8, target: usize, want: u32): void {
  if (format == FORMAT_N) {
    if (have >= want) {
      bytesCopy(target, value + <usize>(have - want), want);
    } else {
      bytesFill(target, 0, want - have);
      bytesCopy(target + <usize>(want - have), value, have);
    }
    return;
  }
  if (have >= want) {
    bytesCopy(target, value, want);
    return;
  }
  bytesCopy(target, value, have);
  bytesFill(target + <usize>have, format == FORMAT_CN ? 0xff : 0x00, want - have);
}
