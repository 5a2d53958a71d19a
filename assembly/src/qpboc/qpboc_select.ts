// qPBOC side of selection: the FCI of SELECT AID, and the single-template card answers.
//
// SELECT PPSE and the candidate list are the entry layer's (src/entry): one selection step for
// every application. See EMV 4.4 Book 1, 12.4 and domain.md 1.4.

import {
  STATUS_OK,
  ERR_CARD_TEMPLATE,
  ERR_CARD_TRAILING_DATA,
  ERR_CARD_MANDATORY_MISSING,
  ERR_CARD_DATA_INVALID,
  ERR_TLV_NOT_FOUND,
} from '../status/status';
import { bytesEqual } from '../util/bytes';
import {
  tlvFindChild,
  tlvHeaderStart,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
} from '../iso8825/ber_tlv';
import {
  TAG_6F_FCI,
  TAG_84_DF_NAME,
  TAG_9F38_PDOL,
  TAG_9F66_TTQ,
  TAG_A5_FCI_PROPRIETARY,
} from '../emv/emv_tags';
import { dolParse, dolEntryCount, dolEntryTag } from '../emv/emv_dol';
import { ctx } from './qpboc_context';
import { AID_BYTES_MAX, entryAidMatch } from '../entry/entry_aids';
import { entrySingle } from '../entry/entry_select';

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
  return entrySingle(data, length, tag, constructed);
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
  if (entryAidMatch(name, nameLength) < 0) return ERR_CARD_DATA_INVALID;
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
