// Application selection: SELECT PPSE, the ordered candidate list, SELECT AID and its FCI.
//
// See EMV 4.4 Book B (Entry Point) 3.3 and Book 1, 12.3-12.4; domain.md 1.2-1.4 for the
// UnionPay specifics (partial match on A000000333 0101, priority from tag 87).

import {
  STATUS_OK,
  ERR_CARD_TEMPLATE,
  ERR_CARD_TRAILING_DATA,
  ERR_CARD_MANDATORY_MISSING,
  ERR_CARD_PPSE_INVALID,
  ERR_CARD_DATA_INVALID,
  ERR_TLV_NOT_FOUND,
} from '../abi/status';
import { bytesCopy, bytesEqual } from '../util/bytes';
import {
  TLV_END,
  tlvDecodeOne,
  tlvFindChild,
  tlvTag,
  tlvHeaderStart,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
  tlvConstructed,
} from '../iso8825/ber_tlv';
import {
  TAG_4F_AID,
  TAG_61_DIRECTORY_ENTRY,
  TAG_6F_FCI,
  TAG_84_DF_NAME,
  TAG_87_PRIORITY,
  TAG_9F38_PDOL,
  TAG_9F66_TTQ,
  TAG_A5_FCI_PROPRIETARY,
  TAG_BF0C_FCI_DISCRETIONARY,
} from '../emv/emv_tags';
import { dolParse, dolEntryCount, dolEntryTag } from '../emv/emv_dol';
import { INS_A4_SELECT } from '../iso7816/iso7816_apdu';
import { ttlCommand } from '../emv/emv_ttl';
import { ctx, CANDIDATES_MAX, AID_BYTES_MAX, AID_BYTES_MIN } from './qpboc_context';
import { configAidMatch, configAidCount, configAidPtr, configAidLength } from './qpboc_config';

/** "2PAY.SYS.DDF01", the contactless PPSE name (EMV Book B 3.3.2). */
const PPSE_NAME = memory.data<u8>([
  0x32, 0x50, 0x41, 0x59, 0x2e, 0x53, 0x59, 0x53, 0x2e, 0x44, 0x44, 0x46, 0x30, 0x31,
]);
const PPSE_NAME_LENGTH: u32 = 14;
/** Priority given to entries without tag 87 (or with 0): after every numbered priority. */
const PRIORITY_LOWEST: u8 = 16;

/** Stages SELECT PPSE: 00 A4 04 00 0E "2PAY.SYS.DDF01" 00. */
export function selectPpseCommand(): i32 {
  return ttlCommand(0x00, INS_A4_SELECT, 0x04, 0x00, PPSE_NAME, PPSE_NAME_LENGTH, true, 256);
}

/** Stages SELECT of candidate `index` (first occurrence, P2 = 00). */
export function selectAidCommand(index: u32): i32 {
  assert(index < ctx.candidateCount, 'candidate index');
  const aid = ctx.candidateAids + <usize>(index * AID_BYTES_MAX);
  const length = <u32>load<u8>(ctx.candidateLengths + <usize>index);
  assert(length >= AID_BYTES_MIN && length <= AID_BYTES_MAX, 'candidate length');
  return ttlCommand(0x00, INS_A4_SELECT, 0x04, 0x00, aid, length, true, 256);
}

/**
 * Requires `data[0..length)` to be exactly one `tag` template (00/FF padding allowed after it).
 * Returns STATUS_OK (tlv* globals describe it), ERR_CARD_TEMPLATE, ERR_CARD_TRAILING_DATA or a
 * decode error.
 */
export function selectSingleTemplate(data: usize, length: u32, tag: u32): i32 {
  return selectSingle(data, length, tag, true);
}

/**
 * Requires `data[0..length)` to be exactly one object `tag`, constructed or primitive as asked
 * (00/FF padding allowed after it). The one parser of every "single object" card answer: GPO
 * format 1 (80) and format 2 (77), records (70), FCIs (6F), GET DATA (9F79, 9F36), GENERATE AC
 * and INTERNAL AUTHENTICATE (80 / 77). Returns STATUS_OK (tlv* globals describe the object),
 * ERR_CARD_TEMPLATE (absent, another tag or the other form), ERR_CARD_TRAILING_DATA or a
 * decode error.
 */
export function selectSingle(data: usize, length: u32, tag: u32, constructed: bool): i32 {
  const status = tlvDecodeOne(data, 0, length);
  if (status == TLV_END) return ERR_CARD_TEMPLATE;
  if (status != STATUS_OK) return status;
  if (tlvTag != tag || tlvConstructed != constructed) return ERR_CARD_TEMPLATE;
  const start = tlvValueStart;
  const size = tlvValueLength;
  const after = tlvDecodeOne(data, tlvNext, length);
  if (after != TLV_END) return ERR_CARD_TRAILING_DATA;
  // Restore the globals to the object for the caller.
  tlvDecodeOne(data, 0, length);
  assert(tlvValueStart == start && tlvValueLength == size, 'single object re-decode');
  return STATUS_OK;
}

