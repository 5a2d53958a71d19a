// The issuer's check of an ARQC or TC from field 55: same session key, input and MAC as the card.

import { bytesEqual } from '../pki/emv_bytes.js';
import {
  acInput,
  acSessionKey,
  applicationCryptogram,
  type AcTerminalData,
} from '../cards/pboc_cryptogram.js';
import type { IssuerAccount } from './issuer_accounts.js';

/** Cryptogram information data (9F27) bits 8-7: the AC type. See EMV 4.4 Book 3, 6.5.5.4. */
const CID_TYPE_MASK = 0xc0;
const CID_TC_0X40 = 0x40;
const CID_ARQC_0X80 = 0x80;

/** What the check found; anything but `ok` is a decline (`05`). */
export type CryptogramCheck =
  | 'ok'
  /** A tag the cryptogram covers is missing or has the wrong length. */
  | 'missing-data'
  /** 9F27 names another AC type than the message carries (TC in an authorisation...). */
  | 'wrong-type'
  /** The IAD's CVN is not the one the issuer personalised. */
  | 'wrong-cvn'
  /** The recomputed AC differs: forged, altered or another card's. */
  | 'mismatch';

/**
 * Recomputes 9F26 from the field 55 data with the account's MK_AC (domain.md Appendix A: the
 * ATC session key, the CVN 01 or CVN 17 input, CVR from the IAD) and compares.
 * `expected`: the AC type the message must carry (ARQC for 0100/0200, TC for 0220).
 */
export function issuerCheckCryptogram(
  account: IssuerAccount,
  tlv: ReadonlyMap<number, Uint8Array>,
  expected: 'ARQC' | 'TC',
): CryptogramCheck {
  const get = (tag: number, length: number): Uint8Array | null => {
    const value = tlv.get(tag);
    return value !== undefined && value.length === length ? value : null;
  };
  const ac = get(0x9f26, 8);
  const atcBytes = get(0x9f36, 2);
  const aip = get(0x82, 2);
  const iad = tlv.get(0x9f10);
  const terminal = terminalDataOf(get);
  if (ac === null || atcBytes === null || aip === null || iad === undefined || iad.length < 7
    || terminal === null) {
    return 'missing-data';
  }
  const cid = tlv.get(0x9f27)?.[0];
  if (cid !== undefined) {
    const wanted = expected === 'TC' ? CID_TC_0X40 : CID_ARQC_0X80;
    if ((cid & CID_TYPE_MASK) !== wanted) return 'wrong-type';
  }
  // IAD: length 07, DKI, CVN, CVR length 03, CVR (3 bytes), algorithm (domain.md 2.4).
  if (iad[2] !== account.cvn) return 'wrong-cvn';
  const cvr = iad.subarray(4, 7);
  const atc = ((atcBytes[0] ?? 0) << 8) | (atcBytes[1] ?? 0);
  const input = acInput(account.cvn, terminal, aip, atc, cvr);
  const recomputed = applicationCryptogram(acSessionKey(account.mkAc, atc), input);
  return bytesEqual(recomputed, ac) ? 'ok' : 'mismatch';
}

function terminalDataOf(get: (tag: number, length: number) => Uint8Array | null):
  AcTerminalData | null {
  const amount = get(0x9f02, 6);
  const unpredictableNumber = get(0x9f37, 4);
  if (amount === null || unpredictableNumber === null) return null;
  // CVN 17 covers only amount and UN; CVN 01 the rest too, zeros when the PDOL had none.
  const orZeros = (tag: number, length: number): Uint8Array =>
    get(tag, length) ?? new Uint8Array(length);
  return {
    amount,
    otherAmount: orZeros(0x9f03, 6),
    country: orZeros(0x9f1a, 2),
    tvr: orZeros(0x95, 5),
    currency: orZeros(0x5f2a, 2),
    date: orZeros(0x9a, 3),
    type: orZeros(0x9c, 1),
    unpredictableNumber,
  };
}
