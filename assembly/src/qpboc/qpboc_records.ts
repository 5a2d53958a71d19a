// Read application data: AFL validation, READ RECORD in AFL order, static data for ODA.
//
// See EMV 4.4 Book 3, 10.2 and emv-utils emv_tal_read_afl_records; domain.md 1.6 (the card
// commits an EC debit when it answers the READ RECORD of the last AFL record).

import {
  STATUS_OK,
  ERR_CARD_AFL_INVALID,
  ERR_CARD_TEMPLATE,
  ERR_CARD_RECORD_TEMPLATE,
} from '../status/status';
import { bytesCopy } from '../util/bytes';
import { TAG_70_RECORD, TAG_94_AFL } from '../emv/emv_tags';
import { INS_B2_READ_RECORD } from '../iso7816/iso7816_apdu';
import { ttlCommand } from '../emv/emv_ttl';
import { ctx, RECORDS_MAX, STATIC_DATA_MAX } from './qpboc_context';
import { selectTakeTemplate, takenHeader, takenStart, takenEnd } from './qpboc_select';

/** SFIs 1-10 hold EMV records whose 70 value is signed; 11-30 are signed whole (Book 3 10.3). */
const SFI_EMV_LAST: u8 = 10;
const SFI_MAX: u32 = 30;

/**
 * Flattens and validates the AFL (94) of ctx.card into the record plan: 4-byte entries, SFI
 * 1-30 with the low 3 bits clear, first record >= 1, first <= last, ODA count <= entry size,
 * no record twice, at most RECORDS_MAX records. No AFL leaves an empty plan.
 * Returns STATUS_OK or ERR_CARD_AFL_INVALID.
 */
export function recordsPlan(): i32 {
  ctx.recordCount = 0;
  ctx.recordNext = 0;
  const index = ctx.card.find(TAG_94_AFL);
  if (index < 0) return STATUS_OK;
  const afl = ctx.card.valuePtr(index);
  const length = ctx.card.valueLength(index);
  if (length == 0 || (length & 3) != 0) return ERR_CARD_AFL_INVALID;
  for (let p: u32 = 0; p < length; p += 4) {
    const b0 = <u32>load<u8>(afl + <usize>p);
    const first = <u32>load<u8>(afl + <usize>(p + 1));
    const last = <u32>load<u8>(afl + <usize>(p + 2));
    const oda = <u32>load<u8>(afl + <usize>(p + 3));
    const sfi = b0 >> 3;
    if ((b0 & 7) != 0 || sfi < 1 || sfi > SFI_MAX) return ERR_CARD_AFL_INVALID;
    if (first < 1 || first > last || oda > last - first + 1) return ERR_CARD_AFL_INVALID;
    if (last - first + 1 > RECORDS_MAX - ctx.recordCount) return ERR_CARD_AFL_INVALID;
    for (let r = first; r <= last; r++) {
      if (recordsFind(sfi, r)) return ERR_CARD_AFL_INVALID;
      const at = <usize>ctx.recordCount;
      store<u8>(ctx.recordSfis + at, <u8>sfi);
      store<u8>(ctx.recordNumbers + at, <u8>r);
      store<u8>(ctx.recordOda + at, r - first < oda ? 1 : 0);
      ctx.recordCount++;
    }
  }
  assert(ctx.recordCount > 0 && ctx.recordCount <= RECORDS_MAX, 'record plan bound');
  return STATUS_OK;
}

function recordsFind(sfi: u32, record: u32): bool {
  for (let i: u32 = 0; i < ctx.recordCount; i++) {
    if (
      <u32>load<u8>(ctx.recordSfis + <usize>i) == sfi &&
      <u32>load<u8>(ctx.recordNumbers + <usize>i) == record
    )
      return true;
  }
  return false;
}

/** Stages READ RECORD of plan entry `index`: 00 B2 <record> <SFI << 3 | 4> 00. */
export function recordCommand(index: u32): i32 {
  assert(index < ctx.recordCount, 'record index');
  const sfi = load<u8>(ctx.recordSfis + <usize>index);
  const record = load<u8>(ctx.recordNumbers + <usize>index);
  assert(sfi >= 1 && record >= 1, 'record plan entry');
  return ttlCommand(0x00, INS_B2_READ_RECORD, record, (sfi << 3) | 4, 0, 0, true, 256);
}

/** True when plan entry `index` is the last record (the card's commit point). */
export function recordIsLast(index: u32): bool {
  return ctx.recordCount > 0 && index == ctx.recordCount - 1;
}

/** True when every record flagged for ODA has been read. */
export function recordsOdaComplete(): bool {
  for (let i = ctx.recordNext; i < ctx.recordCount; i++) {
    if (load<u8>(ctx.recordOda + <usize>i) != 0) return false;
  }
  return true;
}

/**
 * Takes the data of plan entry `index`: exactly one 70 template, whose primitives join ctx.card
 * (a repeated tag terminates, Book 3 10.2); an ODA record joins the static data.
 * Returns STATUS_OK, ERR_CARD_RECORD_TEMPLATE, ERR_CARD_TRAILING_DATA, ERR_TLV_DUPLICATE,
 * ERR_TLV_STORE_FULL or a TLV error.
 */
export function recordResponse(index: u32, data: usize, length: u32): i32 {
  assert(index < ctx.recordCount, 'record index');
  const status = selectTakeTemplate(data, length, TAG_70_RECORD);
  if (status == ERR_CARD_TEMPLATE) return ERR_CARD_RECORD_TEMPLATE;
  if (status != STATUS_OK) return status;
  if (load<u8>(ctx.recordOda + <usize>index) != 0) {
    const sfi = load<u8>(ctx.recordSfis + <usize>index);
    const from = sfi <= SFI_EMV_LAST ? takenStart : takenHeader;
    recordsAppendStatic(data + <usize>from, takenEnd - from);
  }
  return STATUS_OK;
}

function recordsAppendStatic(source: usize, length: u32): void {
  if (ctx.staticDataInvalid) return;
  if (length > STATIC_DATA_MAX - ctx.staticDataLength) {
    // Too much signed data for this terminal: ODA will fail, the transaction goes on.
    ctx.staticDataInvalid = true;
    return;
  }
  bytesCopy(ctx.staticData + <usize>ctx.staticDataLength, source, length);
  ctx.staticDataLength += length;
  assert(ctx.staticDataLength <= STATIC_DATA_MAX, 'static data bound');
}
