// Crypto and ODA operations of shuaka_step: thin adapters from IN/OUT to crypto/ and emv_oda.
//
// The qPBOC kernel calls emv_oda / emv_capk directly; these ops exist for tests, benchmarks and
// host-side configuration (CA keys). Layouts are documented beside the op codes in ops.ts.

import {
  STATUS_OK, ERR_OUTPUT_TOO_SMALL, ERR_RSA_INPUT_MALFORMED, ERR_RSA_INPUT_LENGTH,
  ERR_CAPK_MALFORMED, ERR_CAPK_REVOCATION_MALFORMED, ERR_ODA_CA_INDEX_MISSING,
  ERR_ODA_RID_MISSING, ERR_ODA_ISSUER_CERT_MISSING, ERR_ODA_ISSUER_EXPONENT_MISSING,
  ERR_ODA_ICC_CERT_MISSING, ERR_ODA_ICC_EXPONENT_MISSING, ERR_ODA_SDAD_MISSING,
  ERR_ODA_SSAD_MISSING, ERR_ODA_PAN_MISSING, ERR_ODA_ATC_MISSING, ERR_ODA_TERMINAL_DATA,
  ERR_ODA_TRANSACTION_DATE, ERR_ODA_CA_KEY_UNKNOWN, ERR_TLV_PATH_INVALID,
} from '../status/status';
import { IN_BUFFER, OUT_BUFFER, OUT_CAPACITY, setOutLength } from './buffers';
import { bytesCopy, readU16Be, writeU16Be, writeU32Be } from '../util/bytes';
import { sha1Digest, SHA1_DIGEST_BYTES } from '../crypto/sha1';
import {
  RSA_KEY_BYTES, rsaExponentDecode, rsaKeyPrepare, rsaPublic, rsaKeyModulusLength,
  rsaKeyExponent,
} from '../crypto/rsa';
import {
  CAPK_SLOTS_MAX, CAPK_REVOKED_ENTRY_BYTES, capkClear, capkLoadList, capkRevoke, capkSlotUsed,
  capkKey, capkRid, capkIndex, capkExpiry, capkAlgorithm, CAPK_PK_ALGORITHM_SM2,
} from '../emv/emv_capk';
import {
  odaReset, odaRecoverIssuer, odaRecoverIcc, odaVerifySdad, odaVerifySsad, odaModulus,
  odaModulusLength, odaDynamicData, odaDynamicDataLength, odaDac,
} from '../emv/emv_oda';
import { odaSmReset } from '../emv/emv_oda_sm';
import { TlvStore } from '../emv/tlv_store';

/** Most repetitions one call may ask for (benchmarks time the kernel without the boundary). */
export const CRYPTO_REPEAT_MAX: u32 = 100000;

const TAG_4F_AID: u32 = 0x4f;
const TAG_57_TRACK2: u32 = 0x57;
const TAG_5A_PAN: u32 = 0x5a;
const TAG_5F2A_CURRENCY: u32 = 0x5f2a;
const TAG_84_DF_NAME: u32 = 0x84;
const TAG_8F_CA_INDEX: u32 = 0x8f;
const TAG_90_ISSUER_CERT: u32 = 0x90;
const TAG_92_ISSUER_REMAINDER: u32 = 0x92;
const TAG_93_SSAD: u32 = 0x93;
const TAG_9A_DATE: u32 = 0x9a;
const TAG_9F02_AMOUNT: u32 = 0x9f02;
const TAG_9F06_RID: u32 = 0x9f06;
const TAG_9F32_ISSUER_EXPONENT: u32 = 0x9f32;
const TAG_9F36_ATC: u32 = 0x9f36;
const TAG_9F37_UN: u32 = 0x9f37;
const TAG_9F46_ICC_CERT: u32 = 0x9f46;
const TAG_9F47_ICC_EXPONENT: u32 = 0x9f47;
const TAG_9F48_ICC_REMAINDER: u32 = 0x9f48;
const TAG_9F4B_SDAD: u32 = 0x9f4b;
const TAG_9F69_CARD_AUTH: u32 = 0x9f69;

/** ODA inputs of one op; allocated once at start-up. */
const odaInput = new TlvStore(48, 4096);
const rsaScratchKey = memory.data(<i32>RSA_KEY_BYTES, 16);

/** Repetitions encoded in `count` (0 = once), clamped to CRYPTO_REPEAT_MAX. */
function repetitions(count: u32): u32 {
  if (count == 0) return 1;
  return count > CRYPTO_REPEAT_MAX ? CRYPTO_REPEAT_MAX : count;
}

