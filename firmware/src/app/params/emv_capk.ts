// EMV CA public keys in the UnionPay TLV parameter form: parse, check value, expiry.

import { createHash } from 'node:crypto';

import { FieldError, checkHex } from './json_fields.js';
import { PK_ALGORITHM_04_SM2, capkParseSm2 } from './emv_capk_sm.js';

/** Tags of the UnionPay / Chinese POS SDK CAPK parameter TLV. */
export const TAG_9F06_RID = 0x9f06;
export const TAG_9F22_CA_INDEX = 0x9f22;
export const TAG_DF05_EXPIRY = 0xdf05;
export const TAG_DF06_HASH_ALGORITHM = 0xdf06;
export const TAG_DF07_PK_ALGORITHM = 0xdf07;
export const TAG_DF02_MODULUS = 0xdf02;
export const TAG_DF04_EXPONENT = 0xdf04;
export const TAG_DF03_CHECK_VALUE = 0xdf03;

/** EMV Book 2, Annex B2.3: hash algorithm 01 = SHA-1. */
export const HASH_ALGORITHM_01_SHA1 = 0x01;
/** EMV Book 2, Annex B2.1: public key algorithm 01 = RSA. */
export const PK_ALGORITHM_01_RSA = 0x01;
/** EMV Book 2, 5.1: a CA modulus is at most 248 bytes (1984 bits). */
export const CA_MODULUS_BYTES_MAX = 248;
const CA_MODULUS_BYTES_MIN = 64;
const TLV_OBJECTS_MAX = 16;
const TLV_HEX_CHARS_MAX = 2 * 600;

/** A CA public key whose check value has been verified. Hex fields are upper case. */
export interface CaPublicKey {
  readonly ridHex: string;
  readonly index: number;
  /** Last day of validity, YYYYMMDD. */
  readonly expiryYyyymmdd: string;
  readonly hashAlgorithm: number;
  readonly pkAlgorithm: number;
  /** RSA modulus, or for an SM2 key (pkAlgorithm 04, emv_capk_sm.ts) its X || Y. */
  readonly modulusHex: string;
  /** Exponent without leading zero bytes (03 or 010001); empty for an SM2 key. */
  readonly exponentHex: string;
  readonly checkValueHex: string;
}

/**
 * Parses one key TLV (`9F06 RID, 9F22 index, DF05 expiry, DF06 hash algorithm, DF07 PK
 * algorithm, DF02 modulus, DF04 exponent, DF03 check value`) and verifies the check value
 * SHA-1(RID || index || modulus || exponent) (domain.md §3.7, §9.2). Unknown vendor
 * tags (DF08...) are ignored. DF05 is accepted as 8 ASCII digits or 4 BCD bytes. The exponent
 * is hashed as stored and, if that fails, without leading zeros (vendors differ). The check
 * value is verified before the algorithm codes, so a damaged key is reported as such.
 * Throws FieldError naming `file` and `field` (e.g. "capk.txt", "line 3 (index 61).DF03").
 */
export function capkParse(tlvHex: string, file: string, field: string): CaPublicKey {
  const bounded = tlvHex.length > TLV_HEX_CHARS_MAX ? '?' : tlvHex;
  const hex = checkHex(bounded, 1, TLV_HEX_CHARS_MAX / 2, file, field);
  const objects = tlvParsePrimitives(Buffer.from(hex, 'hex'), file, field);
  const need = (tag: number, bytesMin: number, bytesMax: number): Uint8Array => {
    const value = objects.get(tag);
    const name = tag.toString(16).toUpperCase();
    if (value === undefined) throw new FieldError(file, `${field}.${name}`, 'missing');
    if (value.length < bytesMin || value.length > bytesMax) {
      const reason = `expected ${bytesMin}..${bytesMax} bytes, got ${value.length}`;
      throw new FieldError(file, `${field}.${name}`, reason);
    }
    return value;
  };
  const rid = need(TAG_9F06_RID, 5, 5);
  const index = need(TAG_9F22_CA_INDEX, 1, 1);
  const keyField = `${field} (index ${toHex(index)})`;
  const expiry = expiryRead(need(TAG_DF05_EXPIRY, 4, 8), file, `${keyField}.DF05`);
  const algorithm = objects.get(TAG_DF07_PK_ALGORITHM);
  if (algorithm?.length === 1 && algorithm[0] === PK_ALGORITHM_04_SM2) {
    const sm2 = capkParseSm2(objects, rid, index, file, keyField);
    return { ridHex: toHex(rid), index: index[0] ?? 0, expiryYyyymmdd: expiry, ...sm2 };
  }
  const modulus = need(TAG_DF02_MODULUS, CA_MODULUS_BYTES_MIN, CA_MODULUS_BYTES_MAX);
  const exponent = need(TAG_DF04_EXPONENT, 1, 3);
  const checkValue = need(TAG_DF03_CHECK_VALUE, 20, 20);
  const exponentTrimmed = exponent.subarray(exponent.findIndex((b) => b !== 0));
  const computed = checkValueOf(rid, index, modulus, exponentTrimmed);
  // The hash as stored differs only when the exponent has leading zeros: computed only then.
  const matches = computed.equals(checkValue) || (exponentTrimmed.length !== exponent.length
    && checkValueOf(rid, index, modulus, exponent).equals(checkValue));
  if (!matches) {
    const reason = `check value ${toHex(checkValue)} does not match`
      + ` SHA-1(RID||index||modulus||exponent) ${toHex(computed)}`;
    throw new FieldError(file, `${keyField}.DF03`, reason);
  }
  const hashAlgorithm = need(TAG_DF06_HASH_ALGORITHM, 1, 1)[0] ?? 0;
  const pkAlgorithm = need(TAG_DF07_PK_ALGORITHM, 1, 1)[0] ?? 0;
  const exponentHex = toHex(exponentTrimmed);
  const problem = capkAlgorithmProblem(hashAlgorithm, pkAlgorithm, exponentHex, modulus);
  if (problem !== null) throw new FieldError(file, `${keyField}.${problem.tag}`, problem.reason);
  return {
    ridHex: toHex(rid),
    index: index[0] ?? 0,
    expiryYyyymmdd: expiry,
    hashAlgorithm,
    pkAlgorithm,
    modulusHex: toHex(modulus),
    exponentHex,
    checkValueHex: toHex(checkValue),
  };
}

