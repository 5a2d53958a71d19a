// The full contactless PBOC flow for stock cards: records, SDA / DDA / CDA, GENERATE AC (ARQC).
//
// domain.md 6.2: a card that does not flag UnionPay online ODA (DF61) runs the full flow for the
// ODA step. See EMV 4.4 Book 3, 6.5.5 (GENERATE AC), 6.5.9 (INTERNAL AUTHENTICATE), 9.3 (the
// CID), 10.3 (ODA selection); Book 2, 5 (SDA), 6.5 (DDA), 6.6 (CDA). Nothing is staged on the
// card before GENERATE AC, so the host decides (deny list) just before it, and a lost link is
// always "try again".

import {
  STATUS_OK,
  STATUS_DECLINED,
  ERR_SW_UNEXPECTED,
  ERR_CARD_MANDATORY_MISSING,
  ERR_CARD_DATA_INVALID,
  ERR_CARD_CDOL1_MISSING,
  ERR_CARD_GENERATE_AC_INVALID,
  ERR_CARD_CID_MISMATCH,
  ERR_ODA_DDA_RESPONSE,
  ERR_ODA_DDOL_INVALID,
  ERR_ODA_CDA_CID_MISMATCH,
  ERR_ODA_CDA_HASH_CODE,
  ERR_ODA_CDA_SDAD_ABSENT,
  ERR_ODA_CDA_DYNAMIC_DATA,
} from '../status/status';
import { bytesCopy, bytesEqual } from '../util/bytes';
import {
  tlvDecodeOne,
  tlvFindChild,
  tlvTag,
  tlvHeaderStart,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
} from '../iso8825/ber_tlv';
import {
  TAG_57_TRACK2,
  TAG_5A_PAN,
  TAG_9F10_IAD,
  TAG_9F26_CRYPTOGRAM,
  TAG_9F36_ATC,
  TAG_9F37_UNPREDICTABLE_NUMBER,
  TAG_9F4B_SDAD,
} from '../emv/emv_tags';
import { dolParse, dolBuild, dolEntryCount, dolEntryTag } from '../emv/emv_dol';
import { ttlCommand } from '../emv/emv_ttl';
import { odaVerifySdadTail, odaDynamicData, odaDynamicDataLength } from '../emv/emv_oda';
import { sha1Init, sha1Update, sha1Final, SHA1_DIGEST_BYTES } from '../crypto/sha1';
import {
  ctx,
  AC_AAC,
  AC_ARQC,
  PHASE_INTERNAL_AUTH,
  PHASE_GENERATE_AC,
  ODA_METHOD_SDA,
  ODA_METHOD_CDA,
} from './qpboc_context';
import { configDdolPtr, configDdolLength } from './qpboc_config';
import { gpoPdolData, gpoPdolDataLength, gpoPanFromTrack2 } from './qpboc_gpo';
import {
  selectSingle,
  selectSingleTemplate,
  selectTakeTemplate,
  takenStart,
  takenEnd,
} from './qpboc_select';
import { checksPanConsistent, checksDatesTvr, checksIad } from './qpboc_rules';
import {
  odaMethodOf,
  odaSupported,
  odaRun,
  odaCertificates,
  odaStatusIsMissingInput,
} from './qpboc_oda';
import { RECORD_NONE, TAG_9F27_CID } from './qpboc_outcome';
import {
  REASON_CARD_DECLINED,
  REASON_CARD_DATA_INCONSISTENT,
  REASON_ODA_FAILED,
  REASON_ODA_DATA_MISSING,
  REASON_ODA_NOT_SUPPORTED,
} from './qpboc_reason';
import {
  kernelFinish,
  kernelFail,
  kernelStage,
  kernelApprove,
  kernelDecisionPoint,
  odaSettle,
  readNext,
} from './qpboc_kernel';

const TAG_8C_CDOL1: u32 = 0x8c;
const TAG_9F49_DDOL: u32 = 0x9f49;
const TAG_80_FORMAT1: u32 = 0x80;
const TAG_77_FORMAT2: u32 = 0x77;
const INS_88_INTERNAL_AUTHENTICATE: u8 = 0x88;
const INS_AE_GENERATE_AC: u8 = 0xae;
/** GENERATE AC P1 (Book 3, 6.5.5.2): ARQC, and bit 5 = CDA signature requested. */
const P1_ARQC: u8 = 0x80;
const P1_CDA: u8 = 0x10;
const SW_9000: u32 = 0x9000;
/** Longest DOL data sent in one short C-APDU (Lc <= 255; DDOL and CDOL1 data are bare). */
const DOL_DATA_MAX: u32 = 252;
/** GENERATE AC format 1: CID (1) ATC (2) AC (8), then the IAD (at most 32). */
const FORMAT1_FIXED: u32 = 11;
const IAD_MAX: u32 = 32;
/** CDA ICC dynamic data after the IDN: CID (1), AC (8), transaction data hash code (20). */
const CDA_AFTER_IDN: u32 = 1 + 8 + SHA1_DIGEST_BYTES;

