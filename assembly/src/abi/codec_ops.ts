// Codec operations of shuaka_step: TLV parse/find, DOL build, APDU build/parse over IN/OUT.

import {
  STATUS_OK,
  ERR_OUTPUT_TOO_SMALL,
  ERR_TLV_PATH_INVALID,
  ERR_TLV_TAG_TRUNCATED,
  ERR_CAPDU_MALFORMED,
} from '../status/status';
import {
  IN_BUFFER,
  OUT_BUFFER,
  OUT_CAPACITY,
  setOutLength,
  ABI_VERSION,
  IN_CAPACITY,
} from './buffers';
import { bytesCopy, writeU16Be, writeU32Be } from '../util/bytes';
import {
  TLV_END,
  TLV_PATH_MAX,
  TLV_TAG_BYTES_MAX,
  tlvWalkBegin,
  tlvWalkNext,
  tlvWalkCount,
  tlvFindPath,
  tlvTag,
  tlvConstructed,
  tlvHeaderStart,
  tlvValueStart,
  tlvValueLength,
  tlvWalkObjectDepth,
} from '../iso8825/ber_tlv';
import { TlvStore } from '../emv/tlv_store';
import { dolParse, dolBuild } from '../emv/emv_dol';
import {
  apduBuild,
  apduParseCommand,
  apduParseResponse,
  apduCase,
  apduLc,
  apduLe,
  rapduSw,
  rapduDataLength,
} from '../iso7816/iso7816_apdu';
import { swClassify } from '../iso7816/iso7816_sw';

/** Bytes per OP_TLV_PARSE entry: tag(4) depth(1) flags(1) header(2) value(2) length(2). */
export const TLV_ENTRY_BYTES: u32 = 12;

/** OP_DOL_BUILD arg flag: build from the terminal data the previous call stored. */
export const DOL_BUILD_REUSE_TERMINAL_DATA: u32 = 0x8000_0000;

/** Terminal data supplied to OP_DOL_BUILD; allocated once at start-up. */
const dolSource = new TlvStore(64, 2048);
const pathTags = memory.data(TLV_PATH_MAX * 4, 4);

/** OP_INFO: ABI version and buffer capacities. */
export function opInfo(): i32 {
  writeU32Be(OUT_BUFFER, ABI_VERSION);
  writeU32Be(OUT_BUFFER + 4, IN_CAPACITY);
  writeU32Be(OUT_BUFFER + 8, OUT_CAPACITY);
  setOutLength(12);
  return STATUS_OK;
}

/** OP_TLV_PARSE: every object of IN[0..length) as a 12-byte entry. Returns walk statuses. */
export function opTlvParse(length: u32): i32 {
  tlvWalkBegin(IN_BUFFER, 0, length);
  let q: u32 = 0;
  for (;;) {
    const status = tlvWalkNext();
    if (status == TLV_END) break;
    if (status != STATUS_OK) return status;
    if (q + TLV_ENTRY_BYTES > OUT_CAPACITY) return ERR_OUTPUT_TOO_SMALL;
    tlvEntryWrite(OUT_BUFFER + <usize>q);
    q += TLV_ENTRY_BYTES;
  }
  setOutLength(q);
  return STATUS_OK;
}

/**
 * Writes the OP_TLV_PARSE entry of the object the walk just returned: five word-sized stores
 * (byte-swapped to big-endian) instead of twelve byte stores.
 */
@inline
function tlvEntryWrite(entry: usize): void {
  store<u32>(entry, bswap<u32>(tlvTag));
  // Byte 4 is the depth (below TLV_DEPTH_MAX), byte 5 the constructed flag: little-endian u16.
  store<u16>(entry + 4, <u16>tlvWalkObjectDepth | (tlvConstructed ? <u16>0x100 : 0));
  store<u16>(entry + 6, bswap<u16>(<u16>tlvHeaderStart));
  store<u16>(entry + 8, bswap<u16>(<u16>tlvValueStart));
  store<u16>(entry + 10, bswap<u16>(<u16>tlvValueLength));
}

/** OP_TLV_WALK: counts the objects of IN[0..length) without storing them. */
export function opTlvWalk(length: u32): i32 {
  tlvWalkBegin(IN_BUFFER, 0, length);
  const count = tlvWalkCount();
  if (count < 0) return count;
  writeU32Be(OUT_BUFFER, <u32>count);
  setOutLength(4);
  return STATUS_OK;
}

