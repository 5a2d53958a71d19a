// JT/T 978 compound purchase after the host's decision: INITIALIZE FOR PURCHASE, INIT SAM FOR
// PURCHASE, UPDATE CAPP DATA CACHE, the grey record, DEBIT FOR PURCHASE, CREDIT SAM FOR PURCHASE.
//
// See domain.md 7.4 (S:MZT CPUCARJTB.c): amounts are 4-byte big-endian binary fen, not BCD.

import {
  STATUS_OK,
  STATUS_NEED_PRECOMMIT,
  STATUS_APPROVED_OFFLINE,
  STATUS_DECLINED,
  STATUS_TORN,
  ERR_CARD_DATA_INVALID,
  ERR_PSAM_RESPONSE_INVALID,
  ERR_JTT978_PURCHASE_INVALID,
} from '../status/status';
import { bytesCopy, bytesEqual, writeU32Be } from '../util/bytes';
import * as C from './jtt978_context';
import { jctx } from './jtt978_context';
import * as R from './jtt978_reason';
import { jconfigTerminalPtr, jconfigKeyIndex } from './jtt978_config';
import { KIND_CLEARING, KIND_COMMITTED_DECLINE, KIND_TORN } from './jtt978_output';
import {
  entryCandidateIndex,
  entryCandidateAid,
  entryCandidateLength,
} from '../entry/entry_select';
import { jsend, jfinish, jdecline, jrecordOut } from './jtt978_kernel';

const SW_9000: u32 = 0x9000;
/** The PSAM's MAC verdicts (PBOC e-purse 9302 "MAC invalid", ISO 7816-4 6988). */
const SW_MAC_INVALID: u32 = 0x9302;
const SW_MAC_WRONG: u32 = 0x6988;
const SW_9401_INSUFFICIENT: u32 = 0x9401;
/** Purchase input: amount (4) ‖ type (1) ‖ update count (1) ‖ updates. */
const PURCHASE_HEAD: u32 = 6;
/** Command data staging (INIT 11, INIT SAM 36, DEBIT 15 bytes). */
const command = memory.data(40, 4);

/**
 * Loads the purchase input of OP_TXN_DECIDE 1: amount (4, binary fen) ‖ transaction type (1:
 * 09 compound, 06 simple) ‖ update count (1, 0-3; 0 for 06, at least 1 for 09) ‖ per update
 * SFI (1: 19, 1A or 1E) ‖ record number (1) ‖ length (1) ‖ data (001A: 128, 001E: 48, 0019:
 * 1-128). Returns STATUS_OK or ERR_JTT978_PURCHASE_INVALID (nothing changed).
 */
export function jpurchaseLoad(input: usize, length: u32): i32 {
  if (length < PURCHASE_HEAD) return ERR_JTT978_PURCHASE_INVALID;
  const type = load<u8>(input + 4);
  const count = <u32>load<u8>(input + 5);
  if (type != C.TYPE_09_COMPOUND && type != C.TYPE_06_PURCHASE) return ERR_JTT978_PURCHASE_INVALID;
  if (count > C.UPDATES_MAX || (type == C.TYPE_06_PURCHASE) != (count == 0)) {
    return ERR_JTT978_PURCHASE_INVALID;
  }
  let pos = PURCHASE_HEAD;
  for (let i: u32 = 0; i < count; i++) {
    if (pos + 3 > length) return ERR_JTT978_PURCHASE_INVALID;
    const sfi = load<u8>(input + <usize>pos);
    const size = <u32>load<u8>(input + <usize>(pos + 2));
    const ok =
      (sfi == C.SFI_001A && size == 128) ||
      (sfi == C.SFI_001E && size == 48) ||
      (sfi == C.SFI_0019 && size >= 1 && size <= 128);
    if (!ok || pos + 3 + size > length) return ERR_JTT978_PURCHASE_INVALID;
    pos += 3 + size;
  }
  if (pos != length) return ERR_JTT978_PURCHASE_INVALID;
  bytesCopy(jctx.updates, input + PURCHASE_HEAD, length - PURCHASE_HEAD);
  jctx.updateCount = count;
  jctx.updateNext = 0;
  bytesCopy(jctx.out + C.R_AMOUNT, input, 4);
  store<u8>(jctx.out + C.R_TYPE, type);
  assert(jctx.updateCount <= C.UPDATES_MAX, 'update bound');
  return STATUS_OK;
}

