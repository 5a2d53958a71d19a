// The qPBOC kernel as a sans-IO step machine: PPSE -> SELECT -> GPO -> records -> ODA -> outcome.
//
// The host drives it (style.md 10.3): every entry point returns STATUS_NEED_APDU with a C-APDU
// in the output, STATUS_NEED_HOST_DECISION with the card identity before the commit, a final
// outcome (qpboc_outcome.ts layout), or a negative status that terminates the transaction.
// Once the last READ RECORD has been sent the card has committed (or may have): from then on
// every ending is a positive outcome carrying the ICC data, never a bare error.

import {
  STATUS_OK,
  STATUS_NEED_APDU,
  STATUS_NEED_HOST_DECISION,
  STATUS_APPROVED_OFFLINE,
  STATUS_ADMITTED_PENDING_AUTH,
  STATUS_DECLINED,
  STATUS_TRY_AGAIN,
  STATUS_TRY_ANOTHER_INTERFACE,
  STATUS_NOT_ACCEPTED,
  STATUS_TORN,
  ERR_BAD_STATE,
  ERR_SW_UNEXPECTED,
  ERR_TXN_NOT_CONFIGURED,
  ERR_TXN_INPUT_INVALID,
  ERR_TXN_DECISION_INVALID,
  ERR_CARD_MANDATORY_MISSING,
  ERR_CARD_DATA_INVALID,
} from '../status/status';
import { bytesCopy } from '../util/bytes';
import { TAG_DF61_EXT_APP_INDICATOR } from '../emv/emv_tags';
import { TAG_9F5D_AVAILABLE_OFFLINE } from '../emv/emv_tags';
import { INS_CA_GET_DATA } from '../iso7816/iso7816_apdu';
import { SW_6A83_RECORD_NOT_FOUND } from '../iso7816/iso7816_sw';
import {
  TTL_SEND,
  ttlCommand,
  ttlReceive,
  ttlPendingPtr,
  ttlPendingLength,
  ttlResponsePtr,
  ttlResponseLength,
  ttlSw,
} from '../emv/emv_ttl';
import {
  ctx,
  MODE_EC,
  MODE_ODA,
  MODE_AUTO,
  MODE_FULL,
  AC_TC,
  AC_ARQC,
  PHASE_IDLE,
  PHASE_PPSE,
  PHASE_SELECT,
  PHASE_GPO,
  PHASE_RECORD,
  PHASE_DECISION,
  PHASE_BALANCE,
  PHASE_RECOVER_SELECT,
  PHASE_RECOVER_ATC,
  PHASE_DONE,
  PHASE_EC_PROBE,
  PHASE_INTERNAL_AUTH,
  PHASE_GENERATE_AC,
  PATH_QPBOC_EC,
  PATH_QPBOC_ODA,
  PATH_FULL_FLOW,
} from './qpboc_context';
import {
  configReady,
  configLimitPtr,
  configFloorLimitPtr,
  configCvmLimitPtr,
} from './qpboc_config';
import { selectFciParse } from './qpboc_select';
import {
  ENTRY_ROUTE,
  entryPpseCommand,
  entryPpseParse,
  entryDirectCandidates,
  entrySelectCommand,
  entryReset,
  entryExhausted,
  entryCandidateIndex,
  entryCandidateDrop,
  entryCandidateApp,
  entryCandidateAid,
  entryCandidateLength,
} from '../entry/entry_select';
import { APP_QPBOC } from '../entry/entry_aids';
import {
  gpoTerminalData,
  gpoCommand,
  gpoResponse,
  GPO_FORMAT1,
  INPUT_BYTES,
  INPUT_BYTES_WITH_SEQUENCE,
  INPUT_SEQUENCE,
  gpoSetPath,
  INPUT_AMOUNT,
  INPUT_DATE,
  INPUT_TIME,
  INPUT_TYPE,
} from './qpboc_gpo';
import {
  recordsPlan,
  recordCommand,
  recordResponse,
  recordIsLast,
  recordsOdaComplete,
} from './qpboc_records';
import {
  odaRun,
  odaSupported,
  odaInputsCheck,
  odaStatusIsMissingInput,
  odaCertificates,
  odaSignature,
  odaCertificateInputsPresent,
  odaIssuerCertificate,
  odaIssuerInputsPresent,
  odaSignatureInputsPresent,
  odaSdadPrecheck,
  odaMethodOf,
} from './qpboc_oda';
import {
  fullAfterGpo,
  fullAfterRecords,
  fullOnInternalAuth,
  fullGenerateAc,
  fullOnGenerateAc,
} from './qpboc_full';
import {
  tvrSet,
  tvrFinish,
  tvrOdaSettled,
  TVR1_EXCEPTION_FILE,
  TVR4_OVER_FLOOR_LIMIT,
} from './qpboc_tvr';
import {
  OUTCOME_HEADER_BYTES,
  RECORD_NONE,
  RECORD_CLEARING,
  RECORD_TORN,
  RECORD_COMMITTED_DECLINE,
  clearingRecordWrite,
  decisionRequestWrite,
  outcomeHeaderWrite,
} from './qpboc_outcome';
import { tornRecordWrite } from './qpboc_torn';
import { bcdValid, dateValid, timeValid } from './qpboc_checks';
import {
  checksPanConsistent,
  checksDatesTvr,
  checksBalance,
  checksBalanceInvalid,
  checksGetDataBalance,
  checksGetDataValue,
  checksEcashShort,
  checksMobileDevice,
  checksIad,
  bcdCompare,
} from './qpboc_rules';
import {
  REASON_OFFLINE_APPROVED,
  REASON_ODA_ADMITTED,
  REASON_CARD_DECLINED,
  REASON_FULL_FLOW_ADMITTED,
  REASON_INSUFFICIENT_ECASH,
  REASON_KIND_NOT_ACCEPTED,
  REASON_ODA_FAILED,
  REASON_ODA_DATA_MISSING,
  REASON_ODA_NOT_SUPPORTED,
  REASON_DENY_LIST,
  REASON_DUPLICATE_TAP,
  REASON_HOST_REFUSED,
  REASON_CRYPTOGRAM_NOT_ARQC,
  REASON_CARD_DATA_INCONSISTENT,
  REASON_CARD_DATA_INVALID,
  REASON_LINK_LOST,
  REASON_USE_ANOTHER_INTERFACE,
  REASON_NO_ACCEPTED_APP,
  REASON_PPSE_FAILED,
  REASON_AMOUNT_OVER_LIMIT,
  REASON_FULL_FLOW_REQUIRED,
} from './qpboc_reason';

