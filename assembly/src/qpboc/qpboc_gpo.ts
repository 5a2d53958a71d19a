// GET PROCESSING OPTIONS: TTQ per transaction, PDOL data, both response formats, card decision.
//
// See EMV 4.4 Book 3, 6.5.8 and 10.1; domain.md 1.5 (formats, mandatory data), 2.1 (TTQ bits),
// 2.4 (the AC type lives in the CVR inside 9F10: qPBOC returns no 9F27) and 6.2 (ODA mode).

import {
  STATUS_OK,
  ERR_CARD_TEMPLATE,
  ERR_CARD_TRAILING_DATA,
  ERR_CARD_MANDATORY_MISSING,
  ERR_CARD_DATA_INVALID,
  ERR_DOL_TOO_LONG,
} from '../status/status';
import { bytesFill } from '../util/bytes';
import { tlvValueStart, tlvValueLength, tlvNext } from '../iso8825/ber_tlv';
import {
  TAG_57_TRACK2,
  TAG_77_RESPONSE_FORMAT2,
  TAG_80_RESPONSE_FORMAT1,
  TAG_82_AIP,
  TAG_94_AFL,
  TAG_9F10_IAD,
  TAG_9F26_CRYPTOGRAM,
  TAG_9F36_ATC,
  TAG_9F38_PDOL,
  TAG_9F66_TTQ,
  TAG_9F02_AMOUNT,
  TAG_9F03_AMOUNT_OTHER,
  TAG_9F1A_COUNTRY_CODE,
  TAG_95_TVR,
  TAG_5F2A_CURRENCY_CODE,
  TAG_9A_DATE,
  TAG_9C_TRANSACTION_TYPE,
  TAG_9F21_TIME,
  TAG_9F37_UNPREDICTABLE_NUMBER,
  TAG_DF60_CAPP_INDICATOR,
  TAG_DF69_SM_SUPPORT,
} from '../emv/emv_tags';
import { dolParse, dolBuild } from '../emv/emv_dol';
import { capkSm2Count } from '../emv/emv_capk';
import { INS_A8_GPO } from '../iso7816/iso7816_apdu';
import { ttlCommand } from '../emv/emv_ttl';
import {
  ctx,
  AC_AAC,
  PATH_QPBOC_EC,
  PATH_QPBOC_ODA,
  PATH_FULL_FLOW,
} from './qpboc_context';
import { configCountryPtr, configCurrencyPtr, configExtra } from './qpboc_config';
import { selectSingle, selectTakeTemplate } from './qpboc_select';
import { track2Parse } from './qpboc_checks';

/** gpoResponse: the card answered for the full flow (format 1, or format 2 without 9F26). */
export const GPO_FORMAT1: i32 = 1;

export const TAG_9B_TSI: u32 = 0x9b;
export const TAG_9F34_CVM_RESULTS: u32 = 0x9f34;
export const TAG_9F41_SEQUENCE_COUNTER: u32 = 0x9f41;

/** EC terminal support indicator (PDOL of EC-capable cards, domain.md 2.6). */
export const TAG_9F7A_EC_TERMINAL_SUPPORT: u32 = 0x9f7a;

// TTQ bits used by the kernel (domain.md 2.1).
const TTQ1_FULL_FLOW: u8 = 0x40;
const TTQ1_QPBOC: u8 = 0x20;
const TTQ1_OFFLINE_ONLY: u8 = 0x08;
const TTQ1_ODA_FOR_ONLINE: u8 = 0x01;
const TTQ2_ONLINE_CRYPTOGRAM_REQUIRED: u8 = 0x80;
const TTQ4_FDDA_V01: u8 = 0x80;

/** Byte offset of the transaction input fields (OP_TXN_BEGIN layout). */
export const INPUT_AMOUNT: u32 = 0;
export const INPUT_DATE: u32 = 6;
export const INPUT_TIME: u32 = 9;
export const INPUT_UNPREDICTABLE: u32 = 12;
export const INPUT_TYPE: u32 = 16;
export const INPUT_BYTES: u32 = 17;
/** Optional 9F41 transaction sequence counter (n8) after the 17 bytes. */
export const INPUT_SEQUENCE: u32 = 17;
export const INPUT_BYTES_WITH_SEQUENCE: u32 = 21;

