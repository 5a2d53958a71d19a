// SM3 / SM2 operations of shuaka_step: thin adapters from IN/OUT to crypto/sm3 and crypto/sm2.
//
// For tests, benchmarks and host tools (inspect); the kernel's SM ODA calls the crypto layer
// directly. Layouts are documented beside the op codes in ops.ts.

import { STATUS_OK, ERR_SM2_INPUT_MALFORMED } from '../status/status';
import { IN_BUFFER, OUT_BUFFER, setOutLength } from './buffers';
import { readU16Be } from '../util/bytes';
import { sm3Digest, sm3Init, sm3Update, sm3Final, SM3_DIGEST_BYTES } from '../crypto/sm3';
import {
  SM2_KEY_BYTES, SM2_PUBLIC_KEY_BYTES, SM2_SIGNATURE_BYTES, sm2KeyPrepare, sm2KeyZa,
  sm2VerifyDigest, sm2Decompress,
} from '../crypto/sm2';
import {
  CRYPTO_REPEAT_MAX, odaInputLoad, field, fieldValuePtr, fieldValueLength, ridFind, panFind,
  dateFind,
} from './crypto_ops';
import {
  odaSmRecoverIssuer, odaSmRecoverIcc, odaSmVerifySdad, odaSmPublicKey, odaSmDynamicData,
  odaSmDynamicDataLength,
} from '../emv/emv_oda_sm';
import {
  ERR_ODA_RID_MISSING, ERR_ODA_CA_INDEX_MISSING, ERR_ODA_CA_KEY_UNKNOWN,
  ERR_ODA_ISSUER_CERT_MISSING, ERR_ODA_ICC_CERT_MISSING, ERR_ODA_SDAD_MISSING,
  ERR_ODA_PAN_MISSING, ERR_ODA_TRANSACTION_DATE, ERR_ODA_TERMINAL_DATA, ERR_ODA_ATC_MISSING,
} from '../status/status';

const TAG_5F2A_CURRENCY: u32 = 0x5f2a;
const TAG_8F_CA_INDEX: u32 = 0x8f;
const TAG_90_ISSUER_CERT: u32 = 0x90;
const TAG_9F02_AMOUNT: u32 = 0x9f02;
const TAG_9F36_ATC: u32 = 0x9f36;
const TAG_9F37_UN: u32 = 0x9f37;
const TAG_9F46_ICC_CERT: u32 = 0x9f46;
const TAG_9F4B_SDAD: u32 = 0x9f4b;
const TAG_9F69_CARD_AUTH: u32 = 0x9f69;

const opKey = memory.data(<i32>SM2_KEY_BYTES, 16);
// Fixed offsets of OP_SM2_VERIFY's input: key, signature, ID length.
const VERIFY_SIGNATURE: u32 = SM2_PUBLIC_KEY_BYTES;
const VERIFY_ID_LENGTH: u32 = VERIFY_SIGNATURE + SM2_SIGNATURE_BYTES;
const VERIFY_ID: u32 = VERIFY_ID_LENGTH + 2;

function repeatCount(count: u32): u32 {
  if (count == 0) return 1;
  return count > CRYPTO_REPEAT_MAX ? CRYPTO_REPEAT_MAX : count;
}

/** OP_SM3: OUT = SM3(IN). arg: repetitions. Returns STATUS_OK. */
export function opSm3(arg: u32, length: u32): i32 {
  const times = repeatCount(arg);
  for (let i: u32 = 0; i < times; i++) sm3Digest(IN_BUFFER, length, OUT_BUFFER);
  setOutLength(SM3_DIGEST_BYTES);
  return STATUS_OK;
}

/**
 * OP_SM2_VERIFY: IN = public key X || Y (64), signature r || s (64), ID length (u16 BE), ID,
 * message. Each repetition (arg) prepares the key (curve check, Z_A), hashes e = SM3(Z_A || M)
 * and verifies: the cost of a key met for the first time. OUT = e (32 bytes) on success.
 * Returns STATUS_OK, ERR_SM2_INPUT_MALFORMED, or an sm2KeyPrepare / sm2VerifyDigest status.
 */