const ddolData = memory.data(256, 4);
let ddolLength: u32 = 0;
const cdolData = memory.data(256, 4);
let cdolLength: u32 = 0;
const digest = memory.data(<i32>SHA1_DIGEST_BYTES, 4);
// Where the DDA signature / GENERATE AC template lies in the response being processed.
let foundStart: u32 = 0;
let foundLength: u32 = 0;
let templateStart: u32 = 0;
let templateEnd: u32 = 0;

/** After a full-flow GPO answer: the AFL is mandatory, and an ODA method must apply. */
export function fullAfterGpo(): i32 {
  if (ctx.recordCount == 0) return kernelFail(ERR_CARD_MANDATORY_MISSING);
  if (!odaSupported()) {
    return kernelFinish(STATUS_DECLINED, REASON_ODA_NOT_SUPPORTED, 0, RECORD_NONE);
  }
  return readNext();
}

/**
 * Every record read: PAN, CDOL1, dates, then ODA as far as it goes before GENERATE AC: SDA in
 * full, the certificates for DDA (then INTERNAL AUTHENTICATE) and CDA (then the decision).
 */
export function fullAfterRecords(): i32 {
  const pan = fullPan();
  if (pan != STATUS_OK) return kernelFail(pan);
  if (!checksPanConsistent()) {
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DATA_INCONSISTENT, 0, RECORD_NONE);
  }
  if (!ctx.card.has(TAG_8C_CDOL1)) return kernelFail(ERR_CARD_CDOL1_MISSING);
  const dates = checksDatesTvr();
  if (dates != 0) return kernelFinish(STATUS_DECLINED, dates, 0, RECORD_NONE);
  const method = odaMethodOf();
  if (method == ODA_METHOD_SDA) {
    if (odaSettle(odaRun()) != STATUS_OK) return fullOdaDecline();
    return kernelDecisionPoint();
  }
  const certificates = odaCertificates();
  if (certificates != STATUS_OK) return fullOdaFail(certificates);
  ctx.odaCertificatesOk = true;
  if (method == ODA_METHOD_CDA) return kernelDecisionPoint();
  return fullInternalAuthenticate();
}

/** PAN from track 2 (57) when present, else 5A: one of them is mandatory (Book 3, 7.2). */
function fullPan(): i32 {
  const track2 = ctx.card.find(TAG_57_TRACK2);
  if (track2 >= 0) return gpoPanFromTrack2(track2);
  const pan = ctx.card.find(TAG_5A_PAN);
  if (pan < 0) return ERR_CARD_MANDATORY_MISSING;
  const length = ctx.card.valueLength(pan);
  if (length == 0 || length > 10) return ERR_CARD_DATA_INVALID;
  bytesCopy(ctx.pan, ctx.card.valuePtr(pan), length);
  ctx.panLength = length;
  return STATUS_OK;
}

function fullOdaFail(status: i32): i32 {
  odaSettle(status);
  return fullOdaDecline();
}

function fullOdaDecline(): i32 {
  const missing = odaStatusIsMissingInput(ctx.odaStatus);
  const reason = missing ? REASON_ODA_DATA_MISSING : REASON_ODA_FAILED;
  return kernelFinish(STATUS_DECLINED, reason, ctx.odaStatus, RECORD_NONE);
}

/**
 * Stages INTERNAL AUTHENTICATE 00 88 00 00 with the DDOL data: the card's 9F49, else the
 * configured default DDOL. A DDOL without 9F37 fails DDA (Book 2, 6.5.1).
 */
function fullInternalAuthenticate(): i32 {
  const ddol = ctx.card.find(TAG_9F49_DDOL);
  const ptr = ddol >= 0 ? ctx.card.valuePtr(ddol) : configDdolPtr();
  const length = ddol >= 0 ? ctx.card.valueLength(ddol) : configDdolLength();
  if (dolParse(ptr, length) != STATUS_OK || !dolNamesUnpredictable()) {
    return fullOdaFail(ERR_ODA_DDOL_INVALID);
  }
  const built = dolBuild(ctx.terminal, ddolData, DOL_DATA_MAX);
  if (built <= 0) return fullOdaFail(ERR_ODA_DDOL_INVALID);
  ddolLength = <u32>built;
  const ins = INS_88_INTERNAL_AUTHENTICATE;
  const staged = ttlCommand(0x00, ins, 0, 0, ddolData, ddolLength, true, 256);
  return kernelStage(staged, PHASE_INTERNAL_AUTH);
}