/** Largest PDOL data that fits `83 L data` in one short C-APDU. */
const PDOL_DATA_MAX: u32 = 252;
const gpoData = memory.data(256, 4);
let pdolDataLength: u32 = 0;

/** The PDOL data of the last GPO (hashed into the CDA transaction data hash code). */
export function gpoPdolData(): usize {
  return gpoData + 3;
}

export function gpoPdolDataLength(): u32 {
  return pdolDataLength;
}
const scratch = memory.data(8, 4);

/** No CVM performed (EMV 4.4 Book 4, A4; Book 3 10.5): an unattended fare, no CVM list run. */
const CVM_RESULTS_NONE = memory.data<u8>([0x3f, 0x00, 0x00]);

/**
 * Fills ctx.terminal from the host input (INPUT_* layout, `length` 17 or 21, checked by the
 * caller) and the configuration; the TTQ is set per card by gpoSetPath (EC until then).
 * Returns STATUS_OK or ERR_CARD_DATA_INVALID (a store bound: a bug).
 */
export function gpoTerminalData(input: usize, length: u32): i32 {
  const t = ctx.terminal;
  t.clear();
  bytesFill(scratch, 0, 8);
  let status = t.put(TAG_9F66_TTQ, scratch, 4, false);
  status |= t.put(TAG_9F02_AMOUNT, input + INPUT_AMOUNT, 6, false);
  bytesFill(scratch, 0, 8);
  status |= t.put(TAG_9F03_AMOUNT_OTHER, scratch, 6, false);
  status |= t.put(TAG_9B_TSI, scratch, 2, false);
  status |= t.put(TAG_9F34_CVM_RESULTS, CVM_RESULTS_NONE, 3, false);
  if (length >= INPUT_BYTES_WITH_SEQUENCE) {
    status |= t.put(TAG_9F41_SEQUENCE_COUNTER, input + INPUT_SEQUENCE, 4, false);
  }
  status |= t.put(TAG_9F1A_COUNTRY_CODE, configCountryPtr(), 2, false);
  status |= t.put(TAG_95_TVR, scratch, 5, false);
  status |= t.put(TAG_5F2A_CURRENCY_CODE, configCurrencyPtr(), 2, false);
  status |= t.put(TAG_9A_DATE, input + INPUT_DATE, 3, false);
  status |= t.put(TAG_9C_TRANSACTION_TYPE, input + INPUT_TYPE, 1, false);
  status |= t.put(TAG_9F21_TIME, input + INPUT_TIME, 3, false);
  status |= t.put(TAG_9F37_UNPREDICTABLE_NUMBER, input + INPUT_UNPREDICTABLE, 4, false);
  // No CAPP (segment charging) in this kernel. DF69 = 01 offers SM2/SM3 ODA when an SM2 CA
  // key is loaded, else 00 keeps the card on RSA (domain.md 1.5 and 3.6).
  status |= t.put(TAG_DF60_CAPP_INDICATOR, scratch, 1, false);
  store<u8>(scratch + 7, capkSm2Count() > 0 ? 1 : 0);
  status |= t.put(TAG_DF69_SM_SUPPORT, scratch + 7, 1, false);
  status |= t.put(TAG_9F7A_EC_TERMINAL_SUPPORT, scratch, 1, false);
  const extras = <i32>configExtra.size();
  for (let i: i32 = 0; i < extras; i++) {
    status |= t.put(
      configExtra.tagAt(i),
      configExtra.valuePtr(i),
      configExtra.valueLength(i),
      false,
    );
  }
  // Every put returns 0 or a negative code; OR-ing keeps "any failure" visible.
  if (status != STATUS_OK) return ERR_CARD_DATA_INVALID;
  gpoSetPath(PATH_QPBOC_EC);
  return STATUS_OK;
}

