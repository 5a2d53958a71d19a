// The one selection step of every card application: SELECT PPSE, the ordered candidate list
// (each candidate names the application that runs it), SELECT AID.
//
// See EMV 4.4 Book B (Entry Point) 3.3 and Book 1, 12.3-12.4; domain.md 1.2-1.4 (UnionPay:
// partial match on A000000333 0101, priority from tag 87) and 7.1 (T-Union ADF A000000632010105).
// Order: the terminal priority of the matching AID entry (DF8124, the parameters decide for a
// co-badged card), then the card's priority (87 low nibble, 1 first, 0 or absent last), then
// PPSE order; duplicates dropped, at most CANDIDATES_MAX.

import {
  STATUS_OK,
  ERR_CARD_TEMPLATE,
  ERR_CARD_TRAILING_DATA,
  ERR_CARD_PPSE_INVALID,
  ERR_TLV_NOT_FOUND,
} from '../status/status';
import { bytesCopy, bytesEqual } from '../util/bytes';
import {
  TLV_END,
  tlvDecodeOne,
  tlvFindChild,
  tlvTag,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
  tlvConstructed,
} from '../iso8825/ber_tlv';
import { INS_A4_SELECT } from '../iso7816/iso7816_apdu';
import { ttlCommand } from '../emv/emv_ttl';
import {
  AID_BYTES_MAX,
  AID_BYTES_MIN,
  PRIORITY_LOWEST,
  entryAidMatch,
  entryAidCount,
  entryAidPtr,
  entryAidLength,
  entryAidApp,
  entryAidPriority,
} from './entry_aids';

/** Candidate applications kept from PPSE (or the AID table in direct selection). */
export const CANDIDATES_MAX: u32 = 8;
/**
 * Internal continue status between the applications and the router above them: the current
 * candidate belongs to another application (entryCandidateApp). Never crosses the ABI.
 */
export const ENTRY_ROUTE: i32 = 9;

const TAG_6F_FCI: u32 = 0x6f;
const TAG_A5_FCI_PROPRIETARY: u32 = 0xa5;
const TAG_BF0C_FCI_DISCRETIONARY: u32 = 0xbf0c;
const TAG_61_DIRECTORY_ENTRY: u32 = 0x61;
const TAG_4F_AID: u32 = 0x4f;
const TAG_87_PRIORITY: u32 = 0x87;

/** "2PAY.SYS.DDF01", the contactless PPSE name (EMV Book B 3.3.2). */
const PPSE_NAME = memory.data<u8>([
  0x32, 0x50, 0x41, 0x59, 0x2e, 0x53, 0x59, 0x53, 0x2e, 0x44, 0x44, 0x46, 0x30, 0x31,
]);
const PPSE_NAME_LENGTH: u32 = 14;

// Candidate list: AID bytes, lengths, sort keys, applications, in selection order.
const candidateAids = memory.data(<i32>(CANDIDATES_MAX * AID_BYTES_MAX), 4);
const candidateLengths = memory.data(<i32>CANDIDATES_MAX, 4);
const candidateKeys = memory.data(<i32>(CANDIDATES_MAX * 2), 4);
const candidateApps = memory.data(<i32>CANDIDATES_MAX, 4);
let candidateCount: u32 = 0;
let candidateIndex: u32 = 0;

/** Empties the candidate list. */
export function entryReset(): void {
  candidateCount = 0;
  candidateIndex = 0;
}

export function entryCandidateCount(): u32 {
  return candidateCount;
}

/** Index of the candidate being tried. */
export function entryCandidateIndex(): u32 {
  return candidateIndex;
}

/** Moves on to the next candidate (the current one was refused). */
export function entryCandidateDrop(): void {
  assert(candidateIndex < candidateCount, 'a candidate to drop');
  candidateIndex++;
}

/** True when every candidate was tried. */
export function entryExhausted(): bool {
  return candidateIndex >= candidateCount;
}

export function entryCandidateAid(index: u32): usize {
  assert(index < candidateCount, 'candidate index');
  return candidateAids + <usize>(index * AID_BYTES_MAX);
}

export function entryCandidateLength(index: u32): u32 {
  assert(index < candidateCount, 'candidate index');
  return <u32>load<u8>(candidateLengths + <usize>index);
}

/** The application (APP_*) that runs candidate `index`. */
export function entryCandidateApp(index: u32): u8 {
  assert(index < candidateCount, 'candidate index');
  return load<u8>(candidateApps + <usize>index);
}

/** Stages SELECT PPSE: 00 A4 04 00 0E "2PAY.SYS.DDF01" 00. */
export function entryPpseCommand(): i32 {
  return ttlCommand(0x00, INS_A4_SELECT, 0x04, 0x00, PPSE_NAME, PPSE_NAME_LENGTH, true, 256);
}

