// ODA for qPBOC: assembles the inputs (static data + 9F4A, terminal data, RID) for emv_oda.
//
// See EMV 4.4 Book 2, 5-6 and domain.md 3. The CA key is found by RID (first 5 bytes of the
// AID) and index 8F. Static data = the ODA records (qpboc_records.ts), then the values listed
// in 9F4A, which may only name 82 (AIP). fDDA v01 hashes 9F37, 9F02, 5F2A and 9F69 after the
// signed data. When 9F69 may still come in the last record (the card's commit), odaSdadPrecheck
// runs the SDAD checks that need no hash before it, so a clone is refused without a debit.

import {
  STATUS_OK,
  ERR_CARD_DATA_INVALID,
  ERR_ODA_CA_INDEX_MISSING,
  ERR_ODA_RID_MISSING,
  ERR_ODA_ISSUER_CERT_MISSING,
  ERR_ODA_ISSUER_EXPONENT_MISSING,
  ERR_ODA_ICC_CERT_MISSING,
  ERR_ODA_ICC_EXPONENT_MISSING,
  ERR_ODA_SDAD_MISSING,
  ERR_ODA_SSAD_MISSING,
  ERR_ODA_ISSUER_REMAINDER_MISSING,
  ERR_ODA_ICC_REMAINDER_MISSING,
  ERR_ODA_ISSUER_KEY_MISSING,
  ERR_ODA_ICC_KEY_MISSING,
  ERR_ODA_PAN_MISSING,
  ERR_ODA_ATC_MISSING,
  ERR_ODA_SM_CA_KEY_TYPE,
  ERR_ODA_CA_KEY_UNKNOWN,
  ERR_ODA_SDAD_IDN_MISMATCH,
} from '../status/status';
import { bytesCopy } from '../util/bytes';
import {
  TAG_82_AIP,
  TAG_84_DF_NAME,
  TAG_8F_CA_INDEX,
  TAG_90_ISSUER_CERT,
  TAG_92_ISSUER_REMAINDER,
  TAG_9F32_ISSUER_EXPONENT,
  TAG_9F46_ICC_CERT,
  TAG_9F47_ICC_EXPONENT,
  TAG_9F48_ICC_REMAINDER,
  TAG_9F4A_SDA_TAG_LIST,
  TAG_9F4B_SDAD,
  TAG_9F69_CARD_AUTH_DATA,
  TAG_9A_DATE,
  TAG_9F36_ATC,
  TAG_9F37_UNPREDICTABLE_NUMBER,
  TAG_9F02_AMOUNT,
  TAG_5F2A_CURRENCY_CODE,
} from '../emv/emv_tags';
import {
  odaRecoverIssuer,
  odaRecoverIcc,
  odaRecoverSdad,
  odaSignedIdn,
  odaSignedIdnLength,
  odaVerifySdad,
  odaVerifySsad,
} from '../emv/emv_oda';
import { capkFind } from '../emv/emv_capk';
import {
  odaSmCaKey, odaSmRecoverIssuer, odaSmRecoverIcc, odaSmRecoverSdad, odaSmSignedIdn,
  odaSmSignedIdnLength, odaSmVerifySdad,
} from '../emv/emv_oda_sm';
import {
  ctx,
  STATIC_DATA_MAX,
  PATH_FULL_FLOW,
  ODA_METHOD_NONE,
  ODA_METHOD_FDDA,
  ODA_METHOD_SDA,
  ODA_METHOD_DDA,
  ODA_METHOD_CDA,
} from './qpboc_context';

/** AIP byte 1 bits (EMV 4.4 Book 3, C1): SDA supported, DDA supported (fDDA for qPBOC). */
export const AIP1_SDA: u8 = 0x40;
export const AIP1_DDA: u8 = 0x20;
const TAG_93_SSAD: u32 = 0x93;

/** Static data to be authenticated, with the 9F4A values appended (built once per ODA). */
const odaStatic = memory.data(<i32>(STATIC_DATA_MAX + 2), 4);
let odaStaticLength: u32 = 0;

/** AIP byte 1 of the card (0 when absent). */
export function odaAipByte1(): u8 {
  const aip = ctx.card.find(TAG_82_AIP);
  if (aip < 0 || ctx.card.valueLength(aip) < 1) return 0;
  return load<u8>(ctx.card.valuePtr(aip));
}

/** AIP byte 1 bit 1: CDA supported (EMV 4.4 Book 3, C1). */
export const AIP1_CDA: u8 = 0x01;