/**
 * Chooses the card path and writes its TTQ and 9F7A (domain.md 2.1, 6.2). EC: qPBOC,
 * offline-only, never "online cryptogram required", 9F7A = 01. qPBOC ODA: qPBOC, ODA for online
 * authorisations, online cryptogram (ARQC) required. Full flow: contactless PBOC full flow,
 * online cryptogram required. The qPBOC paths advertise fDDA v01.
 */
export function gpoSetPath(path: u8): void {
  ctx.path = path;
  const ttq = ctx.terminal.valuePtr(ctx.terminal.find(TAG_9F66_TTQ));
  let byte1: u8 = TTQ1_QPBOC | TTQ1_OFFLINE_ONLY;
  if (path == PATH_QPBOC_ODA) byte1 = TTQ1_QPBOC | TTQ1_ODA_FOR_ONLINE;
  if (path == PATH_FULL_FLOW) byte1 = TTQ1_FULL_FLOW;
  store<u8>(ttq, byte1);
  store<u8>(ttq + 1, path == PATH_QPBOC_EC ? 0 : TTQ2_ONLINE_CRYPTOGRAM_REQUIRED);
  store<u8>(ttq + 2, 0);
  store<u8>(ttq + 3, path == PATH_FULL_FLOW ? 0 : TTQ4_FDDA_V01);
  const ec = ctx.terminal.find(TAG_9F7A_EC_TERMINAL_SUPPORT);
  store<u8>(ctx.terminal.valuePtr(ec), path == PATH_QPBOC_EC ? 1 : 0);
}

/**
 * Stages GPO: 80 A8 00 00 Lc 83 L <PDOL data> 00 (EMV 4.4 Book 3, 5.4 for the DOL rules).
 * Returns STATUS_OK, ERR_DOL_TOO_LONG, or a DOL/APDU error.
 */
export function gpoCommand(): i32 {
  const pdol = ctx.fci.find(TAG_9F38_PDOL);
  assert(pdol >= 0, 'PDOL checked at selection');
  let status = dolParse(ctx.fci.valuePtr(pdol), ctx.fci.valueLength(pdol));
  if (status != STATUS_OK) return status;
  const built = dolBuild(ctx.terminal, gpoData + 3, PDOL_DATA_MAX);
  if (built < 0) return built;
  const size = <u32>built;
  if (size > PDOL_DATA_MAX) return ERR_DOL_TOO_LONG;
  pdolDataLength = size;
  let header: u32 = 2;
  if (size < 0x80) {
    store<u8>(gpoData + 1, 0x83);
    store<u8>(gpoData + 2, <u8>size);
  } else {
    store<u8>(gpoData, 0x83);
    store<u8>(gpoData + 1, 0x81);
    store<u8>(gpoData + 2, <u8>size);
    header = 3;
  }
  const start = gpoData + <usize>(3 - header);
  status = ttlCommand(0x80, INS_A8_GPO, 0x00, 0x00, start, header + size, true, 256);
  assert(header + size <= 255 || status != STATUS_OK, 'GPO data length');
  return status;
}

/**
 * Parses the GPO response data into ctx.card. Format 2 (77) must carry 82, 9F36, 9F26, 9F10 and
 * 57 (domain.md 1.5, KATA QAppInit); sets ctx.acType and ctx.pan. Format 1 (80) stores 82 and
 * 94 and returns GPO_FORMAT1. Returns STATUS_OK, GPO_FORMAT1, ERR_CARD_TEMPLATE,
 * ERR_CARD_TRAILING_DATA, ERR_CARD_MANDATORY_MISSING, ERR_CARD_DATA_INVALID, ERR_TLV_DUPLICATE
 * or a TLV error.
 */
