// Offline data authentication: issuer and ICC key recovery, SDA (SSAD) and fDDA (SDAD) checks.
//
// Implements EMV 4.4 Book 2 sections 5.3 (issuer key), 5.4 (SSAD), 6.4 (ICC key) and 6.5.2
// (SDAD) with the qPBOC fDDA hash rules (domain.md 3.4): v00 hashes 9F37 after the recovered
// data, v01 hashes 9F37 || 9F02 || 5F2A || 9F69, and the IDN must equal the ATC. Each check
// has its own status code, applied in the order EMV lists them. The recovered issuer and ICC
// keys live in static slots until the next odaReset / odaRecoverIssuer.
//
// Call order for one card: odaRecoverIssuer, then odaRecoverIcc and odaVerifySdad (fDDA), or
// odaVerifySsad (SDA). odaRecoverSdad runs the part of odaVerifySdad that needs no hash input
// (a kernel may call it before 9F69 has arrived). Every pointer/length pair is read only during
// the call.

import {
  STATUS_OK,
  ERR_ODA_CA_KEY_UNKNOWN, ERR_ODA_CA_KEY_EXPIRED,
  ERR_ODA_ISSUER_CERT_LENGTH, ERR_ODA_ISSUER_CERT_RANGE, ERR_ODA_ISSUER_CERT_HEADER,
  ERR_ODA_ISSUER_CERT_TRAILER, ERR_ODA_ISSUER_CERT_FORMAT, ERR_ODA_ISSUER_HASH_ALGORITHM,
  ERR_ODA_ISSUER_PK_ALGORITHM, ERR_ODA_ISSUER_PK_LENGTH, ERR_ODA_ISSUER_REMAINDER_MISSING,
  ERR_ODA_ISSUER_REMAINDER_LENGTH, ERR_ODA_ISSUER_EXPONENT, ERR_ODA_ISSUER_HASH,
  ERR_ODA_ISSUER_ID_MISMATCH, ERR_ODA_ISSUER_CERT_EXPIRED, ERR_ODA_ISSUER_CERT_REVOKED,
  ERR_ODA_ISSUER_CERT_DATE_INVALID, ERR_ODA_ISSUER_KEY_MISSING,
  ERR_ODA_ICC_CERT_LENGTH, ERR_ODA_ICC_CERT_RANGE, ERR_ODA_ICC_CERT_HEADER,
  ERR_ODA_ICC_CERT_TRAILER, ERR_ODA_ICC_CERT_FORMAT, ERR_ODA_ICC_HASH_ALGORITHM,
  ERR_ODA_ICC_PK_ALGORITHM, ERR_ODA_ICC_PK_LENGTH, ERR_ODA_ICC_REMAINDER_MISSING,
  ERR_ODA_ICC_REMAINDER_LENGTH, ERR_ODA_ICC_EXPONENT, ERR_ODA_ICC_HASH, ERR_ODA_ICC_PAN_MISMATCH,
  ERR_ODA_ICC_CERT_EXPIRED, ERR_ODA_ICC_CERT_DATE_INVALID, ERR_ODA_ICC_KEY_MISSING,
  ERR_ODA_SSAD_LENGTH, ERR_ODA_SSAD_RANGE, ERR_ODA_SSAD_HEADER, ERR_ODA_SSAD_TRAILER,
  ERR_ODA_SSAD_FORMAT, ERR_ODA_SSAD_HASH_ALGORITHM, ERR_ODA_SSAD_HASH,
  ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_RANGE, ERR_ODA_SDAD_HEADER, ERR_ODA_SDAD_TRAILER,
  ERR_ODA_SDAD_FORMAT, ERR_ODA_SDAD_HASH_ALGORITHM, ERR_ODA_SDAD_DYNAMIC_LENGTH,
  ERR_ODA_SDAD_HASH, ERR_ODA_SDAD_IDN_MISMATCH, ERR_ODA_FDDA_VERSION, ERR_ODA_TERMINAL_DATA,
  ERR_ODA_TRANSACTION_DATE, ERR_ODA_PAN_INVALID, ERR_ODA_SM_CA_KEY_TYPE,
} from '../status/status';
import { bytesEqual } from '../util/bytes';
import { sha1Init, sha1Update, sha1Final, SHA1_DIGEST_BYTES } from '../crypto/sha1';
import {
  RSA_KEY_BYTES, RSA_MODULUS_BYTES_MIN, RSA_MODULUS_BYTES_MAX, rsaKeyPrepare, rsaPublic,
  rsaKeyModulusLength, rsaExponentDecode,
} from '../crypto/rsa';
import {
  capkFind, capkKey, capkExpiry, capkIsRevoked, capkAlgorithm, CAPK_PK_ALGORITHM_RSA,
} from './emv_capk';