/**
 * The ODA method for this card: on the full flow CDA, else DDA, else SDA (EMV 4.4 Book 3,
 * 10.3); on qPBOC fDDA when the AIP offers DDA, else SDA. ODA_METHOD_NONE when none applies.
 */
export function odaMethodOf(): u8 {
  const aip = odaAipByte1();
  if (ctx.path == PATH_FULL_FLOW) {
    if ((aip & AIP1_CDA) != 0) return ODA_METHOD_CDA;
    if ((aip & AIP1_DDA) != 0) return ODA_METHOD_DDA;
  } else if ((aip & AIP1_DDA) != 0) {
    return ODA_METHOD_FDDA;
  }
  return (aip & AIP1_SDA) != 0 ? ODA_METHOD_SDA : ODA_METHOD_NONE;
}

/** True when the method needs the ICC key (fDDA, DDA, CDA). */
export function odaUsesIccKey(): bool {
  const method = odaMethodOf();
  return method != ODA_METHOD_SDA && method != ODA_METHOD_NONE;
}

/** True when the AIP offers an ODA method this kernel runs on the card's path. */
export function odaSupported(): bool {
  return odaMethodOf() != ODA_METHOD_NONE;
}

/** True for the statuses that only say an ODA input has not arrived (yet). */
export function odaStatusIsMissingInput(status: i32): bool {
  return (
    status == ERR_ODA_CA_INDEX_MISSING ||
    status == ERR_ODA_RID_MISSING ||
    status == ERR_ODA_ISSUER_CERT_MISSING ||
    status == ERR_ODA_ISSUER_EXPONENT_MISSING ||
    status == ERR_ODA_ICC_CERT_MISSING ||
    status == ERR_ODA_ICC_EXPONENT_MISSING ||
    status == ERR_ODA_SDAD_MISSING ||
    status == ERR_ODA_SSAD_MISSING ||
    status == ERR_ODA_ISSUER_REMAINDER_MISSING ||
    status == ERR_ODA_ICC_REMAINDER_MISSING ||
    status == ERR_ODA_ISSUER_KEY_MISSING ||
    status == ERR_ODA_ICC_KEY_MISSING ||
    status == ERR_ODA_PAN_MISSING ||
    status == ERR_ODA_ATC_MISSING
  );
}

/**
 * First ODA input missing for the method the AIP selects, or STATUS_OK. fDDA needs 8F, 90,
 * 9F32, 9F46, 9F47, 9F4B; SDA needs 8F, 90, 9F32, 93. Returns STATUS_OK or ERR_ODA_*_MISSING.
 */
export function odaInputsCheck(): i32 {
  const c = ctx.card;
  if (!ctx.fci.has(TAG_84_DF_NAME)) return ERR_ODA_RID_MISSING;
  if (!c.has(TAG_8F_CA_INDEX)) return ERR_ODA_CA_INDEX_MISSING;
  // No key of either kind for 8F: no later record can help, and which certificate layout (RSA
  // or SM) the card uses cannot be told, so this is the failure to report.
  if (!odaCaKeyLoaded()) return ERR_ODA_CA_KEY_UNKNOWN;
  if (!c.has(TAG_90_ISSUER_CERT)) return ERR_ODA_ISSUER_CERT_MISSING;
  // SM certificates carry no exponents (domain.md 3.6).
  const sm = odaIsSm();
  if (!sm && !c.has(TAG_9F32_ISSUER_EXPONENT)) return ERR_ODA_ISSUER_EXPONENT_MISSING;
  if (!odaUsesIccKey()) return c.has(TAG_93_SSAD) ? STATUS_OK : ERR_ODA_SSAD_MISSING;
  if (!c.has(TAG_9F46_ICC_CERT)) return ERR_ODA_ICC_CERT_MISSING;
  if (!sm && !c.has(TAG_9F47_ICC_EXPONENT)) return ERR_ODA_ICC_EXPONENT_MISSING;
  if (!c.has(TAG_9F4B_SDAD)) return ERR_ODA_SDAD_MISSING;
  return STATUS_OK;
}

/**
 * Builds the static data (ODA records ‖ values of the 9F4A list, only 82 allowed) into
 * odaStatic. Returns STATUS_OK or ERR_CARD_DATA_INVALID (static data overflowed, or 9F4A
 * names anything but 82: EMV 4.4 Book 3, 10.3).
 */