function capkAlgorithmProblem(
  hashAlgorithm: number,
  pkAlgorithm: number,
  exponentHex: string,
  modulus: Uint8Array,
): { tag: string; reason: string } | null {
  if (hashAlgorithm !== HASH_ALGORITHM_01_SHA1) {
    return { tag: 'DF06', reason: `hash algorithm ${hashAlgorithm} is not 01 (SHA-1)` };
  }
  if (pkAlgorithm !== PK_ALGORITHM_01_RSA) {
    return { tag: 'DF07', reason: `PK algorithm ${pkAlgorithm} is not 01 (RSA)` };
  }
  if (exponentHex !== '03' && exponentHex !== '010001') {
    return { tag: 'DF04', reason: `exponent ${exponentHex} is not 3 or 65537` };
  }
  if ((modulus[0] ?? 0) === 0) return { tag: 'DF02', reason: 'modulus has a leading zero byte' };
  return null;
}

/** True while the key is valid on `dateYyyymmdd` (its expiry day included). */
export function capkIsValidOn(key: CaPublicKey, dateYyyymmdd: string): boolean {
  return dateYyyymmdd <= key.expiryYyyymmdd;
}

function checkValueOf(
  rid: Uint8Array,
  index: Uint8Array,
  modulus: Uint8Array,
  exponent: Uint8Array,
): Buffer {
  const sha1 = createHash('sha1');
  return sha1.update(rid).update(index).update(modulus).update(exponent).digest();
}

/** DF05: "20301231" as ASCII digits (8 bytes) or BCD 20 30 12 31 (4 bytes). */
function expiryRead(value: Uint8Array, file: string, field: string): string {
  let text: string;
  if (value.length === 8) text = Buffer.from(value).toString('latin1');
  else if (value.length === 4) text = toHex(value);
  else throw new FieldError(file, field, `expected 8 ASCII or 4 BCD bytes, got ${value.length}`);
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  const month = Number(match?.[2] ?? 0);
  const day = Number(match?.[3] ?? 0);
  if (match === null || month < 1 || month > 12 || day < 1 || day > 31) {
    throw new FieldError(file, field, `not a date YYYYMMDD: ${JSON.stringify(text)}`);
  }
  return text;
}

/**
 * A flat BER-TLV list of primitive objects (EMV Book 3, Annex B): 1- or 2-byte tags, lengths
 * in short form or 81/82. Duplicate tags, trailing bytes and overruns are errors.
 */
function tlvParsePrimitives(
  bytes: Uint8Array,
  file: string,
  field: string,
): Map<number, Uint8Array> {
  const objects = new Map<number, Uint8Array>();
  const refuse = (reason: string): never => {
    throw new FieldError(file, field, reason);
  };
  const tagName = (tag: number): string => tag.toString(16).toUpperCase();
  let offset = 0;
  // Bounded by TLV_OBJECTS_MAX objects.
  for (let count = 0; offset < bytes.length; count += 1) {
    if (count >= TLV_OBJECTS_MAX) refuse(`more than ${TLV_OBJECTS_MAX} TLV objects`);
    let tag = bytes[offset] ?? 0;
    offset += 1;
    if ((tag & 0x1f) === 0x1f) {
      const next = bytes[offset];
      if (next === undefined || (next & 0x80) !== 0) {
        refuse(`tag at byte ${offset - 1} is truncated or longer than 2 bytes`);
      }
      tag = (tag << 8) | (next ?? 0);
      offset += 1;
    }
    const first = bytes[offset];
    if (first === undefined) return refuse(`tag ${tagName(tag)} has no length`);
    offset += 1;
    let length = first;
    if (first === 0x81 || first === 0x82) {
      const lengthBytes = first & 0x7f;
      if (offset + lengthBytes > bytes.length) refuse('length is truncated');
      length = 0;
      for (let i = 0; i < lengthBytes; i += 1) length = (length << 8) | (bytes[offset + i] ?? 0);
      offset += lengthBytes;
    } else if (first > 0x7f) {
      refuse(`unsupported length byte ${first.toString(16)}`);
    }
    if (offset + length > bytes.length) refuse(`tag ${tagName(tag)} runs past the end`);
    if (objects.has(tag)) refuse(`tag ${tagName(tag)} appears twice`);
    objects.set(tag, bytes.subarray(offset, offset + length));
    offset += length;
  }
  return objects;
}

function toHex(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString('hex').toUpperCase();
}
