// SM2 CA public keys (PBOC 3.0 national cryptography) in the UnionPay TLV parameter form.
//
// domain.md 3.6: a UnionPay CAPK parameter set marks an SM2 key with DF07 = 04; DF02 then holds
// the public key X || Y (64 bytes; a compressed point, 33 bytes, is accepted too) and DF04 is
// absent or ignored. Reconstructed [G]: DF06 = 07 for SM3, and the check value DF03 computed
// like the RSA one over RID || index || DF02 with SHA-1 (20 bytes) or SM3 (32 bytes). The
// kernel checks the same rules again when the key is loaded (and that the point is on the
// curve); this parser gives the operator a named field for every refusal.

import { createHash } from 'node:crypto';
import { FieldError } from './json_fields.js';

/** DF07 = 04: SM2 public key algorithm; DF06 = 07: SM3 [reconstructed]. */
export const PK_ALGORITHM_04_SM2 = 0x04;
export const HASH_ALGORITHM_07_SM3 = 0x07;
const KEY_BYTES_FULL = 64;
const KEY_BYTES_COMPRESSED = 33;

/** The parsed fields of an SM2 CA key, in CaPublicKey's shape (exponent empty). */
export interface Sm2CaKeyFields {
  readonly hashAlgorithm: number;
  readonly pkAlgorithm: number;
  readonly modulusHex: string;
  readonly exponentHex: string;
  readonly checkValueHex: string;
}

/**
 * Checks an SM2 key's DF02, DF03 and DF06 (`objects` = the key's TLV objects by tag).
 * Throws FieldError naming `file` and `field.DFxx`.
 */
export function capkParseSm2(
  objects: ReadonlyMap<number, Uint8Array>,
  rid: Uint8Array,
  index: Uint8Array,
  file: string,
  field: string,
): Sm2CaKeyFields {
  const key = objects.get(0xdf02);
  if (key === undefined) throw new FieldError(file, `${field}.DF02`, 'missing');
  if (key.length !== KEY_BYTES_FULL && key.length !== KEY_BYTES_COMPRESSED) {
    throw new FieldError(file, `${field}.DF02`,
      `an SM2 key is X||Y (64 bytes) or a compressed point (33), got ${key.length}`);
  }
  if (key.length === KEY_BYTES_COMPRESSED && key[0] !== 2 && key[0] !== 3) {
    throw new FieldError(file, `${field}.DF02`, 'a compressed point starts with 02 or 03');
  }
  const check = objects.get(0xdf03);
  if (check === undefined) throw new FieldError(file, `${field}.DF03`, 'missing');
  if (check.length !== 20 && check.length !== 32) {
    throw new FieldError(file, `${field}.DF03`, `expected 20 (SHA-1) or 32 (SM3) bytes`);
  }
  const algorithm = check.length === 20 ? 'sha1' : 'sm3';
  const computed = createHash(algorithm).update(rid).update(index).update(key).digest();
  if (!computed.equals(check)) {
    throw new FieldError(file, `${field}.DF03`, `check value does not match`
      + ` ${algorithm.toUpperCase()}(RID||index||key) ${toHex(computed)}`);
  }
  const hash = objects.get(0xdf06);
  if (hash !== undefined && (hash.length !== 1 || hash[0] !== HASH_ALGORITHM_07_SM3)) {
    throw new FieldError(file, `${field}.DF06`, 'an SM2 key takes hash algorithm 07 (SM3)');
  }
  return {
    hashAlgorithm: HASH_ALGORITHM_07_SM3,
    pkAlgorithm: PK_ALGORITHM_04_SM2,
    modulusHex: toHex(key),
    exponentHex: '',
    checkValueHex: toHex(check),
  };
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}
