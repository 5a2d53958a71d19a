// Building blocks for card profiles: standard PDOL, record layouts, a base UnionPay app.

import { LOG_FORMAT_DEFAULT_HEX } from './card_log.js';
import type { AppProfile, FullFlowProfile, OdaProfile, RecordProfile } from './card_profile.js';
import type { ProcessingModel } from './card_timing.js';

/** AIDs. See domain.md 1.3. */
export const AID_UNIONPAY_DEBIT = 'a000000333010101';
export const AID_UNIONPAY_CREDIT = 'a000000333010102';
export const AID_UNIONPAY_QUASI_CREDIT = 'a000000333010103';
export const AID_UNIONPAY_EC_ONLY = 'a000000333010106';
export const AID_VISA_CREDIT = 'a0000000031010';

/** The PDOL of the KATA trace: 9F66 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 (33 bytes). */
export const PDOL_QPBOC_STANDARD = '9f66049f02069f03069f1a0295055f2a029a039c019f3704';
/** The same plus 9F21 (time) and DF69 (SM support), as newer PBOC 3.0 cards ask. */
export const PDOL_QPBOC_EXTENDED = `${PDOL_QPBOC_STANDARD}9f2103df6901`;

/** 9F68 with EC check, new-card check, 9F5D in GPO, qPBOC log (domain.md 2.3). */
export const CAP_EC_DEFAULT = '91100000';
/** 9F68 of a card without an EC purse. */
export const CAP_NO_EC = '00000000';

/**
 * CDOL1 of PBOC cards: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 9F21 9F4E (57 bytes), the terminal
 * data of the CVN 01 cryptogram plus time and merchant name. See domain.md Appendix A.
 */
export const CDOL1_PBOC = '9f02069f03069f1a0295055f2a029a039c019f37049f21039f4e14';
/** CDOL2: authorisation response code 8A, then the same terminal data. */
export const CDOL2_PBOC = '8a029f02069f03069f1a0295055f2a029a039c019f3704';
/** DDOL 9F49 = 9F37 (4): the terminal's unpredictable number, as the default DDOL. */
export const DDOL_UN_ONLY = '9f3704';

/** 9F68 of a card with cumulative offline limits: EC-or-CTTA check, new-card check, 9F5D. */
export const CAP_OFFLINE_LIMITS = '31000000';

/**
 * A full contactless PBOC flow: CDOLs and DDOL in SFI 5 record 1, the SSAD in record 2 when
 * the card does SDA. `answers` picks GPO and command answer formats (1 = `80`, 2 = `77`).
 */
export function fullFlowProfile(
  answers: 1 | 2,
  offline: FullFlowProfile['offline'],
  sda: boolean,
): FullFlowProfile {
  const dols = { sfi: 5, number: 1, oda: false, tags: ['8C', '8D', '9F49'] };
  return {
    gpoFormat: answers,
    responseFormat: answers,
    cdol1Hex: CDOL1_PBOC,
    cdol2Hex: CDOL2_PBOC,
    ddolHex: DDOL_UN_ONLY,
    dacHex: 'da01',
    offline,
    extraRecords: sda ? [dols, { sfi: 5, number: 2, oda: false, tags: ['93'] }] : [dols],
  };
}

/** Where the SDAD and 9F69 travel; every layout has the certificates in SFI 3. */
export type RecordLayout =
  'sdad-in-gpo' | 'sdad-in-record' | 'high-sfi-oda' | 'no-oda' | 'sda-only';