/** FCI DF61 byte 1 bit 0x40: the card supports UnionPay online ODA (domain.md 6.2). */
const DF61_ONLINE_ODA: u8 = 0x40;
const TAG_DF61_CAPP_INDICATOR: u32 = TAG_DF61_EXT_APP_INDICATOR;
import {
  recoverBegin,
  recoverOnSelect,
  recoverOnAtc,
  recoverOnRecordRefused,
  recoverPanMismatch,
} from './qpboc_recovery';

/** Host decisions of OP_TXN_DECIDE. */
export const DECISION_PROCEED: u32 = 1;
export const DECISION_DENY_LIST: u32 = 2;
export const DECISION_DUPLICATE_TAP: u32 = 3;
export const DECISION_REFUSED: u32 = 4;

const SW_9000: u32 = 0x9000;
const SW_6A82: u32 = 0x6a82;
const SW_6984: u32 = 0x6984;
const SW_6985: u32 = 0x6985;

let outPtr: usize = 0;
let outCapacity: u32 = 0;
let outUsed: u32 = 0;
/** Why the last candidate was dropped (detail of REASON_NO_ACCEPTED_APP). */
let lastRejectDetail: i32 = 0;

/** Bytes written by the last entry point. */
export function qpbocOutputLength(): u32 {
  return outUsed;
}

function outSet(out: usize, capacity: u32): void {
  assert(capacity >= OUTCOME_HEADER_BYTES, 'output capacity');
  outPtr = out;
  outCapacity = capacity;
  outUsed = 0;
}

/** Copies the staged C-APDU to the output. */
export function kernelEmit(): i32 {
  const length = ttlPendingLength();
  assert(length >= 4 && length <= outCapacity, 'staged command fits the output');
  bytesCopy(outPtr, ttlPendingPtr(), length);
  outUsed = length;
  return STATUS_NEED_APDU;
}

/** Enters `phase` and emits the command a ttlCommand call just staged (`staged` its status). */
export function kernelStage(staged: i32, phase: u32): i32 {
  if (staged != STATUS_OK) return kernelFail(staged);
  ctx.phase = phase;
  return kernelEmit();
}

/** Ends the transaction with a final outcome and its record (qpboc_outcome.ts layout). */
export function kernelFinish(status: i32, reason: u8, detail: i32, kind: u8): i32 {
  ctx.phase = PHASE_DONE;
  // A torn tap is not finished: its record keeps the TVR the card's TC covers (the recovery
  // sends it to the issuer, and settles ODA itself).
  if (kind != RECORD_TORN) tvrFinish();
  const record = outPtr + <usize>OUTCOME_HEADER_BYTES;
  const capacity = outCapacity - OUTCOME_HEADER_BYTES;
  let recordLength: u32 = 0;
  if (kind == RECORD_CLEARING || kind == RECORD_COMMITTED_DECLINE) {
    recordLength = clearingRecordWrite(record, capacity);
  } else if (kind == RECORD_TORN) {
    recordLength = tornRecordWrite(record, capacity);
  }
  outUsed = outcomeHeaderWrite(outPtr, status, reason, detail, kind, recordLength);
  assert(outUsed <= outCapacity, 'outcome fits the output');
  return status;
}

