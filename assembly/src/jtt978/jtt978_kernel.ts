// The JT/T 978 (T-Union) kernel: a sans-IO step machine over two devices, the card and the PSAM.
//
// Compound purchase, domain.md 7.4: SELECT ADF, READ BINARY 0015 / 0017, GET BALANCE, READ
// RECORD 001A (interop) or 0019 (local), the host's decision (deny list, fare, records), then
// INITIALIZE FOR PURCHASE (card), INIT SAM FOR PURCHASE (PSAM: terminal serial, MAC1), UPDATE
// CAPP DATA CACHE (card), the grey record made durable by the host (STATUS_NEED_PRECOMMIT),
// DEBIT FOR PURCHASE (card: TAC, MAC2) and CREDIT SAM FOR PURCHASE (PSAM checks MAC2).
// Commands for the PSAM come with STATUS_NEED_PSAM_APDU, for the card with STATUS_NEED_APDU.

import {
  STATUS_OK,
  STATUS_NEED_APDU,
  STATUS_NEED_PSAM_APDU,
  STATUS_NEED_HOST_DECISION,
  STATUS_NEED_PRECOMMIT,
  STATUS_DECLINED,
  STATUS_TRY_AGAIN,
  STATUS_TORN,
  STATUS_RECOVERY_NOT_PENDING,
  ERR_BAD_STATE,
  ERR_CARD_DATA_INVALID,
  ERR_TXN_INPUT_INVALID,
  ERR_TXN_DECISION_INVALID,
  ERR_JTT978_NOT_CONFIGURED,
  ERR_TXN_TORN_RECORD_INVALID,
} from '../status/status';
import { bytesCopy, bytesEqual, readU16Be } from '../util/bytes';
import { TTL_SEND, ttlCommand, ttlReceive, ttlPendingPtr, ttlPendingLength } from '../emv/emv_ttl';
import { ttlResponsePtr, ttlResponseLength, ttlSw } from '../emv/emv_ttl';
import {
  ENTRY_ROUTE,
  entryCandidateIndex,
  entryCandidateAid,
  entryCandidateLength,
  entryCandidateDrop,
  entryCandidateSet,
  entrySingle,
} from '../entry/entry_select';
import { tlvFindChild, tlvValueStart, tlvValueLength, tlvNext } from '../iso8825/ber_tlv';
import { APP_JTT978 } from '../entry/entry_aids';
import * as C from './jtt978_context';
import { jctx } from './jtt978_context';
import { jconfigReady } from './jtt978_config';
import * as R from './jtt978_reason';
import {
  jpurchaseLoad,
  jpurchaseStart,
  jpurchaseInit,
  jpurchaseInitSam,
  jpurchaseNextUpdate,
  jdebit,
  jonDebit,
  jonCreditSam,
  japprove,
} from './jtt978_purchase';
import {
  KIND_NONE,
  KIND_TORN,
  OF_BLOCKED,
  DR_RECORD,
  decisionRequestWrite,
  outcomeWrite,
} from './jtt978_output';
import {
  jblockChallenge,
  jblockOnChallenge,
  jblockOnSamInit,
  jblockOnSamMac,
} from './jtt978_block';
import { jrecoverOnBalance, jrecoverOnDetail, jrecoverOnProof } from './jtt978_recovery';

const SW_9000: u32 = 0x9000;

let outPtr: usize = 0;
let outCapacity: u32 = 0;
let outUsed: u32 = 0;
/** Why the candidate was handed back to selection (ENTRY_ROUTE). */
let routeDetail: i32 = 0;

/** Bytes written by the last entry point. */
export function jtt978OutputLength(): u32 {
  return outUsed;
}

/** Why the last candidate was refused before it was handed back (ENTRY_ROUTE). */
export function jtt978RouteDetail(): i32 {
  return routeDetail;
}