/** Where the template taken by selectTakeTemplate lies: header, value, end. */
export let takenHeader: u32 = 0;
export let takenStart: u32 = 0;
export let takenEnd: u32 = 0;

/**
 * Takes the one `tag` template of `data[0..length)` (selectSingleTemplate) and stores its
 * objects in ctx.card, a repeated tag refused (EMV 4.4 Book 3, 10.2): GPO format 2, records,
 * the GENERATE AC answer. Sets takenHeader / takenStart / takenEnd.
 * Returns STATUS_OK, ERR_CARD_TEMPLATE, ERR_CARD_TRAILING_DATA, ERR_TLV_DUPLICATE,
 * ERR_TLV_STORE_FULL or a TLV error.
 */
export function selectTakeTemplate(data: usize, length: u32, tag: u32): i32 {
  const single = selectSingle(data, length, tag, true);
  if (single != STATUS_OK) return single;
  takenHeader = tlvHeaderStart;
  takenStart = tlvValueStart;
  takenEnd = tlvNext;
  assert(takenHeader < takenStart && takenStart <= takenEnd, 'taken template bounds');
  return ctx.card.putAll(data, takenStart, takenEnd, false);
}

/**
 * Builds the candidate list from a PPSE FCI (6F > A5 > BF0C > 61*): accepted AIDs only, ordered
 * by priority (87 low nibble, 1 first, 0 or absent last), PPSE order on ties, duplicates
 * dropped, at most CANDIDATES_MAX. Returns STATUS_OK (the list may be empty),
 * ERR_CARD_PPSE_INVALID or ERR_CARD_TRAILING_DATA.
 */
export function selectPpseParse(data: usize, length: u32): i32 {
  ctx.candidateCount = 0;
  ctx.candidateIndex = 0;
  ctx.directSelection = false;
  const single = selectSingleTemplate(data, length, TAG_6F_FCI);
  if (single == ERR_CARD_TRAILING_DATA) return single;
  if (single != STATUS_OK) return ERR_CARD_PPSE_INVALID;
  let status = tlvFindChild(data, tlvValueStart, tlvNext, TAG_A5_FCI_PROPRIETARY);
  if (status == ERR_TLV_NOT_FOUND) return ERR_CARD_PPSE_INVALID;
  if (status != STATUS_OK) return ERR_CARD_PPSE_INVALID;
  status = tlvFindChild(data, tlvValueStart, tlvNext, TAG_BF0C_FCI_DISCRETIONARY);
  if (status == ERR_TLV_NOT_FOUND) return STATUS_OK;
  if (status != STATUS_OK) return ERR_CARD_PPSE_INVALID;
  let pos = tlvValueStart;
  const end = tlvNext;
  for (;;) {
    status = tlvDecodeOne(data, pos, end);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return ERR_CARD_PPSE_INVALID;
    const next = tlvNext;
    if (tlvTag == TAG_61_DIRECTORY_ENTRY) {
      const entry = selectPpseEntry(data, tlvValueStart, next);
      if (entry != STATUS_OK) return entry;
    }
    pos = next;
  }
  return STATUS_OK;
}

function selectPpseEntry(data: usize, start: u32, end: u32): i32 {
  let status = tlvFindChild(data, start, end, TAG_4F_AID);
  if (status != STATUS_OK) return ERR_CARD_PPSE_INVALID;
  const aid = data + <usize>tlvValueStart;
  const aidLength = tlvValueLength;
  if (aidLength < AID_BYTES_MIN || aidLength > AID_BYTES_MAX) return ERR_CARD_PPSE_INVALID;
  let priority = PRIORITY_LOWEST;
  status = tlvFindChild(data, start, end, TAG_87_PRIORITY);
  if (status == STATUS_OK) {
    if (tlvValueLength != 1) return ERR_CARD_PPSE_INVALID;
    const value = load<u8>(data + <usize>tlvValueStart) & 0x0f;
    if (value != 0) priority = value;
  } else if (status != ERR_TLV_NOT_FOUND) {
    return ERR_CARD_PPSE_INVALID;
  }
  // A co-badged card lists other schemes first; only the terminal's AIDs become candidates.
  if (configAidMatch(aid, aidLength) < 0) return STATUS_OK;
  if (candidateFind(aid, aidLength) >= 0) return STATUS_OK;
  candidateInsert(aid, aidLength, priority);
  return STATUS_OK;
}

function candidateFind(aid: usize, length: u32): i32 {
  for (let i: u32 = 0; i < ctx.candidateCount; i++) {
    const have = <u32>load<u8>(ctx.candidateLengths + <usize>i);
    if (have == length && bytesEqual(ctx.candidateAids + <usize>(i * AID_BYTES_MAX), aid, length)) {
      return <i32>i;
    }
  }
  return -1;
}

