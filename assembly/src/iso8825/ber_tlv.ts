// BER-TLV decoder for EMV data (ISO/IEC 8825-1 subset, EMV 4.4 Book 3 Annex B), allocation-free.
//
// Decoding never traps on input: every malformation maps to one status code. Nested templates
// are walked iteratively with an explicit stack bounded by TLV_DEPTH_MAX (no recursion).

import {
  STATUS_OK,
  ERR_TLV_TAG_TRUNCATED,
  ERR_TLV_TAG_TOO_LONG,
  ERR_TLV_LENGTH_TRUNCATED,
  ERR_TLV_LENGTH_INDEFINITE,
  ERR_TLV_LENGTH_TOO_LONG,
  ERR_TLV_LENGTH_OVERFLOW,
  ERR_TLV_DEPTH_EXCEEDED,
  ERR_TLV_TOO_MANY_OBJECTS,
  ERR_TLV_NOT_FOUND,
  ERR_TLV_NOT_CONSTRUCTED,
  ERR_TLV_PATH_INVALID,
} from '../abi/status';

/** EMV tags are 1 to 3 bytes (Book 3 Annex B1). */
export const TLV_TAG_BYTES_MAX: u32 = 3;
/** Deepest nesting accepted: FCI is 5 levels (6F > A5 > BF0C > 61 > 4F); 8 leaves margin. */
export const TLV_DEPTH_MAX: i32 = 8;
/** Most objects one walk reports: a 258-byte answer holds at most 86 three-byte objects. */
export const TLV_OBJECTS_MAX: u32 = 128;
/** Longest tag path accepted by tlvFindPath. */
export const TLV_PATH_MAX: i32 = 8;
/** Status of tlvDecodeOne when only padding remains before `end`. */
export const TLV_END: i32 = 1;

// Result of the last successful tlvDecodeOne (module state: the kernel is single-threaded).
export let tlvTag: u32 = 0;
export let tlvConstructed: bool = false;
export let tlvHeaderStart: u32 = 0;
export let tlvValueStart: u32 = 0;
export let tlvValueLength: u32 = 0;
export let tlvNext: u32 = 0;

/**
 * Decodes the object starting at `pos` (after skipping 00/FF padding, Book 3 Annex B) within
 * `base[pos..end)`. On STATUS_OK the tlv* globals describe it.
 * Returns STATUS_OK, TLV_END (only padding left), ERR_TLV_TAG_TRUNCATED, ERR_TLV_TAG_TOO_LONG,
 * ERR_TLV_LENGTH_TRUNCATED, ERR_TLV_LENGTH_INDEFINITE, ERR_TLV_LENGTH_TOO_LONG,
 * ERR_TLV_LENGTH_OVERFLOW.
 */
export function tlvDecodeOne(base: usize, pos: u32, end: u32): i32 {
  let p = pos;
  while (p < end) {
    const b = load<u8>(base + <usize>p);
    if (b != 0x00 && b != 0xff) break;
    p++;
  }
  if (p >= end) return TLV_END;
  tlvHeaderStart = p;
  const first = <u32>load<u8>(base + <usize>p);
  let tag = first;
  p++;
  if ((first & 0x1f) == 0x1f) {
    // Subsequent tag bytes follow while bit 8 is set; EMV caps tags at 3 bytes.
    let count: u32 = 1;
    for (;;) {
      if (p >= end) return ERR_TLV_TAG_TRUNCATED;
      const next = <u32>load<u8>(base + <usize>p);
      p++;
      count++;
      if (count > TLV_TAG_BYTES_MAX) return ERR_TLV_TAG_TOO_LONG;
      tag = (tag << 8) | next;
      if ((next & 0x80) == 0) break;
    }
  }
  if (p >= end) return ERR_TLV_LENGTH_TRUNCATED;
  let length = <u32>load<u8>(base + <usize>p);
  p++;
  if (length == 0x80) return ERR_TLV_LENGTH_INDEFINITE;
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 3) return ERR_TLV_LENGTH_TOO_LONG;
    if (end - p < count) return ERR_TLV_LENGTH_TRUNCATED;
    length = 0;
    for (let i: u32 = 0; i < count; i++) {
      length = (length << 8) | (<u32>load<u8>(base + <usize>p));
      p++;
    }
  }
  if (length > end - p) return ERR_TLV_LENGTH_OVERFLOW;
  tlvTag = tag;
  tlvConstructed = (first & 0x20) != 0;
  tlvValueStart = p;
  tlvValueLength = length;
  tlvNext = p + length;
  assert(tlvNext <= end, 'decoded object past its end');
  return STATUS_OK;
}

/** Number of bytes of the BER encoding of `tag` (1..3); 0 when `tag` is not a valid EMV tag. */
export function tlvTagSize(tag: u32): u32 {
  if (tag <= 0xff) return (tag & 0x1f) == 0x1f ? 0 : 1;
  if (tag <= 0xffff) return ((tag >> 8) & 0x1f) == 0x1f && (tag & 0x80) == 0 ? 2 : 0;
  if (tag <= 0xffffff) {
    const ok = ((tag >> 16) & 0x1f) == 0x1f && (tag & 0x8000) != 0 && (tag & 0x80) == 0;
    return ok ? 3 : 0;
  }
  return 0;
}