export function opSm2Verify(arg: u32, length: u32): i32 {
  if (length < VERIFY_ID) return ERR_SM2_INPUT_MALFORMED;
  const idLength = readU16Be(IN_BUFFER + <usize>VERIFY_ID_LENGTH);
  if (length < VERIFY_ID + idLength) return ERR_SM2_INPUT_MALFORMED;
  const message = IN_BUFFER + <usize>(VERIFY_ID + idLength);
  const messageLength = length - VERIFY_ID - idLength;
  const times = repeatCount(arg);
  let status: i32 = STATUS_OK;
  for (let i: u32 = 0; i < times && status == STATUS_OK; i++) {
    status = sm2KeyPrepare(opKey, IN_BUFFER, IN_BUFFER + <usize>VERIFY_ID, idLength);
    if (status != STATUS_OK) break;
    sm3Init();
    sm3Update(sm2KeyZa(opKey), SM3_DIGEST_BYTES);
    sm3Update(message, messageLength);
    sm3Final(OUT_BUFFER);
    status = sm2VerifyDigest(opKey, OUT_BUFFER, IN_BUFFER + <usize>VERIFY_SIGNATURE);
  }
  if (status != STATUS_OK) return status;
  setOutLength(SM3_DIGEST_BYTES);
  return STATUS_OK;
}

/**
 * OP_SM2_ZA: IN = public key X || Y (64), then the ID. OUT = Z_A (32 bytes).
 * Returns STATUS_OK, ERR_SM2_INPUT_MALFORMED or an sm2KeyPrepare status.
 */
export function opSm2Za(length: u32): i32 {
  if (length < SM2_PUBLIC_KEY_BYTES) return ERR_SM2_INPUT_MALFORMED;
  const status = sm2KeyPrepare(opKey, IN_BUFFER, IN_BUFFER + <usize>SM2_PUBLIC_KEY_BYTES,
    length - SM2_PUBLIC_KEY_BYTES);
  if (status != STATUS_OK) return status;
  memory.copy(OUT_BUFFER, sm2KeyZa(opKey), <usize>SM3_DIGEST_BYTES);
  setOutLength(SM3_DIGEST_BYTES);
  return STATUS_OK;
}

/**
 * OP_SM2_DECOMPRESS: IN = 02/03 || x (33 bytes). OUT = X || Y (64 bytes).
 * Returns STATUS_OK, ERR_SM2_INPUT_MALFORMED or ERR_SM2_POINT_INVALID.
 */
export function opSm2Decompress(length: u32): i32 {
  if (length != 33) return ERR_SM2_INPUT_MALFORMED;
  const status = sm2Decompress(OUT_BUFFER, IN_BUFFER);
  if (status != STATUS_OK) return status;
  setOutLength(SM2_PUBLIC_KEY_BYTES);
  return STATUS_OK;
}

/**
 * OP_ODA_SM_RECOVER_ISSUER: IN = ignored prefix (arg bits 0-15), then TLV with the RID tag
 * (9F06, else 4F/84), 8F, 90, 5A or 57, 9A. OUT = the issuer public key X || Y (64 bytes).
 * Returns STATUS_OK, an ERR_ODA_*_MISSING input status, or an odaSmRecoverIssuer status.
 */
export function opOdaSmRecoverIssuer(arg: u32, length: u32): i32 {
  const status = odaInputLoad(arg & 0xffff, length);
  if (status != STATUS_OK) return status;
  const result = smIssuer();
  return result == STATUS_OK ? outputKey() : result;
}

/**
 * OP_ODA_SM_RECOVER_ICC: IN = static data (arg bits 0-15), then TLV with 9F46, 5A or 57, 9A;
 * needs the issuer key of the previous OP_ODA_SM_RECOVER_ISSUER. OUT = the ICC key X || Y.
 * Returns STATUS_OK, an ERR_ODA_*_MISSING input status, or an odaSmRecoverIcc status.
 */
export function opOdaSmRecoverIcc(arg: u32, length: u32): i32 {
  const staticLength = arg & 0xffff;
  const status = odaInputLoad(staticLength, length);
  if (status != STATUS_OK) return status;
  const result = smIcc(staticLength);
  return result == STATUS_OK ? outputKey() : result;
}

/**
 * OP_ODA_SM_VERIFY_SDAD: IN = ignored prefix (arg bits 0-15), then TLV with 9F4B, 9F37, and
 * for fDDA v01 9F02 5F2A 9F69; 9F36 optional (IDN check). Needs the ICC key of the previous
 * OP_ODA_SM_RECOVER_ICC. OUT = the ICC dynamic data.
 * Returns STATUS_OK, ERR_ODA_SDAD_MISSING, ERR_ODA_TERMINAL_DATA or an odaSmVerifySdad status.
 */
