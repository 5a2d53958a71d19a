// SM3 / SM2 operations of shuaka_step: thin adapters from IN/OUT to crypto/sm3 and crypto/sm2.
//
// For tests, benchmarks and host tools (inspect); the kernel's SM ODA calls the crypto layer
// directly. Layouts are documented beside the op codes in ops.ts.

import { STATUS_OK, ERR_SM2_INPUT_MALFORMED } from './status';
import { IN_BUFFER, OUT_BUFFER, setOutLength } from './buffers';
import { readU16Be } from '../util/bytes';
import { sm3Digest, sm3Init, sm3Update, sm3Final, SM3_DIGEST_BYTES } from '../crypto/sm3';
import {
  SM2_KEY_BYTES, SM2_PUBLIC_KEY_BYTES, SM2_SIGNATURE_BYTES, sm2KeyPrepare, sm2KeyZa,
  sm2VerifyDigest, sm2Decompress,
} from '../crypto/sm2';
import { CRYPTO_REPEAT_MAX } from './crypto_ops';

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