/** OP_SHA1: OUT = SHA-1(IN). */
export function opSha1(arg: u32, length: u32): i32 {
  const times = repetitions(arg);
  for (let i: u32 = 0; i < times; i++) sha1Digest(IN_BUFFER, length, OUT_BUFFER);
  setOutLength(SHA1_DIGEST_BYTES);
  return STATUS_OK;
}

/**
 * OP_RSA_PUBLIC: IN = M (u16 BE), modulus, E (u8), exponent, data (M bytes); OUT = data^e.
 * Returns STATUS_OK, ERR_RSA_INPUT_MALFORMED, ERR_RSA_INPUT_LENGTH or an rsaKeyPrepare /
 * rsaPublic status.
 */
export function opRsaPublic(arg: u32, length: u32): i32 {
  if (length < 3) return ERR_RSA_INPUT_MALFORMED;
  const m = readU16Be(IN_BUFFER);
  if (length < 3 + m) return ERR_RSA_INPUT_MALFORMED;
  const e = <u32>load<u8>(IN_BUFFER + 2 + <usize>m);
  if (length < 3 + m + e) return ERR_RSA_INPUT_MALFORMED;
  const data = IN_BUFFER + 3 + <usize>(m + e);
  const dataLength = length - 3 - m - e;
  if (dataLength != m) return ERR_RSA_INPUT_LENGTH;
  if (m > OUT_CAPACITY) return ERR_OUTPUT_TOO_SMALL;
  const exponent = rsaExponentDecode(IN_BUFFER + 3 + <usize>m, e);
  const times = repetitions(arg);
  let status: i32 = STATUS_OK;
  // Each repetition prepares the key again: that is the cost an issuer or ICC key pays.
  for (let i: u32 = 0; i < times && status == STATUS_OK; i++) {
    status = rsaKeyPrepare(rsaScratchKey, IN_BUFFER + 2, m, exponent);
    if (status == STATUS_OK) status = rsaPublic(rsaScratchKey, data, dataLength, OUT_BUFFER);
  }
  if (status != STATUS_OK) return status;
  setOutLength(m);
  return STATUS_OK;
}

/**
 * OP_CAPK_LOAD: OUT = one i32 BE status per key. arg bit 0 clear: returns the first failing
 * key's status (a failed step has no output); set (list mode): returns STATUS_OK whenever the
 * TLV parsed, so the per-key statuses reach the host. Keys that verify are stored either way.
 */
export function opCapkLoad(arg: u32, length: u32): i32 {
  // Statuses are written as little-endian i32 by capkLoadList, then turned big-endian here.
  const keys = capkLoadList(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY >> 2);
  if (keys < 0) return keys;
  if (keys == 0) return ERR_CAPK_MALFORMED;
  let first: i32 = STATUS_OK;
  for (let i: u32 = 0; i < <u32>keys; i++) {
    const p = OUT_BUFFER + (<usize>i << 2);
    const status = load<i32>(p);
    if (first == STATUS_OK && status != STATUS_OK) first = status;
    writeU32Be(p, <u32>status);
  }
  setOutLength(<u32>keys << 2);
  return (arg & 1) != 0 ? STATUS_OK : first;
}

/** OP_CAPK_CLEAR: forgets all CA keys and revocations. */
export function opCapkClear(): i32 {
  capkClear();
  odaReset();
  odaSmReset();
  return STATUS_OK;
}

/** OP_CAPK_REVOKE: IN = n x 9-byte entries. Returns STATUS_OK, ERR_CAPK_REVOCATION_MALFORMED
 *  or ERR_CAPK_REVOCATION_FULL (entries before the full one stay listed). */
export function opCapkRevoke(length: u32): i32 {
  if (length == 0 || length % CAPK_REVOKED_ENTRY_BYTES != 0) return ERR_CAPK_REVOCATION_MALFORMED;
  for (let p: u32 = 0; p < length; p += CAPK_REVOKED_ENTRY_BYTES) {
    const status = capkRevoke(IN_BUFFER + <usize>p);
    if (status != STATUS_OK) return status;
  }
  return STATUS_OK;
}

/** OP_CAPK_LIST: OUT = 16 bytes per stored key. */
export function opCapkList(): i32 {
  let q: usize = OUT_BUFFER;
  for (let i: u32 = 0; i < CAPK_SLOTS_MAX; i++) {
    if (!capkSlotUsed(i)) continue;
    bytesCopy(q, capkRid(i), 5);
    store<u8>(q + 5, <u8>capkIndex(i));
    // An SM2 key lists its public key length (64) and exponent 0.
    const sm2 = capkAlgorithm(i) == CAPK_PK_ALGORITHM_SM2;
    writeU16Be(q + 6, sm2 ? 64 : rsaKeyModulusLength(capkKey(i)));
    writeU32Be(q + 8, sm2 ? 0 : rsaKeyExponent(capkKey(i)));
    writeU32Be(q + 12, capkExpiry(i));
    q += 16;
  }
  setOutLength(<u32>(q - OUT_BUFFER));
  return STATUS_OK;
}

