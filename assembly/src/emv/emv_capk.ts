// CA public key store (RID + index) with load-time check values and a revocation list.
//
// Keys arrive in the UnionPay terminal-parameter TLV form (9F06 RID, 9F22 index, DF05 expiry,
// DF06 hash algorithm, DF07 key algorithm, DF02 modulus, DF04 exponent, DF03 check value: see
// domain.md 3.7). A key is stored only after its check value SHA-1(RID || index || modulus ||
// exponent) verifies (EMV 4.4 Book 2, 11.2.2), and it is prepared for RSA right then, so no
// per-key work is left for the tap. Capacities are fixed; nothing is allocated.

import {
  STATUS_OK, ERR_CAPK_CHECK_VALUE, ERR_CAPK_CHECK_VALUE_MISSING, ERR_CAPK_MALFORMED,
  ERR_CAPK_RID_INVALID, ERR_CAPK_INDEX_INVALID, ERR_CAPK_MODULUS_INVALID,
  ERR_CAPK_EXPONENT_UNSUPPORTED, ERR_CAPK_HASH_ALGORITHM, ERR_CAPK_PK_ALGORITHM,
  ERR_CAPK_EXPIRY_INVALID, ERR_CAPK_STORE_FULL, ERR_CAPK_REVOCATION_FULL, ERR_CAPK_SM2_KEY_INVALID,
} from '../status/status';
import { bytesEqual } from '../util/bytes';
import {
  TLV_END, tlvDecodeOne, tlvTag, tlvValueStart, tlvValueLength, tlvNext,
} from '../iso8825/ber_tlv';
import { sha1Init, sha1Update, sha1Final, SHA1_DIGEST_BYTES } from '../crypto/sha1';
import { sm3Init, sm3Update, sm3Final, SM3_DIGEST_BYTES } from '../crypto/sm3';
import {
  SM2_DEFAULT_ID, SM2_DEFAULT_ID_BYTES, SM2_PUBLIC_KEY_BYTES, sm2KeyPrepare,
  sm2Decompress,
} from '../crypto/sm2';
import {
  RSA_KEY_BYTES, RSA_EXPONENT_65537, rsaExponentDecode, rsaKeyPrepare,
} from '../crypto/rsa';

/** Key slots: UnionPay publishes 9 RSA indexes; 32 leaves room for other schemes and tests. */
export const CAPK_SLOTS_MAX: u32 = 32;
/** Revocation list entries: (RID, CA index, certificate serial). */
export const CAPK_REVOKED_MAX: u32 = 64;
/** RID length (EMV 4.4 Book 1, 12.2.1). */
export const CAPK_RID_BYTES: u32 = 5;
/** Bytes of one revocation entry: RID, index, 3-byte certificate serial. */
export const CAPK_REVOKED_ENTRY_BYTES: u32 = 9;
/** An expiry meaning "never": DF05 absent. */
export const CAPK_EXPIRY_NONE: u32 = 0x99991231;
/** Hash and key algorithm indicators EMV defines: SHA-1 and RSA (Book 2, Annex B). */
export const CAPK_HASH_ALGORITHM_SHA1: u32 = 0x01;
export const CAPK_PK_ALGORITHM_RSA: u32 = 0x01;
/** UnionPay parameter DF07 = 04: an SM2 CA key (domain.md 3.6); DF06 = 07: SM3 [reconstructed:
 *  the value is believed, not seen in a public specification]. */
export const CAPK_PK_ALGORITHM_SM2: u32 = 0x04;
export const CAPK_HASH_ALGORITHM_SM3: u32 = 0x07;

const TAG_9F06_RID: u32 = 0x9f06;
const TAG_9F22_CA_INDEX: u32 = 0x9f22;
const TAG_DF02_MODULUS: u32 = 0xdf02;
const TAG_DF03_CHECK_VALUE: u32 = 0xdf03;
const TAG_DF04_EXPONENT: u32 = 0xdf04;
const TAG_DF05_EXPIRY: u32 = 0xdf05;
const TAG_DF06_HASH_ALGORITHM: u32 = 0xdf06;
const TAG_DF07_PK_ALGORITHM: u32 = 0xdf07;

// Slot layout: header then the prepared RSA key (16-byte aligned).
const SLOT_USED: usize = 0;
const SLOT_INDEX: usize = 1;
const SLOT_RID: usize = 2;
const SLOT_ALGORITHM: usize = 7;
const SLOT_EXPIRY: usize = 8;
const SLOT_KEY: usize = 16;
const SLOT_BYTES: usize = SLOT_KEY + <usize>RSA_KEY_BYTES;