export function odaStaticDataBuild(): i32 {
  if (ctx.staticDataInvalid) return ERR_CARD_DATA_INVALID;
  bytesCopy(odaStatic, ctx.staticData, ctx.staticDataLength);
  odaStaticLength = ctx.staticDataLength;
  const list = ctx.card.find(TAG_9F4A_SDA_TAG_LIST);
  if (list < 0) return STATUS_OK;
  if (ctx.card.valueLength(list) != 1 || load<u8>(ctx.card.valuePtr(list)) != 0x82) {
    return ERR_CARD_DATA_INVALID;
  }
  const aip = ctx.card.find(TAG_82_AIP);
  assert(aip >= 0 && ctx.card.valueLength(aip) == 2, 'AIP checked at GPO');
  bytesCopy(odaStatic + <usize>odaStaticLength, ctx.card.valuePtr(aip), 2);
  odaStaticLength += 2;
  assert(odaStaticLength <= STATIC_DATA_MAX + 2, 'static data bound');
  return STATUS_OK;
}

/** True when the certificate inputs (8F, 90, 9F32, and 9F46, 9F47 for fDDA) are present. */
export function odaCertificateInputsPresent(): bool {
  const c = ctx.card;
  const sm = odaIsSm();
  if (c.has(TAG_8F_CA_INDEX) && !odaCaKeyLoaded()) return true;
  if (!c.has(TAG_8F_CA_INDEX) || !c.has(TAG_90_ISSUER_CERT)) return false;
  if (!sm && !c.has(TAG_9F32_ISSUER_EXPONENT)) return false;
  if (!odaUsesIccKey()) return true;
  return c.has(TAG_9F46_ICC_CERT) && (sm || c.has(TAG_9F47_ICC_EXPONENT));
}

/**
 * True when the signature can be checked now: SSAD (93) for SDA; for fDDA the SDAD (9F4B) and
 * 9F69, since a 9F69 still to come would turn a v00 check into a wrong verdict.
 */
export function odaSignatureInputsPresent(): bool {
  const c = ctx.card;
  if (!odaUsesIccKey()) return c.has(TAG_93_SSAD);
  return c.has(TAG_9F4B_SDAD) && c.has(TAG_9F69_CARD_AUTH_DATA);
}

/**
 * Certificate stage: builds the static data and recovers the issuer key (CA key by RID = first
 * 5 bytes of 84 and index 8F), then the ICC key for fDDA. emv_oda keeps the recovered keys for
 * odaSignature. Returns STATUS_OK or the failing check (ERR_ODA_*, ERR_CARD_DATA_INVALID).
 */
export function odaCertificates(): i32 {
  const inputs = odaInputsCheck();
  if (inputs != STATUS_OK && inputs != ERR_ODA_SDAD_MISSING && inputs != ERR_ODA_SSAD_MISSING) {
    return inputs;
  }
  const built = odaStaticDataBuild();
  if (built != STATUS_OK) return built;
  const status = odaIssuerCertificate();
  if (status != STATUS_OK) return status;
  const sm = odaIsSm();
  // SM SDA (SSAD 93) and the full flow's SM DDA/CDA have no public layout: an SM card must use
  // qPBOC fDDA. Going on to DDA/CDA would check its signature with the RSA ICC key state,
  // which this card never set: the key of the card before.
  if (sm && odaMethodOf() != ODA_METHOD_FDDA) return ERR_ODA_SM_CA_KEY_TYPE;
  if (!odaUsesIccKey()) return STATUS_OK;
  const c = ctx.card;
  const dateBcd = odaDateBcd();
  const iccCert = c.find(TAG_9F46_ICC_CERT);
  if (sm) {
    return odaSmRecoverIcc(c.valuePtr(iccCert), c.valueLength(iccCert), ctx.pan, ctx.panLength,
      odaStatic, odaStaticLength, dateBcd);
  }
  const iccRemainder = c.find(TAG_9F48_ICC_REMAINDER);
  const iccExponent = c.find(TAG_9F47_ICC_EXPONENT);
  return odaRecoverIcc(
    c.valuePtr(iccCert),
    c.valueLength(iccCert),
    odaPtr(iccRemainder),
    odaLength(iccRemainder),
    c.valuePtr(iccExponent),
    c.valueLength(iccExponent),
    ctx.pan,
    ctx.panLength,
    odaStatic,
    odaStaticLength,
    dateBcd,
  );
}

