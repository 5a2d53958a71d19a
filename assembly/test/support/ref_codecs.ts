// Plain TypeScript codecs written from the specs, independently of the kernel: the test
// oracle for differential fuzzing and the baseline the benchmarks compare the kernel against.

/** One decoded object, as OP_TLV_PARSE reports it. */
export interface RefTlvEntry {
  tag: number;
  depth: number;
  constructed: boolean;
  headerOffset: number;
  valueOffset: number;
  valueLength: number;
}

/** Error names match the kernel's status names so results compare directly. */
export type RefTlvResult =
  { ok: true; entries: RefTlvEntry[] } | { ok: false; error: string; entries: RefTlvEntry[] };

const DEPTH_MAX = 8;
const OBJECTS_MAX = 128;

interface RefHeader {
  tag: number;
  constructed: boolean;
  headerOffset: number;
  valueOffset: number;
  valueLength: number;
}

/** A BER tag read at `p` (1-3 bytes), or why it could not be read. */
type RefTag = { tag: number; next: number } | 'truncated' | 'too-long';

/** Reads one tag: subsequent bytes follow a first byte of xxx11111 while b8 is set. */
function refReadTag(bytes: Uint8Array, p: number, end: number): RefTag {
  const first = bytes[p] ?? 0;
  let tag = first;
  let q = p + 1;
  if ((first & 0x1f) !== 0x1f) return { tag, next: q };
  for (let size = 2; ; size += 1) {
    if (q >= end) return 'truncated';
    const next = bytes[q] ?? 0;
    q += 1;
    if (size > 3) return 'too-long';
    tag = tag * 256 + next;
    if ((next & 0x80) === 0) return { tag, next: q };
  }
}

/** Decodes one header at `pos` (skipping 00/FF padding); null = only padding remained. */
function refDecodeOne(bytes: Uint8Array, pos: number, end: number): RefHeader | null | string {
  let p = pos;
  while (p < end && (bytes[p] === 0x00 || bytes[p] === 0xff)) p += 1;
  if (p >= end) return null;
  const headerOffset = p;
  const first = bytes[p] ?? 0;
  const read = refReadTag(bytes, p, end);
  if (read === 'truncated') return 'ERR_TLV_TAG_TRUNCATED';
  if (read === 'too-long') return 'ERR_TLV_TAG_TOO_LONG';
  const tag = read.tag;
  p = read.next;
  if (p >= end) return 'ERR_TLV_LENGTH_TRUNCATED';
  let length = bytes[p] ?? 0;
  p += 1;
  if (length === 0x80) return 'ERR_TLV_LENGTH_INDEFINITE';
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 3) return 'ERR_TLV_LENGTH_TOO_LONG';
    if (end - p < count) return 'ERR_TLV_LENGTH_TRUNCATED';
    length = 0;
    for (let i = 0; i < count; i += 1) {
      length = length * 256 + (bytes[p] ?? 0);
      p += 1;
    }
  }
  if (length > end - p) return 'ERR_TLV_LENGTH_OVERFLOW';
  return {
    tag,
    constructed: (first & 0x20) !== 0,
    headerOffset,
    valueOffset: p,
    valueLength: length,
  };
}

/** Parses every object of `bytes` in document order, entering constructed objects. */
export function refTlvParse(bytes: Uint8Array): RefTlvResult {
  const entries: RefTlvEntry[] = [];
  const ends: number[] = [bytes.length];
  let pos = 0;
  for (;;) {
    const end = ends[ends.length - 1] ?? bytes.length;
    const header = refDecodeOne(bytes, pos, end);
    if (typeof header === 'string') return { ok: false, error: header, entries };
    if (header === null) {
      if (ends.length === 1) return { ok: true, entries };
      ends.pop();
      pos = end;
      continue;
    }
    if (entries.length >= OBJECTS_MAX)
      return { ok: false, error: 'ERR_TLV_TOO_MANY_OBJECTS', entries };
    entries.push({ ...header, depth: ends.length - 1 });
    if (header.constructed) {
      if (ends.length >= DEPTH_MAX) return { ok: false, error: 'ERR_TLV_DEPTH_EXCEEDED', entries };
      ends.push(header.valueOffset + header.valueLength);
      pos = header.valueOffset;
    } else {
      pos = header.valueOffset + header.valueLength;
    }
  }
}

/** Zero-allocation walk (no entry list): counts objects; the benchmark's fair TS baseline. */
export function refTlvWalkCount(bytes: Uint8Array, ends: Int32Array): number {
  let depth = 0;
  ends[0] = bytes.length;
  let pos = 0;
  let count = 0;
  for (;;) {
    const end = ends[depth] ?? 0;
    while (pos < end && (bytes[pos] === 0x00 || bytes[pos] === 0xff)) pos += 1;
    if (pos >= end) {
      if (depth === 0) return count;
      depth -= 1;
      continue;
    }
    const first = bytes[pos] ?? 0;
    pos += 1;
    if ((first & 0x1f) === 0x1f) {
      while (pos < end && ((bytes[pos] ?? 0) & 0x80) !== 0) pos += 1;
      pos += 1;
    }
    let length = bytes[pos] ?? 0;
    pos += 1;
    if (length > 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i += 1) length = length * 256 + (bytes[pos + i] ?? 0);
      pos += n;
    }
    if (length > end - pos || pos > end) return -1;
    count += 1;
    if ((first & 0x20) !== 0) {
      if (depth + 1 >= DEPTH_MAX) return -1;
      depth += 1;
      ends[depth] = pos + length;
    } else {
      pos += length;
    }
  }
}