export function gpoResponse(data: usize, length: u32): i32 {
  if (length == 0) return ERR_CARD_TEMPLATE;
  const first = <u32>load<u8>(data);
  if (first == TAG_80_RESPONSE_FORMAT1) return gpoFormat1(data, length);
  const status = selectTakeTemplate(data, length, TAG_77_RESPONSE_FORMAT2);
  if (status != STATUS_OK) return status;
  // Format 2 without a cryptogram: the full flow's AIP + AFL in a template (Book 3 6.5.8.4).
  if (!ctx.card.has(TAG_9F26_CRYPTOGRAM) && ctx.path == PATH_FULL_FLOW) {
    const aip = ctx.card.find(TAG_82_AIP);
    if (aip < 0) return ERR_CARD_MANDATORY_MISSING;
    return ctx.card.valueLength(aip) == 2 ? GPO_FORMAT1 : ERR_CARD_DATA_INVALID;
  }
  const mandatory = gpoMandatory();
  if (mandatory != STATUS_OK) return mandatory;
  const iad = ctx.card.valuePtr(ctx.card.find(TAG_9F10_IAD));
  // CVR byte 1 (IAD byte 5) bits 6-5: 00 AAC, 01 TC, 10 ARQC (domain.md 2.4).
  ctx.acType = <u8>((load<u8>(iad + 4) >> 4) & 0x03);
  assert(ctx.acType >= AC_AAC && ctx.acType <= 3, 'AC type');
  return STATUS_OK;
}

function gpoFormat1(data: usize, length: u32): i32 {
  const single = selectSingle(data, length, TAG_80_RESPONSE_FORMAT1, false);
  if (single != STATUS_OK) return single;
  const start = tlvValueStart;
  const size = tlvValueLength;
  if (size < 2 || ((size - 2) & 3) != 0) return ERR_CARD_DATA_INVALID;
  let put = ctx.card.put(TAG_82_AIP, data + <usize>start, 2, false);
  if (put != STATUS_OK) return put;
  if (size > 2) {
    put = ctx.card.put(TAG_94_AFL, data + <usize>(start + 2), size - 2, false);
    if (put != STATUS_OK) return put;
  }
  return GPO_FORMAT1;
}

/**
 * Checks the mandatory qPBOC objects of ctx.card (82, 9F36, 9F26, 9F10, 57 with their lengths)
 * and derives ctx.pan from track 2. Also used on torn records (qpboc_torn.ts).
 * Returns STATUS_OK, ERR_CARD_MANDATORY_MISSING or ERR_CARD_DATA_INVALID.
 */
export function gpoMandatory(): i32 {
  const card = ctx.card;
  const aip = card.find(TAG_82_AIP);
  const atc = card.find(TAG_9F36_ATC);
  const ac = card.find(TAG_9F26_CRYPTOGRAM);
  const iad = card.find(TAG_9F10_IAD);
  const track2 = card.find(TAG_57_TRACK2);
  if (aip < 0 || atc < 0 || ac < 0 || iad < 0 || track2 < 0) return ERR_CARD_MANDATORY_MISSING;
  if (card.valueLength(aip) != 2 || card.valueLength(atc) != 2) return ERR_CARD_DATA_INVALID;
  if (card.valueLength(ac) != 8) return ERR_CARD_DATA_INVALID;
  const iadLength = card.valueLength(iad);
  if (iadLength < 5 || iadLength > 32) return ERR_CARD_DATA_INVALID;
  return gpoPanFromTrack2(track2);
}

/**
 * Takes ctx.pan from the track 2 equivalent data at card index `track2` (at most 19 bytes).
 * Returns STATUS_OK, ERR_CARD_DATA_INVALID or a track2Parse error.
 */
export function gpoPanFromTrack2(track2: i32): i32 {
  assert(track2 >= 0, 'track 2 present');
  const length = ctx.card.valueLength(track2);
  if (length > 19) return ERR_CARD_DATA_INVALID;
  const pan = track2Parse(ctx.card.valuePtr(track2), length, ctx.pan);
  if (pan < 0) return pan;
  ctx.panLength = <u32>pan;
  assert(ctx.panLength <= 19, 'PAN digits');
  return STATUS_OK;
}