const slots = memory.data(<i32>(SLOT_BYTES * <usize>CAPK_SLOTS_MAX), 16);
const scratchKey = memory.data(<i32>RSA_KEY_BYTES, 16);
const checkDigest = memory.data(<i32>SM3_DIGEST_BYTES, 4);
const sm2Point = memory.data(<i32>SM2_PUBLIC_KEY_BYTES, 4);
const exponentBytes = memory.data(4, 4);
const revoked = memory.data(<i32>(CAPK_REVOKED_ENTRY_BYTES * CAPK_REVOKED_MAX), 4);
let revokedCount: u32 = 0;

// Fields of the key being parsed (pointers into the caller's TLV bytes).
const FIELD_COUNT: i32 = 8;
const fieldPtr = memory.data(FIELD_COUNT * 4, 4);
const fieldLength = memory.data(FIELD_COUNT * 4, 4);

/** Forgets every key and every revocation entry. */
export function capkClear(): void {
  memory.fill(slots, 0, SLOT_BYTES * <usize>CAPK_SLOTS_MAX);
  revokedCount = 0;
}

/** Number of stored keys. */
export function capkCount(): u32 {
  let count: u32 = 0;
  for (let i: u32 = 0; i < CAPK_SLOTS_MAX; i++) if (load<u8>(slotAt(i) + SLOT_USED) != 0) count++;
  return count;
}

/** Slot number (0..CAPK_SLOTS_MAX) of the key (RID at `rid`, `index`), or -1. */
export function capkFind(rid: usize, index: u32): i32 {
  for (let i: u32 = 0; i < CAPK_SLOTS_MAX; i++) {
    const slot = slotAt(i);
    if (load<u8>(slot + SLOT_USED) == 0 || <u32>load<u8>(slot + SLOT_INDEX) != index) continue;
    if (bytesEqual(slot + SLOT_RID, rid, CAPK_RID_BYTES)) return <i32>i;
  }
  return -1;
}

/** True when slot `slot` holds a key. */
export function capkSlotUsed(slot: u32): bool {
  return slot < CAPK_SLOTS_MAX && load<u8>(slotAt(slot) + SLOT_USED) != 0;
}

/** The prepared key of a used slot: RSA (crypto/rsa.ts) or SM2 (crypto/sm2.ts), per
 *  capkAlgorithm; an SM2 key (96 bytes) fits the RSA key area. */
export function capkKey(slot: u32): usize {
  assert(capkSlotUsed(slot), 'capk slot empty');
  return slotAt(slot) + SLOT_KEY;
}

/** Pointer to the 5-byte RID of a used slot. */
export function capkRid(slot: u32): usize {
  assert(capkSlotUsed(slot), 'capk slot empty');
  return slotAt(slot) + SLOT_RID;
}

/** CA index of a used slot. */
export function capkIndex(slot: u32): u32 {
  assert(capkSlotUsed(slot), 'capk slot empty');
  return <u32>load<u8>(slotAt(slot) + SLOT_INDEX);
}

/** Key algorithm of a used slot: CAPK_PK_ALGORITHM_RSA (RSA key) or _SM2 (SM2 key). */
export function capkAlgorithm(slot: u32): u32 {
  assert(capkSlotUsed(slot), 'capk slot empty');
  return <u32>load<u8>(slotAt(slot) + SLOT_ALGORITHM);
}

/** Number of stored SM2 keys: with one, the terminal offers SM ODA (DF69 = 01). */
export function capkSm2Count(): u32 {
  let count: u32 = 0;
  for (let i: u32 = 0; i < CAPK_SLOTS_MAX; i++) {
    const slot = slotAt(i);
    if (load<u8>(slot + SLOT_USED) != 0 && <u32>load<u8>(slot + SLOT_ALGORITHM) == 4) count++;
  }
  return count;
}

/** Expiry of a used slot as BCD 0xYYYYMMDD (CAPK_EXPIRY_NONE when DF05 was absent). */
export function capkExpiry(slot: u32): u32 {
  assert(capkSlotUsed(slot), 'capk slot empty');
  return load<u32>(slotAt(slot) + SLOT_EXPIRY);
}