/**
 * True when the issuer certificate can be checked on its own: 8F with a loaded CA key, 90,
 * 9F32 for RSA, and the PAN. The ICC certificate may still be missing.
 */
export function odaIssuerInputsPresent(): bool {
  const c = ctx.card;
  if (ctx.panLength == 0 || !ctx.fci.has(TAG_84_DF_NAME) || !c.has(TAG_90_ISSUER_CERT)) {
    return false;
  }
  if (!odaCaKeyLoaded()) return false;
  return odaIsSm() || c.has(TAG_9F32_ISSUER_EXPONENT);
}

/**
 * Issuer stage alone: recovers the issuer key from 90 (RSA with 92 and 9F32, or SM), checking
 * its hash or signature, dates and the CA's revocation list. Needs odaIssuerInputsPresent.
 * Returns STATUS_OK or the failing check (ERR_ODA_*).
 */
export function odaIssuerCertificate(): i32 {
  const c = ctx.card;
  const index = c.find(TAG_8F_CA_INDEX);
  if (c.valueLength(index) != 1) return ERR_ODA_CA_INDEX_MISSING;
  const name = ctx.fci.find(TAG_84_DF_NAME);
  if (ctx.fci.valueLength(name) < 5) return ERR_ODA_RID_MISSING;
  const rid = ctx.fci.valuePtr(name);
  const caIndex = <u32>load<u8>(c.valuePtr(index));
  const cert = c.find(TAG_90_ISSUER_CERT);
  const dateBcd = odaDateBcd();
  if (odaIsSm()) {
    return odaSmRecoverIssuer(rid, caIndex, c.valuePtr(cert), c.valueLength(cert), ctx.pan,
      ctx.panLength, dateBcd);
  }
  const remainder = c.find(TAG_92_ISSUER_REMAINDER);
  const exponent = c.find(TAG_9F32_ISSUER_EXPONENT);
  return odaRecoverIssuer(
    rid,
    caIndex,
    c.valuePtr(cert),
    c.valueLength(cert),
    odaPtr(remainder),
    odaLength(remainder),
    c.valuePtr(exponent),
    c.valueLength(exponent),
    ctx.pan,
    ctx.panLength,
    dateBcd,
  );
}

/** The transaction date 9A as 0xYYMMDD. */
function odaDateBcd(): u32 {
  const date = ctx.terminal.valuePtr(ctx.terminal.find(TAG_9A_DATE));
  const year = <u32>load<u8>(date);
  return (year << 16) | ((<u32>load<u8>(date + 1)) << 8) | (<u32>load<u8>(date + 2));
}

/**
 * Signature stage, after a successful odaCertificates: SSAD for SDA, SDAD (fDDA) otherwise.
 * Returns STATUS_OK or the failing check (ERR_ODA_*).
 */
export function odaSignature(): i32 {
  const c = ctx.card;
  if (!odaUsesIccKey()) {
    const ssad = c.find(TAG_93_SSAD);
    if (ssad < 0) return ERR_ODA_SSAD_MISSING;
    return odaVerifySsad(c.valuePtr(ssad), c.valueLength(ssad), odaStatic, odaStaticLength);
  }
  if (!c.has(TAG_9F4B_SDAD)) return ERR_ODA_SDAD_MISSING;
  return odaFdda();
}

/**
 * fDDA precheck before the commit, after a successful odaCertificates in the same step (the ICC
 * key is fresh): the SDAD (9F4B, from GPO or a record read) recovered with the ICC key, framing,
 * L_DD, and IDN == the GPO ATC (odaRecoverSdad). None of it depends on 9F69, so whether 9F69
 * still comes (v01) or never does (v00), a failure here is a failure of the full check after
 * the commit: refusing now cannot decline a genuine card. The hash is left to odaSignature.
 * Returns STATUS_OK (passed, or nothing to check yet: SDA, no 9F4B), ERR_ODA_ATC_MISSING, or the
 * failing check of odaRecoverSdad (ERR_ODA_SDAD_*, ERR_ODA_TERMINAL_DATA, ERR_ODA_ICC_KEY_MISSING).
 */
