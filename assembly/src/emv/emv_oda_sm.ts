// SM offline data authentication: SM2/SM3 issuer and ICC certificates and the SM fDDA SDAD.
//
// PBOC 3.0 security enhancement (JR/T 0025.17, domain.md 3.6). Unlike the RSA formats these
// are not message recovery: each object is plain data followed by an SM2 signature r || s
// (64 bytes) over e = SM3(Z_A || signed part), Z_A with the default ID "1234567812345678".
//
//   issuer certificate (90), format 12: [0] 12, [1..5) issuer id, [5..7) expiry MMYY,
//     [7..10) serial, [10] hash algorithm (07 SM3), [11] key algorithm (04 SM2), [12] key
//     parameter indicator, [13] key length L, [14..14+L) key, signature.
//     Signed: [0..14+L). Signer: the CA key (RID, 8F).
//   ICC certificate (9F46), format 14: [0] 14, [1..11) PAN F-padded, [11..13) expiry,
//     [13..16) serial, [16] hash algorithm, [17] key algorithm, [18] parameter indicator,
//     [19] L, [20..20+L) key, signature. Signed: [0..20+L) || static data to authenticate.
//   SDAD (9F4B), format 15: [0] 15, [1] L_DD, [2..2+L_DD) ICC dynamic data (IDN length 02,
//     IDN = ATC), signature. Signed: [0..2+L_DD) || 9F37 || 9F02 || 5F2A || 9F69 (fDDA v01)
//     or || 9F37 (v00), as the RSA fDDA hashes them.
//
// Reconstructed [G in domain.md 3.6]: the meaning of bytes 10-12 / 16-18 (taken as hash
// algorithm, key algorithm, parameter indicator; the last is not checked), the SM3 indicator
// value 07, the default signer ID, key length L = 0x40 (X || Y) with 0x21 accepted as a
// compressed point. Checks run in the RSA order (EMV 4.4 Book 2, 5.3 and 6.4): framing, hash
// algorithm, signature, identity, expiry, revocation, key algorithm, key.

import {
  STATUS_OK, ERR_ODA_CA_KEY_UNKNOWN, ERR_ODA_CA_KEY_EXPIRED, ERR_ODA_SM_CA_KEY_TYPE,
  ERR_ODA_ISSUER_CERT_LENGTH, ERR_ODA_ISSUER_CERT_FORMAT, ERR_ODA_ISSUER_HASH_ALGORITHM,
  ERR_ODA_SM_ISSUER_SIGNATURE, ERR_ODA_ISSUER_ID_MISMATCH, ERR_ODA_ISSUER_CERT_DATE_INVALID,
  ERR_ODA_ISSUER_CERT_EXPIRED, ERR_ODA_ISSUER_CERT_REVOKED, ERR_ODA_ISSUER_PK_ALGORITHM,
  ERR_ODA_ISSUER_PK_LENGTH, ERR_ODA_SM_KEY_INVALID, ERR_ODA_ISSUER_KEY_MISSING,
  ERR_ODA_ICC_CERT_LENGTH, ERR_ODA_ICC_CERT_FORMAT, ERR_ODA_ICC_HASH_ALGORITHM,
  ERR_ODA_SM_ICC_SIGNATURE, ERR_ODA_ICC_PAN_MISMATCH, ERR_ODA_ICC_CERT_DATE_INVALID,
  ERR_ODA_ICC_CERT_EXPIRED, ERR_ODA_ICC_PK_ALGORITHM, ERR_ODA_ICC_PK_LENGTH,
  ERR_ODA_ICC_KEY_MISSING, ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_FORMAT, ERR_ODA_SDAD_DYNAMIC_LENGTH,
  ERR_ODA_SM_SDAD_SIGNATURE, ERR_ODA_SDAD_IDN_MISMATCH, ERR_ODA_TERMINAL_DATA,
  ERR_ODA_FDDA_VERSION, ERR_ODA_TRANSACTION_DATE, ERR_ODA_PAN_INVALID,
} from '../status/status';
import { bytesEqual } from '../util/bytes';
import { sm3Init, sm3Update, sm3Final, SM3_DIGEST_BYTES } from '../crypto/sm3';
import {
  SM2_KEY_BYTES, SM2_PUBLIC_KEY_BYTES, SM2_SIGNATURE_BYTES, SM2_DEFAULT_ID,
  SM2_DEFAULT_ID_BYTES, sm2KeyPrepare, sm2KeyZa, sm2VerifyDigest, sm2Decompress,
  sm2KeyPublic,
} from '../crypto/sm2';
import {
  capkFind, capkKey, capkExpiry, capkIsRevoked, capkAlgorithm, CAPK_PK_ALGORITHM_SM2,
} from './emv_capk';
import {
  panParse, issuerIdMatches, iccPanMatches, certExpiryCheck, dateValid, dateFullBcd, odaReset,
  ODA_FDDA_VERSION_01, ODA_CARD_AUTH_DATA_MAX,
} from './emv_oda';