/** Terminates with a negative status; after the commit, declines with the ICC data instead. */
export function kernelFail(status: i32): i32 {
  assert(status < 0, 'failure status');
  if (ctx.commitSent) return kernelDeclineAfterCommit(REASON_CARD_DATA_INVALID, status);
  ctx.phase = PHASE_DONE;
  outUsed = 0;
  return status;
}

/** Declines after the commit: an EC debit (TC) may have happened, so keep its ICC data. */
function kernelDeclineAfterCommit(reason: u8, detail: i32): i32 {
  const kind = ctx.acType == AC_TC ? RECORD_COMMITTED_DECLINE : RECORD_NONE;
  return kernelFinish(STATUS_DECLINED, reason, detail, kind);
}

/**
 * OP_TXN_BEGIN: starts a transaction in `mode` (MODE_EC, MODE_ODA, MODE_AUTO, MODE_FULL) with
 * the INPUT_* layout.
 * Returns STATUS_NEED_APDU (SELECT PPSE), STATUS_NOT_ACCEPTED (amount over the limit),
 * ERR_TXN_NOT_CONFIGURED, ERR_TXN_INPUT_INVALID or ERR_BAD_STATE.
 */
export function qpbocBegin(mode: u32, input: usize, length: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  if (!configReady()) return ERR_TXN_NOT_CONFIGURED;
  if (ctx.phase != PHASE_IDLE && ctx.phase != PHASE_DONE) return ERR_BAD_STATE;
  if (mode > MODE_FULL) return ERR_TXN_INPUT_INVALID;
  if (length != INPUT_BYTES && length != INPUT_BYTES_WITH_SEQUENCE) return ERR_TXN_INPUT_INVALID;
  const sequence = length == INPUT_BYTES || bcdValid(input + INPUT_SEQUENCE, 4);
  if (
    !sequence ||
    !bcdValid(input + INPUT_AMOUNT, 6) ||
    !dateValid(input + INPUT_DATE) ||
    !timeValid(input + INPUT_TIME) ||
    !bcdValid(input + INPUT_TYPE, 1)
  ) {
    return ERR_TXN_INPUT_INVALID;
  }
  ctx.reset();
  ctx.mode = mode;
  const data = gpoTerminalData(input, length);
  if (data != STATUS_OK) return kernelFail(data);
  if (mode == MODE_ODA) gpoSetPath(PATH_QPBOC_ODA);
  const limit = beginLimits(input + INPUT_AMOUNT);
  if (limit != 0) {
    return kernelFinish(STATUS_NOT_ACCEPTED, REASON_AMOUNT_OVER_LIMIT, limit, RECORD_NONE);
  }
  lastRejectDetail = 0;
  entryReset();
  return kernelStage(entryPpseCommand(), PHASE_PPSE);
}


/**
 * The terminal limits against the amount (domain.md 2.1, UnionPay DF19/DF20/DF21). Returns the
 * tag of the limit that refuses the transaction (detail of REASON_AMOUNT_OVER_LIMIT), or 0:
 * - amount >= DF20: contactless not allowed (and a bus validator has no other interface);
 * - amount >= DF21: a CVM would be required, and an unattended validator performs none (9F33
 *   offers no CVM; transit sets DF21 above every fare);
 * - amount > DF19: it may not be approved offline (EMV 4.4 Book 3, 10.6.1: TVR byte 4 bit 8):
 *   refused in the EC lane, which cannot go online; mode auto skips the e-cash probe and takes
 *   the ODA path; ODA and full modes ask for an ARQC anyway.
 */
function beginLimits(amount: usize): i32 {
  const transaction = configLimitPtr();
  if (transaction != 0 && bcdCompare(amount, transaction, 6) >= 0) return <i32>0xdf20;
  const cvm = configCvmLimitPtr();
  if (cvm != 0 && bcdCompare(amount, cvm, 6) >= 0) return <i32>0xdf21;
  const floor = configFloorLimitPtr();
  if (floor == 0 || bcdCompare(amount, floor, 6) <= 0) return 0;
  ctx.overFloorLimit = true;
  tvrSet(3, TVR4_OVER_FLOOR_LIMIT);
  return ctx.mode == MODE_EC ? <i32>0xdf19 : 0;
}