/** Recovered-message framing (EMV 4.4 Book 2, Annex A2): header 6A, trailer BC. */
export const ODA_HEADER_6A: u8 = 0x6a;
export const ODA_TRAILER_BC: u8 = 0xbc;
export const ODA_FORMAT_02_ISSUER: u8 = 0x02;
export const ODA_FORMAT_03_SSAD: u8 = 0x03;
export const ODA_FORMAT_04_ICC: u8 = 0x04;
export const ODA_FORMAT_05_SDAD: u8 = 0x05;
/** Hash algorithm indicator 01 = SHA-1; public key algorithm indicator 01 = RSA. */
export const ODA_HASH_ALGORITHM_01_SHA1: u8 = 0x01;
export const ODA_PK_ALGORITHM_01_RSA: u8 = 0x01;
/** fDDA version carried in byte 1 of 9F69 (domain.md 3.4). */
export const ODA_FDDA_VERSION_01: u8 = 0x01;
/** Longest PAN (EMV 4.4 Book 3, Annex A: 5A is cn up to 19 digits). */
export const ODA_PAN_DIGITS_MAX: u32 = 19;
/** Longest 9F69 hashed; PBOC cards send 8 bytes, Visa 7 (domain.md 3.4). */
export const ODA_CARD_AUTH_DATA_MAX: u32 = 32;

// Fixed layout sizes of the recovered messages (Book 2 Tables 6, 14, 17, 3).
const ISSUER_FIXED_BYTES: u32 = 36;
const ICC_FIXED_BYTES: u32 = 42;
const SDAD_FIXED_BYTES: u32 = 25;
const HASH_TAIL_BYTES: u32 = 21;

const issuerKey = memory.data(<i32>RSA_KEY_BYTES, 16);
const iccKey = memory.data(<i32>RSA_KEY_BYTES, 16);
const recovered = memory.data(<i32>RSA_MODULUS_BYTES_MAX, 16);
const modulusBuffer = memory.data(<i32>RSA_MODULUS_BYTES_MAX, 16);
const digest = memory.data(<i32>SHA1_DIGEST_BYTES, 4);
const panDigits = memory.data(<i32>ODA_PAN_DIGITS_MAX + 1, 4);
let panDigitCount: u32 = 0;
let issuerReady: bool = false;
let iccReady: bool = false;
let dynamicLength: u32 = 0;
/** L_DD of the SDAD last recovered by sdadRecover. */
let sdadDataLength: u32 = 0;
let dacValue: u32 = 0;
/** Bytes of the IDN an SDAD with a good hash signed, when only its IDN check failed; else 0. */
let signedIdnLength: u32 = 0;

/** Forgets the recovered issuer and ICC keys (call at the start of each card). */
export function odaReset(): void {
  issuerReady = false;
  iccReady = false;
  dynamicLength = 0;
  dacValue = 0;
  signedIdnLength = 0;
}

/**
 * The IDN (the ATC, for fDDA) of the last SDAD that odaVerifySdad(Tail) refused with
 * ERR_ODA_SDAD_IDN_MISMATCH: its hash was good, so this is what the card signed, and the ATC
 * it was compared with is not (valid until the next ODA call). See odaSignedIdnLength.
 */
export function odaSignedIdn(): usize {
  return recovered + 5;
}

/** Bytes at odaSignedIdn(): the compared ATC's length after an IDN mismatch, else 0. */
export function odaSignedIdnLength(): u32 {
  return signedIdnLength;
}

/** True after a successful odaRecoverIssuer. */
export function odaIssuerReady(): bool {
  return issuerReady;
}

/** True after a successful odaRecoverIcc. */
export function odaIccReady(): bool {
  return iccReady;
}

/** The recovered issuer or ICC modulus of the last successful recovery (in odaModulus()). */
export function odaModulus(): usize {
  return modulusBuffer;
}

/** Byte length of the modulus in odaModulus(). */
export let odaModulusLength: u32 = 0;

/** ICC dynamic data of the last verified SDAD (valid until the next ODA call). */
export function odaDynamicData(): usize {
  return recovered + 4;
}

/** Length of the ICC dynamic data of the last verified SDAD. */
export function odaDynamicDataLength(): u32 {
  return dynamicLength;
}

/** Data authentication code (9F45) of the last verified SSAD, 2 bytes big-endian. */
export function odaDac(): u32 {
  return dacValue;
}

