// Torn-transaction recovery without a new GPO: re-select, confirm ATC, re-read, finish.
//
// domain.md 4.3-4.4: a card with a pending EC debit keeps it across power loss and answers the
// outstanding READ RECORDs again (committing if it had not); a new GPO would abandon it. So the
// kernel selects the stored AID, checks the ATC with GET DATA 9F36, and re-reads from the first
// record whose answer it never got. Any sign of another card or another transaction ends with
// STATUS_RECOVERY_NOT_PENDING before the commit point, so no other card is ever debited here.

import {
  STATUS_OK,
  STATUS_TORN,
  STATUS_RECOVERY_NOT_PENDING,
  ERR_TXN_TORN_RECORD_INVALID,
  ERR_CARD_DATA_INVALID,
} from '../status/status';
import { bytesEqual } from '../util/bytes';
import { tlvValueStart, tlvValueLength } from '../iso8825/ber_tlv';
import { TAG_84_DF_NAME, TAG_9F36_ATC } from '../emv/emv_tags';
import { ctx, PHASE_RECOVER_SELECT, PHASE_RECOVER_ATC, AID_BYTES_MAX } from './qpboc_context';
import { selectFciParse, selectSingle } from './qpboc_select';
import {
  entryCandidateSet,
  entrySelectCommand,
  entryCandidateAid,
  entryCandidateLength,
} from '../entry/entry_select';
import { APP_QPBOC } from '../entry/entry_aids';
import { tornRecordLoad } from './qpboc_torn';
import {
  REASON_ATC_MISMATCH,
  REASON_ATC_UNAVAILABLE,
  REASON_LINK_LOST,
  REASON_RECOVERY_REFUSED,
  REASON_PAN_MISMATCH,
} from './qpboc_reason';
import { RECORD_NONE, RECORD_TORN } from './qpboc_outcome';
import { kernelFinish, kernelStage, kernelGetData, readNext } from './qpboc_kernel';

const SW_9000: u32 = 0x9000;

/** Loads the torn record and stages SELECT of its AID. */
export function recoverBegin(torn: usize, length: u32): i32 {
  ctx.reset();
  const loaded = tornRecordLoad(torn, length);
  if (loaded != STATUS_OK) {
    ctx.reset();
    return ERR_TXN_TORN_RECORD_INVALID;
  }
  ctx.recovering = true;
  const name = ctx.fci.find(TAG_84_DF_NAME);
  assert(name >= 0, 'torn record has 84');
  const nameLength = ctx.fci.valueLength(name);
  entryCandidateSet(ctx.fci.valuePtr(name), nameLength, APP_QPBOC);
  return kernelStage(entrySelectCommand(0), PHASE_RECOVER_SELECT);
}

function notPending(reason: u8, detail: i32): i32 {
  return kernelFinish(STATUS_RECOVERY_NOT_PENDING, reason, detail, RECORD_NONE);
}

/**
 * A 9000 answer to the recovery's SELECT or GET DATA that does not read (the card the UID
 * found, whose FCI and ATC read in the torn tap): bits flipped on the way back (a PN532
 * frame's 8-bit checksum misses two flips that cancel). It is no sign that nothing is
 * pending: taken as one, a committed debit was charged again by the new transaction that
 * follows (swarm seed 33). The command goes once more; damaged again, the tap is torn again
 * (the link is suspect) and the card's next tap recovers it.
 */
function recoverDamaged(detail: i32, phase: u32): i32 {
  if (ctx.recoverDamaged) return kernelFinish(STATUS_TORN, REASON_LINK_LOST, detail, RECORD_TORN);
  return recoverAskAgain(phase);
}

/**
 * SELECT or GET DATA refused (an SW other than 9000): asked once more too, as a damaged SW
 * reads as a refusal; refused again, nothing is pending on this card.
 */
function recoverRefused(reason: u8, sw: u32, phase: u32): i32 {
  if (ctx.recoverDamaged) return notPending(reason, <i32>sw);
  return recoverAskAgain(phase);
}

function recoverAskAgain(phase: u32): i32 {
  ctx.recoverDamaged = true;
  const again = phase == PHASE_RECOVER_SELECT ? entrySelectCommand(0) : kernelGetData(0x9f, 0x36);
  return kernelStage(again, phase);
}

/** SELECT answer: the same application must answer with the same DF name. */
export function recoverOnSelect(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return recoverRefused(REASON_RECOVERY_REFUSED, sw, PHASE_RECOVER_SELECT);
  const aidLength = entryCandidateLength(0);
  assert(aidLength <= AID_BYTES_MAX, 'stored AID length');
  const fci = selectFciParse(data, length, entryCandidateAid(0), aidLength);
  if (fci != STATUS_OK) return recoverDamaged(fci, PHASE_RECOVER_SELECT);
  const name = ctx.fci.find(TAG_84_DF_NAME);
  if (ctx.fci.valueLength(name) != aidLength) {
    return notPending(REASON_RECOVERY_REFUSED, ERR_CARD_DATA_INVALID);
  }
  return kernelStage(kernelGetData(0x9f, 0x36), PHASE_RECOVER_ATC);
}

/** GET DATA 9F36 answer: the ATC must still be the torn transaction's (no GPO since). */
export function recoverOnAtc(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return recoverRefused(REASON_ATC_UNAVAILABLE, sw, PHASE_RECOVER_ATC);
  const single = selectSingle(data, length, TAG_9F36_ATC, false);
  if (single != STATUS_OK || tlvValueLength != 2) {
    return recoverDamaged(ERR_CARD_DATA_INVALID, PHASE_RECOVER_ATC);
  }
  const value = data + <usize>tlvValueStart;
  const stored = ctx.card.find(TAG_9F36_ATC);
  assert(stored >= 0 && ctx.card.valueLength(stored) == 2, 'torn record ATC');
  const storedPtr = ctx.card.valuePtr(stored);
  if (!bytesEqual(value, storedPtr, 2)) {
    const now = ((<i32>load<u8>(value)) << 8) | (<i32>load<u8>(value + 1));
    const then = ((<i32>load<u8>(storedPtr)) << 8) | (<i32>load<u8>(storedPtr + 1));
    return notPending(REASON_ATC_MISMATCH, (now << 16) | then);
  }
  return readNext();
}

/**
 * A re-read record was refused: nothing is pending on this card. Except that the answer to the
 * committing re-read may have been damaged on its way back after the card committed (a UART
 * frame's 8-bit checksum misses two flips that cancel): that command is sent once more. A card
 * that abandoned the staged debit refuses it again; one that committed answers the record, as
 * it keeps its last transaction's records until its next GPO. Taken as "not pending", a
 * committed debit would be charged again by the new transaction that follows.
 */
export function recoverOnRecordRefused(sw: u32): i32 {
  if (ctx.commitSent && !ctx.recoverAskedAgain) {
    ctx.recoverAskedAgain = true;
    return readNext();
  }
  return notPending(REASON_RECOVERY_REFUSED, <i32>sw);
}

/** A re-read record carries another PAN: another card, stop before the commit point. */
export function recoverPanMismatch(): i32 {
  return notPending(REASON_PAN_MISMATCH, ERR_CARD_DATA_INVALID);
}