/** Record lists for each layout (AFL order = list order). */
export function recordLayout(layout: RecordLayout, withName: boolean): RecordProfile[] {
  // 57 and 5F34 travel in the GPO answer; repeating them in a record is a duplicate a strict
  // kernel rejects, so the records carry the rest.
  const track = { sfi: 1, number: 1, oda: false, tags: withName ? ['5F20', '9F08'] : ['9F08'] };
  const appData = {
    sfi: 2,
    number: 1,
    oda: true,
    tags: ['5A', '5F24', '5F25', '5F28', '9F07', '5F30'],
  };
  const sdaList = { sfi: 2, number: 2, oda: true, tags: ['9F4A', '9F51'] };
  // Certificates get records of their own: a 1984-bit certificate fills a whole record.
  const certs = [
    rec(3, 1, ['90']),
    rec(3, 2, ['8F', '9F32', '92']),
    rec(3, 3, ['9F46']),
    rec(3, 4, ['9F47', '9F48']),
  ];
  switch (layout) {
    case 'sdad-in-gpo':
      return [track, appData, sdaList, ...certs, rec(3, 5, ['9F69'])];
    case 'sdad-in-record':
      return [track, appData, sdaList, ...certs, rec(3, 5, ['9F69']), rec(4, 1, ['9F4B'])];
    case 'high-sfi-oda':
      // An ODA record in SFI 12: its whole 70 template is hashed (EMV Book 3, 10.3).
      return [
        track,
        appData,
        ...certs,
        { sfi: 12, number: 1, oda: true, tags: ['9F4A', '9F51'] },
        rec(4, 1, ['9F69', '9F5D']),
        rec(4, 2, ['9F4B']),
      ];
    case 'no-oda':
      return [track, { ...appData, oda: false }];
    case 'sda-only':
      // SDA needs the issuer key only: no ICC certificate, no dynamic data.
      return [track, appData, sdaList, rec(3, 1, ['90']), rec(3, 2, ['8F', '9F32', '92'])];
    default: {
      const never: never = layout;
      throw new Error(`unknown layout ${String(never)}`);
    }
  }
}

function rec(sfi: number, number: number, tags: readonly string[]): RecordProfile {
  return { sfi, number, oda: false, tags };
}

/** Processing model of a quick modern card. */
export const PROCESSING_FAST: ProcessingModel = {
  selectMs: 6,
  gpoMs: 25,
  readRecordMs: 5,
  getDataMs: 4,
  otherMs: 2,
  commitMs: 10,
  rsaMsAt1024: 35,
  perResponseByteUs: 15,
};

/** A slow card: long base times and RSA about twice the default; with FWI 4 it needs many WTX. */
export const PROCESSING_SLOW: ProcessingModel = {
  selectMs: 25,
  gpoMs: 80,
  readRecordMs: 18,
  getDataMs: 12,
  otherMs: 8,
  commitMs: 40,
  rsaMsAt1024: 80,
  perResponseByteUs: 60,
};

/** A phone wallet: the handset CPU signs fast, but HCE routing adds per-command latency. */
export const PROCESSING_PHONE: ProcessingModel = {
  selectMs: 15,
  gpoMs: 35,
  readRecordMs: 10,
  getDataMs: 10,
  otherMs: 8,
  commitMs: 5,
  rsaMsAt1024: 4,
  perResponseByteUs: 5,
};

/** Fields every population app draws from the seed. */
export interface DrawnAppFields {
  readonly pan: string;
  readonly psn: number;
  readonly atcInitial: number;
  readonly lastOnlineAtc: number;
  readonly mkAcHex: string;
}

/** A UnionPay debit application with EC and fDDA; population entries override parts of it. */
export function unionPayApp(
  drawn: DrawnAppFields,
  oda: OdaProfile | null,
  layout: RecordLayout,
): AppProfile {
  return {
    aidHex: AID_UNIONPAY_DEBIT,
    label: 'PBOC DEBIT',
    preferredName: 'PBOC DEBIT',
    priority: 1,
    kernelIdHex: null,
    pdolHex: PDOL_QPBOC_STANDARD,
    ...drawn,
    expiryYymmdd: '491231',
    effectiveYymmdd: '200101',
    serviceCode: '220',
    cardholderName: 'ZHANG/SAN',
    countryCode: '0156',
    currencyCode: '0156',
    aipHex: oda === null ? '1c00' : '7c00',
    records: recordLayout(layout, true),
    ec: {
      balanceMinor: 20_000,
      balanceLimitMinor: 100_000,
      singleLimitMinor: 50_000,
      resetThresholdMinor: 1_000,
      debitAt: 'last-record',
    },
    cardAdditionalProcessesHex: CAP_EC_DEFAULT,
    ctqHex: '0000',
    df61: null,
    iad: { format: 'long', dki: 0x01, cvn: 0x01 },
    log: { sfi: 11, maxRecords: 10, formatHex: LOG_FORMAT_DEFAULT_HEX },
    oda,
    fullFlow: null,
    offlineLimits: null,
    extraTags: {},
    gpoExtraTags: [],
  };
}

/** The Luhn check digit for `digits`. */
export function luhnDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return ((10 - (sum % 10)) % 10).toString();
}
