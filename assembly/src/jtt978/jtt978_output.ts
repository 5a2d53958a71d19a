// JT/T 978 outputs: the decision request, the outcome header and the record it carries.
//
// The outcome header has the qPBOC layout (assembly/README.md, 20 bytes) with path 4 (JT/T
// 978) in byte 19 and the balance after the purchase as 4 binary bytes (fen) in bytes 12-15,
// the record is the R_* layout of jtt978_context.ts (grey for a tear, final for a clearing).

import { bytesCopy, writeU32Be } from '../util/bytes';
import {
  jctx,
  F15_BYTES,
  F17_BYTES,
  RECORD_BYTES,
  RECORD_MAGIC,
  RECORD_VERSION,
  R_BALANCE_AFTER,
  R_STATE,
  STATE_FINAL,
} from './jtt978_context';
import {
  entryCandidateIndex,
  entryCandidateAid,
  entryCandidateLength,
} from '../entry/entry_select';

export const OUTCOME_HEADER_BYTES: u32 = 20;
export const KIND_NONE: u8 = 0;
export const KIND_CLEARING: u8 = 1;
export const KIND_TORN: u8 = 2;
/** The card may have debited itself, but the debit is not authenticated (MAC2 refused). */
export const KIND_COMMITTED_DECLINE: u8 = 3;
/** Outcome byte 19: the JT/T 978 path (qPBOC uses 1-3). */
export const PATH_JTT978: u8 = 4;
/** Outcome flags (byte 3). */
export const OF_BALANCE: u8 = 0x01;
export const OF_DEBIT_SENT: u8 = 0x08;
export const OF_RECOVERY: u8 = 0x10;
/** The deny-listed card's application was blocked (APPLICATION BLOCK answered 9000). */
export const OF_BLOCKED: u8 = 0x40;
/** Decision request: 'J', version, flags, record SFI, record length, then the fixed fields. */
export const DR_F15: u32 = 5;
export const DR_F17: u32 = DR_F15 + F15_BYTES;
export const DR_BALANCE: u32 = DR_F17 + F17_BYTES;
export const DR_AID_LENGTH: u32 = DR_BALANCE + 4;
export const DR_RECORD: u32 = DR_AID_LENGTH + 17;

/**
 * Writes the decision request at `out` (capacity checked by the caller: DR_RECORD + 128):
 * 'J' 01, flags (b0 recovery), record SFI, record length, file 0015 (30), file 0017 (11),
 * balance (4, binary), AID length (1) and AID (16, zero padded), the record. Returns its
 * length.
 */
export function decisionRequestWrite(out: usize): u32 {
  store<u8>(out, RECORD_MAGIC);
  store<u8>(out + 1, RECORD_VERSION);
  store<u8>(out + 2, jctx.recovering ? 1 : 0);
  store<u8>(out + 3, jctx.recordSfi);
  store<u8>(out + 4, <u8>jctx.recordLength);
  bytesCopy(out + DR_F15, jctx.f15, F15_BYTES);
  bytesCopy(out + DR_F17, jctx.f17, F17_BYTES);
  bytesCopy(out + DR_BALANCE, jctx.balance, 4);
  const index = entryCandidateIndex();
  const aidLength = entryCandidateLength(index);
  memory.fill(out + DR_AID_LENGTH, 0, 17);
  store<u8>(out + DR_AID_LENGTH, <u8>aidLength);
  bytesCopy(out + DR_AID_LENGTH + 1, entryCandidateAid(index), aidLength);
  bytesCopy(out + DR_RECORD, jctx.record, jctx.recordLength);
  const length = DR_RECORD + jctx.recordLength;
  assert(length <= DR_RECORD + 128, 'decision request length');
  return length;
}

/**
 * Writes the outcome header and, for `kind` != KIND_NONE, the record (RECORD_BYTES) at `out`.
 * Returns the bytes written.
 */
export function outcomeWrite(
  out: usize,
  status: i32,
  reason: u8,
  detail: i32,
  kind: u8,
  flags: u8,
): u32 {
  memory.fill(out, 0, <usize>OUTCOME_HEADER_BYTES);
  const recordLength = kind == KIND_NONE ? 0 : RECORD_BYTES;
  let f = flags;
  if (jctx.debitSent) f |= OF_DEBIT_SENT;
  if (jctx.recovering) f |= OF_RECOVERY;
  const final = load<u8>(jctx.out + R_STATE) == STATE_FINAL;
  if (final && kind != KIND_TORN) {
    f |= OF_BALANCE;
    bytesCopy(out + 12, jctx.out + R_BALANCE_AFTER, 4);
  }
  store<u8>(out, <u8>status);
  store<u8>(out + 1, reason);
  store<u8>(out + 2, kind);
  store<u8>(out + 3, f);
  store<u8>(out + 4, 0xff);
  store<u8>(out + 5, <u8>jctx.linkLostCause);
  store<u8>(out + 6, <u8>(recordLength >> 8));
  store<u8>(out + 7, <u8>recordLength);
  writeU32Be(out + 8, <u32>detail);
  store<u8>(out + 19, PATH_JTT978);
  if (recordLength > 0) bytesCopy(out + OUTCOME_HEADER_BYTES, jctx.out, RECORD_BYTES);
  assert(OUTCOME_HEADER_BYTES + recordLength <= OUTCOME_HEADER_BYTES + RECORD_BYTES, 'outcome');
  return OUTCOME_HEADER_BYTES + recordLength;
}