// Explicit walk stack: the end offset of each open template.
const walkEnds = memory.data(TLV_DEPTH_MAX * 4, 4);
let walkDepth: i32 = 0;
let walkPos: u32 = 0;
let walkBase: usize = 0;
let walkObjects: u32 = 0;

/** Starts a depth-first walk of `base[start..end)`. */
export function tlvWalkBegin(base: usize, start: u32, end: u32): void {
  assert(start <= end, 'walk range inverted');
  walkBase = base;
  walkPos = start;
  walkDepth = 0;
  walkObjects = 0;
  store<u32>(walkEnds, end);
}

/** Depth (0 = top level) of the object the last tlvWalkNext returned. */
export let tlvWalkObjectDepth: i32 = 0;

/**
 * Advances the walk to the next object in document order, entering constructed objects.
 * Returns STATUS_OK (tlv* globals and tlvWalkObjectDepth describe the object), TLV_END when the
 * walk is complete, ERR_TLV_DEPTH_EXCEEDED, ERR_TLV_TOO_MANY_OBJECTS, or a tlvDecodeOne error.
 */
export function tlvWalkNext(): i32 {
  for (;;) {
    const end = load<u32>(walkEnds + ((<usize>walkDepth) << 2));
    const status = tlvDecodeOne(walkBase, walkPos, end);
    if (status == TLV_END) {
      if (walkDepth == 0) return TLV_END;
      // The template is exhausted: resume after it in its parent.
      walkPos = end;
      walkDepth--;
      continue;
    }
    if (status != STATUS_OK) return status;
    walkObjects++;
    if (walkObjects > TLV_OBJECTS_MAX) return ERR_TLV_TOO_MANY_OBJECTS;
    tlvWalkObjectDepth = walkDepth;
    if (tlvConstructed) {
      if (walkDepth + 1 >= TLV_DEPTH_MAX) return ERR_TLV_DEPTH_EXCEEDED;
      walkDepth++;
      store<u32>(walkEnds + ((<usize>walkDepth) << 2), tlvNext);
      walkPos = tlvValueStart;
    } else {
      walkPos = tlvNext;
    }
    return STATUS_OK;
  }
}

/**
 * Finds the first object with `tag` among the direct children of `base[start..end)`.
 * Returns STATUS_OK (tlv* globals describe it), ERR_TLV_NOT_FOUND, or a tlvDecodeOne error met
 * before the tag was found.
 */
export function tlvFindChild(base: usize, start: u32, end: u32, tag: u32): i32 {
  let pos = start;
  // Each object consumes at least two bytes, so the loop ends within (end - start) / 2 rounds.
  while (pos < end) {
    const status = tlvDecodeOne(base, pos, end);
    if (status == TLV_END) return ERR_TLV_NOT_FOUND;
    if (status != STATUS_OK) return status;
    if (tlvTag == tag) return STATUS_OK;
    pos = tlvNext;
  }
  return ERR_TLV_NOT_FOUND;
}

/**
 * Follows a path of tags (`path` holds `count` u32 tags) from the top level of
 * `base[start..end)`, e.g. 6F > A5 > BF0C > 61 > 4F. Every tag but the last must be a
 * constructed object. Returns STATUS_OK (tlv* globals describe the last object),
 * ERR_TLV_NOT_FOUND, ERR_TLV_NOT_CONSTRUCTED, ERR_TLV_PATH_INVALID, or a decode error.
 */
export function tlvFindPath(base: usize, start: u32, end: u32, path: usize, count: i32): i32 {
  if (count < 1 || count > TLV_PATH_MAX) return ERR_TLV_PATH_INVALID;
  let from = start;
  let to = end;
  for (let i: i32 = 0; i < count; i++) {
    const tag = load<u32>(path + ((<usize>i) << 2));
    const status = tlvFindChild(base, from, to, tag);
    if (status != STATUS_OK) return status;
    if (i + 1 < count) {
      if (!tlvConstructed) return ERR_TLV_NOT_CONSTRUCTED;
      from = tlvValueStart;
      to = tlvNext;
    }
  }
  return STATUS_OK;
}

/**
 * Finds the first object with `tag` anywhere in `base[start..end)` (depth-first, document
 * order). Returns STATUS_OK (tlv* globals describe it), ERR_TLV_NOT_FOUND, or a walk error.
 */
export function tlvFindAnywhere(base: usize, start: u32, end: u32, tag: u32): i32 {
  tlvWalkBegin(base, start, end);
  for (;;) {
    const status = tlvWalkNext();
    if (status == TLV_END) return ERR_TLV_NOT_FOUND;
    if (status != STATUS_OK) return status;
    if (tlvTag == tag) return STATUS_OK;
  }
}