/** Format bytes of the SM objects (domain.md 3.6). */
export const ODA_SM_FORMAT_12_ISSUER: u8 = 0x12;
export const ODA_SM_FORMAT_14_ICC: u8 = 0x14;
export const ODA_SM_FORMAT_15_SDAD: u8 = 0x15;
/** Hash algorithm indicator 07 = SM3 and key algorithm indicator 04 = SM2 [reconstructed]. */
export const ODA_SM_HASH_ALGORITHM_07_SM3: u8 = 0x07;
export const ODA_SM_PK_ALGORITHM_04_SM2: u8 = 0x04;

const ISSUER_HEADER_BYTES: u32 = 14;
const ICC_HEADER_BYTES: u32 = 20;
const SDAD_HEADER_BYTES: u32 = 2;
const KEY_COMPRESSED_BYTES: u32 = 33;

const issuerKey = memory.data(<i32>SM2_KEY_BYTES, 16);
const iccKey = memory.data(<i32>SM2_KEY_BYTES, 16);
const point = memory.data(<i32>SM2_PUBLIC_KEY_BYTES, 16);
const digest = memory.data(<i32>SM3_DIGEST_BYTES, 16);
// The terminal data hashed after an SDAD (at most 4 + 6 + 2 + ODA_CARD_AUTH_DATA_MAX bytes).
const tail = memory.data(64, 4);
let issuerReady: bool = false;
let iccReady: bool = false;
let dynamicPtr: usize = 0;
let dynamicLength: u32 = 0;
/** The IDN of an SDAD whose signature held when only its IDN check failed; length or 0. */
let signedIdnPtr: usize = 0;
let signedIdnLength: u32 = 0;

/** Forgets the recovered SM issuer and ICC keys (call at the start of each card). */
export function odaSmReset(): void {
  issuerReady = false;
  iccReady = false;
  dynamicLength = 0;
  signedIdnLength = 0;
}

/**
 * The IDN (the ATC) of the last SDAD odaSmVerifySdad refused with ERR_ODA_SDAD_IDN_MISMATCH:
 * its signature held, so this is what the card signed (as emv_oda.ts odaSignedIdn). It views
 * the SDAD the caller passed; odaSmSignedIdnLength() bytes, 0 after any other result.
 */
export function odaSmSignedIdn(): usize {
  return signedIdnPtr;
}

export function odaSmSignedIdnLength(): u32 {
  return signedIdnLength;
}

/** True when (RID at `rid`, `caIndex`) names a loaded SM2 CA key: the card signs with SM. */
export function odaSmCaKey(rid: usize, caIndex: u32): bool {
  const slot = capkFind(rid, caIndex);
  return slot >= 0 && capkAlgorithm(<u32>slot) == CAPK_PK_ALGORITHM_SM2;
}

/** X || Y of the last recovered key (the ICC key once recovered, else the issuer key). */
export function odaSmPublicKey(xy: usize): void {
  assert(issuerReady, 'no SM key recovered');
  sm2KeyPublic(xy, iccReady ? iccKey : issuerKey);
}

/** ICC dynamic data of the last verified SM SDAD (points into the caller's SDAD bytes). */
export function odaSmDynamicData(): usize {
  return dynamicPtr;
}

/** Length of odaSmDynamicData(); 0 until an SDAD verifies. */
export function odaSmDynamicDataLength(): u32 {
  return dynamicLength;
}

