// BER-TLV writer over a caller's buffer: minimal lengths, one level of nested templates.

import { bytesCopy } from '../util/bytes';
import { tlvTagSize } from '../iso8825/ber_tlv';
import { TlvStore } from '../emv/tlv_store';

/** Deepest template nesting the writer supports (records use one level). */
const OPEN_MAX: i32 = 2;

let base: usize = 0;
let capacity: u32 = 0;
let position: u32 = 0;
let overflow: bool = false;
const openAt = memory.data(OPEN_MAX * 4, 4);
let openCount: i32 = 0;

/** Starts writing at `target` (at most `size` bytes). */
export function twBegin(target: usize, size: u32): void {
  base = target;
  capacity = size;
  position = 0;
  overflow = false;
  openCount = 0;
}

/** Bytes written so far. */
export function twLength(): u32 {
  return position;
}

/** False once anything did not fit; the content is then unusable. */
export function twOk(): bool {
  return !overflow && openCount == 0;
}

function twReserve(count: u32): bool {
  if (overflow || count > capacity - position) {
    overflow = true;
    return false;
  }
  return true;
}

function twTag(tag: u32): void {
  const size = tlvTagSize(tag);
  assert(size > 0, 'writer tag');
  if (!twReserve(size)) return;
  for (let i: u32 = size; i > 0; i--) {
    store<u8>(base + <usize>position, <u8>(tag >> ((i - 1) * 8)));
    position++;
  }
}

function lengthSize(length: u32): u32 {
  return length < 0x80 ? 1 : length <= 0xff ? 2 : 3;
}

function twLengthField(at: usize, length: u32): void {
  assert(length <= 0xffff, 'writer length');
  if (length < 0x80) {
    store<u8>(at, <u8>length);
  } else if (length <= 0xff) {
    store<u8>(at, 0x81);
    store<u8>(at + 1, <u8>length);
  } else {
    store<u8>(at, 0x82);
    store<u8>(at + 1, <u8>(length >> 8));
    store<u8>(at + 2, <u8>length);
  }
}

/** Writes one primitive object. */
export function twPut(tag: u32, value: usize, length: u32): void {
  twTag(tag);
  const size = lengthSize(length);
  if (!twReserve(size + length)) return;
  twLengthField(base + <usize>position, length);
  position += size;
  bytesCopy(base + <usize>position, value, length);
  position += length;
}

/** Writes a one-byte primitive object. */
export function twPutByte(tag: u32, value: u8): void {
  const scratch = memory.data(4, 4);
  store<u8>(scratch, value);
  twPut(tag, scratch, 1);
}

/** Copies `tag` from `source` when present; returns whether it was. */
export function twPutFrom(source: TlvStore, tag: u32): bool {
  const index = source.find(tag);
  if (index < 0) return false;
  twPut(tag, source.valuePtr(index), source.valueLength(index));
  return true;
}

/** Writes every object of `source` in insertion order. */
export function twPutAll(source: TlvStore): void {
  const count = <i32>source.size();
  for (let i: i32 = 0; i < count; i++) {
    twPut(source.tagAt(i), source.valuePtr(i), source.valueLength(i));
  }
}

/** Opens a constructed template; close it with twClose. */
export function twOpen(tag: u32): void {
  assert(openCount < OPEN_MAX, 'writer nesting');
  twTag(tag);
  // Reserve the longest length field; twClose moves the content back to the minimal one.
  if (!twReserve(3)) {
    store<u32>(openAt + ((<usize>openCount) << 2), position);
    openCount++;
    return;
  }
  store<u32>(openAt + ((<usize>openCount) << 2), position);
  openCount++;
  position += 3;
}

/** Closes the innermost open template. */
export function twClose(): void {
  assert(openCount > 0, 'writer close without open');
  openCount--;
  const at = load<u32>(openAt + ((<usize>openCount) << 2));
  if (overflow) return;
  const content = position - at - 3;
  const size = lengthSize(content);
  bytesCopy(base + <usize>(at + size), base + <usize>(at + 3), content);
  twLengthField(base + <usize>at, content);
  position = at + size + content;
  assert(position <= capacity, 'writer close past capacity');
}