/** Fills the record from the card files and stages INITIALIZE FOR PURCHASE. */
export function jpurchaseStart(): i32 {
  const r = jctx.out;
  store<u8>(r + C.R_MAGIC, C.RECORD_MAGIC);
  store<u8>(r + C.R_VERSION, C.RECORD_VERSION);
  bytesCopy(r + C.R_ISSUER, jctx.f15 + C.F15_ISSUER, 8);
  bytesCopy(r + C.R_SERIAL, jctx.f15 + C.F15_SERIAL, 10);
  store<u8>(r + C.R_CARD_TYPE, load<u8>(jctx.f15 + 8));
  bytesCopy(r + C.R_CITY, jctx.f17 + 6, 2);
  store<u8>(r + C.R_INTEROP, jctx.recordSfi == C.SFI_001A ? 1 : 0);
  bytesCopy(r + C.R_BALANCE_BEFORE, jctx.balance, 4);
  bytesCopy(r + C.R_TERMINAL, jconfigTerminalPtr(), 6);
  bytesCopy(r + C.R_DATE_TIME, jctx.dateTime, 7);
  const index = entryCandidateIndex();
  const aidLength = entryCandidateLength(index);
  store<u8>(r + C.R_AID_LENGTH, <u8>aidLength);
  bytesCopy(r + C.R_AID, entryCandidateAid(index), aidLength);
  // 80 50 03|01 02 0B: key index ‖ amount ‖ terminal number (domain.md 7.4 step 2).
  store<u8>(command, jconfigKeyIndex());
  bytesCopy(command + 1, r + C.R_AMOUNT, 4);
  bytesCopy(command + 5, jconfigTerminalPtr(), 6);
  const p1: u32 = load<u8>(r + C.R_TYPE) == C.TYPE_09_COMPOUND ? 0x03 : 0x01;
  return jsend(0x50, p1, 0x02, command, 11, 0x0f, C.J_INIT);
}

/**
 * INITIALIZE FOR PURCHASE answer: balance (4) ‖ ATC (2) ‖ overdraft (3) ‖ key version (1) ‖
 * algorithm (1) ‖ random (4); 9401 = insufficient balance. Stages INIT SAM FOR PURCHASE.
 */
export function jpurchaseInit(data: usize, length: u32, sw: u32): i32 {
  if (sw == SW_9401_INSUFFICIENT) {
    return jfinish(STATUS_DECLINED, R.JREASON_INSUFFICIENT_BALANCE, <i32>sw, 0);
  }
  if (sw != SW_9000) return jdecline(R.JREASON_CARD_REFUSED, <i32>sw);
  // The balance must be the one GET BALANCE gave: another answer is another purse state.
  if (length != 15 || !bytesEqual(data, jctx.balance, 4)) {
    return jdecline(R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID);
  }
  const r = jctx.out;
  bytesCopy(r + C.R_ATC, data + 4, 2);
  bytesCopy(r + C.R_KEY_VERSION, data + 9, 2);
  bytesCopy(r + C.R_CARD_RANDOM, data + 11, 4);
  // 80 70 00 00 24: random ‖ ATC ‖ amount ‖ type ‖ date-time ‖ key version ‖ algorithm ‖
  // application serial (last 8) ‖ issuer id (domain.md 7.4 step 3).
  bytesCopy(command, r + C.R_CARD_RANDOM, 4);
  bytesCopy(command + 4, r + C.R_ATC, 2);
  bytesCopy(command + 6, r + C.R_AMOUNT, 4);
  store<u8>(command + 10, load<u8>(r + C.R_TYPE));
  bytesCopy(command + 11, jctx.dateTime, 7);
  bytesCopy(command + 18, r + C.R_KEY_VERSION, 2);
  bytesCopy(command + 20, jctx.f15 + C.F15_SERIAL8, 8);
  bytesCopy(command + 28, jctx.f15 + C.F15_ISSUER, 8);
  return jsend(0x70, 0x00, 0x00, command, 36, 8, C.J_INIT_SAM);
}

/** INIT SAM FOR PURCHASE answer: terminal serial (4) ‖ MAC1 (4). Then the cache updates. */
export function jpurchaseInitSam(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return jfinish(STATUS_DECLINED, R.JREASON_PSAM_REFUSED, <i32>sw, 0);
  if (length != 8) {
    return jfinish(STATUS_DECLINED, R.JREASON_PSAM_REFUSED, ERR_PSAM_RESPONSE_INVALID, 0);
  }
  bytesCopy(jctx.out + C.R_TERMINAL_SERIAL, data, 4);
  bytesCopy(jctx.out + C.R_MAC1, data + 4, 4);
  store<u8>(jctx.out + C.R_STATE, C.STATE_GREY);
  return jpurchaseNextUpdate();
}