/**
 * Verifies the SM issuer certificate (90) with the SM2 CA key (RID at `rid`, `caIndex` = 8F)
 * and keeps the issuer key. `pan` is 5A or 57; `dateBcd` the transaction date 0xYYMMDD.
 * Returns STATUS_OK or, in check order: ERR_ODA_TRANSACTION_DATE, ERR_ODA_PAN_INVALID,
 * ERR_ODA_CA_KEY_UNKNOWN, ERR_ODA_SM_CA_KEY_TYPE, ERR_ODA_CA_KEY_EXPIRED,
 * ERR_ODA_ISSUER_CERT_LENGTH, ERR_ODA_ISSUER_CERT_FORMAT, ERR_ODA_ISSUER_HASH_ALGORITHM,
 * ERR_ODA_SM_ISSUER_SIGNATURE, ERR_ODA_ISSUER_ID_MISMATCH, ERR_ODA_ISSUER_CERT_DATE_INVALID,
 * ERR_ODA_ISSUER_CERT_EXPIRED, ERR_ODA_ISSUER_CERT_REVOKED, ERR_ODA_ISSUER_PK_ALGORITHM,
 * ERR_ODA_ISSUER_PK_LENGTH, ERR_ODA_SM_KEY_INVALID.
 */
export function odaSmRecoverIssuer(
  rid: usize, caIndex: u32, cert: usize, certLength: u32, pan: usize, panLength: u32,
  dateBcd: u32,
): i32 {
  // A new card: forget the RSA keys of the card before too, so no later check can use them.
  odaReset();
  odaSmReset();
  if (!dateValid(dateBcd)) return ERR_ODA_TRANSACTION_DATE;
  if (!panParse(pan, panLength)) return ERR_ODA_PAN_INVALID;
  const slot = capkFind(rid, caIndex);
  if (slot < 0) return ERR_ODA_CA_KEY_UNKNOWN;
  if (capkAlgorithm(<u32>slot) != CAPK_PK_ALGORITHM_SM2) return ERR_ODA_SM_CA_KEY_TYPE;
  if (dateFullBcd(dateBcd) > capkExpiry(<u32>slot)) return ERR_ODA_CA_KEY_EXPIRED;
  const signed = signedLength(cert, certLength, ISSUER_HEADER_BYTES);
  if (signed == 0) return ERR_ODA_ISSUER_CERT_LENGTH;
  if (load<u8>(cert) != ODA_SM_FORMAT_12_ISSUER) return ERR_ODA_ISSUER_CERT_FORMAT;
  if (load<u8>(cert + 10) != ODA_SM_HASH_ALGORITHM_07_SM3) return ERR_ODA_ISSUER_HASH_ALGORITHM;
  if (!signatureValid(capkKey(<u32>slot), cert, signed, 0, 0)) return ERR_ODA_SM_ISSUER_SIGNATURE;
  if (!issuerIdMatches(cert + 1)) return ERR_ODA_ISSUER_ID_MISMATCH;
  const expiry = certExpiryCheck(cert + 5, dateBcd);
  if (expiry != STATUS_OK) {
    return expiry < 0 ? ERR_ODA_ISSUER_CERT_DATE_INVALID : ERR_ODA_ISSUER_CERT_EXPIRED;
  }
  if (capkIsRevoked(rid, caIndex, cert + 7)) return ERR_ODA_ISSUER_CERT_REVOKED;
  if (load<u8>(cert + 11) != ODA_SM_PK_ALGORITHM_04_SM2) return ERR_ODA_ISSUER_PK_ALGORITHM;
  const key = keyPrepare(issuerKey, cert + ISSUER_HEADER_BYTES, signed - ISSUER_HEADER_BYTES);
  if (key != STATUS_OK) return key > 0 ? ERR_ODA_ISSUER_PK_LENGTH : ERR_ODA_SM_KEY_INVALID;
  issuerReady = true;
  return STATUS_OK;
}

/**
 * Verifies the SM ICC certificate (9F46) with the issuer key recovered just before; the
 * signature covers the certificate body then `staticData` (the ODA records || 9F4A values).
 * Returns STATUS_OK or, in check order: ERR_ODA_ISSUER_KEY_MISSING, ERR_ODA_TRANSACTION_DATE,
 * ERR_ODA_PAN_INVALID, ERR_ODA_ICC_CERT_LENGTH, ERR_ODA_ICC_CERT_FORMAT,
 * ERR_ODA_ICC_HASH_ALGORITHM, ERR_ODA_SM_ICC_SIGNATURE, ERR_ODA_ICC_PAN_MISMATCH,
 * ERR_ODA_ICC_CERT_DATE_INVALID, ERR_ODA_ICC_CERT_EXPIRED, ERR_ODA_ICC_PK_ALGORITHM,
 * ERR_ODA_ICC_PK_LENGTH, ERR_ODA_SM_KEY_INVALID.
 */