/**
 * Loads keys from `tlv[0..length)`: one key, or several back to back (a key ends where one of
 * its tags repeats). Writes one i32 status per key to `statuses` (at most `statusesMax`) and
 * returns the number of keys seen, or ERR_CAPK_MALFORMED when the TLV itself is broken. Keys
 * that verify are stored even when others in the list fail.
 */
export function capkLoadList(tlv: usize, length: u32, statuses: usize, statusesMax: u32): i32 {
  let pos: u32 = 0;
  let keys: u32 = 0;
  let seen: u32 = 0;
  fieldsClear();
  // Each object consumes at least two bytes, so the loop ends within length / 2 rounds.
  for (;;) {
    const status = tlvDecodeOne(tlv, pos, length);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return ERR_CAPK_MALFORMED;
    const field = fieldOf(tlvTag);
    if (field >= 0 && (seen & (1 << field)) != 0) {
      if (!loadListEmit(statuses, statusesMax, keys)) return ERR_CAPK_MALFORMED;
      keys++;
      seen = 0;
      fieldsClear();
    }
    if (field >= 0) {
      seen |= 1 << field;
      store<u32>(fieldPtr + (<usize>field << 2), <u32>(tlv + <usize>tlvValueStart));
      store<u32>(fieldLength + (<usize>field << 2), tlvValueLength);
    }
    pos = tlvNext;
  }
  if (seen != 0) {
    if (!loadListEmit(statuses, statusesMax, keys)) return ERR_CAPK_MALFORMED;
    keys++;
  }
  return <i32>keys;
}

/** Loads the parsed key and records its status; false when the status area is full. */
function loadListEmit(statuses: usize, statusesMax: u32, keys: u32): bool {
  if (keys >= statusesMax) return false;
  store<i32>(statuses + (<usize>keys << 2), capkLoadParsed());
  return true;
}

/**
 * Adds (RID, CA index, 3-byte serial) from the 9 bytes at `entry` to the revocation list
 * (EMV 4.4 Book 2, 5.3 step 10). A repeated entry is accepted once.
 * Returns STATUS_OK or ERR_CAPK_REVOCATION_FULL.
 */
export function capkRevoke(entry: usize): i32 {
  if (revokedFind(entry, load<u8>(entry + 5), entry + 6)) return STATUS_OK;
  if (revokedCount >= CAPK_REVOKED_MAX) return ERR_CAPK_REVOCATION_FULL;
  memory.copy(revoked + <usize>(revokedCount * CAPK_REVOKED_ENTRY_BYTES), entry,
    <usize>CAPK_REVOKED_ENTRY_BYTES);
  revokedCount++;
  return STATUS_OK;
}

/** True when (RID at `rid`, `index`, serial at `serial`) is on the revocation list. */
export function capkIsRevoked(rid: usize, index: u32, serial: usize): bool {
  return revokedFind(rid, <u8>index, serial);
}

function revokedFind(rid: usize, index: u8, serial: usize): bool {
  for (let i: u32 = 0; i < revokedCount; i++) {
    const e = revoked + <usize>(i * CAPK_REVOKED_ENTRY_BYTES);
    if (load<u8>(e + 5) == index && bytesEqual(e, rid, CAPK_RID_BYTES) &&
      bytesEqual(e + 6, serial, 3)) return true;
  }
  return false;
}

@inline
function slotAt(slot: u32): usize {
  return slots + <usize>slot * SLOT_BYTES;
}

function fieldsClear(): void {
  memory.fill(fieldPtr, 0, FIELD_COUNT * 4);
  memory.fill(fieldLength, 0, FIELD_COUNT * 4);
}

function fieldOf(tag: u32): i32 {
  switch (tag) {
    case TAG_9F06_RID: return 0;
    case TAG_9F22_CA_INDEX: return 1;
    case TAG_DF05_EXPIRY: return 2;
    case TAG_DF06_HASH_ALGORITHM: return 3;
    case TAG_DF07_PK_ALGORITHM: return 4;
    case TAG_DF02_MODULUS: return 5;
    case TAG_DF04_EXPONENT: return 6;
    case TAG_DF03_CHECK_VALUE: return 7;
    default: return -1;
  }
}

@inline
function fieldP(field: i32): usize {
  return <usize>load<u32>(fieldPtr + (<usize>field << 2));
}

@inline
function fieldL(field: i32): u32 {
  return load<u32>(fieldLength + (<usize>field << 2));
}