function outSet(out: usize, capacity: u32): void {
  assert(capacity >= DR_RECORD + C.RECORD_BYTES_MAX, 'output capacity');
  outPtr = out;
  outCapacity = capacity;
  outUsed = 0;
}

/** Copies the staged command to the output: for the PSAM in PSAM phases, else for the card. */
function jemit(): i32 {
  const length = ttlPendingLength();
  assert(length >= 4 && length <= outCapacity, 'staged command fits the output');
  bytesCopy(outPtr, ttlPendingPtr(), length);
  outUsed = length;
  return C.jtt978PhaseIsPsam(jctx.phase) ? STATUS_NEED_PSAM_APDU : STATUS_NEED_APDU;
}

/** Enters `phase` and emits the command a ttlCommand call just staged (`staged` its status). */
export function jstage(staged: i32, phase: u32): i32 {
  if (staged != STATUS_OK) return jfail(staged);
  jctx.phase = phase;
  return jemit();
}

/**
 * Stages `CLA ins p1 p2 [data] [Le]` (Le 0 = none) for the device of `phase` and emits it. CLA
 * is 00 for the ISO 7816-4 commands (SELECT, READ BINARY, READ RECORD, GET CHALLENGE) and 80
 * for the proprietary e-purse and PSAM commands (domain.md 7.4).
 */
export function jsend(
  ins: u32,
  p1: u32,
  p2: u32,
  data: usize,
  length: u32,
  le: u32,
  phase: u32,
): i32 {
  const cla: u8 = ins == 0xb0 || ins == 0xb2 || ins == 0xa4 || ins == 0x84 ? 0x00 : 0x80;
  const staged = ttlCommand(cla, <u8>ins, <u8>p1, <u8>p2, data, length, le != 0, le);
  return jstage(staged, phase);
}

/** OUT = the record as it stands (the grey record of the pre-commit stop). */
export function jrecordOut(): void {
  assert(outCapacity >= C.RECORD_BYTES, 'record fits the output');
  bytesCopy(outPtr, jctx.out, C.RECORD_BYTES);
  outUsed = C.RECORD_BYTES;
}

/** Ends the transaction with a final outcome (jtt978_output.ts layout). */
export function jfinish(status: i32, reason: u8, detail: i32, kind: u8): i32 {
  return jfinishFlags(status, reason, detail, kind, 0);
}

export function jfinishFlags(status: i32, reason: u8, detail: i32, kind: u8, flags: u8): i32 {
  jctx.phase = C.J_DONE;
  outUsed = outcomeWrite(outPtr, status, reason, detail, kind, flags);
  assert(outUsed <= outCapacity, 'outcome fits the output');
  return status;
}

/** A card answer the transaction cannot use (`detail` why), by phase: see jfail. */
export function jdecline(reason: u8, detail: i32): i32 {
  if (jctx.recovering) return jnotPending(R.JREASON_RECOVERY_REFUSED, detail);
  return jfinish(STATUS_DECLINED, reason, detail, KIND_NONE);
}

export function jnotPending(reason: u8, detail: i32): i32 {
  return jfinish(STATUS_RECOVERY_NOT_PENDING, reason, detail, KIND_NONE);
}

/**
 * An unusable exchange (`status` < 0). After DEBIT was sent, or in a recovery, the card may
 * hold the debit: STATUS_TORN with the grey record. Before, nothing moved: DECLINED.
 */
function jfail(status: i32): i32 {
  assert(status < 0, 'failure status');
  if (jctx.debitSent || jctx.recovering) {
    return jfinish(STATUS_TORN, R.JREASON_CARD_DATA_INVALID, status, KIND_TORN);
  }
  const psam = C.jtt978PhaseIsPsam(jctx.phase);
  return jfinish(
    STATUS_DECLINED,
    psam ? R.JREASON_PSAM_REFUSED : R.JREASON_CARD_DATA_INVALID,
    status,
    KIND_NONE,
  );
}