export function odaSmRecoverIcc(
  cert: usize, certLength: u32, pan: usize, panLength: u32, staticData: usize,
  staticLength: u32, dateBcd: u32,
): i32 {
  iccReady = false;
  dynamicLength = 0;
  if (!issuerReady) return ERR_ODA_ISSUER_KEY_MISSING;
  if (!dateValid(dateBcd)) return ERR_ODA_TRANSACTION_DATE;
  if (!panParse(pan, panLength)) return ERR_ODA_PAN_INVALID;
  const signed = signedLength(cert, certLength, ICC_HEADER_BYTES);
  if (signed == 0) return ERR_ODA_ICC_CERT_LENGTH;
  if (load<u8>(cert) != ODA_SM_FORMAT_14_ICC) return ERR_ODA_ICC_CERT_FORMAT;
  if (load<u8>(cert + 16) != ODA_SM_HASH_ALGORITHM_07_SM3) return ERR_ODA_ICC_HASH_ALGORITHM;
  if (!signatureValid(issuerKey, cert, signed, staticData, staticLength)) {
    return ERR_ODA_SM_ICC_SIGNATURE;
  }
  if (!iccPanMatches(cert + 1)) return ERR_ODA_ICC_PAN_MISMATCH;
  const expiry = certExpiryCheck(cert + 11, dateBcd);
  if (expiry != STATUS_OK) {
    return expiry < 0 ? ERR_ODA_ICC_CERT_DATE_INVALID : ERR_ODA_ICC_CERT_EXPIRED;
  }
  if (load<u8>(cert + 17) != ODA_SM_PK_ALGORITHM_04_SM2) return ERR_ODA_ICC_PK_ALGORITHM;
  const key = keyPrepare(iccKey, cert + ICC_HEADER_BYTES, signed - ICC_HEADER_BYTES);
  if (key != STATUS_OK) return key > 0 ? ERR_ODA_ICC_PK_LENGTH : ERR_ODA_SM_KEY_INVALID;
  iccReady = true;
  return STATUS_OK;
}

/**
 * The SDAD checks that need no terminal data (a precheck before the card's commit): length,
 * format 15, L_DD, and IDN == ATC when `atcLength` != 0. Returns STATUS_OK or, in check order:
 * ERR_ODA_ICC_KEY_MISSING, ERR_ODA_TERMINAL_DATA, ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_FORMAT,
 * ERR_ODA_SDAD_DYNAMIC_LENGTH, ERR_ODA_SDAD_IDN_MISMATCH.
 */
export function odaSmRecoverSdad(sdad: usize, sdadLength: u32, atc: usize, atcLength: u32): i32 {
  dynamicLength = 0;
  signedIdnLength = 0;
  if (!iccReady) return ERR_ODA_ICC_KEY_MISSING;
  if (atcLength != 0 && atcLength != 2) return ERR_ODA_TERMINAL_DATA;
  const frame = sdadFrame(sdad, sdadLength);
  if (frame != STATUS_OK) return frame;
  return sdadIdnCheck(sdad, atc, atcLength);
}

/**
 * Verifies the SM SDAD (9F4B) with the ICC key: the odaSmRecoverSdad checks, then the
 * signature over SDAD[0..2+L_DD) || 9F37 (|| 9F02 || 5F2A || 9F69 when `cardAuthLength` != 0,
 * fDDA v01), then IDN == ATC. On success odaSmDynamicData() holds the ICC dynamic data.
 * Returns STATUS_OK or, in check order: ERR_ODA_ICC_KEY_MISSING, ERR_ODA_TERMINAL_DATA,
 * ERR_ODA_FDDA_VERSION, ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_FORMAT, ERR_ODA_SDAD_DYNAMIC_LENGTH,
 * ERR_ODA_SM_SDAD_SIGNATURE, ERR_ODA_SDAD_IDN_MISMATCH.
 */