/**
 * OP_TXN_RESUME: the R-APDU answering the last C-APDU. Returns STATUS_NEED_APDU,
 * STATUS_NEED_HOST_DECISION, a final outcome, ERR_BAD_STATE, or a terminating -100s/-200s/-300s
 * status (only before the commit).
 */
export function qpbocResume(rapdu: usize, length: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  const phase = ctx.phase;
  if (phase == PHASE_IDLE || phase == PHASE_DONE || phase == PHASE_DECISION) return ERR_BAD_STATE;
  const received = ttlReceive(rapdu, length);
  if (received == TTL_SEND) return kernelEmit();
  if (received != STATUS_OK) {
    // The debit is complete before GET DATA 9F79: a bad balance answer only loses the balance.
    if (phase == PHASE_BALANCE) return kernelApprove();
    return kernelFail(received);
  }
  const data = ttlResponsePtr();
  const dataLength = ttlResponseLength();
  const sw = ttlSw;
  switch (phase) {
    case PHASE_PPSE:
      return onPpse(data, dataLength, sw);
    case PHASE_SELECT:
      return onSelect(data, dataLength, sw);
    case PHASE_GPO:
      return onGpo(data, dataLength, sw);
    case PHASE_RECORD:
      return onRecord(data, dataLength, sw);
    case PHASE_BALANCE:
      return onBalance(data, dataLength, sw);
    case PHASE_EC_PROBE:
      return onProbe(data, dataLength, sw);
    case PHASE_INTERNAL_AUTH:
      return fullOnInternalAuth(data, dataLength, sw);
    case PHASE_GENERATE_AC:
      return fullOnGenerateAc(data, dataLength, sw);
    case PHASE_RECOVER_SELECT:
      return recoverOnSelect(data, dataLength, sw);
    case PHASE_RECOVER_ATC:
      return recoverOnAtc(data, dataLength, sw);
    default:
      return ERR_BAD_STATE;
  }
}

function onPpse(data: usize, length: u32, sw: u32): i32 {
  if (sw == SW_6A82) {
    // No PPSE: select the terminal's AIDs directly (domain.md 1.3 rule 7).
    entryDirectCandidates();
    return selectNext();
  }
  if (sw != SW_9000) return kernelFinish(STATUS_NOT_ACCEPTED, REASON_PPSE_FAILED, sw, RECORD_NONE);
  const parsed = entryPpseParse(data, length);
  if (parsed != STATUS_OK) {
    // An unusable PPSE answer: build the list from the terminal's AIDs (EMV Book B, 3.3.3).
    lastRejectDetail = parsed;
    entryDirectCandidates();
  }
  return selectNext();
}

/**
 * The selection step goes on after another application refused its candidate (`detail` why):
 * the next candidate, or the end of selection. Returns what selectNext returns.
 */
export function qpbocSelectContinue(detail: i32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  assert(ctx.phase == PHASE_DONE, 'handed over to another application');
  lastRejectDetail = detail;
  return selectNext();
}

/**
 * SELECT of the next candidate, ENTRY_ROUTE when it belongs to another application (the router
 * above hands it over; qPBOC is done unless the card comes back), or the end of selection.
 */
function selectNext(): i32 {
  if (entryExhausted()) {
    const detail = lastRejectDetail;
    // Auto mode: a purse the probe showed short, and no other way to pay (e.g. an EC-only card
    // refusing the full-flow GPO with 6985): not enough e-cash (README, mode auto).
    if (ctx.purseShort) {
      return kernelFinish(STATUS_DECLINED, REASON_INSUFFICIENT_ECASH, detail, RECORD_NONE);
    }
    return kernelFinish(STATUS_NOT_ACCEPTED, REASON_NO_ACCEPTED_APP, detail, RECORD_NONE);
  }
  const index = entryCandidateIndex();
  if (entryCandidateApp(index) != APP_QPBOC) {
    ctx.phase = PHASE_DONE;
    outUsed = 0;
    return ENTRY_ROUTE;
  }
  return kernelStage(entrySelectCommand(index), PHASE_SELECT);
}

function selectDrop(detail: i32): i32 {
  lastRejectDetail = detail;
  ctx.card.clear();
  ctx.fci.clear();
  entryCandidateDrop();
  return selectNext();
}