/**
 * Recovers the issuer public key from its certificate (tag 90) with the CA key (RID at `rid`,
 * 5 bytes; `caIndex` from 8F). See EMV 4.4 Book 2, 5.3 (domain.md 3.2). `pan` is 5A or 57
 * (digits end at F or D); `dateBcd` is the transaction date 9A as 0xYYMMDD.
 * Returns STATUS_OK or, in check order: ERR_ODA_TRANSACTION_DATE, ERR_ODA_PAN_INVALID,
 * ERR_ODA_CA_KEY_UNKNOWN, ERR_ODA_CA_KEY_EXPIRED, ERR_ODA_ISSUER_CERT_LENGTH,
 * ERR_ODA_ISSUER_CERT_RANGE, ERR_ODA_ISSUER_CERT_TRAILER, ERR_ODA_ISSUER_CERT_HEADER,
 * ERR_ODA_ISSUER_CERT_FORMAT, ERR_ODA_ISSUER_HASH_ALGORITHM, ERR_ODA_ISSUER_PK_LENGTH,
 * ERR_ODA_ISSUER_EXPONENT, ERR_ODA_ISSUER_REMAINDER_MISSING, ERR_ODA_ISSUER_REMAINDER_LENGTH,
 * ERR_ODA_ISSUER_HASH, ERR_ODA_ISSUER_ID_MISMATCH, ERR_ODA_ISSUER_CERT_DATE_INVALID,
 * ERR_ODA_ISSUER_CERT_EXPIRED, ERR_ODA_ISSUER_CERT_REVOKED, ERR_ODA_ISSUER_PK_ALGORITHM.
 */
export function odaRecoverIssuer(
  rid: usize, caIndex: u32, cert: usize, certLength: u32, remainder: usize,
  remainderLength: u32, exponent: usize, exponentLength: u32, pan: usize, panLength: u32,
  dateBcd: u32,
): i32 {
  odaReset();
  if (!dateValid(dateBcd)) return ERR_ODA_TRANSACTION_DATE;
  if (!panParse(pan, panLength)) return ERR_ODA_PAN_INVALID;
  const slot = capkFind(rid, caIndex);
  if (slot < 0) return ERR_ODA_CA_KEY_UNKNOWN;
  // An SM2 CA key signs SM certificates (emv_oda_sm.ts), never RSA ones.
  if (capkAlgorithm(<u32>slot) != CAPK_PK_ALGORITHM_RSA) return ERR_ODA_SM_CA_KEY_TYPE;
  if (dateFullBcd(dateBcd) > capkExpiry(<u32>slot)) return ERR_ODA_CA_KEY_EXPIRED;
  const caKey = capkKey(<u32>slot);
  const n = rsaKeyModulusLength(caKey);
  assert(n >= RSA_MODULUS_BYTES_MIN && n <= RSA_MODULUS_BYTES_MAX, 'CA key not prepared');
  if (certLength != n) return ERR_ODA_ISSUER_CERT_LENGTH;
  if (rsaPublic(caKey, cert, certLength, recovered) != STATUS_OK) {
    return ERR_ODA_ISSUER_CERT_RANGE;
  }
  if (load<u8>(recovered + <usize>(n - 1)) != ODA_TRAILER_BC) return ERR_ODA_ISSUER_CERT_TRAILER;
  if (load<u8>(recovered) != ODA_HEADER_6A) return ERR_ODA_ISSUER_CERT_HEADER;
  if (load<u8>(recovered + 1) != ODA_FORMAT_02_ISSUER) return ERR_ODA_ISSUER_CERT_FORMAT;
  if (load<u8>(recovered + 11) != ODA_HASH_ALGORITHM_01_SHA1) return ERR_ODA_ISSUER_HASH_ALGORITHM;
  const keyLength = <u32>load<u8>(recovered + 13);
  if (keyLength < RSA_MODULUS_BYTES_MIN || keyLength > n) return ERR_ODA_ISSUER_PK_LENGTH;
  if (!exponentLengthValid(recovered + 14, exponentLength)) return ERR_ODA_ISSUER_EXPONENT;
  const room = n - ISSUER_FIXED_BYTES;
  const status = remainderCheck(keyLength, room, remainderLength);
  if (status != STATUS_OK) {
    return status < 0 ? ERR_ODA_ISSUER_REMAINDER_LENGTH : ERR_ODA_ISSUER_REMAINDER_MISSING;
  }
  sha1Init();
  sha1Update(recovered + 1, n - HASH_TAIL_BYTES - 1);
  sha1Update(remainder, remainderLength);
  sha1Update(exponent, exponentLength);
  sha1Final(digest);
  if (!bytesEqual(digest, recovered + <usize>(n - HASH_TAIL_BYTES), SHA1_DIGEST_BYTES)) {
    return ERR_ODA_ISSUER_HASH;
  }
  if (!issuerIdMatches(recovered + 2)) return ERR_ODA_ISSUER_ID_MISMATCH;
  const expiry = certExpiryCheck(recovered + 6, dateBcd);
  if (expiry != STATUS_OK) {
    return expiry < 0 ? ERR_ODA_ISSUER_CERT_DATE_INVALID : ERR_ODA_ISSUER_CERT_EXPIRED;
  }
  if (capkIsRevoked(rid, caIndex, recovered + 8)) return ERR_ODA_ISSUER_CERT_REVOKED;
  if (load<u8>(recovered + 12) != ODA_PK_ALGORITHM_01_RSA) return ERR_ODA_ISSUER_PK_ALGORITHM;
  const value = rsaExponentDecode(exponent, exponentLength);
  if (value == 0) return ERR_ODA_ISSUER_EXPONENT;
  if (!keyAssemble(issuerKey, recovered + 15, keyLength, room, remainder, value)) {
    return ERR_ODA_ISSUER_PK_LENGTH;
  }
  issuerReady = true;
  return STATUS_OK;
}

