// fDDA on the card: 9F69 card authentication data and the format-05 SDAD (domain.md 3.4).

import { concatBytes } from '../pki/emv_bytes.js';
import {
  EMV_PAD_BB,
  HASH_ALG_01_SHA1,
  RECOVERY_OVERHEAD_BYTES,
  signRecoverable,
} from '../pki/emv_cert.js';
import type { RsaKeyPair } from '../pki/rsa_keygen.js';

/** Signed dynamic application data format. See EMV 4.4 Book 2, Table 17. */
export const SDAD_FORMAT_05 = 0x05;
/** 9F69 byte 1: fDDA version 01. */
export const FDDA_VERSION_01 = 0x01;
/** IDN length: the ICC dynamic number is the 2-byte ATC. */
export const IDN_LENGTH_02 = 0x02;

/** Terminal data the SDAD hash covers, exactly as received in the PDOL. */
export interface FddaTerminalData {
  /** 9F37, 4 bytes. */
  readonly unpredictableNumber: Uint8Array;
  /** 9F02, 6 bytes. */
  readonly amount: Uint8Array;
  /** 5F2A, 2 bytes. */
  readonly currency: Uint8Array;
}

/**
 * 9F69 on PBOC cards, 8 bytes: version 01 || card unpredictable number (4) || CTQ (2) ||
 * DF61 (or 00). See domain.md 3.4 [S:BT, KONA].
 */
export function cardAuthenticationData(
  cardUnpredictableNumber: Uint8Array,
  ctq: Uint8Array,
  df61: number | null,
): Uint8Array {
  return concatBytes(
    Uint8Array.of(FDDA_VERSION_01),
    cardUnpredictableNumber,
    ctq,
    Uint8Array.of(df61 ?? 0),
  );
}

/**
 * The SDAD (9F4B): 6A 05 01 L_DD [02 ATC] BB... hash BC signed with `key`. The hash covers
 * the body then 9F37 || 9F02 || 5F2A || 9F69 for fDDA v01 (`cardAuthData` non-null), or 9F37
 * alone for v00.
 */
export function signFdda(
  key: RsaKeyPair,
  atc: number,
  terminal: FddaTerminalData,
  cardAuthData: Uint8Array | null,
): Uint8Array {
  const dynamicData = Uint8Array.of(IDN_LENGTH_02, (atc >> 8) & 0xff, atc & 0xff);
  const body = new Uint8Array(key.bits / 8 - RECOVERY_OVERHEAD_BYTES).fill(EMV_PAD_BB);
  body.set([SDAD_FORMAT_05, HASH_ALG_01_SHA1, dynamicData.length, ...dynamicData]);
  const tail =
    cardAuthData === null
      ? terminal.unpredictableNumber
      : concatBytes(terminal.unpredictableNumber, terminal.amount, terminal.currency, cardAuthData);
  return signRecoverable(key, body, tail);
}