/** The router's hand-over: stores the date and time of OP_TXN_BEGIN's input (YYMMDD hhmmss). */
export function jtt978Input(input: usize, length: u32): void {
  if (length < 12) return;
  store<u8>(jctx.dateTime, 0x20);
  bytesCopy(jctx.dateTime + 1, input + 6, 6);
}

/**
 * Takes the current candidate (routed here by selection) and stages SELECT ADF. Without a PSAM
 * configuration the candidate is handed back (ENTRY_ROUTE, detail ERR_JTT978_NOT_CONFIGURED).
 */
export function jtt978Select(out: usize, cap: u32): i32 {
  outSet(out, cap);
  jctx.reset();
  if (!jconfigReady()) return jroute(ERR_JTT978_NOT_CONFIGURED);
  return jselect();
}

function jselect(): i32 {
  const index = entryCandidateIndex();
  const aid = entryCandidateAid(index);
  // Case 3 as the deployed validator sends it (domain.md 7.1): 00 A4 04 00 08 A0..0105.
  return jsend(0xa4, 0x04, 0x00, aid, entryCandidateLength(index), 0, C.J_SELECT);
}

/** Hands the candidate back to selection (the next candidate, maybe another application). */
function jroute(detail: i32): i32 {
  routeDetail = detail;
  entryCandidateDrop();
  jctx.phase = C.J_DONE;
  outUsed = 0;
  return ENTRY_ROUTE;
}

/**
 * OP_TXN_RESUME: the R-APDU of the card (or of the PSAM in a PSAM phase). Returns the next
 * command status, a decision or pre-commit stop, a final outcome, ENTRY_ROUTE (the card is not
 * T-Union after all) or ERR_BAD_STATE.
 */
export function jtt978Resume(rapdu: usize, length: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  const phase = jctx.phase;
  if (phase == C.J_IDLE || phase == C.J_DONE || phase == C.J_DECISION) return ERR_BAD_STATE;
  if (phase == C.J_PRECOMMIT) return ERR_BAD_STATE;
  const received = ttlReceive(rapdu, length);
  if (received == TTL_SEND) return jemit();
  // The card has debited and answered; only the PSAM's MAC2 check is missing.
  if (received != STATUS_OK && phase == C.J_CREDIT_SAM) return japprove(false);
  if (received != STATUS_OK) return jfail(received);
  return jdispatch(phase, ttlResponsePtr(), ttlResponseLength(), ttlSw);
}

function jdispatch(phase: u32, data: usize, length: u32, sw: u32): i32 {
  switch (phase) {
    case C.J_SELECT:
      return jonSelect(data, length, sw);
    case C.J_READ_0015:
      return jonF15(data, length, sw);
    case C.J_READ_0017:
      return jonF17(data, length, sw);
    case C.J_BALANCE:
      return jonBalance(data, length, sw);
    case C.J_RECORD:
      return jonRecord(data, length, sw);
    case C.J_INIT:
      return jpurchaseInit(data, length, sw);
    case C.J_INIT_SAM:
      return jpurchaseInitSam(data, length, sw);
    case C.J_UPDATE:
      if (sw != SW_9000) return jdecline(R.JREASON_CARD_REFUSED, <i32>sw);
      return jpurchaseNextUpdate();
    case C.J_DEBIT:
      return jonDebit(data, length, sw);
    case C.J_CREDIT_SAM:
      return jonCreditSam(sw);
    case C.J_DETAIL:
      return jrecoverOnDetail(data, length, sw);
    case C.J_PROOF:
      return jrecoverOnProof(data, length, sw);
    case C.J_CHALLENGE:
      return jblockOnChallenge(data, length, sw);
    case C.J_SAM_BLOCK_INIT:
      return jblockOnSamInit(sw);
    case C.J_SAM_BLOCK_MAC:
      return jblockOnSamMac(data, length, sw);
    case C.J_BLOCK:
      return jfinishFlags(
        STATUS_DECLINED,
        R.JREASON_DENY_LIST,
        <i32>sw,
        KIND_NONE,
        sw == SW_9000 ? OF_BLOCKED : 0,
      );
    default:
      return ERR_BAD_STATE;
  }
}