/** Stages SELECT of candidate `index` (first occurrence, P2 = 00, Le = 00). */
export function entrySelectCommand(index: u32): i32 {
  const aid = entryCandidateAid(index);
  const length = entryCandidateLength(index);
  assert(length >= AID_BYTES_MIN && length <= AID_BYTES_MAX, 'candidate length');
  return ttlCommand(0x00, INS_A4_SELECT, 0x04, 0x00, aid, length, true, 256);
}

/**
 * Requires `data[0..length)` to be exactly one object `tag`, constructed or primitive as asked
 * (00/FF padding allowed after it): the one parser of every "single object" card answer.
 * Returns STATUS_OK (tlv* globals describe the object), ERR_CARD_TEMPLATE (absent, another tag
 * or the other form), ERR_CARD_TRAILING_DATA or a decode error.
 */
export function entrySingle(data: usize, length: u32, tag: u32, constructed: bool): i32 {
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

/**
 * Builds the candidate list from a PPSE FCI (6F > A5 > BF0C > 61*): accepted AIDs only, in
 * the order above. Returns STATUS_OK (the list may be empty), ERR_CARD_PPSE_INVALID or
 * ERR_CARD_TRAILING_DATA.
 */
export function entryPpseParse(data: usize, length: u32): i32 {
  entryReset();
  const single = entrySingle(data, length, TAG_6F_FCI, true);
  if (single == ERR_CARD_TRAILING_DATA) return single;
  if (single != STATUS_OK) return ERR_CARD_PPSE_INVALID;
  let status = tlvFindChild(data, tlvValueStart, tlvNext, TAG_A5_FCI_PROPRIETARY);
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
      const entry = entryPpseEntry(data, tlvValueStart, next);
      if (entry != STATUS_OK) return entry;
    }
    pos = next;
  }
  return STATUS_OK;
}

function entryPpseEntry(data: usize, start: u32, end: u32): i32 {
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
  // A co-badged card lists other schemes too; only the terminal's AIDs become candidates.
  const entry = entryAidMatch(aid, aidLength);
  if (entry < 0 || candidateFind(aid, aidLength) >= 0) return STATUS_OK;
  const key = ((<u32>entryAidPriority(<u32>entry)) << 5) | (<u32>priority);
  candidateInsert(aid, aidLength, key, entryAidApp(<u32>entry));
  return STATUS_OK;
}

function candidateFind(aid: usize, length: u32): i32 {
  for (let i: u32 = 0; i < candidateCount; i++) {
    const have = <u32>load<u8>(candidateLengths + <usize>i);
    if (have == length && bytesEqual(candidateAids + <usize>(i * AID_BYTES_MAX), aid, length)) {
      return <i32>i;
    }
  }
  return -1;
}

/** Inserts after every candidate of equal or better key (stable), dropping overflow. */
function candidateInsert(aid: usize, length: u32, key: u32, app: u8): void {
  assert(key <= 0x3ff && length <= AID_BYTES_MAX, 'candidate key and length');
  let at = candidateCount;
  while (at > 0 && <u32>load<u16>(candidateKeys + <usize>(at - 1) * 2) > key) at--;
  if (at >= CANDIDATES_MAX) return;
  const last = candidateCount < CANDIDATES_MAX ? candidateCount : CANDIDATES_MAX - 1;
  for (let i = last; i > at; i--) {
    const to = <usize>i;
    const from = <usize>(i - 1);
    bytesCopy(candidateAids + to * AID_BYTES_MAX, candidateAids + from * AID_BYTES_MAX, 16);
    store<u8>(candidateLengths + to, load<u8>(candidateLengths + from));
    store<u16>(candidateKeys + to * 2, load<u16>(candidateKeys + from * 2));
    store<u8>(candidateApps + to, load<u8>(candidateApps + from));
  }
  bytesCopy(candidateAids + <usize>(at * AID_BYTES_MAX), aid, length);
  store<u8>(candidateLengths + <usize>at, <u8>length);
  store<u16>(candidateKeys + <usize>at * 2, <u16>key);
  store<u8>(candidateApps + <usize>at, app);
  if (candidateCount < CANDIDATES_MAX) candidateCount++;
  assert(candidateCount <= CANDIDATES_MAX, 'candidate bound');
}

/**
 * Direct selection (PPSE 6A82, or an unusable PPSE answer: EMV Book B 3.3.3): the AID table
 * itself, ordered by terminal priority, configuration order on ties.
 */
export function entryDirectCandidates(): void {
  entryReset();
  const count = entryAidCount();
  assert(count > 0, 'configuration has AIDs');
  for (let i: u32 = 0; i < count; i++) {
    const key = (<u32>entryAidPriority(i)) << 5;
    candidateInsert(entryAidPtr(i), entryAidLength(i), key, entryAidApp(i));
  }
  assert(candidateCount > 0, 'direct candidates');
}

/** One candidate: the stored AID of a recovery (`app` runs it). */
export function entryCandidateSet(aid: usize, length: u32, app: u8): void {
  assert(length >= AID_BYTES_MIN && length <= AID_BYTES_MAX, 'stored AID length');
  entryReset();
  candidateInsert(aid, length, 0, app);
}