/**
 * Validates and stores the key whose fields were just parsed. Order: mandatory fields, check
 * value (integrity before meaning), algorithm indicators, expiry, modulus preparation, slot.
 * Returns STATUS_OK or one of the ERR_CAPK_* codes.
 */
function capkLoadParsed(): i32 {
  if (fieldP(0) == 0 || fieldL(0) != CAPK_RID_BYTES) return ERR_CAPK_RID_INVALID;
  if (fieldP(1) == 0 || fieldL(1) != 1) return ERR_CAPK_INDEX_INVALID;
  if (fieldP(4) != 0 && fieldL(4) == 1 && <u32>load<u8>(fieldP(4)) == CAPK_PK_ALGORITHM_SM2) {
    return capkLoadSm2Parsed();
  }
  const modulusLength = fieldL(5);
  if (fieldP(5) == 0 || modulusLength == 0 || modulusLength > 256) return ERR_CAPK_MODULUS_INVALID;
  const exponent = rsaExponentDecode(fieldP(6), fieldL(6));
  if (fieldP(6) == 0 || exponent == 0) return ERR_CAPK_EXPONENT_UNSUPPORTED;
  if (fieldP(7) == 0) return ERR_CAPK_CHECK_VALUE_MISSING;
  if (fieldL(7) != SHA1_DIGEST_BYTES) return ERR_CAPK_MALFORMED;
  // The check value covers the exponent in its minimal form (03 or 010001), whatever padding
  // the parameter file used (some carry 000003).
  const exponentLength: u32 = exponent == RSA_EXPONENT_65537 ? 3 : 1;
  store<u32>(exponentBytes, exponent == RSA_EXPONENT_65537 ? 0x010001 << 8 : 0x03);
  sha1Init();
  sha1Update(fieldP(0), CAPK_RID_BYTES);
  sha1Update(fieldP(1), 1);
  sha1Update(fieldP(5), modulusLength);
  sha1Update(exponentLength == 3 ? exponentBytes + 1 : exponentBytes, exponentLength);
  sha1Final(checkDigest);
  if (!bytesEqual(checkDigest, fieldP(7), SHA1_DIGEST_BYTES)) return ERR_CAPK_CHECK_VALUE;
  if (fieldP(3) != 0 && (fieldL(3) != 1 || <u32>load<u8>(fieldP(3)) != CAPK_HASH_ALGORITHM_SHA1)) {
    return ERR_CAPK_HASH_ALGORITHM;
  }
  if (fieldP(4) != 0 && (fieldL(4) != 1 || <u32>load<u8>(fieldP(4)) != CAPK_PK_ALGORITHM_RSA)) {
    return ERR_CAPK_PK_ALGORITHM;
  }
  const expiry = fieldP(2) == 0 ? CAPK_EXPIRY_NONE : capkExpiryDecode(fieldP(2), fieldL(2));
  if (expiry == 0) return ERR_CAPK_EXPIRY_INVALID;
  if (rsaKeyPrepare(scratchKey, fieldP(5), modulusLength, exponent) != STATUS_OK) {
    return ERR_CAPK_MODULUS_INVALID;
  }
  return capkStore(fieldP(0), <u32>load<u8>(fieldP(1)), expiry, CAPK_PK_ALGORITHM_RSA);
}

/**
 * Validates and stores an SM2 CA key (DF07 = 04). DF02 carries the public key X || Y (64
 * bytes) or a compressed point (33 bytes), DF04 is ignored. DF03 is SHA-1 (20 bytes) or SM3
 * (32 bytes) of RID || index || DF02 as given [reconstructed: the SM form of the check value
 * is not public]. DF06 must be 07 (SM3) when present. The point is checked on the curve and
 * its Z_A (default ID) computed now, so the tap pays for neither.
 * Returns STATUS_OK, ERR_CAPK_MODULUS_INVALID, ERR_CAPK_CHECK_VALUE_MISSING, ERR_CAPK_MALFORMED,
 * ERR_CAPK_CHECK_VALUE, ERR_CAPK_HASH_ALGORITHM, ERR_CAPK_EXPIRY_INVALID,
 * ERR_CAPK_SM2_KEY_INVALID or ERR_CAPK_STORE_FULL.
 */