/** SELECT ADF: FCI `6F {84 AID, A5 {...}}` (domain.md 7.1); 6283 = application blocked. */
function jonSelect(data: usize, length: u32, sw: u32): i32 {
  if (sw == 0x6283) return jdecline(R.JREASON_CARD_BLOCKED, <i32>sw);
  if (sw != SW_9000) {
    if (jctx.recovering) return jnotPending(R.JREASON_RECOVERY_REFUSED, <i32>sw);
    return jroute(<i32>sw);
  }
  const fci = jfciCheck(data, length);
  if (fci != STATUS_OK) {
    if (jctx.recovering) return jnotPending(R.JREASON_RECOVERY_REFUSED, fci);
    return jroute(fci);
  }
  return jsend(0xb0, 0x95, 0x00, 0, 0, C.F15_BYTES, C.J_READ_0015);
}

/**
 * One 6F holding 84 (an AID of 5-16 bytes starting with the selected one) and A5, nothing
 * after it but padding (EMV 4.4 Book 1, 11.3.4). Returns STATUS_OK, ERR_CARD_DATA_INVALID or
 * the decoder's status.
 */
function jfciCheck(data: usize, length: u32): i32 {
  const index = entryCandidateIndex();
  const aidLength = entryCandidateLength(index);
  const single = entrySingle(data, length, 0x6f, true);
  if (single != STATUS_OK) return single;
  const start = tlvValueStart;
  const end = tlvNext;
  if (tlvFindChild(data, start, end, 0x84) != STATUS_OK) return ERR_CARD_DATA_INVALID;
  const nameLength = tlvValueLength;
  const name = data + <usize>tlvValueStart;
  if (nameLength < aidLength || nameLength > 16) return ERR_CARD_DATA_INVALID;
  if (!bytesEqual(name, entryCandidateAid(index), aidLength)) return ERR_CARD_DATA_INVALID;
  if (tlvFindChild(data, start, end, 0xa5) != STATUS_OK) return ERR_CARD_DATA_INVALID;
  assert(start <= end && end <= length, 'FCI bounds');
  return STATUS_OK;
}

/** File 0015: 30 bytes; dates valid and around the transaction date; same card on recovery. */
function jonF15(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return jdecline(R.JREASON_CARD_DATA_INVALID, <i32>sw);
  if (length != C.F15_BYTES) return jdecline(R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID);
  bytesCopy(jctx.f15, data, C.F15_BYTES);
  if (jctx.recovering) {
    const same =
      bytesEqual(jctx.f15 + C.F15_ISSUER, jctx.out + C.R_ISSUER, 8) &&
      bytesEqual(jctx.f15 + C.F15_SERIAL, jctx.out + C.R_SERIAL, 10);
    if (!same) return jnotPending(R.JREASON_CARD_MISMATCH, 0);
    return jsend(0x5c, 0x00, 0x02, 0, 0, 4, C.J_BALANCE);
  }
  const start = jctx.f15 + C.F15_START;
  const expiry = jctx.f15 + C.F15_EXPIRY;
  if (!jbcd(start, 8) || !jbcd(jctx.dateTime, 7)) {
    return jdecline(R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID);
  }
  if (jcompare(jctx.dateTime, start) < 0) {
    return jfinish(STATUS_DECLINED, R.JREASON_NOT_YET_EFFECTIVE, 0, KIND_NONE);
  }
  if (jcompare(jctx.dateTime, expiry) > 0) {
    return jfinish(STATUS_DECLINED, R.JREASON_EXPIRED, 0, KIND_NONE);
  }
  return jsend(0xb0, 0x97, 0x00, 0, 0, C.F17_BYTES, C.J_READ_0017);
}

function jbcd(p: usize, length: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    const b = load<u8>(p + <usize>i);
    if (b >> 4 > 9 || (b & 0x0f) > 9) return false;
  }
  return true;
}