function onSelect(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return selectDrop(<i32>sw);
  const index = entryCandidateIndex();
  const aid = entryCandidateAid(index);
  const aidLength = entryCandidateLength(index);
  const fci = selectFciParse(data, length, aid, aidLength);
  if (fci != STATUS_OK) return selectDrop(fci);
  ctx.card.clear();
  // Auto mode asks for the e-cash balance first: does the purse pay the fare? (README, auto)
  // Above the floor limit the purse may not pay offline: no probe, the ODA path at once.
  if (ctx.mode == MODE_AUTO && ctx.overFloorLimit) gpoSetPath(onlinePath());
  if (ctx.mode == MODE_AUTO && !ctx.overFloorLimit) {
    // Each candidate is probed afresh: a previous application's balance is not this one's.
    ctx.probeValid = false;
    return kernelStage(kernelGetData(0x9f, 0x79), PHASE_EC_PROBE);
  }
  // ODA mode: DF61 online ODA → qPBOC ODA for online, else the full flow (domain.md 6.2).
  if (ctx.mode == MODE_ODA) gpoSetPath(onlinePath());
  if (ctx.mode == MODE_FULL) gpoSetPath(PATH_FULL_FLOW);
  return gpoStage();
}

function gpoStage(): i32 {
  const staged = gpoCommand();
  if (staged != STATUS_OK) return selectDrop(staged);
  ctx.phase = PHASE_GPO;
  return kernelEmit();
}

/**
 * Auto mode, after GET DATA 9F79: a valid balance that covers the fare takes the EC path; else
 * a card flagging online ODA (FCI DF61 byte 1 bit 0x40, domain.md 6.2) the qPBOC ODA path;
 * else the full contactless PBOC flow.
 */
function onProbe(data: usize, length: u32, sw: u32): i32 {
  const value = sw == SW_9000 ? checksGetDataValue(data, length) : 0;
  if (value != 0) {
    bytesCopy(ctx.probeBalance, value, 6);
    ctx.probeValid = true;
  }
  const short = ctx.probeValid && checksEcashShort();
  if (short) ctx.purseShort = true;
  gpoSetPath(ctx.probeValid && !short ? PATH_QPBOC_EC : onlinePath());
  ctx.card.clear();
  return gpoStage();
}

/** The path of a card that pays later: qPBOC ODA when DF61 flags online ODA, else full flow. */
function onlinePath(): u8 {
  const df61 = ctx.fci.find(TAG_DF61_CAPP_INDICATOR);
  if (df61 < 0 || ctx.fci.valueLength(df61) < 1) return PATH_FULL_FLOW;
  const online = (load<u8>(ctx.fci.valuePtr(df61)) & DF61_ONLINE_ODA) != 0;
  return online ? PATH_QPBOC_ODA : PATH_FULL_FLOW;
}

function onGpo(data: usize, length: u32, sw: u32): i32 {
  // 6985: conditions of use not satisfied for this AID, try the next (domain.md 1.3 rule 4).
  if (sw == SW_6985) return selectDrop(<i32>sw);
  if (sw == SW_6984) {
    return kernelFinish(
      STATUS_TRY_ANOTHER_INTERFACE,
      REASON_USE_ANOTHER_INTERFACE,
      sw,
      RECORD_NONE,
    );
  }
  if (sw != SW_9000) return kernelFail(ERR_SW_UNEXPECTED);
  const parsed = gpoResponse(data, length);
  if (parsed == GPO_FORMAT1) {
    if (ctx.path == PATH_QPBOC_EC) {
      return kernelFinish(STATUS_NOT_ACCEPTED, REASON_FULL_FLOW_REQUIRED, 0, RECORD_NONE);
    }
    // ODA and auto modes: a stock card answers for the full flow whatever the TTQ said.
    ctx.path = PATH_FULL_FLOW;
  } else if (parsed != STATUS_OK) {
    return kernelFail(parsed);
  } else {
    const iad = checksIad();
    if (iad != STATUS_OK) {
      return kernelFinish(STATUS_DECLINED, REASON_CARD_DATA_INCONSISTENT, iad, RECORD_NONE);
    }
    // A qPBOC-only card (a phone) answers the full-flow TTQ with a cryptogram: qPBOC ODA.
    if (ctx.path == PATH_FULL_FLOW) ctx.path = PATH_QPBOC_ODA;
  }
  const plan = recordsPlan();
  if (plan != STATUS_OK) return kernelFail(plan);
  if (ctx.path == PATH_FULL_FLOW) return fullAfterGpo();
  return ctx.path == PATH_QPBOC_EC ? afterGpoEc() : afterGpoOda();
}

