// Outcome header, clearing record and host decision request: what the kernel hands the host.
//
// Outcome layout (final statuses 10-17), all integers big-endian:
//   0 status | 1 reason | 2 record kind | 3 flags | 4 AC type | 5 link-loss cause |
//   6-7 record length | 8-11 detail (i32) | 12-17 balance (n12) | 18-19 zero | 20.. record.
// The record is BER-TLV: a clearing record (kind 1), a torn record (kind 2, qpboc_torn.ts) or
// the ICC data of a debit the card committed although the terminal declined (kind 3).

import { bytesCopy, bytesFill, writeU16Be, writeU32Be } from '../util/bytes';
import {
  TAG_57_TRACK2,
  TAG_5A_PAN,
  TAG_5F24_EXPIRY_DATE,
  TAG_5F2A_CURRENCY_CODE,
  TAG_5F34_PAN_SEQUENCE,
  TAG_82_AIP,
  TAG_84_DF_NAME,
  TAG_95_TVR,
  TAG_9A_DATE,
  TAG_9C_TRANSACTION_TYPE,
  TAG_9F02_AMOUNT,
  TAG_9F03_AMOUNT_OTHER,
  TAG_9F10_IAD,
  TAG_9F1A_COUNTRY_CODE,
  TAG_9F21_TIME,
  TAG_9F26_CRYPTOGRAM,
  TAG_9F36_ATC,
  TAG_9F37_UNPREDICTABLE_NUMBER,
  TAG_9F5D_AVAILABLE_OFFLINE,
  TAG_9F66_TTQ,
  TAG_9F6C_CTQ,
  TAG_9F79_EC_BALANCE,
} from '../emv/emv_tags';
import { ctx, AC_TC, AC_ARQC, MODE_ODA } from './qpboc_context';
import { twBegin, twLength, twOk, twPut, twPutByte, twPutFrom } from './qpboc_tlv_writer';
import { TAG_9B_TSI, TAG_9F34_CVM_RESULTS, TAG_9F41_SEQUENCE_COUNTER } from './qpboc_gpo';

export const OUTCOME_HEADER_BYTES: u32 = 20;

export const RECORD_NONE: u8 = 0;
export const RECORD_CLEARING: u8 = 1;
export const RECORD_TORN: u8 = 2;
export const RECORD_COMMITTED_DECLINE: u8 = 3;

export const FLAG_BALANCE: u8 = 0x01;
export const FLAG_ODA_PERFORMED: u8 = 0x02;
export const FLAG_ODA_PASSED: u8 = 0x04;
export const FLAG_COMMIT_SENT: u8 = 0x08;
export const FLAG_RECOVERY: u8 = 0x10;
/** Bytes 12-17 carry 9F5D as an offline spending allowance (IAD type), not a balance. */
export const FLAG_ALLOWANCE: u8 = 0x20;

/** Cryptogram information data: not sent by qPBOC cards, derived from the CVR for field 55. */
export const TAG_9F27_CID: u32 = 0x9f27;
export const TAG_9F63_PRODUCT_ID: u32 = 0x9f63;
/** Decision request: AC type (1 byte) and flags (b0 recovery, b1 ODA mode). */
export const TAG_DF8106_AC_TYPE: u32 = 0xdf8106;
export const TAG_DF8107_DECISION_FLAGS: u32 = 0xdf8107;

const TAG_9F33_CAPABILITIES: u32 = 0x9f33;
const TAG_9F35_TERMINAL_TYPE: u32 = 0x9f35;
const TAG_9F1E_IFD_SERIAL: u32 = 0x9f1e;
const TAG_9F09_VERSION: u32 = 0x9f09;

/**
 * Clearing record tags after 9F26/9F27, in field 55 order (domain.md 6.3), each when present,
 * from the card first, else the terminal data (84 from the FCI), then the non-55 extras.
 */
const CLEARING_TAGS: StaticArray<u32> = [
  TAG_9F10_IAD,
  TAG_9F37_UNPREDICTABLE_NUMBER,
  TAG_9F36_ATC,
  TAG_95_TVR,
  TAG_9B_TSI,
  TAG_9A_DATE,
  TAG_9C_TRANSACTION_TYPE,
  TAG_9F02_AMOUNT,
  TAG_9F03_AMOUNT_OTHER,
  TAG_5F2A_CURRENCY_CODE,
  TAG_82_AIP,
  TAG_84_DF_NAME,
  TAG_9F1A_COUNTRY_CODE,
  TAG_9F33_CAPABILITIES,
  TAG_9F34_CVM_RESULTS,
  TAG_9F35_TERMINAL_TYPE,
  TAG_9F1E_IFD_SERIAL,
  TAG_9F09_VERSION,
  TAG_9F41_SEQUENCE_COUNTER,
  TAG_9F63_PRODUCT_ID,
  TAG_9F66_TTQ,
  TAG_9F6C_CTQ,
  TAG_9F21_TIME,
  TAG_57_TRACK2,
  TAG_5F34_PAN_SEQUENCE,
  TAG_5F24_EXPIRY_DATE,
  TAG_9F5D_AVAILABLE_OFFLINE,
];

