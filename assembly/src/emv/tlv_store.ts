// Fixed-capacity store of primitive data objects (tag -> value bytes), allocation-free.
//
// The kernel collects card and terminal data here (like emv-utils' emv_tlv_list), then reads
// values by tag for DOL building, ODA and the clearing record. Capacity is fixed at start-up.

import { STATUS_OK, ERR_TLV_STORE_FULL, ERR_TLV_DUPLICATE } from '../status/status';
import { bytesCopy } from '../util/bytes';
import {
  TLV_END,
  tlvWalkBegin,
  tlvWalkNext,
  tlvTag,
  tlvConstructed,
  tlvValueStart,
  tlvValueLength,
} from '../iso8825/ber_tlv';

/** A store of primitive objects with unique tags. Instances are created at module start only. */
export class TlvStore {
  private readonly tags: usize;
  private readonly offsets: usize;
  private readonly lengths: usize;
  private readonly arena: usize;
  private count: u32 = 0;
  private arenaUsed: u32 = 0;

  /** `entriesMax` objects sharing `arenaBytes` bytes of values. */
  constructor(
    readonly entriesMax: u32,
    readonly arenaBytes: u32,
  ) {
    assert(entriesMax > 0 && arenaBytes > 0, 'empty store');
    // heap.alloc runs once per store at start-up; nothing is allocated afterwards.
    this.tags = heap.alloc(<usize>entriesMax * 4);
    this.offsets = heap.alloc(<usize>entriesMax * 4);
    this.lengths = heap.alloc(<usize>entriesMax * 4);
    this.arena = heap.alloc(<usize>arenaBytes);
  }

  /** Forgets every object. */
  clear(): void {
    this.count = 0;
    this.arenaUsed = 0;
  }

  /** Number of stored objects. */
  size(): u32 {
    return this.count;
  }

  /** Index of `tag`, or -1. */
  find(tag: u32): i32 {
    for (let i: u32 = 0; i < this.count; i++) {
      if (load<u32>(this.tags + ((<usize>i) << 2)) == tag) return <i32>i;
    }
    return -1;
  }

  /** True when `tag` is stored. */
  has(tag: u32): bool {
    return this.find(tag) >= 0;
  }

  /** Tag of entry `index` (0 <= index < size()). */
  tagAt(index: i32): u32 {
    assert(index >= 0 && <u32>index < this.count, 'tlv store index');
    return load<u32>(this.tags + ((<usize>index) << 2));
  }

  /** Pointer to the value of entry `index`. */
  valuePtr(index: i32): usize {
    assert(index >= 0 && <u32>index < this.count, 'tlv store index');
    return this.arena + <usize>load<u32>(this.offsets + ((<usize>index) << 2));
  }

  /** Length of the value of entry `index`. */
  valueLength(index: i32): u32 {
    assert(index >= 0 && <u32>index < this.count, 'tlv store index');
    return load<u32>(this.lengths + ((<usize>index) << 2));
  }

  /**
   * Adds `tag` with the `length` bytes at `source`. With `replace`, an existing value is
   * overwritten (it takes new arena space). Returns STATUS_OK, ERR_TLV_DUPLICATE (present and
   * not `replace`), ERR_TLV_STORE_FULL.
   */
  put(tag: u32, source: usize, length: u32, replace: bool): i32 {
    let index = this.find(tag);
    if (index >= 0 && !replace) return ERR_TLV_DUPLICATE;
    if (length > this.arenaBytes - this.arenaUsed) return ERR_TLV_STORE_FULL;
    if (index < 0) {
      if (this.count >= this.entriesMax) return ERR_TLV_STORE_FULL;
      index = <i32>this.count;
      this.count++;
      store<u32>(this.tags + ((<usize>index) << 2), tag);
    }
    store<u32>(this.offsets + ((<usize>index) << 2), this.arenaUsed);
    store<u32>(this.lengths + ((<usize>index) << 2), length);
    bytesCopy(this.arena + <usize>this.arenaUsed, source, length);
    this.arenaUsed += length;
    assert(this.arenaUsed <= this.arenaBytes, 'arena overrun');
    return STATUS_OK;
  }

  /**
   * Adds every primitive object found (at any depth) in `base[start..end)`. Duplicates are an
   * error unless `replace` (EMV 4.4 Book 3, 10.2: a repeated primitive in records terminates).
   * Returns STATUS_OK, ERR_TLV_DUPLICATE, ERR_TLV_STORE_FULL, or a TLV walk error.
   */
  putAll(base: usize, start: u32, end: u32, replace: bool): i32 {
    tlvWalkBegin(base, start, end);
    let status = tlvWalkNext();
    while (status == STATUS_OK) {
      if (!tlvConstructed) {
        const put = this.put(tlvTag, base + <usize>tlvValueStart, tlvValueLength, replace);
        if (put != STATUS_OK) return put;
      }
      status = tlvWalkNext();
    }
    return status == TLV_END ? STATUS_OK : status;
  }
}