function afterGpoEc(): i32 {
  if (ctx.acType != AC_TC) {
    // A phone (CTQ byte 2 bit 8: consumer-device CVM, domain.md 2.2, 10.17) has no purse to
    // top up: another kind of card is needed here. Otherwise a purse the IAD or the auto probe
    // shows short of the fare is "not enough e-cash" (domain.md 2.5).
    if (checksMobileDevice()) {
      return kernelFinish(STATUS_NOT_ACCEPTED, REASON_KIND_NOT_ACCEPTED, 0, RECORD_NONE);
    }
    if (checksEcashShort()) {
      return kernelFinish(STATUS_DECLINED, REASON_INSUFFICIENT_ECASH, 0, RECORD_NONE);
    }
    if (ctx.acType == AC_ARQC) {
      return kernelFinish(STATUS_NOT_ACCEPTED, REASON_KIND_NOT_ACCEPTED, 0, RECORD_NONE);
    }
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DECLINED, 0, RECORD_NONE);
  }
  // A 9F5D in the GPO answer is checked before anything is debited.
  const early = ctx.card.find(TAG_9F5D_AVAILABLE_OFFLINE);
  if (early >= 0) {
    const bad = checksBalanceInvalid(ctx.card.valuePtr(early), ctx.card.valueLength(early));
    if (bad != 0) return kernelFinish(STATUS_DECLINED, bad, 0, RECORD_NONE);
  }
  // The TC path needs the AFL: the card commits on its last record (domain.md 1.5, 4.1).
  if (ctx.recordCount == 0) return kernelFail(ERR_CARD_MANDATORY_MISSING);
  if (!odaSupported()) {
    return kernelFinish(STATUS_DECLINED, REASON_ODA_NOT_SUPPORTED, 0, RECORD_NONE);
  }
  return readNext();
}

function afterGpoOda(): i32 {
  if (ctx.acType == AC_TC) {
    return kernelFinish(STATUS_DECLINED, REASON_CRYPTOGRAM_NOT_ARQC, 0, RECORD_NONE);
  }
  if (ctx.acType != AC_ARQC) {
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DECLINED, 0, RECORD_NONE);
  }
  if (!odaSupported()) {
    return kernelFinish(STATUS_DECLINED, REASON_ODA_NOT_SUPPORTED, 0, RECORD_NONE);
  }
  // Without records there are no certificates: the card cannot be authenticated (6.2).
  if (ctx.recordCount == 0) {
    return kernelFinish(STATUS_DECLINED, REASON_ODA_DATA_MISSING, odaInputsCheck(), RECORD_NONE);
  }
  return readNext();
}

/** Reads the next planned record, stopping for the host decision before the last one. */
export function readNext(): i32 {
  const index = ctx.recordNext;
  assert(index < ctx.recordCount, 'a record remains');
  // The full flow stages nothing on the card: its decision point comes before GENERATE AC.
  const last = recordIsLast(index) && ctx.path != PATH_FULL_FLOW;
  if (last && !ctx.decided) return preCommit();
  const staged = recordCommand(index);
  if (staged != STATUS_OK) return kernelFail(staged);
  if (last) ctx.commitSent = true;
  ctx.phase = PHASE_RECORD;
  return kernelEmit();
}

function preCommit(): i32 {
  if (!checksPanConsistent()) {
    if (ctx.recovering) return recoverPanMismatch();
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DATA_INCONSISTENT, 0, RECORD_NONE);
  }
  const dates = checksDatesTvr();
  if (dates != 0) return kernelFinish(STATUS_DECLINED, dates, 0, RECORD_NONE);
  // ODA before the commit as far as the data allows: a failure then costs no debit.
  if (!ctx.odaDone && recordsOdaComplete()) {
    const early = odaBeforeCommit();
    if (early != STATUS_OK) {
      return kernelFinish(STATUS_DECLINED, REASON_ODA_FAILED, early, RECORD_NONE);
    }
  }
  return kernelDecisionPoint();
}

/** Stops at the decision point with the card identity (the host answers OP_TXN_DECIDE). */
export function kernelDecisionPoint(): i32 {
  ctx.phase = PHASE_DECISION;
  outUsed = decisionRequestWrite(outPtr, outCapacity);
  return STATUS_NEED_HOST_DECISION;
}

/**
 * OP_TXN_DECIDE: the host's answer at the decision point. Proceed sends the last READ RECORD
 * (the commit); a deny ends the transaction without it, so the card is never debited.
 * Returns STATUS_NEED_APDU, STATUS_DECLINED, ERR_TXN_DECISION_INVALID or ERR_BAD_STATE.
 */
export function qpbocDecide(decision: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  if (ctx.phase != PHASE_DECISION) return ERR_BAD_STATE;
  switch (decision) {
    case DECISION_PROCEED:
      ctx.decided = true;
      return ctx.path == PATH_FULL_FLOW ? fullGenerateAc() : readNext();
    case DECISION_DENY_LIST:
      tvrSet(0, TVR1_EXCEPTION_FILE);
      return kernelFinish(STATUS_DECLINED, REASON_DENY_LIST, 0, RECORD_NONE);
    case DECISION_DUPLICATE_TAP:
      return kernelFinish(STATUS_DECLINED, REASON_DUPLICATE_TAP, 0, RECORD_NONE);
    case DECISION_REFUSED:
      return kernelFinish(STATUS_DECLINED, REASON_HOST_REFUSED, 0, RECORD_NONE);
    default:
      return ERR_TXN_DECISION_INVALID;
  }
}

