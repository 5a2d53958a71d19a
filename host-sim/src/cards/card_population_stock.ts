// Stock cards (full contactless PBOC flow), ODA-capable cards, phones and cards with offline
// limits: the cards most riders carry (domain.md 4.1 "many modern cards are ARQC-only", 6).

import type { Prng } from '../prng.js';
import type { AppProfile, CardProfile } from './card_profile.js';
import {
  AID_UNIONPAY_CREDIT,
  AID_UNIONPAY_EC_ONLY,
  CAP_NO_EC,
  CAP_OFFLINE_LIMITS,
  PDOL_QPBOC_EXTENDED,
  PROCESSING_PHONE,
  fullFlowProfile,
  recordLayout,
  unionPayApp,
} from './card_profile_templates.js';
import { cobadgedVisaApp } from './card_population_extra.js';
import { drawFields, ecApp, odaProfile, onlineOdaApp, plastic } from './card_population_draw.js';
import { ATS_DEFAULT_HEX } from './card_rf.js';

/** Names of the cards this file draws (appended to the population's names). */
export const STOCK_NAMES = [
  'stock-debit-dda',
  'stock-credit-cda',
  'stock-debit-sda',
  'oda-capable-credit',
  'phone-se-stock',
  'social-security-stock',
  'cobadge-visa-unionpay-stock',
  'offline-limit-credit',
  'ec-debit-at-gpo',
  'ec-only',
  'ec-only-short',
] as const;

export type StockName = (typeof STOCK_NAMES)[number];

/** An ordinary card without EC: qPBOC answers ARQC; the full flow does the ODA step. */
function stockApp(
  prng: Prng,
  issuer: Parameters<typeof drawFields>[1],
  slot: Parameters<typeof odaProfile>[2],
): AppProfile {
  const app = unionPayApp(
    drawFields(prng, issuer),
    odaProfile(prng, issuer, slot),
    'sdad-in-record',
  );
  return {
    ...app,
    ec: null,
    cardAdditionalProcessesHex: CAP_NO_EC,
    log: null,
    fullFlow: fullFlowProfile(1, 'never', true),
  };
}

function creditStock(prng: Prng): AppProfile {
  return {
    ...stockApp(prng, 'bank-b', 'credit'),
    aidHex: AID_UNIONPAY_CREDIT,
    label: 'PBOC CREDIT',
    preferredName: 'PBOC CREDIT',
    pdolHex: PDOL_QPBOC_EXTENDED,
    aipHex: '7d00',
    fullFlow: fullFlowProfile(2, 'never', true),
  };
}

/** How each stock profile is drawn. */
export const STOCK_DRAWERS: Readonly<Record<StockName, (prng: Prng) => CardProfile>> = {
  'stock-debit-dda': (prng) =>
    plastic('stock-debit-dda', prng, [stockApp(prng, 'bank-a', 'debit')]),
  'stock-credit-cda': (prng) => plastic('stock-credit-cda', prng, [creditStock(prng)]),
  'stock-debit-sda': (prng) => {
    const app = stockApp(prng, 'bank-a', 'debit');
    const sda = { ...app, aipHex: '5c00', records: recordLayout('sda-only', true) };
    return plastic('stock-debit-sda', prng, [sda]);
  },
  'oda-capable-credit': (prng) => {
    const app = onlineOdaApp(prng, 'bank-b', 'credit');
    const credit = {
      ...app,
      aidHex: AID_UNIONPAY_CREDIT,
      label: 'PBOC CREDIT',
      preferredName: 'PBOC CREDIT',
      fullFlow: fullFlowProfile(2, 'never', true),
    };
    return plastic('oda-capable-credit', prng, [credit]);
  },
  'phone-se-stock': drawPhoneStock,
  'social-security-stock': (prng) => {
    const app = {
      ...stockApp(prng, 'social', 'social'),
      label: 'SOCIAL SECURITY',
      preferredName: 'SOCIAL SECURITY',
      extraTags: { '9F63': '30313034333332300000000000000000' },
      gpoExtraTags: ['9F63'],
    };
    return plastic('social-security-stock', prng, [app]);
  },
  'cobadge-visa-unionpay-stock': (prng) => {
    const up = { ...creditStock(prng), label: 'UnionPay Credit', preferredName: null, priority: 2 };
    return plastic('cobadge-visa-unionpay-stock', prng, [cobadgedVisaApp(prng), up]);
  },
  'offline-limit-credit': (prng) => {
    const app = creditStock(prng);
    const limited: AppProfile = {
      ...app,
      cardAdditionalProcessesHex: CAP_OFFLINE_LIMITS,
      offlineLimits: {
        cumulativeLimitMinor: 50_000,
        cumulativeTotalMinor: prng.between(0, 100) * 100,
        iadType: 0x05,
      },
      fullFlow: fullFlowProfile(2, 'limits', true),
    };
    return plastic('offline-limit-credit', prng, [limited]);
  },
  'ec-debit-at-gpo': (prng) => {
    const app = ecApp(prng, 'bank-a', 'debit', 'sdad-in-gpo');
    const ec = app.ec === null ? null : { ...app.ec, debitAt: 'gpo-with-rollback' as const };
    return plastic('ec-debit-at-gpo', prng, [{ ...app, ec }]);
  },
  'ec-only': (prng) => {
    const app = ecApp(prng, 'bank-a', 'debit', 'sdad-in-record');
    const ecOnly = {
      ...app,
      aidHex: AID_UNIONPAY_EC_ONLY,
      label: 'PBOC EC',
      preferredName: 'PBOC EC',
    };
    return plastic('ec-only', prng, [ecOnly]);
  },
  // An EC-only card (no full flow, no DF61) with 0.50 left: GET DATA 9F79 shows the purse short
  // and the full-flow GPO is refused (6985), so the rider is told 余额不足, not 不支持此卡.
  'ec-only-short': (prng) => {
    const app = ecApp(prng, 'bank-a', 'debit', 'sdad-in-record');
    const ec = app.ec === null ? null : { ...app.ec, balanceMinor: 50 };
    const short = {
      ...app,
      ec,
      aidHex: AID_UNIONPAY_EC_ONLY,
      label: 'PBOC EC',
      preferredName: 'PBOC EC',
    };
    return plastic('ec-only-short', prng, [short]);
  },
};

/** A phone (SE wallet) with a stock token: random UID, no EC, no DF61, ARQC only, CDA. */
function drawPhoneStock(prng: Prng): CardProfile {
  const app = { ...creditStock(prng), ctqHex: '0080', cardholderName: null };
  const fields = drawFields(prng, 'wallet');
  const wallet = {
    ...app,
    ...fields,
    oda: odaProfile(prng, 'wallet', 'phone'),
    records: recordLayout('sdad-in-record', false),
  };
  return {
    label: 'phone-se-stock',
    rf: {
      kind: 'A',
      uid: { mode: 'random-per-tap', length: 4 },
      sak: 0x20,
      atsHex: ATS_DEFAULT_HEX,
    },
    applications: [wallet],
    processing: PROCESSING_PHONE,
  };
}