/** UPDATE CAPP DATA CACHE `80 DC rec (SFI << 3) len data` for the next update, or pre-commit. */
export function jpurchaseNextUpdate(): i32 {
  if (jctx.updateNext >= jctx.updateCount) return jprecommit();
  let at = jctx.updates;
  for (let i: u32 = 0; i < jctx.updateNext; i++) at += 3 + <usize>load<u8>(at + 2);
  jctx.updateNext++;
  const sfi = <u32>load<u8>(at);
  const size = <u32>load<u8>(at + 2);
  return jsend(0xdc, <u32>load<u8>(at + 1), sfi << 3, at + 3, size, 0, C.J_UPDATE);
}

/** Stops before DEBIT: the host makes the grey record (OUT) durable, then answers 1. */
function jprecommit(): i32 {
  jctx.phase = C.J_PRECOMMIT;
  assert(load<u8>(jctx.out + C.R_STATE) == C.STATE_GREY, 'grey record');
  jrecordOut();
  return STATUS_NEED_PRECOMMIT;
}

/** DEBIT FOR PURCHASE `80 54 01 00 0F`: terminal serial ‖ date-time ‖ MAC1 (7.4 step 6). */
export function jdebit(): i32 {
  bytesCopy(command, jctx.out + C.R_TERMINAL_SERIAL, 4);
  bytesCopy(command + 4, jctx.dateTime, 7);
  bytesCopy(command + 11, jctx.out + C.R_MAC1, 4);
  jctx.debitSent = true;
  return jsend(0x54, 0x01, 0x00, command, 15, 8, C.J_DEBIT);
}

/**
 * DEBIT answer: TAC (4) ‖ MAC2 (4). A refusal (SW1 67, 69, 6A, 6D, 6E, 93, 94; 9302: MAC1
 * refused) means the card did not debit. Any other status word, or a 9000 of the wrong
 * length, cannot be trusted either way (a corrupted answer): torn, the recovery decides.
 */
export function jonDebit(data: usize, length: u32, sw: u32): i32 {
  const sw1 = sw >> 8;
  const refused =
    sw1 == 0x67 ||
    sw1 == 0x69 ||
    sw1 == 0x6a ||
    sw1 == 0x6d ||
    sw1 == 0x6e ||
    sw1 == 0x93 ||
    sw1 == 0x94;
  if (refused) {
    jctx.debitSent = false;
    return jfinish(STATUS_DECLINED, R.JREASON_CARD_REFUSED, <i32>sw, 0);
  }
  if (sw != SW_9000) return jfinish(STATUS_TORN, R.JREASON_CARD_DATA_INVALID, <i32>sw, KIND_TORN);
  if (length != 8) {
    return jfinish(STATUS_TORN, R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID, KIND_TORN);
  }
  jfinal(data, data + 4);
  return jsend(0x72, 0x00, 0x00, jctx.out + C.R_MAC2, 4, 0, C.J_CREDIT_SAM);
}

/** Completes the record: TAC, MAC2, the balance after. */
export function jfinal(tac: usize, mac2: usize): void {
  const r = jctx.out;
  bytesCopy(r + C.R_TAC, tac, 4);
  bytesCopy(r + C.R_MAC2, mac2, 4);
  const before = bswap<u32>(load<u32>(r + C.R_BALANCE_BEFORE));
  const amount = bswap<u32>(load<u32>(r + C.R_AMOUNT));
  assert(amount <= before, 'amount within the balance');
  writeU32Be(r + C.R_BALANCE_AFTER, before - amount);
  store<u8>(r + C.R_STATE, C.STATE_FINAL);
}

/**
 * CREDIT SAM FOR PURCHASE answer: 9000 = MAC2 verified; 9302 / 6988 = the PSAM checked MAC2
 * and it is wrong (the debit is not authentic). Any other word is the PSAM failing (memory,
 * state), not a verdict on the card: the card has debited and given its TAC, as when the PSAM
 * goes silent here, so the tap is approved unverified and the clearing centre's TAC check
 * decides (a rider debited must not be told the card failed).
 */
export function jonCreditSam(sw: u32): i32 {
  if (sw == SW_9000) return japprove(true);
  if (sw == SW_MAC_INVALID || sw == SW_MAC_WRONG) {
    return jfinish(STATUS_DECLINED, R.JREASON_MAC2_INVALID, <i32>sw, KIND_COMMITTED_DECLINE);
  }
  return japprove(false);
}

/** Approves with the clearing record (`verified`: the PSAM checked MAC2). */
export function japprove(verified: bool): i32 {
  const flags = jctx.out + C.R_FLAGS;
  if (verified) store<u8>(flags, load<u8>(flags) | C.RF_MAC2_VERIFIED);
  return jfinish(STATUS_APPROVED_OFFLINE, R.JREASON_APPROVED, 0, KIND_CLEARING);
}