function capkLoadSm2Parsed(): i32 {
  const keyLength = fieldL(5);
  if (fieldP(5) == 0 || (keyLength != 64 && keyLength != 33)) return ERR_CAPK_MODULUS_INVALID;
  if (fieldP(7) == 0) return ERR_CAPK_CHECK_VALUE_MISSING;
  const checkLength = fieldL(7);
  if (checkLength != SHA1_DIGEST_BYTES && checkLength != SM3_DIGEST_BYTES) {
    return ERR_CAPK_MALFORMED;
  }
  if (checkLength == SM3_DIGEST_BYTES) {
    sm3Init();
    sm3Update(fieldP(0), CAPK_RID_BYTES);
    sm3Update(fieldP(1), 1);
    sm3Update(fieldP(5), keyLength);
    sm3Final(checkDigest);
  } else {
    sha1Init();
    sha1Update(fieldP(0), CAPK_RID_BYTES);
    sha1Update(fieldP(1), 1);
    sha1Update(fieldP(5), keyLength);
    sha1Final(checkDigest);
  }
  if (!bytesEqual(checkDigest, fieldP(7), checkLength)) return ERR_CAPK_CHECK_VALUE;
  if (fieldP(3) != 0 && (fieldL(3) != 1 || <u32>load<u8>(fieldP(3)) != CAPK_HASH_ALGORITHM_SM3)) {
    return ERR_CAPK_HASH_ALGORITHM;
  }
  const expiry = fieldP(2) == 0 ? CAPK_EXPIRY_NONE : capkExpiryDecode(fieldP(2), fieldL(2));
  if (expiry == 0) return ERR_CAPK_EXPIRY_INVALID;
  let xy = fieldP(5);
  if (keyLength == 33) {
    if (sm2Decompress(sm2Point, xy) != STATUS_OK) return ERR_CAPK_SM2_KEY_INVALID;
    xy = sm2Point;
  }
  if (sm2KeyPrepare(scratchKey, xy, SM2_DEFAULT_ID, SM2_DEFAULT_ID_BYTES) != STATUS_OK) {
    return ERR_CAPK_SM2_KEY_INVALID;
  }
  return capkStore(fieldP(0), <u32>load<u8>(fieldP(1)), expiry, CAPK_PK_ALGORITHM_SM2);
}

/** Copies the scratch key into the slot of (RID, index), replacing an older copy. */
function capkStore(rid: usize, index: u32, expiry: u32, algorithm: u32): i32 {
  let slot = capkFind(rid, index);
  if (slot < 0) {
    for (let i: u32 = 0; i < CAPK_SLOTS_MAX; i++) {
      if (load<u8>(slotAt(i) + SLOT_USED) == 0) {
        slot = <i32>i;
        break;
      }
    }
  }
  if (slot < 0) return ERR_CAPK_STORE_FULL;
  const p = slotAt(<u32>slot);
  store<u8>(p + SLOT_USED, 1);
  store<u8>(p + SLOT_INDEX, <u8>index);
  store<u8>(p + SLOT_ALGORITHM, <u8>algorithm);
  memory.copy(p + SLOT_RID, rid, <usize>CAPK_RID_BYTES);
  store<u32>(p + SLOT_EXPIRY, expiry);
  memory.copy(p + SLOT_KEY, scratchKey, <usize>RSA_KEY_BYTES);
  return STATUS_OK;
}

/**
 * Decodes DF05: 8 ASCII digits "YYYYMMDD", 4 BCD bytes YYYYMMDD, or 3 BCD bytes YYMMDD (20YY).
 * Returns BCD 0xYYYYMMDD, or 0 when the value is not a valid date.
 */
export function capkExpiryDecode(p: usize, length: u32): u32 {
  let value: u32 = 0;
  if (length == 8) {
    for (let i: u32 = 0; i < 8; i++) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c < 0x30 || c > 0x39) return 0;
      value = (value << 4) | (c - 0x30);
    }
  } else if (length == 4 || length == 3) {
    for (let i: u32 = 0; i < length; i++) value = (value << 8) | <u32>load<u8>(p + <usize>i);
    if (length == 3) value |= 0x20000000;
  } else {
    return 0;
  }
  for (let shift: u32 = 0; shift < 32; shift += 4) if (((value >> shift) & 0xf) > 9) return 0;
  const month = ((value >> 12) & 0xf) * 10 + ((value >> 8) & 0xf);
  const day = ((value >> 4) & 0xf) * 10 + (value & 0xf);
  if (month < 1 || month > 12 || day < 1 || day > 31) return 0;
  return value;
}
