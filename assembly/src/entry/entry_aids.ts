// The terminal's AID table, shared by every card application: which AIDs, which kernel, in
// which order a co-badged card is tried.
//
// See EMV 4.4 Book B (Entry Point) 3.3 and Book 1, 12.3.1 (partial match). An entry is
// `E1 {4F AID, DF8120 partial match, DF8123 application, DF8124 terminal priority}`; the table
// is staged while a configuration is parsed and replaces the active one only when it is whole.

import { STATUS_OK, ERR_TXN_CONFIG_INVALID } from '../status/status';
import { bytesCopy, bytesEqual } from '../util/bytes';
import {
  TLV_END,
  tlvDecodeOne,
  tlvTag,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
} from '../iso8825/ber_tlv';

export const AID_BYTES_MAX: u32 = 16;
export const AID_BYTES_MIN: u32 = 5;
export const CONFIG_AIDS_MAX: u32 = 16;

/** Card applications the kernel runs (the value of DF8123 in an AID entry). */
export const APP_QPBOC: u8 = 1;
export const APP_JTT978: u8 = 2;
/** Terminal priority of an entry without DF8124: after every numbered one. */
export const PRIORITY_LOWEST: u8 = 16;

/** In an AID entry: 01 = partial match allowed (card AID may extend the entry), 00 = exact. */
export const TAG_4F_AID: u32 = 0x4f;
export const TAG_DF8120_AID_PARTIAL_MATCH: u32 = 0xdf8120;
/** In an AID entry: the application (APP_QPBOC, APP_JTT978); default by RID (A000000632). */
export const TAG_DF8123_AID_APPLICATION: u32 = 0xdf8123;
/** In an AID entry: terminal priority 1 (first) .. 15; it orders a co-badged card's AIDs. */
export const TAG_DF8124_AID_PRIORITY: u32 = 0xdf8124;

/** RID of the transport ministry (JT/T 978, domain.md 7.1). */
const RID_JTT978 = memory.data<u8>([0xa0, 0x00, 0x00, 0x06, 0x32]);

// Active table and its staging twin (each: AIDs, lengths, partial flags, apps, priorities).
const aids = memory.data(<i32>(CONFIG_AIDS_MAX * AID_BYTES_MAX), 4);
const aidLengths = memory.data(<i32>CONFIG_AIDS_MAX, 4);
const aidPartial = memory.data(<i32>CONFIG_AIDS_MAX, 4);
const aidApps = memory.data(<i32>CONFIG_AIDS_MAX, 4);
const aidPriorities = memory.data(<i32>CONFIG_AIDS_MAX, 4);
let aidCount: u32 = 0;
const stageAids = memory.data(<i32>(CONFIG_AIDS_MAX * AID_BYTES_MAX), 4);
const stageLengths = memory.data(<i32>CONFIG_AIDS_MAX, 4);
const stagePartial = memory.data(<i32>CONFIG_AIDS_MAX, 4);
const stageApps = memory.data(<i32>CONFIG_AIDS_MAX, 4);
const stagePriorities = memory.data(<i32>CONFIG_AIDS_MAX, 4);
let stageCount: u32 = 0;

/** Forgets the staged table (a configuration parse starts). */
export function entryAidStageReset(): void {
  stageCount = 0;
}

/** AID entries staged so far. */
export function entryAidStagedCount(): u32 {
  return stageCount;
}

/**
 * Stages the AID entry `base[start..end)` (the value of one E1). Returns STATUS_OK,
 * ERR_TXN_CONFIG_INVALID (unknown or repeated tag, bad length or value, table full) or a TLV
 * error.
 */
