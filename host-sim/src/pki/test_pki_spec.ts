// The shape of the test PKI: our own UnionPay-RID CA indexes, issuers and ICC key slots.

import type { RsaExponent } from './rsa_keygen.js';

/** Seed of the default test PKI (the one cached in fixtures/). ASCII "SHKA". */
export const TEST_PKI_SEED = 0x5348_4b41;

/** UnionPay's RID; the indexes below are ours and collide with no published UnionPay key. */
export const TEST_RID_HEX = 'a000000333';

/** One test CA key. */
export interface CaSpec {
  readonly index: number;
  readonly bits: number;
  readonly e: RsaExponent;
  readonly expiryYyyymmdd: string;
}

/** CA keys: every size class a validator meets (1024 to 1984 bits) and both exponents. */
export const CA_SPECS: readonly CaSpec[] = [
  { index: 0xe1, bits: 1024, e: 3, expiryYyyymmdd: '20491231' },
  { index: 0xe2, bits: 1152, e: 3, expiryYyyymmdd: '20491231' },
  { index: 0xe3, bits: 1408, e: 3, expiryYyyymmdd: '20491231' },
  { index: 0xe4, bits: 1984, e: 3, expiryYyyymmdd: '20491231' },
  { index: 0xe5, bits: 1024, e: 65537, expiryYyyymmdd: '20491231' },
];

/** Issuers of the population. Names are stable API: profiles refer to them. */
export type IssuerName =
  'bank-a' | 'bank-b' | 'bank-c' | 'wallet' | 'social' | 'bank-slow' | 'bank-revoked';

/** One issuer key and its certificate fields. */
export interface IssuerSpec {
  readonly name: IssuerName;
  /** BIN written in the certificate; every PAN of this issuer starts with it. */
  readonly issuerIdDigits: string;
  readonly caIndex: number;
  readonly bits: number;
  readonly e: RsaExponent;
  readonly certSerialHex: string;
  readonly certExpiryMmyy: string;
}

/**
 * Sizes cover each certificate layout: an issuer key shorter than its CA key with BB padding
 * (bank-a), equal lengths with a 36-byte remainder (bank-b, bank-slow...), a 4-byte remainder
 * (bank-revoked) and an e = 65537 chain (bank-c).
 */
export const ISSUER_SPECS: readonly IssuerSpec[] = [
  spec('bank-a', '623456', 0xe4, 1408, 3, '000101'),
  spec('bank-b', '625807', 0xe3, 1408, 3, '000201'),
  spec('bank-c', '621483', 0xe5, 1024, 65537, '000301'),
  spec('wallet', '628888', 0xe2, 1152, 3, '000401'),
  spec('social', '623201', 0xe1, 1024, 3, '000501'),
  spec('bank-slow', '620522', 0xe4, 1984, 3, '000601'),
  spec('bank-revoked', '629901', 0xe3, 1152, 3, '000701'),
];

/** The issuer whose certificate the test CA has revoked (see TestPki.revoked). */
export const REVOKED_ISSUER: IssuerName = 'bank-revoked';

/** ICC key slots: one key per card personality, so a clone can be told from its victim. */
export type IccKeySlot =
  | 'debit'
  | 'credit'
  | 'quasi'
  | 'ec-low'
  | 'oda-online'
  | 'cobadge'
  | 'phone'
  | 'expired'
  | 'deny'
  | 'clone-foreign'
  | 'social'
  | 'slow'
  | 'revoked';

/** One ICC key. */
export interface IccKeySpec {
  readonly slot: IccKeySlot;
  readonly bits: number;
  readonly e: RsaExponent;
}

export const ICC_KEY_SPECS: readonly IccKeySpec[] = [
  { slot: 'debit', bits: 1024, e: 3 },
  { slot: 'credit', bits: 1152, e: 3 },
  { slot: 'quasi', bits: 1024, e: 65537 },
  { slot: 'ec-low', bits: 1024, e: 3 },
  { slot: 'oda-online', bits: 1024, e: 65537 },
  { slot: 'cobadge', bits: 1152, e: 3 },
  { slot: 'phone', bits: 1024, e: 3 },
  { slot: 'expired', bits: 1024, e: 3 },
  { slot: 'deny', bits: 1024, e: 3 },
  { slot: 'clone-foreign', bits: 1024, e: 3 },
  { slot: 'social', bits: 1024, e: 3 },
  { slot: 'slow', bits: 1984, e: 3 },
  { slot: 'revoked', bits: 1024, e: 3 },
];

function spec(
  name: IssuerName,
  issuerIdDigits: string,
  caIndex: number,
  bits: number,
  e: RsaExponent,
  certSerialHex: string,
): IssuerSpec {
  return { name, issuerIdDigits, caIndex, bits, e, certSerialHex, certExpiryMmyy: '1249' };
}