/** Compares two YYYYMMDD BCD dates (4 bytes): <0, 0, >0. */
function jcompare(a: usize, b: usize): i32 {
  for (let i: u32 = 0; i < 4; i++) {
    const x = <i32>load<u8>(a + <usize>i);
    const y = <i32>load<u8>(b + <usize>i);
    if (x != y) return x - y;
  }
  return 0;
}

function jonF17(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return jdecline(R.JREASON_CARD_DATA_INVALID, <i32>sw);
  if (length != C.F17_BYTES) return jdecline(R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID);
  bytesCopy(jctx.f17, data, C.F17_BYTES);
  return jsend(0x5c, 0x00, 0x02, 0, 0, 4, C.J_BALANCE);
}

/** GET BALANCE `80 5C 00 02 04`: 4 bytes, binary fen. */
function jonBalance(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return jdecline(R.JREASON_CARD_DATA_INVALID, <i32>sw);
  if (length != 4) return jdecline(R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID);
  bytesCopy(jctx.balance, data, 4);
  if (jctx.recovering) return jrecoverOnBalance();
  // An interop card (0017 interop type 0001) carries the 001A record, a local one 0019.
  const interop = readU16Be(jctx.f17 + C.F17_INTEROP) == 1;
  jctx.recordSfi = interop ? C.SFI_001A : C.SFI_0019;
  const p2 = ((<u32>jctx.recordSfi) << 3) | 4;
  return jsend(0xb2, 0x02, p2, 0, 0, 256, C.J_RECORD);
}

/** READ RECORD 02 of 001A / 0019: 1-128 bytes, or 6A83 (no record yet). */
function jonRecord(data: usize, length: u32, sw: u32): i32 {
  if (sw == 0x6a83) {
    jctx.recordLength = 0;
  } else if (sw != SW_9000) {
    return jdecline(R.JREASON_CARD_DATA_INVALID, <i32>sw);
  } else {
    if (length == 0 || length > C.RECORD_BYTES_MAX) {
      return jdecline(R.JREASON_CARD_DATA_INVALID, ERR_CARD_DATA_INVALID);
    }
    bytesCopy(jctx.record, data, length);
    jctx.recordLength = length;
  }
  jctx.phase = C.J_DECISION;
  outUsed = decisionRequestWrite(outPtr);
  return STATUS_NEED_HOST_DECISION;
}

/**
 * OP_TXN_DECIDE. At the decision point: 1 proceed with the purchase input in IN
 * (jtt978_purchase.ts), 2 deny list (APPLICATION BLOCK), 3 duplicate tap, 4 refused. At the
 * pre-commit stop: 1 sends DEBIT (the grey record is durable), anything else ends without it.
 * Returns a command status, STATUS_DECLINED, ERR_TXN_DECISION_INVALID,
 * ERR_JTT978_PURCHASE_INVALID (state kept) or ERR_BAD_STATE.
 */
export function jtt978Decide(decision: u32, input: usize, length: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  if (jctx.phase == C.J_PRECOMMIT) {
    if (decision != 1) return jfinish(STATUS_DECLINED, R.JREASON_HOST_REFUSED, 0, KIND_NONE);
    return jdebit();
  }
  if (jctx.phase != C.J_DECISION) return ERR_BAD_STATE;
  switch (decision) {
    case 1: {
      const loaded = jpurchaseLoad(input, length);
      if (loaded != STATUS_OK) return loaded;
      const amount = load<u32>(jctx.out + C.R_AMOUNT);
      if (bswap<u32>(amount) > bswap<u32>(load<u32>(jctx.balance))) {
        return jfinish(STATUS_DECLINED, R.JREASON_INSUFFICIENT_BALANCE, 0, KIND_NONE);
      }
      return jpurchaseStart();
    }
    case 2:
      return jblockChallenge();
    case 3:
      return jfinish(STATUS_DECLINED, R.JREASON_DUPLICATE_TAP, 0, KIND_NONE);
    case 4:
      return jfinish(STATUS_DECLINED, R.JREASON_HOST_REFUSED, 0, KIND_NONE);
    default:
      return ERR_TXN_DECISION_INVALID;
  }
}