/**
 * Recovers the ICC public key from its certificate (9F46) with the issuer key recovered just
 * before. See EMV 4.4 Book 2, 6.4 (domain.md 3.3). `staticData` is the static data to be
 * authenticated: the ODA records (AFL byte 4 rule) followed by the 9F4A-listed values.
 * Returns STATUS_OK or, in check order: ERR_ODA_ISSUER_KEY_MISSING, ERR_ODA_TRANSACTION_DATE,
 * ERR_ODA_PAN_INVALID, ERR_ODA_ICC_CERT_LENGTH, ERR_ODA_ICC_CERT_RANGE,
 * ERR_ODA_ICC_CERT_TRAILER, ERR_ODA_ICC_CERT_HEADER, ERR_ODA_ICC_CERT_FORMAT,
 * ERR_ODA_ICC_HASH_ALGORITHM, ERR_ODA_ICC_PK_LENGTH, ERR_ODA_ICC_EXPONENT,
 * ERR_ODA_ICC_REMAINDER_MISSING, ERR_ODA_ICC_REMAINDER_LENGTH, ERR_ODA_ICC_HASH,
 * ERR_ODA_ICC_PAN_MISMATCH, ERR_ODA_ICC_CERT_DATE_INVALID, ERR_ODA_ICC_CERT_EXPIRED,
 * ERR_ODA_ICC_PK_ALGORITHM.
 */
export function odaRecoverIcc(
  cert: usize, certLength: u32, remainder: usize, remainderLength: u32, exponent: usize,
  exponentLength: u32, pan: usize, panLength: u32, staticData: usize, staticLength: u32,
  dateBcd: u32,
): i32 {
  iccReady = false;
  if (!issuerReady) return ERR_ODA_ISSUER_KEY_MISSING;
  if (!dateValid(dateBcd)) return ERR_ODA_TRANSACTION_DATE;
  if (!panParse(pan, panLength)) return ERR_ODA_PAN_INVALID;
  const n = rsaKeyModulusLength(issuerKey);
  assert(n >= RSA_MODULUS_BYTES_MIN && n <= RSA_MODULUS_BYTES_MAX, 'issuer key not prepared');
  if (certLength != n) return ERR_ODA_ICC_CERT_LENGTH;
  if (rsaPublic(issuerKey, cert, certLength, recovered) != STATUS_OK) {
    return ERR_ODA_ICC_CERT_RANGE;
  }
  if (load<u8>(recovered + <usize>(n - 1)) != ODA_TRAILER_BC) return ERR_ODA_ICC_CERT_TRAILER;
  if (load<u8>(recovered) != ODA_HEADER_6A) return ERR_ODA_ICC_CERT_HEADER;
  if (load<u8>(recovered + 1) != ODA_FORMAT_04_ICC) return ERR_ODA_ICC_CERT_FORMAT;
  if (load<u8>(recovered + 17) != ODA_HASH_ALGORITHM_01_SHA1) return ERR_ODA_ICC_HASH_ALGORITHM;
  const keyLength = <u32>load<u8>(recovered + 19);
  if (keyLength < RSA_MODULUS_BYTES_MIN || keyLength > n) return ERR_ODA_ICC_PK_LENGTH;
  if (!exponentLengthValid(recovered + 20, exponentLength)) return ERR_ODA_ICC_EXPONENT;
  const room = n - ICC_FIXED_BYTES;
  const status = remainderCheck(keyLength, room, remainderLength);
  if (status != STATUS_OK) {
    return status < 0 ? ERR_ODA_ICC_REMAINDER_LENGTH : ERR_ODA_ICC_REMAINDER_MISSING;
  }
  sha1Init();
  sha1Update(recovered + 1, n - HASH_TAIL_BYTES - 1);
  sha1Update(remainder, remainderLength);
  sha1Update(exponent, exponentLength);
  sha1Update(staticData, staticLength);
  sha1Final(digest);
  if (!bytesEqual(digest, recovered + <usize>(n - HASH_TAIL_BYTES), SHA1_DIGEST_BYTES)) {
    return ERR_ODA_ICC_HASH;
  }
  if (!iccPanMatches(recovered + 2)) return ERR_ODA_ICC_PAN_MISMATCH;
  const expiry = certExpiryCheck(recovered + 12, dateBcd);
  if (expiry != STATUS_OK) {
    return expiry < 0 ? ERR_ODA_ICC_CERT_DATE_INVALID : ERR_ODA_ICC_CERT_EXPIRED;
  }
  if (load<u8>(recovered + 18) != ODA_PK_ALGORITHM_01_RSA) return ERR_ODA_ICC_PK_ALGORITHM;
  const value = rsaExponentDecode(exponent, exponentLength);
  if (value == 0) return ERR_ODA_ICC_EXPONENT;
  if (!keyAssemble(iccKey, recovered + 21, keyLength, room, remainder, value)) {
    return ERR_ODA_ICC_PK_LENGTH;
  }
  iccReady = true;
  return STATUS_OK;
}