function dolNamesUnpredictable(): bool {
  const count = dolEntryCount();
  for (let i: u32 = 0; i < count; i++) {
    if (dolEntryTag(i) == TAG_9F37_UNPREDICTABLE_NUMBER) return true;
  }
  return false;
}

/**
 * INTERNAL AUTHENTICATE answer: 80 {SDAD} or 77 {... 9F4B ...} (Book 3, 6.5.9.4). The SDAD
 * hash covers the DDOL data; there is no IDN rule for DDA. Then the decision point.
 */
export function fullOnInternalAuth(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000 || !fullFindSignature(data, length)) {
    return fullOdaFail(ERR_ODA_DDA_RESPONSE);
  }
  const sdad = data + <usize>foundStart;
  const status = odaVerifySdadTail(sdad, foundLength, ddolData, ddolLength, 0, 0);
  if (odaSettle(status) != STATUS_OK) return fullOdaDecline();
  return kernelDecisionPoint();
}

/** Finds the signature of a format 1 (80) or format 2 (77 with 9F4B) answer. */
function fullFindSignature(data: usize, length: u32): bool {
  if (length == 0) return false;
  if (<u32>load<u8>(data) == TAG_80_FORMAT1) {
    if (selectSingle(data, length, TAG_80_FORMAT1, false) != STATUS_OK) return false;
  } else {
    if (selectSingleTemplate(data, length, TAG_77_FORMAT2) != STATUS_OK) return false;
    // 9F4B is a primitive tag (byte 1 bit 6 clear): the first one found is the signature.
    if (tlvFindChild(data, tlvValueStart, tlvNext, TAG_9F4B_SDAD) != STATUS_OK) return false;
  }
  foundStart = tlvValueStart;
  foundLength = tlvValueLength;
  return foundLength > 0;
}

/**
 * After the host's "proceed": GENERATE AC for an ARQC with the CDOL1 data (Book 3, 5.4 over
 * the terminal data, TVR as it stands), asking for a CDA signature when CDA is the method.
 */
export function fullGenerateAc(): i32 {
  const cdol = ctx.card.find(TAG_8C_CDOL1);
  assert(cdol >= 0, 'CDOL1 checked after the records');
  const parsed = dolParse(ctx.card.valuePtr(cdol), ctx.card.valueLength(cdol));
  if (parsed != STATUS_OK) return kernelFail(parsed);
  const built = dolBuild(ctx.terminal, cdolData, DOL_DATA_MAX);
  if (built < 0) return kernelFail(built);
  cdolLength = <u32>built;
  const p1 = odaMethodOf() == ODA_METHOD_CDA ? P1_ARQC | P1_CDA : P1_ARQC;
  const staged = ttlCommand(0x80, INS_AE_GENERATE_AC, p1, 0x00, cdolData, cdolLength, true, 256);
  return kernelStage(staged, PHASE_GENERATE_AC);
}

/**
 * GENERATE AC answer. CID (Book 3, 9.3): AAC declines; ARQC goes on; TC (never asked for) or
 * RFU is inconsistent, as is a CID the IAD's CVR contradicts. CDA: the SDAD is checked here.
 */
export function fullOnGenerateAc(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000) return kernelFail(ERR_SW_UNEXPECTED);
  const parsed = fullGenerateAcParse(data, length);
  if (parsed != STATUS_OK) return kernelFail(parsed);
  const cid = load<u8>(ctx.card.valuePtr(ctx.card.find(TAG_9F27_CID)));
  ctx.acType = <u8>((cid >> 6) & 3);
  const iad = checksIad();
  if (iad != STATUS_OK) {
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DATA_INCONSISTENT, iad, RECORD_NONE);
  }
  if (ctx.acType == AC_AAC) {
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DECLINED, 0, RECORD_NONE);
  }
  if (ctx.acType != AC_ARQC) {
    const detail = ERR_CARD_CID_MISMATCH;
    return kernelFinish(STATUS_DECLINED, REASON_CARD_DATA_INCONSISTENT, detail, RECORD_NONE);
  }
  if (odaMethodOf() == ODA_METHOD_CDA) {
    if (odaSettle(fullCda(data, cid)) != STATUS_OK) return fullOdaDecline();
  }
  const ac = ctx.card.find(TAG_9F26_CRYPTOGRAM);
  if (ac < 0 || ctx.card.valueLength(ac) != 8) return kernelFail(ERR_CARD_GENERATE_AC_INVALID);
  return kernelApprove();
}

/**
 * Stores the GENERATE AC objects in ctx.card: format 1 (80: CID ATC AC IAD) or format 2 (77,
 * kept in templateStart..templateEnd for the CDA hash). 9F27 (1) and 9F36 (2) are mandatory.
 * Returns STATUS_OK, ERR_CARD_GENERATE_AC_INVALID, ERR_TLV_DUPLICATE or a TLV error.
 */