export function odaSmVerifySdad(
  sdad: usize, sdadLength: u32, un: usize, unLength: u32, amount: usize, amountLength: u32,
  currency: usize, currencyLength: u32, cardAuth: usize, cardAuthLength: u32, atc: usize,
  atcLength: u32,
): i32 {
  dynamicLength = 0;
  signedIdnLength = 0;
  if (!iccReady) return ERR_ODA_ICC_KEY_MISSING;
  const v01 = cardAuthLength > 0;
  if (atcLength != 0 && atcLength != 2) return ERR_ODA_TERMINAL_DATA;
  if (unLength != 4 || cardAuthLength > ODA_CARD_AUTH_DATA_MAX) return ERR_ODA_TERMINAL_DATA;
  if (v01 && (amountLength != 6 || currencyLength != 2)) return ERR_ODA_TERMINAL_DATA;
  if (v01 && load<u8>(cardAuth) != ODA_FDDA_VERSION_01) return ERR_ODA_FDDA_VERSION;
  const frame = sdadFrame(sdad, sdadLength);
  if (frame != STATUS_OK) return frame;
  let length = unLength;
  memory.copy(tail, un, <usize>unLength);
  if (v01) {
    memory.copy(tail + <usize>length, amount, 6);
    memory.copy(tail + <usize>length + 6, currency, 2);
    memory.copy(tail + <usize>length + 8, cardAuth, <usize>cardAuthLength);
    length += 8 + cardAuthLength;
  }
  const signed = SDAD_HEADER_BYTES + <u32>load<u8>(sdad + 1);
  if (!signatureValid(iccKey, sdad, signed, tail, length)) return ERR_ODA_SM_SDAD_SIGNATURE;
  const idn = sdadIdnCheck(sdad, atc, atcLength);
  if (idn == ERR_ODA_SDAD_IDN_MISMATCH && <u32>load<u8>(sdad + 2) == atcLength) {
    signedIdnPtr = sdad + 3;
    signedIdnLength = atcLength;
  }
  if (idn != STATUS_OK) return idn;
  dynamicPtr = sdad + SDAD_HEADER_BYTES;
  dynamicLength = signed - SDAD_HEADER_BYTES;
  return STATUS_OK;
}

/** Length check of an SDAD: exactly 2 + L_DD + 64 bytes, format 15. */
function sdadFrame(sdad: usize, sdadLength: u32): i32 {
  if (sdadLength < SDAD_HEADER_BYTES + SM2_SIGNATURE_BYTES) return ERR_ODA_SDAD_LENGTH;
  const dataLength = <u32>load<u8>(sdad + 1);
  if (sdadLength != SDAD_HEADER_BYTES + dataLength + SM2_SIGNATURE_BYTES) {
    return ERR_ODA_SDAD_LENGTH;
  }
  if (load<u8>(sdad) != ODA_SM_FORMAT_15_SDAD) return ERR_ODA_SDAD_FORMAT;
  return STATUS_OK;
}

/** IDN (ICC dynamic data: length byte, then the IDN) against the 2-byte ATC. */
function sdadIdnCheck(sdad: usize, atc: usize, atcLength: u32): i32 {
  if (atcLength == 0) return STATUS_OK;
  if (<u32>load<u8>(sdad + 1) < 1 + atcLength) return ERR_ODA_SDAD_DYNAMIC_LENGTH;
  if (<u32>load<u8>(sdad + 2) != atcLength || !bytesEqual(sdad + 3, atc, atcLength)) {
    return ERR_ODA_SDAD_IDN_MISMATCH;
  }
  return STATUS_OK;
}

/**
 * Length of the signed part of a certificate: header || key (key length at header - 1), then
 * exactly one signature. 0 when the certificate is shorter or longer than that.
 */
function signedLength(cert: usize, certLength: u32, header: u32): u32 {
  if (certLength < header + SM2_SIGNATURE_BYTES) return 0;
  const signed = header + <u32>load<u8>(cert + <usize>(header - 1));
  return certLength == signed + SM2_SIGNATURE_BYTES ? signed : 0;
}

/** SM2 verify of `signature` (right after the signed part) over SM3(Z_A || body || extra). */
function signatureValid(key: usize, body: usize, bodyLength: u32, extra: usize, extraLength: u32,
): bool {
  sm3Init();
  sm3Update(sm2KeyZa(key), SM3_DIGEST_BYTES);
  sm3Update(body, bodyLength);
  sm3Update(extra, extraLength);
  sm3Final(digest);
  return sm2VerifyDigest(key, digest, body + <usize>bodyLength) == STATUS_OK;
}

/**
 * Prepares the certificate's key (`length` bytes: X || Y, or a compressed point). Returns
 * STATUS_OK, 1 (a key length this format does not carry) or -1 (not a point of the curve).
 */
function keyPrepare(key: usize, bytes: usize, length: u32): i32 {
  let xy = bytes;
  if (length == KEY_COMPRESSED_BYTES) {
    if (sm2Decompress(point, bytes) != STATUS_OK) return -1;
    xy = point;
  } else if (length != SM2_PUBLIC_KEY_BYTES) {
    return 1;
  }
  return sm2KeyPrepare(key, xy, SM2_DEFAULT_ID, SM2_DEFAULT_ID_BYTES) == STATUS_OK ? STATUS_OK : -1;
}