/**
 * Recovers the signed dynamic application data (9F4B) with the recovered ICC key and runs every
 * check that does not need the hash (EMV 4.4 Book 2, 6.5.2 steps 1-5; domain.md 3.4): framing,
 * format, hash algorithm, L_DD, and the IDN against the ATC when `atcLength` != 0 (fDDA: IDN
 * length 2, IDN == 9F36). Neither 9F69 nor the fDDA version enters these checks, so a card may
 * still send 9F69 later (v01) or never (v00): a failure here is a failure of odaVerifySdad too.
 * Success proves nothing (the hash is unchecked), so odaDynamicData() stays empty.
 * Returns STATUS_OK or, in check order: ERR_ODA_ICC_KEY_MISSING, ERR_ODA_TERMINAL_DATA,
 * ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_RANGE, ERR_ODA_SDAD_TRAILER, ERR_ODA_SDAD_HEADER,
 * ERR_ODA_SDAD_FORMAT, ERR_ODA_SDAD_HASH_ALGORITHM, ERR_ODA_SDAD_DYNAMIC_LENGTH,
 * ERR_ODA_SDAD_IDN_MISMATCH.
 */
export function odaRecoverSdad(sdad: usize, sdadLength: u32, atc: usize, atcLength: u32): i32 {
  dynamicLength = 0;
  signedIdnLength = 0;
  if (!iccReady) return ERR_ODA_ICC_KEY_MISSING;
  if (atcLength != 0 && atcLength != 2) return ERR_ODA_TERMINAL_DATA;
  const frame = sdadRecover(sdad, sdadLength);
  if (frame != STATUS_OK) return frame;
  return sdadIdnCheck(atc, atcLength);
}

/**
 * Verifies the signed dynamic application data (9F4B) with the recovered ICC key. See EMV 4.4
 * Book 2, 6.5.2, and domain.md 3.4 for qPBOC fDDA. `cardAuthLength` == 0 selects fDDA v00 (hash
 * 9F37 only; also plain DDA with DDOL = 9F37); otherwise v01 (9F37 || 9F02 || 5F2A || 9F69,
 * 9F69 hashed as received). `atcLength` == 0 skips the IDN check (plain DDA); otherwise the IDN
 * must be the 2-byte ATC (9F36). The checks are those of odaRecoverSdad plus the hash, in EMV
 * order (the IDN last). On success odaDynamicData() holds the ICC dynamic data.
 * Returns STATUS_OK or, in check order: ERR_ODA_ICC_KEY_MISSING, ERR_ODA_TERMINAL_DATA,
 * ERR_ODA_FDDA_VERSION, ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_RANGE, ERR_ODA_SDAD_TRAILER,
 * ERR_ODA_SDAD_HEADER, ERR_ODA_SDAD_FORMAT, ERR_ODA_SDAD_HASH_ALGORITHM,
 * ERR_ODA_SDAD_DYNAMIC_LENGTH, ERR_ODA_SDAD_HASH, ERR_ODA_SDAD_IDN_MISMATCH.
 */
export function odaVerifySdad(
  sdad: usize, sdadLength: u32, un: usize, unLength: u32, amount: usize, amountLength: u32,
  currency: usize, currencyLength: u32, cardAuth: usize, cardAuthLength: u32, atc: usize,
  atcLength: u32,
): i32 {
  dynamicLength = 0;
  if (!iccReady) return ERR_ODA_ICC_KEY_MISSING;
  if (atcLength != 0 && atcLength != 2) return ERR_ODA_TERMINAL_DATA;
  const v01 = cardAuthLength > 0;
  if (unLength != 4) return ERR_ODA_TERMINAL_DATA;
  if (v01 && (amountLength != 6 || currencyLength != 2)) return ERR_ODA_TERMINAL_DATA;
  if (cardAuthLength > ODA_CARD_AUTH_DATA_MAX) return ERR_ODA_TERMINAL_DATA;
  if (v01 && load<u8>(cardAuth) != ODA_FDDA_VERSION_01) return ERR_ODA_FDDA_VERSION;
  // fDDA v00 hashes 9F37 alone (also plain DDA with DDOL 9F3704); v01 adds 9F02 5F2A 9F69.
  let tail: u32 = 0;
  bytesCopyInto(un, unLength, tail);
  tail += unLength;
  if (v01) {
    bytesCopyInto(amount, amountLength, tail);
    tail += amountLength;
    bytesCopyInto(currency, currencyLength, tail);
    tail += currencyLength;
    bytesCopyInto(cardAuth, cardAuthLength, tail);
    tail += cardAuthLength;
  }
  return odaVerifySdadTail(sdad, sdadLength, tailBuffer, tail, atc, atcLength);
}