function onRecord(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) {
    if (ctx.recovering) return recoverOnRecordRefused(sw);
    if (recordMissingAfterTc(sw)) {
      ctx.commitSent = true;
      return kernelDeclineAfterCommit(REASON_CARD_DATA_INCONSISTENT, ERR_SW_UNEXPECTED);
    }
    return kernelFail(ERR_SW_UNEXPECTED);
  }
  const index = ctx.recordNext;
  const status = recordResponse(index, data, length);
  if (status != STATUS_OK) return kernelFail(status);
  if (ctx.recovering && !ctx.commitSent && !checksPanConsistent()) return recoverPanMismatch();
  ctx.recordNext = index + 1;
  if (ctx.recordNext < ctx.recordCount) return readNext();
  return ctx.path == PATH_FULL_FLOW ? fullAfterRecords() : afterCommit();
}

/**
 * A record of the AFL the card says it does not have (6A83), after a record it answered and
 * with a TC staged: the card's AFL ends before the kernel's, so the card took the record
 * before as its last and committed its debit (qPBOC cards commit on their last record). The
 * AFL came damaged: a PN532 frame's 8-bit checksum misses two bit flips that cancel (swarm
 * seed 128, --taps 5000: the debit was left without a record). Declined after the commit,
 * the ICC data kept for clearing, flagged; never a tap with no record. The same answer to a
 * READ RECORD damaged on its way to the card, or from a card whose AFL lists a record it
 * lacks, records a debit the card did not make: flagged for the back office, and the re-tap
 * is already paid (its final is the card's last), so the rider pays once either way.
 */
function recordMissingAfterTc(sw: u32): bool {
  return sw == SW_6A83_RECORD_NOT_FOUND && ctx.acType == AC_TC && ctx.recordNext > 0
    && ctx.path != PATH_FULL_FLOW;
}

/**
 * Runs the ODA stages whose inputs are complete (all signed records read). When 9F69 may still
 * come, the SDAD checks that need no hash run now (a clone is refused before its debit) and the
 * hash after the commit. Returns STATUS_OK (passed, or deferred until after the commit) or the
 * failing check.
 */
function odaBeforeCommit(): i32 {
  if (!ctx.odaCertificatesOk && odaCertificateInputsPresent()) {
    const status = odaCertificates();
    if (status != STATUS_OK) {
      if (odaStatusIsMissingInput(status)) return STATUS_OK;
      return odaSettle(status);
    }
    ctx.odaCertificatesOk = true;
  }
  if (!ctx.odaCertificatesOk) return odaIssuerBeforeCommit();
  if (odaSignatureInputsPresent()) return odaSettle(odaSignature());
  const early = odaSdadPrecheck();
  if (early == STATUS_OK || odaStatusIsMissingInput(early)) return STATUS_OK;
  return odaSettle(early);
}

/**
 * The ICC certificate has not come (or came damaged: a PN532 frame's 8-bit checksum misses
 * changes that cancel, swarm seed 430 turned 9F46 into 9F44). The issuer certificate alone
 * still shows a revoked, expired or forged issuer: refused now, before the debit, where the
 * full check after the commit could only decline a paid tap. Missing inputs wait as before.
 */
function odaIssuerBeforeCommit(): i32 {
  if (!odaIssuerInputsPresent()) return STATUS_OK;
  const status = odaIssuerCertificate();
  if (status == STATUS_OK || odaStatusIsMissingInput(status)) return STATUS_OK;
  return odaSettle(status);
}

/** Records the final ODA result, and its method, in the context and in TVR/TSI. */
export function odaSettle(status: i32): i32 {
  ctx.odaDone = true;
  ctx.odaOk = status == STATUS_OK;
  ctx.odaStatus = status;
  ctx.odaMethod = odaMethodOf();
  tvrOdaSettled(ctx.odaMethod, ctx.odaOk, odaStatusIsMissingInput(status));
  return status;
}