export function entryAidLoad(base: usize, start: u32, end: u32): i32 {
  if (stageCount >= CONFIG_AIDS_MAX) return ERR_TXN_CONFIG_INVALID;
  let aidStart: u32 = 0;
  let aidLength: u32 = 0;
  let partial: u8 = 0xff;
  let app: u8 = 0;
  let priority: u8 = 0;
  let pos = start;
  for (;;) {
    const status = tlvDecodeOne(base, pos, end);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return status;
    const value = base + <usize>tlvValueStart;
    const one = tlvValueLength == 1;
    if (tlvTag == TAG_4F_AID && aidLength == 0) {
      if (tlvValueLength < AID_BYTES_MIN || tlvValueLength > AID_BYTES_MAX) {
        return ERR_TXN_CONFIG_INVALID;
      }
      aidStart = tlvValueStart;
      aidLength = tlvValueLength;
    } else if (tlvTag == TAG_DF8120_AID_PARTIAL_MATCH && one && partial == 0xff) {
      partial = load<u8>(value);
      if (partial > 1) return ERR_TXN_CONFIG_INVALID;
    } else if (tlvTag == TAG_DF8123_AID_APPLICATION && one && app == 0) {
      app = load<u8>(value);
      if (app != APP_QPBOC && app != APP_JTT978) return ERR_TXN_CONFIG_INVALID;
    } else if (tlvTag == TAG_DF8124_AID_PRIORITY && one && priority == 0) {
      priority = load<u8>(value);
      if (priority == 0 || priority >= PRIORITY_LOWEST) return ERR_TXN_CONFIG_INVALID;
    } else {
      return ERR_TXN_CONFIG_INVALID;
    }
    pos = tlvNext;
  }
  if (aidLength == 0) return ERR_TXN_CONFIG_INVALID;
  const aid = base + <usize>aidStart;
  if (app == 0) app = bytesEqual(aid, RID_JTT978, 5) ? APP_JTT978 : APP_QPBOC;
  bytesCopy(stageAids + <usize>(stageCount * AID_BYTES_MAX), aid, aidLength);
  store<u8>(stageLengths + <usize>stageCount, <u8>aidLength);
  store<u8>(stagePartial + <usize>stageCount, partial == 1 ? 1 : 0);
  store<u8>(stageApps + <usize>stageCount, app);
  store<u8>(stagePriorities + <usize>stageCount, priority == 0 ? PRIORITY_LOWEST : priority);
  stageCount++;
  assert(stageCount <= CONFIG_AIDS_MAX, 'staged AID bound');
  return STATUS_OK;
}

/** Makes the staged table the active one. */
export function entryAidCommit(): void {
  assert(stageCount > 0 && stageCount <= CONFIG_AIDS_MAX, 'a staged AID table');
  bytesCopy(aids, stageAids, CONFIG_AIDS_MAX * AID_BYTES_MAX);
  bytesCopy(aidLengths, stageLengths, CONFIG_AIDS_MAX);
  bytesCopy(aidPartial, stagePartial, CONFIG_AIDS_MAX);
  bytesCopy(aidApps, stageApps, CONFIG_AIDS_MAX);
  bytesCopy(aidPriorities, stagePriorities, CONFIG_AIDS_MAX);
  aidCount = stageCount;
}

export function entryAidCount(): u32 {
  return aidCount;
}

export function entryAidPtr(index: u32): usize {
  assert(index < aidCount, 'config aid index');
  return aids + <usize>(index * AID_BYTES_MAX);
}

export function entryAidLength(index: u32): u32 {
  assert(index < aidCount, 'config aid index');
  return <u32>load<u8>(aidLengths + <usize>index);
}

/** The application (APP_*) of entry `index`. */
export function entryAidApp(index: u32): u8 {
  assert(index < aidCount, 'config aid index');
  return load<u8>(aidApps + <usize>index);
}

/** The terminal priority of entry `index` (1 first; PRIORITY_LOWEST when not configured). */
export function entryAidPriority(index: u32): u8 {
  assert(index < aidCount, 'config aid index');
  return load<u8>(aidPriorities + <usize>index);
}

/**
 * Index of the first AID entry accepting the card AID `aid[0..length)`: equal bytes, or for a
 * partial entry, the card AID starting with the entry (EMV 4.4 Book 1, 12.3.1). -1 if none.
 */
export function entryAidMatch(aid: usize, length: u32): i32 {
  for (let i: u32 = 0; i < aidCount; i++) {
    const entryLength = <u32>load<u8>(aidLengths + <usize>i);
    const entry = aids + <usize>(i * AID_BYTES_MAX);
    if (entryLength > length) continue;
    if (entryLength < length && load<u8>(aidPartial + <usize>i) == 0) continue;
    if (bytesEqual(entry, aid, entryLength)) return <i32>i;
  }
  return -1;
}
