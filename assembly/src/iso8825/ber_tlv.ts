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
} from '../status/status';

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
  return tlvDecodeFrom(base, pos, end);
}

/** tlvDecodeOne's body, inlined into tlvFindChild's loop. */
@inline
function tlvDecodeFrom(base: usize, pos: u32, end: u32): i32 {
  const p = tlvSkipPadding(base, pos, end);
  if (p >= end) return TLV_END;
  return tlvDecodeAt(base, p, end);
}

/** First offset of `base[pos..end)` that is not 00/FF padding, or `end` (pos <= end). */
@inline
function tlvSkipPadding(base: usize, pos: u32, end: u32): u32 {
  let p = pos;
  // One byte per round: at most end - pos rounds.
  while (p < end) {
    const b = load<u8>(base + <usize>p);
    // 00 and FF are the only bytes whose successor, modulo 256, is below 2.
    if (<u8>(b + 1) > 1) break;
    p++;
  }
  return p;
}

/**
 * Decodes the object whose first tag byte is `base[start]` (start < end, not padding); the
 * shared body of tlvDecodeOne and the walk, inlined so that a walk or a search makes no call
 * per object. Returns tlvDecodeOne's statuses but TLV_END.
 */
@inline
function tlvDecodeAt(base: usize, start: u32, end: u32): i32 {
  tlvHeaderStart = start;
  const first = <u32>load<u8>(base + <usize>start);
  let tag = first;
  let p = start + 1;
  if ((first & 0x1f) == 0x1f) {
    // Subsequent tag bytes follow while bit 8 is set; EMV caps tags at 3 bytes (unrolled).
    assert(TLV_TAG_BYTES_MAX == 3, 'tag decoding unrolled for 3 bytes');
    if (p >= end) return ERR_TLV_TAG_TRUNCATED;
    const second = <u32>load<u8>(base + <usize>p);
    p++;
    tag = (tag << 8) | second;
    if ((second & 0x80) != 0) {
      if (p >= end) return ERR_TLV_TAG_TRUNCATED;
      const third = <u32>load<u8>(base + <usize>p);
      p++;
      tag = (tag << 8) | third;
      // A fourth byte would follow: too long, unless the range ends first.
      if ((third & 0x80) != 0) return p >= end ? ERR_TLV_TAG_TRUNCATED : ERR_TLV_TAG_TOO_LONG;
    }
  }
  if (p >= end) return ERR_TLV_LENGTH_TRUNCATED;
  let length = <u32>load<u8>(base + <usize>p);
  p++;
  if (length >= 0x80) {
    if (length == 0x80) return ERR_TLV_LENGTH_INDEFINITE;
    const count = length & 0x7f;
    if (count > 3) return ERR_TLV_LENGTH_TOO_LONG;
    if (end - p < count) return ERR_TLV_LENGTH_TRUNCATED;
    // count is 1..3 here (0x80 was refused): unrolled, as the tag bytes are.
    const at = base + <usize>p;
    length = <u32>load<u8>(at);
    if (count >= 2) length = (length << 8) | (<u32>load<u8>(at, 1));
    if (count == 3) length = (length << 8) | (<u32>load<u8>(at, 2));
    p += count;
  }
  // p <= end holds here (each byte read was below end), so end - p cannot wrap, and the check
  // below makes p + length <= end without overflow: no assertion is needed on tlvNext.
  if (length > end - p) return ERR_TLV_LENGTH_OVERFLOW;
  tlvTag = tag;
  tlvConstructed = (first & 0x20) != 0;
  tlvValueStart = p;
  tlvValueLength = length;
  tlvNext = p + length;
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
@inline
export function tlvWalkNext(): i32 {
  return tlvWalkRun(false);
}

/**
 * Runs the walk begun by tlvWalkBegin to its end and returns the number of objects it met, or
 * the status that stopped it: ERR_TLV_DEPTH_EXCEEDED, ERR_TLV_TOO_MANY_OBJECTS or a
 * tlvDecodeOne error (the same statuses, in the same order, as repeated tlvWalkNext calls).
 */
export function tlvWalkCount(): i32 {
  const before = walkObjects;
  const status = tlvWalkRun(true);
  if (status != TLV_END) return status;
  return <i32>(walkObjects - before);
}

/**
 * The walk itself, shared by tlvWalkNext (`all` false: stop after one object) and tlvWalkCount
 * (`all` true: run to the end). The state stays in locals and is written back once, so a full
 * walk touches the walk globals only at its ends. Returns STATUS_OK (one object), TLV_END or
 * an error.
 */
@inline
function tlvWalkRun(all: bool): i32 {
  const base = walkBase;
  let depth = walkDepth;
  let pos = walkPos;
  let end = load<u32>(walkEnds + ((<usize>depth) << 2));
  let objects = walkObjects;
  let status: i32 = STATUS_OK;
  // Each round consumes an object of at least two bytes or closes a template, and objects are
  // capped at TLV_OBJECTS_MAX: the loop ends.
  for (;;) {
    pos = tlvSkipPadding(base, pos, end);
    if (pos >= end) {
      if (depth == 0) {
        status = TLV_END;
        break;
      }
      // The template is exhausted: resume after it in its parent.
      depth--;
      end = load<u32>(walkEnds + ((<usize>depth) << 2));
      continue;
    }
    status = tlvDecodeAt(base, pos, end);
    if (status != STATUS_OK) break;
    objects++;
    if (objects > TLV_OBJECTS_MAX) {
      status = ERR_TLV_TOO_MANY_OBJECTS;
      break;
    }
    tlvWalkObjectDepth = depth;
    if (tlvConstructed) {
      if (depth + 1 >= TLV_DEPTH_MAX) {
        status = ERR_TLV_DEPTH_EXCEEDED;
        break;
      }
      depth++;
      end = tlvNext;
      store<u32>(walkEnds + ((<usize>depth) << 2), end);
      pos = tlvValueStart;
    } else {
      pos = tlvNext;
    }
    if (!all) break;
  }
  walkDepth = depth;
  walkPos = pos;
  walkObjects = objects;
  return status;
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
    const status = tlvDecodeFrom(base, pos, end);
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