/** OP_ODA_RECOVER_ISSUER: IN = ignored prefix (arg bits 0-15) then TLV; OUT = modulus. */
export function opOdaRecoverIssuer(arg: u32, length: u32): i32 {
  const status = odaInputLoad(arg & 0xffff, length);
  if (status != STATUS_OK) return status;
  const times = repetitions(arg >> 16);
  let result: i32 = STATUS_OK;
  for (let i: u32 = 0; i < times; i++) result = runIssuer();
  return result == STATUS_OK ? outputModulus() : result;
}

/** OP_ODA_RECOVER_ICC: IN = static data (arg bits 0-15) then TLV; OUT = ICC modulus. */
export function opOdaRecoverIcc(arg: u32, length: u32): i32 {
  const staticLength = arg & 0xffff;
  const status = odaInputLoad(staticLength, length);
  if (status != STATUS_OK) return status;
  const result = runIcc(staticLength);
  return result == STATUS_OK ? outputModulus() : result;
}

/** OP_ODA_VERIFY_SDAD: IN = ignored prefix (arg bits 0-15) then TLV; OUT = dynamic data. */
export function opOdaVerifySdad(arg: u32, length: u32): i32 {
  const status = odaInputLoad(arg & 0xffff, length);
  if (status != STATUS_OK) return status;
  const result = runSdad(false);
  return result == STATUS_OK ? outputDynamicData() : result;
}

/** OP_ODA_VERIFY_SSAD: IN = static data (arg bits 0-15) then TLV; OUT = DAC. */
export function opOdaVerifySsad(arg: u32, length: u32): i32 {
  const staticLength = arg & 0xffff;
  const status = odaInputLoad(staticLength, length);
  if (status != STATUS_OK) return status;
  const result = runSsad(staticLength);
  return result == STATUS_OK ? outputDac() : result;
}

/** OP_ODA_FDDA: issuer, ICC, SDAD (IDN = ATC). arg bits 16-31: repetitions. */
export function opOdaFdda(arg: u32, length: u32): i32 {
  const staticLength = arg & 0xffff;
  const status = odaInputLoad(staticLength, length);
  if (status != STATUS_OK) return status;
  const times = repetitions(arg >> 16);
  let result: i32 = STATUS_OK;
  for (let i: u32 = 0; i < times; i++) {
    result = runIssuer();
    if (result == STATUS_OK) result = runIcc(staticLength);
    if (result == STATUS_OK) result = runSdad(true);
  }
  return result == STATUS_OK ? outputDynamicData() : result;
}

/** OP_ODA_SDA: issuer, SSAD. arg bits 16-31: repetitions. */
export function opOdaSda(arg: u32, length: u32): i32 {
  const staticLength = arg & 0xffff;
  const status = odaInputLoad(staticLength, length);
  if (status != STATUS_OK) return status;
  const times = repetitions(arg >> 16);
  let result: i32 = STATUS_OK;
  for (let i: u32 = 0; i < times; i++) {
    result = runIssuer();
    if (result == STATUS_OK) result = runSsad(staticLength);
  }
  return result == STATUS_OK ? outputDac() : result;
}

/** Parses IN[staticLength..length) into odaInput. */
export function odaInputLoad(staticLength: u32, length: u32): i32 {
  if (staticLength > length) return ERR_TLV_PATH_INVALID;
  odaInput.clear();
  return odaInput.putAll(IN_BUFFER, staticLength, length, false);
}

// Value of the last `field` lookup (0 / 0 when the tag is absent).
let fieldPtr: usize = 0;
let fieldLength: u32 = 0;

/** Value pointer of the last `field` lookup (sm_ops.ts shares the ODA input parsing). */
export function fieldValuePtr(): usize {
  return fieldPtr;
}

/** Value length of the last `field` lookup. */
export function fieldValueLength(): u32 {
  return fieldLength;
}

/** Looks `tag` up in odaInput into fieldPtr / fieldLength; false when absent. */
export function field(tag: u32): bool {
  const index = odaInput.find(tag);
  fieldPtr = index >= 0 ? odaInput.valuePtr(index) : 0;
  fieldLength = index >= 0 ? odaInput.valueLength(index) : 0;
  return index >= 0;
}