/** Longest hash tail: a DDOL's data (a short C-APDU's worth) or the fDDA v01 inputs. */
export const ODA_HASH_TAIL_MAX: u32 = 256;
const tailBuffer = memory.data(<i32>ODA_HASH_TAIL_MAX, 4);

function bytesCopyInto(source: usize, length: u32, at: u32): void {
  assert(at + length <= ODA_HASH_TAIL_MAX, 'hash tail bound');
  memory.copy(tailBuffer + <usize>at, source, <usize>length);
}

/**
 * The SDAD check shared by fDDA, DDA and CDA (EMV 4.4 Book 2, 6.5.2 and 6.6.2): recovery with
 * the ICC key, framing, then SHA-1(recovered[1 .. N-21) || tail) against the stored hash, then
 * the IDN == ATC rule when `atcLength` != 0 (fDDA). `tail` is what the method hashes after the
 * signed data: fDDA its inputs, DDA the DDOL data, CDA the unpredictable number.
 * On success odaDynamicData() holds the ICC dynamic data (odaDynamicDataLength() bytes).
 * Returns STATUS_OK or, in check order: ERR_ODA_ICC_KEY_MISSING, ERR_ODA_TERMINAL_DATA,
 * ERR_ODA_SDAD_LENGTH, ERR_ODA_SDAD_RANGE, ERR_ODA_SDAD_TRAILER, ERR_ODA_SDAD_HEADER,
 * ERR_ODA_SDAD_FORMAT, ERR_ODA_SDAD_HASH_ALGORITHM, ERR_ODA_SDAD_DYNAMIC_LENGTH,
 * ERR_ODA_SDAD_HASH, ERR_ODA_SDAD_IDN_MISMATCH.
 */
export function odaVerifySdadTail(
  sdad: usize, sdadLength: u32, tail: usize, tailLength: u32, atc: usize, atcLength: u32,
): i32 {
  dynamicLength = 0;
  signedIdnLength = 0;
  if (!iccReady) return ERR_ODA_ICC_KEY_MISSING;
  if (atcLength != 0 && atcLength != 2) return ERR_ODA_TERMINAL_DATA;
  const frame = sdadRecover(sdad, sdadLength);
  if (frame != STATUS_OK) return frame;
  const n = rsaKeyModulusLength(iccKey);
  sha1Init();
  sha1Update(recovered + 1, n - HASH_TAIL_BYTES - 1);
  sha1Update(tail, tailLength);
  sha1Final(digest);
  if (!bytesEqual(digest, recovered + <usize>(n - HASH_TAIL_BYTES), SHA1_DIGEST_BYTES)) {
    return ERR_ODA_SDAD_HASH;
  }
  const idn = sdadIdnCheck(atc, atcLength);
  if (idn == ERR_ODA_SDAD_IDN_MISMATCH && <u32>load<u8>(recovered + 4) == atcLength) {
    signedIdnLength = atcLength;
  }
  if (idn != STATUS_OK) return idn;
  dynamicLength = sdadDataLength;
  assert(dynamicLength + 4 <= n - HASH_TAIL_BYTES, 'dynamic data past the hash');
  return STATUS_OK;
}

/**
 * SDAD recovery and framing shared by odaRecoverSdad and odaVerifySdad: the recovered message
 * lands in `recovered`, its L_DD in sdadDataLength. Returns STATUS_OK, ERR_ODA_SDAD_LENGTH,
 * ERR_ODA_SDAD_RANGE, ERR_ODA_SDAD_TRAILER, ERR_ODA_SDAD_HEADER, ERR_ODA_SDAD_FORMAT,
 * ERR_ODA_SDAD_HASH_ALGORITHM or ERR_ODA_SDAD_DYNAMIC_LENGTH.
 */
function sdadRecover(sdad: usize, sdadLength: u32): i32 {
  sdadDataLength = 0;
  const n = rsaKeyModulusLength(iccKey);
  assert(n >= RSA_MODULUS_BYTES_MIN && n <= RSA_MODULUS_BYTES_MAX, 'ICC key not prepared');
  if (sdadLength != n) return ERR_ODA_SDAD_LENGTH;
  if (rsaPublic(iccKey, sdad, sdadLength, recovered) != STATUS_OK) {
    return ERR_ODA_SDAD_RANGE;
  }
  if (load<u8>(recovered + <usize>(n - 1)) != ODA_TRAILER_BC) return ERR_ODA_SDAD_TRAILER;
  if (load<u8>(recovered) != ODA_HEADER_6A) return ERR_ODA_SDAD_HEADER;
  if (load<u8>(recovered + 1) != ODA_FORMAT_05_SDAD) return ERR_ODA_SDAD_FORMAT;
  if (load<u8>(recovered + 2) != ODA_HASH_ALGORITHM_01_SHA1) return ERR_ODA_SDAD_HASH_ALGORITHM;
  const dataLength = <u32>load<u8>(recovered + 3);
  if (dataLength > n - SDAD_FIXED_BYTES) return ERR_ODA_SDAD_DYNAMIC_LENGTH;
  sdadDataLength = dataLength;
  return STATUS_OK;
}

