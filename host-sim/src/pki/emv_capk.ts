// CA public key parameters in the UnionPay TLV form a validator loads (9F06 9F22 DF05 ... DF03).

import { createHash } from 'node:crypto';
import { asciiBytes, berTlv, concatBytes, fromHex, toHex } from './emv_bytes.js';
import { exponentBytes, HASH_ALG_01_SHA1, modulusBytes, PK_ALG_01_RSA } from './emv_cert.js';
import type { RsaKeyPair } from './rsa_keygen.js';

/** UnionPay CA key parameter tags. See domain.md 3.7. */
export const TAG_9F06_RID = 0x9f06;
export const TAG_9F22_CA_INDEX = 0x9f22;
export const TAG_DF05_EXPIRY = 0xdf05;
export const TAG_DF06_HASH_ALGORITHM = 0xdf06;
export const TAG_DF07_PK_ALGORITHM = 0xdf07;
export const TAG_DF02_MODULUS = 0xdf02;
export const TAG_DF04_EXPONENT = 0xdf04;
export const TAG_DF03_CHECK_VALUE = 0xdf03;

/** How DF05 (expiry) is encoded: most UnionPay parameter sets use 8 ASCII digits, some BCD. */
export type CapkExpiryEncoding = 'ascii' | 'bcd';

/** One CA public key as a terminal loads it. All hex is lower-case without spaces. */
export interface CaPublicKeyParams {
  /** 9F06: registered application provider id, 5 bytes (A000000333 for UnionPay). */
  readonly ridHex: string;
  /** 9F22: CA public key index (the card's tag 8F). */
  readonly index: number;
  /** DF05: expiry date YYYYMMDD. */
  readonly expiryYyyymmdd: string;
  /** DF06: hash algorithm indicator (01 SHA-1). */
  readonly hashAlgorithm: number;
  /** DF07: public key algorithm indicator (01 RSA). */
  readonly pkAlgorithm: number;
  /** DF02: modulus. */
  readonly modulusHex: string;
  /** DF04: exponent (03 or 010001). */
  readonly exponentHex: string;
  /** DF03: SHA-1 over RID || index || modulus || exponent. */
  readonly checkHex: string;
  /** The whole parameter set as concatenated TLVs in the order 9F06 9F22 DF05 DF06 DF07 DF02
   *  DF04 DF03. */
  readonly tlvHex: string;
}

/**
 * The DF03 check value: SHA-1 over RID || index || modulus || exponent.
 * See domain.md 3.7 and 9.2.
 */
export function capkCheckValue(
  rid: Uint8Array,
  index: number,
  modulus: Uint8Array,
  exponent: Uint8Array,
): Uint8Array {
  const hash = createHash('sha1')
    .update(rid)
    .update(Uint8Array.of(index))
    .update(modulus)
    .update(exponent)
    .digest();
  return new Uint8Array(hash);
}

/**
 * The parameter set for one CA key.
 * Throws RangeError on a RID that is not 5 bytes, an index outside 0..255 or a malformed date.
 */
export function caPublicKeyParams(
  ridHex: string,
  index: number,
  key: Pick<RsaKeyPair, 'n' | 'e' | 'bits'>,
  expiryYyyymmdd: string,
  expiryEncoding: CapkExpiryEncoding,
): CaPublicKeyParams {
  const rid = fromHex(ridHex);
  if (rid.length !== 5) throw new RangeError(`RID "${ridHex}"`);
  if (!(Number.isInteger(index) && index >= 0 && index <= 0xff)) {
    throw new RangeError(`index ${index}`);
  }
  if (!/^20[0-9]{6}$/.test(expiryYyyymmdd)) throw new RangeError(`expiry "${expiryYyyymmdd}"`);
  const modulus = modulusBytes(key);
  const exponent = exponentBytes(key.e);
  const check = capkCheckValue(rid, index, modulus, exponent);
  const expiry = expiryEncoding === 'ascii' ? asciiBytes(expiryYyyymmdd) : fromHex(expiryYyyymmdd);
  const tlv = concatBytes(
    berTlv(TAG_9F06_RID, rid),
    berTlv(TAG_9F22_CA_INDEX, Uint8Array.of(index)),
    berTlv(TAG_DF05_EXPIRY, expiry),
    berTlv(TAG_DF06_HASH_ALGORITHM, Uint8Array.of(HASH_ALG_01_SHA1)),
    berTlv(TAG_DF07_PK_ALGORITHM, Uint8Array.of(PK_ALG_01_RSA)),
    berTlv(TAG_DF02_MODULUS, modulus),
    berTlv(TAG_DF04_EXPONENT, exponent),
    berTlv(TAG_DF03_CHECK_VALUE, check),
  );
  return {
    ridHex: toHex(rid),
    index,
    expiryYyyymmdd,
    hashAlgorithm: HASH_ALG_01_SHA1,
    pkAlgorithm: PK_ALG_01_RSA,
    modulusHex: toHex(modulus),
    exponentHex: toHex(exponent),
    checkHex: toHex(check),
    tlvHex: toHex(tlv),
  };
}
