// Torn record (闪卡): everything a GPO-less recovery needs, written on a tear, loaded on re-tap.
//
// Layout (BER-TLV, domain.md 4.4): DF8101 version | DF8102 mode | DF8103 next record, record
// count | DF8104 static data read so far | DF8105 flags | 84 DF name | E1 {terminal data sent in
// the PDOL} | E2 {card data from GPO and the records read}. The firmware persists it as opaque
// bytes (its journal adds the integrity check) and hands it back to OP_TXN_RECOVER.

import { STATUS_OK, ERR_TXN_TORN_RECORD_INVALID } from '../status/status';
import { bytesCopy } from '../util/bytes';
import {
  TLV_END,
  tlvDecodeOne,
  tlvTag,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
} from '../iso8825/ber_tlv';
import {
  TAG_5F2A_CURRENCY_CODE,
  TAG_84_DF_NAME,
  TAG_94_AFL,
  TAG_95_TVR,
  TAG_9A_DATE,
  TAG_9C_TRANSACTION_TYPE,
  TAG_9F02_AMOUNT,
  TAG_9F10_IAD,
  TAG_9F1A_COUNTRY_CODE,
  TAG_9F21_TIME,
  TAG_9F37_UNPREDICTABLE_NUMBER,
  TAG_9F66_TTQ,
} from '../emv/emv_tags';
import {
  ctx,
  AC_TC,
  AID_BYTES_MAX,
  AID_BYTES_MIN,
  STATIC_DATA_MAX,
  MODE_EC,
  MODE_ODA,
  PATH_QPBOC_EC,
  PATH_QPBOC_ODA,
} from './qpboc_context';
import { tvrAsAtGpo } from './qpboc_tvr';
import {
  twBegin,
  twLength,
  twOk,
  twPut,
  twPutByte,
  twPutAll,
  twPutFrom,
  twOpen,
  twClose,
} from './qpboc_tlv_writer';
import { recordsPlan } from './qpboc_records';
import { bcdValid, dateValid } from './qpboc_checks';
import { gpoMandatory } from './qpboc_gpo';
import { TlvStore } from '../emv/tlv_store';

export const TAG_DF8101_TORN_VERSION: u32 = 0xdf8101;
export const TAG_DF8102_TORN_MODE: u32 = 0xdf8102;
export const TAG_DF8103_TORN_PROGRESS: u32 = 0xdf8103;
export const TAG_DF8104_STATIC_DATA: u32 = 0xdf8104;
export const TAG_DF8105_TORN_FLAGS: u32 = 0xdf8105;
export const TAG_E1_TERMINAL_DATA: u32 = 0xe1;
export const TAG_E2_CARD_DATA: u32 = 0xe2;
export const TAG_E3_FCI_DATA: u32 = 0xe3;
const TORN_VERSION: u8 = 1;
const TORN_FLAG_STATIC_INVALID: u8 = 0x01;

const progress = memory.data(2, 4);

/** Writes the torn record of the transaction in flight at `target`; returns its length. */
export function tornRecordWrite(target: usize, capacity: u32): u32 {
  twBegin(target, capacity);
  twPutByte(TAG_DF8101_TORN_VERSION, TORN_VERSION);
  // Only a TC leaves a torn debit, and only the EC path asks for one (auto mode included).
  twPutByte(TAG_DF8102_TORN_MODE, <u8>(ctx.path == PATH_QPBOC_EC ? MODE_EC : ctx.mode));
  store<u8>(progress, <u8>ctx.recordNext);
  store<u8>(progress + 1, <u8>ctx.recordCount);
  twPut(TAG_DF8103_TORN_PROGRESS, progress, 2);
  twPut(TAG_DF8104_STATIC_DATA, ctx.staticData, ctx.staticDataLength);
  twPutByte(TAG_DF8105_TORN_FLAGS, ctx.staticDataInvalid ? TORN_FLAG_STATIC_INVALID : 0);
  twPutFrom(ctx.fci, TAG_84_DF_NAME);
  twOpen(TAG_E1_TERMINAL_DATA);
  twPutAll(ctx.terminal);
  twClose();
  twOpen(TAG_E2_CARD_DATA);
  twPutAll(ctx.card);
  twClose();
  assert(twOk(), 'torn record fits OUT (bounded by the store sizes)');
  return twLength();
}

// Positions of the torn record parts found by tornRecordLoad.
let partFlags: u32 = 0;

/**
 * Restores ctx from a torn record (ctx must be reset). Checks the version, the mandatory
 * terminal and card objects, and that the stored AFL gives the stored record count.
 * Returns STATUS_OK or ERR_TXN_TORN_RECORD_INVALID.
 */
export function tornRecordLoad(base: usize, length: u32): i32 {
  partFlags = 0;
  let pos: u32 = 0;
  for (;;) {
    const status = tlvDecodeOne(base, pos, length);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return ERR_TXN_TORN_RECORD_INVALID;
    const next = tlvNext;
    if (tornLoadPart(base, tlvTag, tlvValueStart, tlvValueLength) != STATUS_OK) {
      return ERR_TXN_TORN_RECORD_INVALID;
    }
    pos = next;
  }
  if (partFlags != 0xff) return ERR_TXN_TORN_RECORD_INVALID;
  const checked = tornCheck();
  if (checked == STATUS_OK) tvrAsAtGpo();
  return checked;
}