function afterCommit(): i32 {
  if (!checksPanConsistent()) {
    return kernelDeclineAfterCommit(REASON_CARD_DATA_INCONSISTENT, ERR_CARD_DATA_INVALID);
  }
  const dates = checksDatesTvr();
  if (dates != 0) return kernelDeclineAfterCommit(dates, 0);
  if (!ctx.odaDone) odaSettle(ctx.odaCertificatesOk ? odaSignature() : odaRun());
  if (!ctx.odaOk) {
    const missing = odaStatusIsMissingInput(ctx.odaStatus);
    return kernelDeclineAfterCommit(
      missing ? REASON_ODA_DATA_MISSING : REASON_ODA_FAILED,
      ctx.odaStatus,
    );
  }
  const balance = ctx.card.find(TAG_9F5D_AVAILABLE_OFFLINE);
  if (balance >= 0) {
    const bad = checksBalance(ctx.card.valuePtr(balance), ctx.card.valueLength(balance));
    // The debit happened: keep its ICC data, but never show a balance beyond the limit.
    if (bad != 0 && ctx.path == PATH_QPBOC_EC) return kernelDeclineAfterCommit(bad, 0);
  }
  const known = ctx.balanceValid || ctx.allowance;
  if (!known && ctx.path == PATH_QPBOC_EC) return kernelStage(balanceCommand(), PHASE_BALANCE);
  return kernelApprove();
}

function balanceCommand(): i32 {
  return kernelGetData(0x9f, 0x79);
}

/** Stages GET DATA 80 CA P1 P2 00 (domain.md 1.7). */
export function kernelGetData(p1: u8, p2: u8): i32 {
  return ttlCommand(0x80, INS_CA_GET_DATA, p1, p2, 0, 0, true, 256);
}

function onBalance(data: usize, length: u32, sw: u32): i32 {
  if (sw == SW_9000) checksGetDataBalance(data, length);
  return kernelApprove();
}

/** Approves (EC) or admits pending authorisation (ODA) with the clearing record. */
export function kernelApprove(): i32 {
  if (ctx.path == PATH_FULL_FLOW) {
    const reason = REASON_FULL_FLOW_ADMITTED;
    return kernelFinish(STATUS_ADMITTED_PENDING_AUTH, reason, 0, RECORD_CLEARING);
  }
  if (ctx.path != PATH_QPBOC_EC) {
    return kernelFinish(STATUS_ADMITTED_PENDING_AUTH, REASON_ODA_ADMITTED, 0, RECORD_CLEARING);
  }
  return kernelFinish(STATUS_APPROVED_OFFLINE, REASON_OFFLINE_APPROVED, 0, RECORD_CLEARING);
}

/**
 * OP_TXN_LINK_LOST: the host could not exchange the last C-APDU (`cause`: 1 timeout, 2 card
 * gone, 3 reader error). Before GPO, or on a card that staged no debit: STATUS_TRY_AGAIN.
 * After a TC and before the last record's answer (or during recovery): STATUS_TORN with the
 * torn record. During GET DATA 9F79 the debit is complete: the approval stands.
 * Returns one of those, ERR_TXN_INPUT_INVALID (cause 0) or ERR_BAD_STATE.
 */
export function qpbocLinkLost(cause: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  if (cause == 0 || cause > 0xff) return ERR_TXN_INPUT_INVALID;
  switch (ctx.phase) {
    case PHASE_PPSE:
    case PHASE_SELECT:
    case PHASE_GPO:
    case PHASE_EC_PROBE:
    case PHASE_INTERNAL_AUTH:
    case PHASE_GENERATE_AC:
      ctx.linkLostCause = cause;
      return kernelFinish(STATUS_TRY_AGAIN, REASON_LINK_LOST, 0, RECORD_NONE);
    case PHASE_RECORD:
    case PHASE_DECISION:
      ctx.linkLostCause = cause;
      if (ctx.recovering || ctx.acType == AC_TC) {
        return kernelFinish(STATUS_TORN, REASON_LINK_LOST, 0, RECORD_TORN);
      }
      return kernelFinish(STATUS_TRY_AGAIN, REASON_LINK_LOST, 0, RECORD_NONE);
    case PHASE_BALANCE:
      return kernelApprove();
    case PHASE_RECOVER_SELECT:
    case PHASE_RECOVER_ATC:
      ctx.linkLostCause = cause;
      return kernelFinish(STATUS_TORN, REASON_LINK_LOST, 0, RECORD_TORN);
    default:
      return ERR_BAD_STATE;
  }
}

/**
 * OP_TXN_RECOVER: starts the recovery of a torn transaction from its torn record.
 * Returns STATUS_NEED_APDU (SELECT of the stored AID), ERR_TXN_NOT_CONFIGURED,
 * ERR_TXN_TORN_RECORD_INVALID or ERR_BAD_STATE.
 */
export function qpbocRecover(torn: usize, length: u32, out: usize, cap: u32): i32 {
  outSet(out, cap);
  if (!configReady()) return ERR_TXN_NOT_CONFIGURED;
  if (ctx.phase != PHASE_IDLE && ctx.phase != PHASE_DONE) return ERR_BAD_STATE;
  return recoverBegin(torn, length);
}

/** OP_TXN_ABORT: forgets the transaction in flight. */
export function qpbocAbort(): void {
  ctx.reset();
  outUsed = 0;
}