export function opOdaSmVerifySdad(arg: u32, length: u32): i32 {
  const status = odaInputLoad(arg & 0xffff, length);
  if (status != STATUS_OK) return status;
  const result = smSdad(false);
  return result == STATUS_OK ? outputDynamic() : result;
}

/**
 * OP_ODA_SM_FDDA: the whole SM fDDA chain (issuer, ICC, SDAD with IDN = ATC). IN = static data
 * (arg bits 0-15), then the TLV of the three ops above with 9F36 mandatory; arg bits 16-31:
 * repetitions. OUT = the ICC dynamic data. Returns STATUS_OK or the first failing status.
 */
export function opOdaSmFdda(arg: u32, length: u32): i32 {
  const staticLength = arg & 0xffff;
  const status = odaInputLoad(staticLength, length);
  if (status != STATUS_OK) return status;
  const times = repeatCount(arg >> 16);
  let result: i32 = STATUS_OK;
  for (let i: u32 = 0; i < times && result == STATUS_OK; i++) {
    result = smIssuer();
    if (result == STATUS_OK) result = smIcc(staticLength);
    if (result == STATUS_OK) result = smSdad(true);
  }
  return result == STATUS_OK ? outputDynamic() : result;
}

function smIssuer(): i32 {
  if (!ridFind()) return ERR_ODA_RID_MISSING;
  const rid = fieldValuePtr();
  if (!field(TAG_8F_CA_INDEX)) return ERR_ODA_CA_INDEX_MISSING;
  if (fieldValueLength() != 1) return ERR_ODA_CA_KEY_UNKNOWN;
  const index = <u32>load<u8>(fieldValuePtr());
  if (!field(TAG_90_ISSUER_CERT)) return ERR_ODA_ISSUER_CERT_MISSING;
  const cert = fieldValuePtr();
  const certLength = fieldValueLength();
  if (!panFind()) return ERR_ODA_PAN_MISSING;
  const pan = fieldValuePtr();
  const panLength = fieldValueLength();
  const date = dateFind();
  if (date < 0) return ERR_ODA_TRANSACTION_DATE;
  return odaSmRecoverIssuer(rid, index, cert, certLength, pan, panLength, <u32>date);
}

function smIcc(staticLength: u32): i32 {
  if (!field(TAG_9F46_ICC_CERT)) return ERR_ODA_ICC_CERT_MISSING;
  const cert = fieldValuePtr();
  const certLength = fieldValueLength();
  if (!panFind()) return ERR_ODA_PAN_MISSING;
  const pan = fieldValuePtr();
  const panLength = fieldValueLength();
  const date = dateFind();
  if (date < 0) return ERR_ODA_TRANSACTION_DATE;
  return odaSmRecoverIcc(cert, certLength, pan, panLength, IN_BUFFER, staticLength, <u32>date);
}

function smSdad(atcRequired: bool): i32 {
  if (!field(TAG_9F4B_SDAD)) return ERR_ODA_SDAD_MISSING;
  const sdad = fieldValuePtr();
  const sdadLength = fieldValueLength();
  if (!field(TAG_9F37_UN)) return ERR_ODA_TERMINAL_DATA;
  const un = fieldValuePtr();
  const unLength = fieldValueLength();
  if (!field(TAG_9F36_ATC) && atcRequired) return ERR_ODA_ATC_MISSING;
  const atc = fieldValuePtr();
  const atcLength = fieldValueLength();
  field(TAG_9F02_AMOUNT);
  const amount = fieldValuePtr();
  const amountLength = fieldValueLength();
  field(TAG_5F2A_CURRENCY);
  const currency = fieldValuePtr();
  const currencyLength = fieldValueLength();
  field(TAG_9F69_CARD_AUTH);
  return odaSmVerifySdad(sdad, sdadLength, un, unLength, amount, amountLength, currency,
    currencyLength, fieldValuePtr(), fieldValueLength(), atc, atcLength);
}

function outputKey(): i32 {
  odaSmPublicKey(OUT_BUFFER);
  setOutLength(SM2_PUBLIC_KEY_BYTES);
  return STATUS_OK;
}

function outputDynamic(): i32 {
  const length = odaSmDynamicDataLength();
  memory.copy(OUT_BUFFER, odaSmDynamicData(), <usize>length);
  setOutLength(length);
  return STATUS_OK;
}