function fullGenerateAcParse(data: usize, length: u32): i32 {
  templateStart = 0;
  templateEnd = 0;
  if (length == 0) return ERR_CARD_GENERATE_AC_INVALID;
  if (<u32>load<u8>(data) == TAG_80_FORMAT1) {
    if (!fullFindSignature(data, length)) return ERR_CARD_GENERATE_AC_INVALID;
    if (foundLength < FORMAT1_FIXED || foundLength > FORMAT1_FIXED + IAD_MAX) {
      return ERR_CARD_GENERATE_AC_INVALID;
    }
    const v = data + <usize>foundStart;
    let status = ctx.card.put(TAG_9F27_CID, v, 1, false);
    status |= ctx.card.put(TAG_9F36_ATC, v + 1, 2, false);
    status |= ctx.card.put(TAG_9F26_CRYPTOGRAM, v + 3, 8, false);
    if (foundLength > FORMAT1_FIXED) {
      status |= ctx.card.put(TAG_9F10_IAD, v + 11, foundLength - FORMAT1_FIXED, false);
    }
    return status == STATUS_OK ? STATUS_OK : ERR_CARD_GENERATE_AC_INVALID;
  }
  const put = selectTakeTemplate(data, length, TAG_77_FORMAT2);
  if (put != STATUS_OK) return put;
  templateStart = takenStart;
  templateEnd = takenEnd;
  const cid = ctx.card.find(TAG_9F27_CID);
  const atc = ctx.card.find(TAG_9F36_ATC);
  if (cid < 0 || atc < 0) return ERR_CARD_GENERATE_AC_INVALID;
  if (ctx.card.valueLength(cid) != 1 || ctx.card.valueLength(atc) != 2) {
    return ERR_CARD_GENERATE_AC_INVALID;
  }
  return STATUS_OK;
}

/**
 * CDA (Book 2, 6.6.2): the SDAD (hash tail 9F37) with the ICC dynamic data `L_IDN IDN CID
 * AC TDHC`: the CID must be the 9F27 sent, the AC (9F26, taken from here when the card sent
 * none) the one sent, and TDHC = SHA-1(PDOL data || CDOL1 data || the answer's TLVs but 9F4B).
 */
function fullCda(data: usize, cid: u8): i32 {
  const sdad = ctx.card.find(TAG_9F4B_SDAD);
  if (sdad < 0 || templateEnd == 0) return ERR_ODA_CDA_SDAD_ABSENT;
  const un = ctx.terminal.find(TAG_9F37_UNPREDICTABLE_NUMBER);
  const unPtr = ctx.terminal.valuePtr(un);
  const sdadPtr = ctx.card.valuePtr(sdad);
  const status = odaVerifySdadTail(sdadPtr, ctx.card.valueLength(sdad), unPtr, 4, 0, 0);
  if (status != STATUS_OK) return status;
  const dynamic = odaDynamicData();
  const idnLength = <u32>load<u8>(dynamic);
  if (odaDynamicDataLength() < 1 + idnLength + CDA_AFTER_IDN) return ERR_ODA_CDA_DYNAMIC_DATA;
  const at = dynamic + 1 + <usize>idnLength;
  if (load<u8>(at) != cid) return ERR_ODA_CDA_CID_MISMATCH;
  sha1Init();
  sha1Update(gpoPdolData(), gpoPdolDataLength());
  sha1Update(cdolData, cdolLength);
  let pos = templateStart;
  for (let guard = 0; guard < 64 && pos < templateEnd; guard++) {
    if (tlvDecodeOne(data, pos, templateEnd) != STATUS_OK) return ERR_ODA_CDA_HASH_CODE;
    const header = tlvHeaderStart;
    if (tlvTag != TAG_9F4B_SDAD) sha1Update(data + <usize>header, tlvNext - header);
    pos = tlvNext;
  }
  sha1Final(digest);
  if (!bytesEqual(digest, at + 9, SHA1_DIGEST_BYTES)) return ERR_ODA_CDA_HASH_CODE;
  const ac = ctx.card.find(TAG_9F26_CRYPTOGRAM);
  if (ac >= 0) {
    const same = ctx.card.valueLength(ac) == 8 && bytesEqual(ctx.card.valuePtr(ac), at + 1, 8);
    return same ? STATUS_OK : ERR_ODA_CDA_DYNAMIC_DATA;
  }
  return ctx.card.put(TAG_9F26_CRYPTOGRAM, at + 1, 8, false) == STATUS_OK
    ? STATUS_OK
    : ERR_ODA_CDA_DYNAMIC_DATA;
}