export function odaSdadPrecheck(): i32 {
  if (!odaUsesIccKey()) return STATUS_OK;
  const c = ctx.card;
  const sdad = c.find(TAG_9F4B_SDAD);
  if (sdad < 0) return STATUS_OK;
  const atc = c.find(TAG_9F36_ATC);
  if (atc < 0) return ERR_ODA_ATC_MISSING;
  if (odaIsSm()) {
    return odaSmRecoverSdad(c.valuePtr(sdad), c.valueLength(sdad), c.valuePtr(atc),
      c.valueLength(atc));
  }
  return odaRecoverSdad(c.valuePtr(sdad), c.valueLength(sdad), c.valuePtr(atc), c.valueLength(atc));
}

/**
 * Runs ODA on the collected data: fDDA when the AIP offers DDA, else SDA.
 * Returns STATUS_OK or the failing check (ERR_ODA_*, ERR_RSA_*, ERR_CARD_DATA_INVALID).
 */
export function odaRun(): i32 {
  const inputs = odaInputsCheck();
  if (inputs != STATUS_OK) return inputs;
  const certificates = odaCertificates();
  if (certificates != STATUS_OK) return certificates;
  return odaSignature();
}

/** fDDA: v01 when the card sent 9F69, else v00; the IDN must be the GPO ATC (domain.md 3.4). */
function odaFdda(): i32 {
  const c = ctx.card;
  const t = ctx.terminal;
  const sdad = c.find(TAG_9F4B_SDAD);
  const cardAuth = c.find(TAG_9F69_CARD_AUTH_DATA);
  const atc = c.find(TAG_9F36_ATC);
  if (atc < 0) return ERR_ODA_ATC_MISSING;
  const un = t.find(TAG_9F37_UNPREDICTABLE_NUMBER);
  const amount = t.find(TAG_9F02_AMOUNT);
  const currency = t.find(TAG_5F2A_CURRENCY_CODE);
  assert(un >= 0 && amount >= 0 && currency >= 0, 'terminal data set at begin');
  const sm = odaIsSm();
  const verify = sm ? odaSmVerifySdad : odaVerifySdad;
  const verified = verify(
    c.valuePtr(sdad),
    c.valueLength(sdad),
    t.valuePtr(un),
    t.valueLength(un),
    t.valuePtr(amount),
    t.valueLength(amount),
    t.valuePtr(currency),
    t.valueLength(currency),
    odaPtr(cardAuth),
    odaLength(cardAuth),
    c.valuePtr(atc),
    c.valueLength(atc),
  );
  // A good hash with another IDN: the card signed this ATC, and the GPO's 9F36 came damaged
  // (a PN532 frame's 8-bit checksum misses two bit flips that cancel) or wrong. fDDA still
  // fails; a debit the card committed is recorded with the ATC its TC was computed over,
  // which clearing matches (swarm seed 11, --taps 20000: 059A arrived as 049B, an old ATC).
  const signed = sm ? odaSmSignedIdnLength() : odaSignedIdnLength();
  if (verified == ERR_ODA_SDAD_IDN_MISMATCH && signed == c.valueLength(atc)) {
    memory.copy(c.valuePtr(atc), sm ? odaSmSignedIdn() : odaSignedIdn(), <usize>signed);
  }
  return verified;
}

/**
 * True when the card's CA key (RID = first 5 bytes of 84, index 8F) is an SM2 key: the card
 * then signs with SM2/SM3 (it was offered DF69 = 01; domain.md 3.6) and the SM formats apply.
 */
export function odaIsSm(): bool {
  const index = ctx.card.find(TAG_8F_CA_INDEX);
  const name = ctx.fci.find(TAG_84_DF_NAME);
  if (index < 0 || name < 0 || ctx.card.valueLength(index) != 1) return false;
  if (ctx.fci.valueLength(name) < 5) return false;
  return odaSmCaKey(ctx.fci.valuePtr(name), <u32>load<u8>(ctx.card.valuePtr(index)));
}

/** True when a CA key (RSA or SM2) is loaded for the card's RID and 8F. */
function odaCaKeyLoaded(): bool {
  const index = ctx.card.find(TAG_8F_CA_INDEX);
  const name = ctx.fci.find(TAG_84_DF_NAME);
  if (index < 0 || name < 0 || ctx.card.valueLength(index) != 1) return false;
  if (ctx.fci.valueLength(name) < 5) return false;
  return capkFind(ctx.fci.valuePtr(name), <u32>load<u8>(ctx.card.valuePtr(index))) >= 0;
}

function odaPtr(index: i32): usize {
  return index < 0 ? 0 : ctx.card.valuePtr(index);
}

function odaLength(index: i32): u32 {
  return index < 0 ? 0 : ctx.card.valueLength(index);
}
