// Card-side signatures of the full contactless PBOC flow: SSAD (SDA), SDAD for DDA and CDA.

import { createHash } from 'node:crypto';
import { concatBytes } from '../pki/emv_bytes.js';
import {
  EMV_PAD_BB,
  HASH_ALG_01_SHA1,
  RECOVERY_OVERHEAD_BYTES,
  signRecoverable,
} from '../pki/emv_cert.js';
import type { RsaKeyPair } from '../pki/rsa_keygen.js';
import { IDN_LENGTH_02, SDAD_FORMAT_05 } from './qpboc_fdda.js';

/** Signed static application data format. See EMV 4.4 Book 2, 5.4, Table 7. */
export const SSAD_FORMAT_03 = 0x03;
/** Length of the transaction data hash code in the CDA ICC dynamic data (SHA-1). */
export const TDHC_LENGTH_20 = 20;

/**
 * The SSAD (93): 6A 03 01 DAC(2) BB... hash BC signed with the issuer key; the hash covers the
 * body then the static data to be authenticated. See EMV 4.4 Book 2, 5.4 (domain.md 3.5).
 */
export function signSsad(
  issuerKey: RsaKeyPair,
  dac: Uint8Array,
  staticData: Uint8Array,
): Uint8Array {
  const body = new Uint8Array(issuerKey.bits / 8 - RECOVERY_OVERHEAD_BYTES).fill(EMV_PAD_BB);
  body.set([SSAD_FORMAT_03, HASH_ALG_01_SHA1, dac[0] ?? 0, dac[1] ?? 0]);
  return signRecoverable(issuerKey, body, staticData);
}

/** Signs 6A 05 01 L_DD ICC-dynamic-data BB... hash BC, the hash covering body || tail. */
function signDynamic(key: RsaKeyPair, dynamicData: Uint8Array, tail: Uint8Array): Uint8Array {
  const body = new Uint8Array(key.bits / 8 - RECOVERY_OVERHEAD_BYTES).fill(EMV_PAD_BB);
  body.set([SDAD_FORMAT_05, HASH_ALG_01_SHA1, dynamicData.length, ...dynamicData]);
  return signRecoverable(key, body, tail);
}

function idn(atc: number): Uint8Array {
  return Uint8Array.of(IDN_LENGTH_02, (atc >> 8) & 0xff, atc & 0xff);
}

/**
 * The SDAD of INTERNAL AUTHENTICATE (standard DDA): ICC dynamic data = IDN (the 2-byte ATC, as
 * the fDDA of these cards); the hash covers the body then the DDOL data exactly as received.
 * See EMV 4.4 Book 2, 6.5.1.
 */
export function signDda(key: RsaKeyPair, atc: number, ddolData: Uint8Array): Uint8Array {
  return signDynamic(key, idn(atc), ddolData);
}

/** What the CDA signature of a GENERATE AC covers. See EMV 4.4 Book 2, 6.6.1. */
export interface CdaInput {
  readonly atc: number;
  readonly cid: number;
  readonly cryptogram: Uint8Array;
  /** 9F37 from the CDOL data: the hash of the signature covers it. */
  readonly unpredictableNumber: Uint8Array;
  /** PDOL data || CDOL1 data (|| CDOL2 data) || the answer's TLVs except 9F4B, in order. */
  readonly transactionData: Uint8Array;
}

/**
 * The CDA SDAD: ICC dynamic data = IDN || CID || AC || SHA-1(transaction data); the hash
 * covers the body then the terminal's unpredictable number. See EMV 4.4 Book 2, 6.6.1, Table 22.
 */
export function signCda(key: RsaKeyPair, input: CdaInput): Uint8Array {
  const tdhc = new Uint8Array(createHash('sha1').update(input.transactionData).digest());
  const dynamicData = concatBytes(idn(input.atc), Uint8Array.of(input.cid), input.cryptogram, tdhc);
  return signDynamic(key, dynamicData, input.unpredictableNumber);
}