function tornLoadPart(base: usize, tag: u32, start: u32, size: u32): i32 {
  const value = base + <usize>start;
  let bit: u32 = 0;
  if (tag == TAG_DF8101_TORN_VERSION) {
    if (size != 1 || load<u8>(value) != TORN_VERSION) return -1;
    bit = 0x01;
  } else if (tag == TAG_DF8102_TORN_MODE) {
    if (size != 1 || <u32>load<u8>(value) > MODE_ODA) return -1;
    ctx.mode = <u32>load<u8>(value);
    ctx.path = ctx.mode == MODE_EC ? PATH_QPBOC_EC : PATH_QPBOC_ODA;
    bit = 0x02;
  } else if (tag == TAG_DF8103_TORN_PROGRESS) {
    if (size != 2) return -1;
    ctx.recordNext = <u32>load<u8>(value);
    // The count is checked against the AFL in tornCheck.
    store<u8>(progress + 1, load<u8>(value + 1));
    bit = 0x04;
  } else if (tag == TAG_DF8104_STATIC_DATA) {
    if (size > STATIC_DATA_MAX) return -1;
    bytesCopy(ctx.staticData, value, size);
    ctx.staticDataLength = size;
    bit = 0x08;
  } else if (tag == TAG_DF8105_TORN_FLAGS) {
    if (size != 1) return -1;
    ctx.staticDataInvalid = (load<u8>(value) & TORN_FLAG_STATIC_INVALID) != 0;
    bit = 0x10;
  } else if (tag == TAG_84_DF_NAME) {
    if (size < AID_BYTES_MIN || size > AID_BYTES_MAX) return -1;
    if (ctx.fci.put(TAG_84_DF_NAME, value, size, false) != STATUS_OK) return -1;
    bit = 0x20;
  } else if (tag == TAG_E1_TERMINAL_DATA) {
    if (ctx.terminal.putAll(base, start, start + size, false) != STATUS_OK) return -1;
    bit = 0x40;
  } else if (tag == TAG_E2_CARD_DATA) {
    if (ctx.card.putAll(base, start, start + size, false) != STATUS_OK) return -1;
    bit = 0x80;
  } else {
    return -1;
  }
  if ((partFlags & bit) != 0) return -1;
  partFlags |= bit;
  return STATUS_OK;
}

function tornCheck(): i32 {
  // The same checks as on a fresh GPO answer and a fresh begin: a torn record comes back from
  // storage, and nothing in it may reach an assertion.
  if (gpoMandatory() != STATUS_OK || !tornTerminalValid()) return ERR_TXN_TORN_RECORD_INVALID;
  const iad = ctx.card.valuePtr(ctx.card.find(TAG_9F10_IAD));
  ctx.acType = <u8>((load<u8>(iad + 4) >> 4) & 0x03);
  // Only an EC debit (TC) can tear: ARQC and AAC taps end in "try again" (qpboc_kernel.ts).
  if (ctx.acType != AC_TC || ctx.mode != MODE_EC) return ERR_TXN_TORN_RECORD_INVALID;
  const next = ctx.recordNext;
  if (!ctx.card.has(TAG_94_AFL) || recordsPlan() != STATUS_OK) {
    return ERR_TXN_TORN_RECORD_INVALID;
  }
  if (ctx.recordCount != <u32>load<u8>(progress + 1) || next >= ctx.recordCount) {
    return ERR_TXN_TORN_RECORD_INVALID;
  }
  ctx.recordNext = next;
  assert(ctx.panLength > 0 && ctx.recordCount > 0, 'torn record restored');
  return STATUS_OK;
}

/** Terminal objects with the exact lengths and codings begin (qpboc_kernel.ts) enforces. */
function tornTerminalValid(): bool {
  const t = ctx.terminal;
  return (
    tornField(t, TAG_9F02_AMOUNT, 6, true) &&
    tornField(t, TAG_9F37_UNPREDICTABLE_NUMBER, 4, false) &&
    tornField(t, TAG_5F2A_CURRENCY_CODE, 2, true) &&
    tornField(t, TAG_9F66_TTQ, 4, false) &&
    tornField(t, TAG_9A_DATE, 3, true) &&
    dateValid(t.valuePtr(t.find(TAG_9A_DATE))) &&
    tornField(t, TAG_9F21_TIME, 3, true) &&
    tornField(t, TAG_9C_TRANSACTION_TYPE, 1, true) &&
    tornField(t, TAG_95_TVR, 5, false) &&
    tornField(t, TAG_9F1A_COUNTRY_CODE, 2, true)
  );
}

function tornField(store: TlvStore, tag: u32, length: u32, bcd: bool): bool {
  const index = store.find(tag);
  if (index < 0 || store.valueLength(index) != length) return false;
  return !bcd || bcdValid(store.valuePtr(index), length);
}

/** Writes everything collected so far (E1 terminal, E2 card, E3 FCI, DF8104 static data). */
export function dumpWrite(target: usize, capacity: u32): u32 {
  twBegin(target, capacity);
  twOpen(TAG_E1_TERMINAL_DATA);
  twPutAll(ctx.terminal);
  twClose();
  twOpen(TAG_E2_CARD_DATA);
  twPutAll(ctx.card);
  twClose();
  twOpen(TAG_E3_FCI_DATA);
  twPutAll(ctx.fci);
  twClose();
  twPut(TAG_DF8104_STATIC_DATA, ctx.staticData, ctx.staticDataLength);
  assert(twOk(), 'dump fits OUT');
  return twLength();
}