/** Inserts after every candidate of equal or better priority (stable), dropping overflow. */
function candidateInsert(aid: usize, length: u32, priority: u8): void {
  let at = ctx.candidateCount;
  while (at > 0 && load<u8>(ctx.candidatePriorities + <usize>(at - 1)) > priority) at--;
  if (at >= CANDIDATES_MAX) return;
  const last = ctx.candidateCount < CANDIDATES_MAX ? ctx.candidateCount : CANDIDATES_MAX - 1;
  for (let i = last; i > at; i--) {
    bytesCopy(
      ctx.candidateAids + <usize>(i * AID_BYTES_MAX),
      ctx.candidateAids + <usize>((i - 1) * AID_BYTES_MAX),
      AID_BYTES_MAX,
    );
    store<u8>(ctx.candidateLengths + <usize>i, load<u8>(ctx.candidateLengths + <usize>(i - 1)));
    store<u8>(
      ctx.candidatePriorities + <usize>i,
      load<u8>(ctx.candidatePriorities + <usize>(i - 1)),
    );
  }
  bytesCopy(ctx.candidateAids + <usize>(at * AID_BYTES_MAX), aid, length);
  store<u8>(ctx.candidateLengths + <usize>at, <u8>length);
  store<u8>(ctx.candidatePriorities + <usize>at, priority);
  if (ctx.candidateCount < CANDIDATES_MAX) ctx.candidateCount++;
  assert(ctx.candidateCount <= CANDIDATES_MAX, 'candidate bound');
}

/** Direct selection after PPSE 6A82: the AID table itself, in configuration order. */
export function selectDirectCandidates(): void {
  ctx.candidateCount = 0;
  ctx.candidateIndex = 0;
  ctx.directSelection = true;
  const count = configAidCount();
  for (let i: u32 = 0; i < count && ctx.candidateCount < CANDIDATES_MAX; i++) {
    const length = configAidLength(i);
    bytesCopy(
      ctx.candidateAids + <usize>(ctx.candidateCount * AID_BYTES_MAX),
      configAidPtr(i),
      length,
    );
    store<u8>(ctx.candidateLengths + <usize>ctx.candidateCount, <u8>length);
    store<u8>(ctx.candidatePriorities + <usize>ctx.candidateCount, PRIORITY_LOWEST);
    ctx.candidateCount++;
  }
  assert(ctx.candidateCount > 0, 'configuration has AIDs');
}

/**
 * Checks the FCI of SELECT AID and keeps it in ctx.fci: one 6F template holding 84 (an
 * accepted AID that starts with the selected one) and A5, whose PDOL (9F38) asks for 9F66.
 * Returns STATUS_OK or the reason the candidate is unusable: ERR_CARD_TEMPLATE,
 * ERR_CARD_TRAILING_DATA, ERR_CARD_MANDATORY_MISSING, ERR_CARD_DATA_INVALID, TLV/DOL errors.
 */
export function selectFciParse(
  data: usize,
  length: u32,
  selected: usize,
  selectedLength: u32,
): i32 {
  ctx.fci.clear();
  const single = selectSingleTemplate(data, length, TAG_6F_FCI);
  if (single != STATUS_OK) return single;
  const start = tlvValueStart;
  const end = tlvNext;
  let status = tlvFindChild(data, start, end, TAG_84_DF_NAME);
  if (status != STATUS_OK) return status == ERR_TLV_NOT_FOUND ? ERR_CARD_MANDATORY_MISSING : status;
  const name = data + <usize>tlvValueStart;
  const nameLength = tlvValueLength;
  if (nameLength < selectedLength || nameLength > AID_BYTES_MAX) return ERR_CARD_DATA_INVALID;
  if (!bytesEqual(name, selected, selectedLength)) return ERR_CARD_DATA_INVALID;
  if (configAidMatch(name, nameLength) < 0) return ERR_CARD_DATA_INVALID;
  status = tlvFindChild(data, start, end, TAG_A5_FCI_PROPRIETARY);
  if (status != STATUS_OK) return status == ERR_TLV_NOT_FOUND ? ERR_CARD_MANDATORY_MISSING : status;
  status = ctx.fci.putAll(data, start, end, false);
  if (status != STATUS_OK) return status;
  const pdol = ctx.fci.find(TAG_9F38_PDOL);
  if (pdol < 0) return ERR_CARD_MANDATORY_MISSING;
  status = dolParse(ctx.fci.valuePtr(pdol), ctx.fci.valueLength(pdol));
  if (status != STATUS_OK) return status;
  // A qPBOC card asks for the TTQ; without it the card is not qPBOC-capable (domain.md 1.5).
  const count = dolEntryCount();
  for (let i: u32 = 0; i < count; i++) {
    if (dolEntryTag(i) == TAG_9F66_TTQ) return STATUS_OK;
  }
  return ERR_CARD_MANDATORY_MISSING;
}