/** Writes the ICC data an acquirer clears (domain.md 4.5, 6.3) at `target`; returns its length. */
export function clearingRecordWrite(target: usize, capacity: u32): u32 {
  twBegin(target, capacity);
  twPutFrom(ctx.card, TAG_9F26_CRYPTOGRAM);
  // qPBOC cards send no 9F27 (domain.md 2.4): derive it from the CVR; the full flow's is kept.
  if (!twPutFrom(ctx.card, TAG_9F27_CID)) {
    twPutByte(TAG_9F27_CID, ctx.acType == AC_TC ? 0x40 : ctx.acType == AC_ARQC ? 0x80 : 0x00);
  }
  for (let i = 0; i < CLEARING_TAGS.length; i++) {
    const tag = unchecked(CLEARING_TAGS[i]);
    if (!twPutFrom(ctx.card, tag) && !twPutFrom(ctx.terminal, tag)) twPutFrom(ctx.fci, tag);
  }
  if (!twPutFrom(ctx.card, TAG_5A_PAN)) twPut(TAG_5A_PAN, ctx.pan, ctx.panLength);
  if (ctx.balanceValid && !ctx.card.has(TAG_9F5D_AVAILABLE_OFFLINE)) {
    twPut(TAG_9F79_EC_BALANCE, ctx.balance, 6);
  }
  assert(twOk(), 'clearing record fits');
  return twLength();
}

/** Writes the host decision request (card identity) at `target`; returns its length. */
export function decisionRequestWrite(target: usize, capacity: u32): u32 {
  twBegin(target, capacity);
  twPutFrom(ctx.fci, TAG_84_DF_NAME);
  if (!twPutFrom(ctx.card, TAG_5A_PAN)) twPut(TAG_5A_PAN, ctx.pan, ctx.panLength);
  twPutFrom(ctx.card, TAG_5F34_PAN_SEQUENCE);
  twPutFrom(ctx.card, TAG_5F24_EXPIRY_DATE);
  twPutFrom(ctx.card, TAG_57_TRACK2);
  twPutFrom(ctx.card, TAG_9F36_ATC);
  twPutFrom(ctx.terminal, TAG_9F02_AMOUNT);
  twPutByte(TAG_DF8106_AC_TYPE, ctx.acType);
  twPutByte(
    TAG_DF8107_DECISION_FLAGS,
    <u8>((ctx.recovering ? 1 : 0) | (ctx.mode == MODE_ODA ? 2 : 0) | (ctx.path << 2)),
  );
  assert(twOk(), 'decision request fits');
  return twLength();
}

/**
 * Writes the outcome header for `status`/`reason`/`detail` at `target` and reserves nothing
 * else: the caller writes the record of `recordLength` bytes at target + OUTCOME_HEADER_BYTES
 * first. Returns the total length.
 */
export function outcomeHeaderWrite(
  target: usize,
  status: i32,
  reason: u8,
  detail: i32,
  kind: u8,
  recordLength: u32,
): u32 {
  assert(status >= 10 && status <= 49, 'outcome status range');
  store<u8>(target, <u8>status);
  store<u8>(target + 1, reason);
  store<u8>(target + 2, kind);
  store<u8>(target + 3, outcomeFlags());
  store<u8>(target + 4, ctx.acType);
  store<u8>(target + 5, <u8>ctx.linkLostCause);
  writeU16Be(target + 6, recordLength);
  writeU32Be(target + 8, <u32>detail);
  if (ctx.balanceValid || ctx.allowance) bytesCopy(target + 12, ctx.balance, 6);
  else bytesFill(target + 12, 0, 6);
  store<u8>(target + 18, ctx.odaMethod);
  store<u8>(target + 19, ctx.path);
  return OUTCOME_HEADER_BYTES + recordLength;
}

function outcomeFlags(): u8 {
  let flags: u8 = 0;
  if (ctx.balanceValid) flags |= FLAG_BALANCE;
  if (ctx.odaDone) flags |= FLAG_ODA_PERFORMED;
  if (ctx.odaDone && ctx.odaOk) flags |= FLAG_ODA_PASSED;
  if (ctx.commitSent) flags |= FLAG_COMMIT_SENT;
  if (ctx.recovering) flags |= FLAG_RECOVERY;
  if (ctx.allowance) flags |= FLAG_ALLOWANCE;
  return flags;
}