/** Reads BER tags back to back (a tag path), or the kernel's error name. */
export function refTagList(bytes: Uint8Array): number[] | string {
  const tags: number[] = [];
  let p = 0;
  while (p < bytes.length) {
    if (tags.length >= 8) return 'ERR_TLV_PATH_INVALID';
    const read = refReadTag(bytes, p, bytes.length);
    if (read === 'truncated') return 'ERR_TLV_TAG_TRUNCATED';
    if (read === 'too-long') return 'ERR_TLV_PATH_INVALID';
    tags.push(read.tag);
    p = read.next;
  }
  return tags.length === 0 ? 'ERR_TLV_PATH_INVALID' : tags;
}

/** Finds the value at a path of tags (direct children at each level). */
export function refTlvFind(bytes: Uint8Array, path: number[]): Uint8Array | string {
  if (path.length < 1 || path.length > 8) return 'ERR_TLV_PATH_INVALID';
  let start = 0;
  let end = bytes.length;
  for (let i = 0; i < path.length; i += 1) {
    let pos = start;
    let found: RefHeader | null = null;
    while (pos < end) {
      const header = refDecodeOne(bytes, pos, end);
      if (typeof header === 'string') return header;
      if (header === null) break;
      if (header.tag === path[i]) {
        found = header;
        break;
      }
      pos = header.valueOffset + header.valueLength;
    }
    if (found === null) return 'ERR_TLV_NOT_FOUND';
    if (i + 1 < path.length && !found.constructed) return 'ERR_TLV_NOT_CONSTRUCTED';
    start = found.valueOffset;
    end = found.valueOffset + found.valueLength;
  }
  return bytes.subarray(start, end);
}

/** Formats of the DOL rules (EMV 4.4 Book 3, 5.4). */
const NUMERIC_TAGS = new Set([
  0x5f24, 0x5f25, 0x5f28, 0x5f2a, 0x5f34, 0x5f36, 0x9a, 0x9c, 0x9f02, 0x9f03, 0x9f11, 0x9f15,
  0x9f1a, 0x9f21, 0x9f35, 0x9f39, 0x9f3c, 0x9f3d, 0x9f41, 0x9f42, 0x9f44, 0x9f51, 0x9f5d, 0x9f6d,
  0x9f77, 0x9f78, 0x9f79, 0x9f7b,
]);
const COMPRESSED_NUMERIC_TAGS = new Set([0x5a, 0x9f20]);

/** Parses a DOL into (tag, length) pairs, or the kernel's error name. */
export function refDolParse(dol: Uint8Array): Array<[number, number]> | string {
  const out: Array<[number, number]> = [];
  let p = 0;
  while (p < dol.length) {
    const read = refReadTag(dol, p, dol.length);
    if (typeof read === 'string') return 'ERR_DOL_MALFORMED';
    p = read.next;
    if (p >= dol.length) return 'ERR_DOL_MALFORMED';
    const length = dol[p] ?? 0;
    p += 1;
    if (length >= 0x80) return 'ERR_DOL_ENTRY_TOO_LONG';
    if (out.length >= 32) return 'ERR_DOL_TOO_MANY_ENTRIES';
    out.push([read.tag, length]);
  }
  return out;
}

function firstTagByte(tag: number): number {
  let first = tag;
  while (first > 0xff) first = Math.floor(first / 256);
  return first;
}

/** Builds DOL data from a map of tag -> value (EMV 4.4 Book 3, 5.4). */
export function refDolBuild(dol: Uint8Array, values: Map<number, Uint8Array>): Uint8Array | string {
  const entries = refDolParse(dol);
  if (typeof entries === 'string') return entries;
  const out = new Uint8Array(entries.reduce((sum, [, length]) => sum + length, 0));
  let q = 0;
  for (const [tag, want] of entries) {
    const value = values.get(tag);
    if (value !== undefined && (firstTagByte(tag) & 0x20) === 0) {
      const have = value.length;
      if (NUMERIC_TAGS.has(tag)) {
        if (have >= want) out.set(value.subarray(have - want), q);
        else out.set(value, q + want - have);
      } else if (have >= want) {
        out.set(value.subarray(0, want), q);
      } else {
        out.set(value, q);
        if (COMPRESSED_NUMERIC_TAGS.has(tag)) out.fill(0xff, q + have, q + want);
      }
    }
    q += want;
  }
  return out;
}