/**
 * IDN check on the SDAD sdadRecover just recovered (skipped when `atcLength` == 0).
 * Returns STATUS_OK, ERR_ODA_SDAD_DYNAMIC_LENGTH or ERR_ODA_SDAD_IDN_MISMATCH.
 */
function sdadIdnCheck(atc: usize, atcLength: u32): i32 {
  if (atcLength == 0) return STATUS_OK;
  // ICC dynamic data starts with the IDN length, then the IDN; for fDDA the IDN is the ATC.
  if (sdadDataLength < 1 + atcLength) return ERR_ODA_SDAD_DYNAMIC_LENGTH;
  if (<u32>load<u8>(recovered + 4) != atcLength || !bytesEqual(recovered + 5, atc, atcLength)) {
    return ERR_ODA_SDAD_IDN_MISMATCH;
  }
  return STATUS_OK;
}

/**
 * Verifies the signed static application data (tag 93) with the recovered issuer key (SDA).
 * See EMV 4.4 Book 2, 5.4 (domain.md 3.5). On success odaDac() holds the DAC (9F45).
 * Returns STATUS_OK or, in check order: ERR_ODA_ISSUER_KEY_MISSING, ERR_ODA_SSAD_LENGTH,
 * ERR_ODA_SSAD_RANGE, ERR_ODA_SSAD_TRAILER, ERR_ODA_SSAD_HEADER, ERR_ODA_SSAD_FORMAT,
 * ERR_ODA_SSAD_HASH_ALGORITHM, ERR_ODA_SSAD_HASH.
 */
export function odaVerifySsad(
  ssad: usize, ssadLength: u32, staticData: usize, staticLength: u32,
): i32 {
  dacValue = 0;
  if (!issuerReady) return ERR_ODA_ISSUER_KEY_MISSING;
  const n = rsaKeyModulusLength(issuerKey);
  assert(n >= RSA_MODULUS_BYTES_MIN && n <= RSA_MODULUS_BYTES_MAX, 'issuer key not prepared');
  if (ssadLength != n) return ERR_ODA_SSAD_LENGTH;
  if (rsaPublic(issuerKey, ssad, ssadLength, recovered) != STATUS_OK) {
    return ERR_ODA_SSAD_RANGE;
  }
  if (load<u8>(recovered + <usize>(n - 1)) != ODA_TRAILER_BC) return ERR_ODA_SSAD_TRAILER;
  if (load<u8>(recovered) != ODA_HEADER_6A) return ERR_ODA_SSAD_HEADER;
  if (load<u8>(recovered + 1) != ODA_FORMAT_03_SSAD) return ERR_ODA_SSAD_FORMAT;
  if (load<u8>(recovered + 2) != ODA_HASH_ALGORITHM_01_SHA1) return ERR_ODA_SSAD_HASH_ALGORITHM;
  sha1Init();
  sha1Update(recovered + 1, n - HASH_TAIL_BYTES - 1);
  sha1Update(staticData, staticLength);
  sha1Final(digest);
  if (!bytesEqual(digest, recovered + <usize>(n - HASH_TAIL_BYTES), SHA1_DIGEST_BYTES)) {
    return ERR_ODA_SSAD_HASH;
  }
  dacValue = (<u32>load<u8>(recovered + 3) << 8) | <u32>load<u8>(recovered + 4);
  return STATUS_OK;
}

/**
 * Remainder rule (Book 2, 5.3 step 12 / 6.4 step 10): a key longer than the certificate's room
 * needs exactly the missing bytes, a shorter one none. Returns STATUS_OK, 1 (missing) or -1
 * (present with the wrong length).
 */
function remainderCheck(keyLength: u32, room: u32, remainderLength: u32): i32 {
  if (keyLength <= room) return remainderLength == 0 ? STATUS_OK : -1;
  if (remainderLength == 0) return 1;
  return remainderLength == keyLength - room ? STATUS_OK : -1;
}

/** The certificate's exponent length byte must be 1 or 3 and match the exponent given. */
function exponentLengthValid(lengthByte: usize, exponentLength: u32): bool {
  const declared = <u32>load<u8>(lengthByte);
  return (declared == 1 || declared == 3) && declared == exponentLength;
}