/**
 * OP_TXN_LINK_LOST while JT/T 978 runs (`cause`: 1 timeout, 2 card gone, 3 reader error, 4 the
 * PSAM failed). Before DEBIT nothing moved: STATUS_TRY_AGAIN (a PSAM failure: DECLINED
 * psam-refused; the deny-list chain: DECLINED deny-list). DEBIT unanswered, or a recovery cut
 * short: STATUS_TORN with the grey record. CREDIT SAM unanswered: the card debited and
 * answered, the approval stands without the PSAM's MAC2 check.
 * Returns one of those, ERR_TXN_INPUT_INVALID (cause 0) or ERR_BAD_STATE.
 */
export function jtt978LinkLost(cause: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  if (cause == 0 || cause > 0xff) return ERR_TXN_INPUT_INVALID;
  const phase = jctx.phase;
  if (phase == C.J_IDLE || phase == C.J_DONE) return ERR_BAD_STATE;
  jctx.linkLostCause = cause;
  if (phase == C.J_CREDIT_SAM) return japprove(false);
  if (jctx.debitSent || jctx.recovering) {
    return jfinish(STATUS_TORN, R.JREASON_LINK_LOST, 0, KIND_TORN);
  }
  if (phase >= C.J_CHALLENGE && phase <= C.J_BLOCK) {
    return jfinish(STATUS_DECLINED, R.JREASON_DENY_LIST, -(<i32>cause), KIND_NONE);
  }
  if (C.jtt978PhaseIsPsam(phase)) {
    return jfinish(STATUS_DECLINED, R.JREASON_PSAM_REFUSED, -(<i32>cause), KIND_NONE);
  }
  return jfinish(STATUS_TRY_AGAIN, R.JREASON_LINK_LOST, 0, KIND_NONE);
}

/** True when `record[0..length)` is a JT/T 978 grey record (R_* layout, state grey). */
export function jtt978IsRecord(record: usize, length: u32): bool {
  return length == C.RECORD_BYTES && load<u8>(record) == C.RECORD_MAGIC;
}

/**
 * OP_TXN_RECOVER with a JT/T 978 grey record: SELECT of its ADF, then file 0015, the balance
 * and maybe GET TRANSACTION PROOF (jtt978_recovery.ts). Returns STATUS_NEED_APDU,
 * ERR_TXN_TORN_RECORD_INVALID or ERR_JTT978_NOT_CONFIGURED.
 */
export function jtt978Recover(record: usize, length: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  jctx.reset();
  if (!jconfigReady()) return ERR_JTT978_NOT_CONFIGURED;
  const aidLength = <u32>load<u8>(record + C.R_AID_LENGTH);
  const valid =
    jtt978IsRecord(record, length) &&
    load<u8>(record + C.R_VERSION) == C.RECORD_VERSION &&
    load<u8>(record + C.R_STATE) == C.STATE_GREY &&
    aidLength >= 5 &&
    aidLength <= 16;
  if (!valid) return ERR_TXN_TORN_RECORD_INVALID;
  bytesCopy(jctx.out, record, C.RECORD_BYTES);
  bytesCopy(jctx.dateTime, record + C.R_DATE_TIME, 7);
  jctx.recovering = true;
  entryCandidateSet(record + C.R_AID, aidLength, APP_JTT978);
  return jselect();
}

/** True while a JT/T 978 transaction is in flight. */
export function jtt978Busy(): bool {
  return jctx.phase != C.J_IDLE && jctx.phase != C.J_DONE;
}

/** OP_TXN_ABORT: forgets the transaction in flight. */
export function jtt978Abort(): void {
  jctx.reset();
  outUsed = 0;
}