/** OP_TLV_FIND: IN = path tags (pathLength bytes) then TLV data. OUT = the found value. */
export function opTlvFind(pathLength: u32, length: u32): i32 {
  if (pathLength > length) return ERR_TLV_PATH_INVALID;
  const count = readTagList(IN_BUFFER, pathLength, pathTags, TLV_PATH_MAX);
  if (count < 0) return count;
  if (count == 0) return ERR_TLV_PATH_INVALID;
  const base = IN_BUFFER + <usize>pathLength;
  const status = tlvFindPath(base, 0, length - pathLength, pathTags, count);
  if (status != STATUS_OK) return status;
  if (tlvValueLength > OUT_CAPACITY) return ERR_OUTPUT_TOO_SMALL;
  bytesCopy(OUT_BUFFER, base + <usize>tlvValueStart, tlvValueLength);
  setOutLength(tlvValueLength);
  return STATUS_OK;
}

/** OP_DOL_BUILD: IN = DOL (dolLength bytes) then BER-TLV terminal data. OUT = DOL data. */
export function opDolBuild(arg: u32, length: u32): i32 {
  // With DOL_BUILD_REUSE_TERMINAL_DATA the input is the DOL alone and the terminal data of the
  // previous call is used again, as the transaction kernel does with its terminal store.
  const reuse = (arg & DOL_BUILD_REUSE_TERMINAL_DATA) != 0;
  const dolLength = arg & ~DOL_BUILD_REUSE_TERMINAL_DATA;
  if (dolLength > length || (reuse && dolLength != length)) return ERR_TLV_PATH_INVALID;
  const parsed = dolParse(IN_BUFFER, dolLength);
  if (parsed != STATUS_OK) return parsed;
  if (!reuse) {
    dolSource.clear();
    const put = dolSource.putAll(IN_BUFFER, dolLength, length, false);
    if (put != STATUS_OK) return put;
  }
  const built = dolBuild(dolSource, OUT_BUFFER, OUT_CAPACITY);
  if (built < 0) return built;
  setOutLength(<u32>built);
  return STATUS_OK;
}

/** OP_APDU_BUILD: IN = header then data; arg bit 16 = Le present, bits 0-8 = Le. */
export function opApduBuild(arg: u32, length: u32): i32 {
  if (length < 4) return ERR_CAPDU_MALFORMED;
  const hasLe = (arg & 0x10000) != 0;
  const built = apduBuild(
    IN_BUFFER,
    IN_BUFFER + 4,
    length - 4,
    hasLe,
    arg & 0x1ff,
    OUT_BUFFER,
    OUT_CAPACITY,
  );
  if (built < 0) return built;
  setOutLength(<u32>built);
  return STATUS_OK;
}

/** OP_APDU_PARSE_COMMAND: OUT = case, CLA INS P1 P2, Lc, Le (2 bytes BE). */
export function opApduParseCommand(length: u32): i32 {
  const status = apduParseCommand(IN_BUFFER, length);
  if (status != STATUS_OK) return status;
  store<u8>(OUT_BUFFER, <u8>apduCase);
  bytesCopy(OUT_BUFFER + 1, IN_BUFFER, 4);
  store<u8>(OUT_BUFFER + 5, <u8>apduLc);
  writeU16Be(OUT_BUFFER + 6, apduLe);
  setOutLength(8);
  return STATUS_OK;
}

/** OP_APDU_PARSE_RESPONSE: OUT = SW1, SW2, SW class, data length (2 bytes BE). */
export function opApduParseResponse(length: u32): i32 {
  const status = apduParseResponse(IN_BUFFER, length);
  if (status != STATUS_OK) return status;
  writeU16Be(OUT_BUFFER, rapduSw);
  store<u8>(OUT_BUFFER + 2, swClassify(rapduSw));
  writeU16Be(OUT_BUFFER + 3, rapduDataLength);
  setOutLength(5);
  return STATUS_OK;
}

/**
 * Reads BER tags back to back from `source[0..length)` into `target` (u32 each, at most
 * `max`). Returns the count, ERR_TLV_TAG_TRUNCATED or ERR_TLV_PATH_INVALID.
 */
function readTagList(source: usize, length: u32, target: usize, max: i32): i32 {
  let p: u32 = 0;
  let count: i32 = 0;
  while (p < length) {
    if (count >= max) return ERR_TLV_PATH_INVALID;
    const first = <u32>load<u8>(source + <usize>p);
    let tag = first;
    p++;
    if ((first & 0x1f) == 0x1f) {
      let size: u32 = 1;
      for (;;) {
        if (p >= length) return ERR_TLV_TAG_TRUNCATED;
        const next = <u32>load<u8>(source + <usize>p);
        p++;
        size++;
        if (size > TLV_TAG_BYTES_MAX) return ERR_TLV_PATH_INVALID;
        tag = (tag << 8) | next;
        if ((next & 0x80) == 0) break;
      }
    }
    store<u32>(target + ((<usize>count) << 2), tag);
    count++;
  }
  return count;
}