/** Builds `key` from the leftmost key bytes (BB-padded field of `room`) and the remainder. */
function keyAssemble(
  key: usize, leftmost: usize, keyLength: u32, room: u32, remainder: usize, exponent: u32,
): bool {
  assert(keyLength <= RSA_MODULUS_BYTES_MAX, 'key longer than buffer');
  if (keyLength <= room) {
    memory.copy(modulusBuffer, leftmost, <usize>keyLength);
  } else {
    memory.copy(modulusBuffer, leftmost, <usize>room);
    memory.copy(modulusBuffer + <usize>room, remainder, <usize>(keyLength - room));
  }
  odaModulusLength = keyLength;
  return rsaKeyPrepare(key, modulusBuffer, keyLength, exponent) == STATUS_OK;
}

/** Reads PAN digits from 5A (cn, F-padded) or 57 (digits up to the D separator). */
export function panParse(pan: usize, length: u32): bool {
  panDigitCount = 0;
  for (let i: u32 = 0; i < length * 2; i++) {
    const byte = <u32>load<u8>(pan + <usize>(i >> 1));
    const nibble = (i & 1) == 0 ? byte >> 4 : byte & 0xf;
    if (nibble == 0xd || nibble == 0xf) break;
    if (nibble > 9 || panDigitCount >= ODA_PAN_DIGITS_MAX) return false;
    store<u8>(panDigits + <usize>panDigitCount, <u8>nibble);
    panDigitCount++;
  }
  return panDigitCount > 0;
}

/**
 * Issuer identifier (4 bytes, 3 to 8 digits then F padding) against the leftmost PAN digits
 * (Book 2, 5.3 step 8).
 */
export function issuerIdMatches(id: usize): bool {
  let digits: u32 = 0;
  let padding = false;
  for (let i: u32 = 0; i < 8; i++) {
    const byte = <u32>load<u8>(id + <usize>(i >> 1));
    const nibble = (i & 1) == 0 ? byte >> 4 : byte & 0xf;
    if (nibble == 0xf) {
      padding = true;
      continue;
    }
    if (padding || nibble > 9) return false;
    if (digits >= panDigitCount || <u32>load<u8>(panDigits + <usize>digits) != nibble) return false;
    digits++;
  }
  return digits >= 3;
}

/** Application PAN in the ICC certificate (10 bytes, F-padded) equals the card PAN exactly. */
export function iccPanMatches(field: usize): bool {
  let digits: u32 = 0;
  let padding = false;
  for (let i: u32 = 0; i < 20; i++) {
    const byte = <u32>load<u8>(field + <usize>(i >> 1));
    const nibble = (i & 1) == 0 ? byte >> 4 : byte & 0xf;
    if (nibble == 0xf) {
      padding = true;
      continue;
    }
    if (padding || nibble > 9) return false;
    if (digits >= panDigitCount || <u32>load<u8>(panDigits + <usize>digits) != nibble) return false;
    digits++;
  }
  return digits == panDigitCount;
}

/**
 * Certificate expiry MMYY (BCD) against the transaction date: valid through the end of that
 * month. Returns STATUS_OK, 1 (expired) or -1 (not a valid MMYY).
 */
export function certExpiryCheck(field: usize, dateBcd: u32): i32 {
  const mm = <u32>load<u8>(field);
  const yy = <u32>load<u8>(field + 1);
  if (!bcdByteValid(mm) || !bcdByteValid(yy)) return -1;
  const month = bcdByteValue(mm);
  if (month < 1 || month > 12) return -1;
  const certMonths = yearFull(bcdByteValue(yy)) * 12 + month;
  const nowYear = yearFull(bcdByteValue(dateBcd >> 16));
  const nowMonths = nowYear * 12 + bcdByteValue((dateBcd >> 8) & 0xff);
  return certMonths < nowMonths ? 1 : STATUS_OK;
}

/** YY to a full year with the EMV window: 00-49 = 20YY, 50-99 = 19YY. */
@inline
function yearFull(yy: u32): u32 {
  return yy < 50 ? 2000 + yy : 1900 + yy;
}

/** The transaction date 0xYYMMDD as 0xYYYYMMDD (for CA key expiry, DF05). */
export function dateFullBcd(dateBcd: u32): u32 {
  const century: u32 = bcdByteValue(dateBcd >> 16) < 50 ? 0x20 : 0x19;
  return (century << 24) | dateBcd;
}

/** 0xYYMMDD with BCD digits, month 1-12 and day 1-31. */
export function dateValid(dateBcd: u32): bool {
  if (dateBcd > 0xffffff) return false;
  const yy = dateBcd >> 16;
  const mm = (dateBcd >> 8) & 0xff;
  const dd = dateBcd & 0xff;
  if (!bcdByteValid(yy) || !bcdByteValid(mm) || !bcdByteValid(dd)) return false;
  const month = bcdByteValue(mm);
  const day = bcdByteValue(dd);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

@inline
function bcdByteValid(b: u32): bool {
  return (b >> 4) <= 9 && (b & 0xf) <= 9;
}

@inline
function bcdByteValue(b: u32): u32 {
  return ((b >> 4) & 0xf) * 10 + (b & 0xf);
}
