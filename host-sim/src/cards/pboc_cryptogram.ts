// PBOC application cryptogram: ATC session key, CVN 01 / CVN 17 input, IAD MAC (Appendix A).

import { concatBytes } from '../pki/emv_bytes.js';
import { des3EncryptBlocks, retailMac } from './iso9797_mac.js';

/** Cryptogram versions the cards implement. See domain.md Appendix A. */
export const CVN_01_PBOC_3DES = 0x01;
export const CVN_17_SHORT = 0x11;

/** Terminal data the AC covers, exactly as the terminal sent it in the PDOL. */
export interface AcTerminalData {
  /** 9F02, 6 bytes. */
  readonly amount: Uint8Array;
  /** 9F03, 6 bytes. */
  readonly otherAmount: Uint8Array;
  /** 9F1A, 2 bytes. */
  readonly country: Uint8Array;
  /** 95, 5 bytes. */
  readonly tvr: Uint8Array;
  /** 5F2A, 2 bytes. */
  readonly currency: Uint8Array;
  /** 9A, 3 bytes. */
  readonly date: Uint8Array;
  /** 9C, 1 byte. */
  readonly type: Uint8Array;
  /** 9F37, 4 bytes. */
  readonly unpredictableNumber: Uint8Array;
}

/**
 * The AC session key: SK_L = 3DES(MK, 000000000000 || ATC), SK_R = 3DES(MK, 000000000000 ||
 * ATC xor FFFF). See domain.md Appendix A.
 */
export function acSessionKey(mkAc: Uint8Array, atc: number): Uint8Array {
  // Both halves in one ECB pass: block 0 gives SK_L, block 1 SK_R.
  const blocks = new Uint8Array(16);
  blocks[6] = (atc >> 8) & 0xff;
  blocks[7] = atc & 0xff;
  blocks[14] = ((atc ^ 0xffff) >> 8) & 0xff;
  blocks[15] = (atc ^ 0xffff) & 0xff;
  return des3EncryptBlocks(mkAc, blocks);
}

/**
 * The cryptogram input for the card's CVN.
 * CVN 01: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 AIP ATC CVR-part (03 + 3 CVR bytes).
 * CVN 17: 9F02 9F37 ATC IAD byte 5 (the first CVR byte).
 */
export function acInput(
  cvn: number,
  terminal: AcTerminalData,
  aip: Uint8Array,
  atc: number,
  cvr: Uint8Array,
): Uint8Array {
  const atcBytes = Uint8Array.of((atc >> 8) & 0xff, atc & 0xff);
  if (cvn === CVN_17_SHORT) {
    return concatBytes(terminal.amount, terminal.unpredictableNumber, atcBytes, cvr.subarray(0, 1));
  }
  return concatBytes(
    terminal.amount,
    terminal.otherAmount,
    terminal.country,
    terminal.tvr,
    terminal.currency,
    terminal.date,
    terminal.type,
    terminal.unpredictableNumber,
    aip,
    atcBytes,
    Uint8Array.of(cvr.length),
    cvr,
  );
}

/** The 8-byte application cryptogram (9F26): retail MAC of the input under the session key. */
export function applicationCryptogram(sessionKey: Uint8Array, input: Uint8Array): Uint8Array {
  return retailMac(sessionKey, input);
}

/**
 * The 4-byte MAC closing a long IAD, over its issuer-discretionary part (type || value).
 * The exact PBOC coverage is not public [domain.md 2.4 I/G]; this model MACs those 6 bytes
 * under the AC session key so the field is stable and checkable by an issuer simulator.
 */
export function iadMac(sessionKey: Uint8Array, discretionary: Uint8Array): Uint8Array {
  return retailMac(sessionKey, discretionary).slice(0, 4);
}