function runIssuer(): i32 {
  if (!ridFind()) return ERR_ODA_RID_MISSING;
  const rid = fieldPtr;
  if (!field(TAG_8F_CA_INDEX)) return ERR_ODA_CA_INDEX_MISSING;
  if (fieldLength != 1) return ERR_ODA_CA_KEY_UNKNOWN;
  const index = <u32>load<u8>(fieldPtr);
  if (!field(TAG_90_ISSUER_CERT)) return ERR_ODA_ISSUER_CERT_MISSING;
  const cert = fieldPtr;
  const certLength = fieldLength;
  if (!field(TAG_9F32_ISSUER_EXPONENT)) return ERR_ODA_ISSUER_EXPONENT_MISSING;
  const exponent = fieldPtr;
  const exponentLength = fieldLength;
  if (!panFind()) return ERR_ODA_PAN_MISSING;
  const pan = fieldPtr;
  const panLength = fieldLength;
  const date = dateFind();
  if (date < 0) return ERR_ODA_TRANSACTION_DATE;
  field(TAG_92_ISSUER_REMAINDER);
  return odaRecoverIssuer(rid, index, cert, certLength, fieldPtr, fieldLength, exponent,
    exponentLength, pan, panLength, <u32>date);
}

function runIcc(staticLength: u32): i32 {
  if (!field(TAG_9F46_ICC_CERT)) return ERR_ODA_ICC_CERT_MISSING;
  const cert = fieldPtr;
  const certLength = fieldLength;
  if (!field(TAG_9F47_ICC_EXPONENT)) return ERR_ODA_ICC_EXPONENT_MISSING;
  const exponent = fieldPtr;
  const exponentLength = fieldLength;
  if (!panFind()) return ERR_ODA_PAN_MISSING;
  const pan = fieldPtr;
  const panLength = fieldLength;
  const date = dateFind();
  if (date < 0) return ERR_ODA_TRANSACTION_DATE;
  field(TAG_9F48_ICC_REMAINDER);
  return odaRecoverIcc(cert, certLength, fieldPtr, fieldLength, exponent, exponentLength, pan,
    panLength, IN_BUFFER, staticLength, <u32>date);
}

function runSdad(atcRequired: bool): i32 {
  if (!field(TAG_9F4B_SDAD)) return ERR_ODA_SDAD_MISSING;
  const sdad = fieldPtr;
  const sdadLength = fieldLength;
  if (!field(TAG_9F37_UN)) return ERR_ODA_TERMINAL_DATA;
  const un = fieldPtr;
  const unLength = fieldLength;
  if (!field(TAG_9F36_ATC) && atcRequired) return ERR_ODA_ATC_MISSING;
  const atc = fieldPtr;
  const atcLength = fieldLength;
  field(TAG_9F02_AMOUNT);
  const amount = fieldPtr;
  const amountLength = fieldLength;
  field(TAG_5F2A_CURRENCY);
  const currency = fieldPtr;
  const currencyLength = fieldLength;
  field(TAG_9F69_CARD_AUTH);
  return odaVerifySdad(sdad, sdadLength, un, unLength, amount, amountLength, currency,
    currencyLength, fieldPtr, fieldLength, atc, atcLength);
}

function runSsad(staticLength: u32): i32 {
  if (!field(TAG_93_SSAD)) return ERR_ODA_SSAD_MISSING;
  return odaVerifySsad(fieldPtr, fieldLength, IN_BUFFER, staticLength);
}

/** RID into fieldPtr: 9F06 (exactly 5 bytes), else 4F or 84 (first 5 of at least 5 bytes). */
export function ridFind(): bool {
  if (field(TAG_9F06_RID)) return fieldLength == 5;
  if (!field(TAG_4F_AID)) field(TAG_84_DF_NAME);
  return fieldLength >= 5;
}

/** PAN source into fieldPtr: 5A, else 57 (track 2 equivalent data). */
export function panFind(): bool {
  return field(TAG_5A_PAN) || field(TAG_57_TRACK2);
}

/** 9A as 0xYYMMDD, or -1 when absent or not 3 bytes (BCD validity is emv_oda's check). */
export function dateFind(): i32 {
  if (!field(TAG_9A_DATE) || fieldLength != 3) return -1;
  const p = fieldPtr;
  return <i32>((<u32>load<u8>(p) << 16) | (<u32>load<u8>(p + 1) << 8) | <u32>load<u8>(p + 2));
}

function outputModulus(): i32 {
  bytesCopy(OUT_BUFFER, odaModulus(), odaModulusLength);
  setOutLength(odaModulusLength);
  return STATUS_OK;
}

function outputDynamicData(): i32 {
  const length = odaDynamicDataLength();
  bytesCopy(OUT_BUFFER, odaDynamicData(), length);
  setOutLength(length);
  return STATUS_OK;
}

function outputDac(): i32 {
  writeU16Be(OUT_BUFFER, odaDac());
  setOutLength(2);
  return STATUS_OK;
}
