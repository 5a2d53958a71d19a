// The named card population: ready profiles drawn from one seed, and a factory for their cards.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { Prng } from '../prng.js';
import { testPki } from '../pki/test_pki.js';
import type { TestPki } from '../pki/test_pki.js';
import type { CardProfile } from './card_profile.js';
import {
  AID_UNIONPAY_CREDIT,
  AID_UNIONPAY_QUASI_CREDIT,
  PDOL_QPBOC_EXTENDED,
  PROCESSING_PHONE,
  PROCESSING_SLOW,
  recordLayout,
  unionPayApp,
} from './card_profile_templates.js';
import { ATS_DEFAULT_HEX } from './card_rf.js';
import { createCard } from './qpboc_card.js';
import type { QpbocCard } from './qpboc_card.js';
import { cobadgedVisaApp } from './card_population_extra.js';
import { drawFields, ecApp, onlineOdaApp, plastic } from './card_population_draw.js';
import { STOCK_DRAWERS, STOCK_NAMES } from './card_population_stock.js';

export { drawFields } from './card_population_draw.js';

/** The named profiles of the first population (EC cards and the failure cases). */
export const CLASSIC_NAMES = [
  'unionpay-debit-ec',
  'unionpay-credit-ec',
  'unionpay-quasi-credit-ec',
  'ec-insufficient',
  'new-card',
  'oda-online-no-ec',
  'cobadge-visa-unionpay',
  'phone-wallet',
  'expired',
  'deny-listed',
  'clone',
  'no-fdda',
  'social-security',
  'slow-wtx',
  'revoked-issuer',
] as const;

/** Every named profile: the classic ones, then the stock, ODA, phone and limit cards. */
export const POPULATION_NAMES = [...CLASSIC_NAMES, ...STOCK_NAMES] as const;

export type PopulationName = (typeof POPULATION_NAMES)[number];
type ClassicName = (typeof CLASSIC_NAMES)[number];

/** A PAN + PSN pair for a terminal deny list. */
export interface DenyListEntry {
  readonly pan: string;
  readonly psn: number;
}

/** The population of one seed. */
export interface Population {
  readonly seed: number;
  readonly pki: TestPki;
  readonly profiles: Readonly<Record<PopulationName, CardProfile>>;
  /** What the tests put on the validator's deny list (the 'deny-listed' card). */
  readonly denyList: readonly DenyListEntry[];
  /** A fresh card of `name`, with its own PRNG stream forked from the seed. */
  card(name: PopulationName, options?: { readonly clock?: ClockPort }): QpbocCard;
}

/** ATS with FWI 4 (about 4.8 ms): any slow command needs S(WTX) requests. */
export const ATS_SHORT_FWT_HEX = '0578804002';

/**
 * Draws the population of `seed`: PANs (issuer BIN + Luhn), PSNs, balances, ATCs, UIDs and
 * keys of the MAC are seed-dependent; RSA keys come from `pki` (default: the shared test PKI).
 */
export function population(seed: number, options: { readonly pki?: TestPki } = {}): Population {
  const pki = options.pki ?? testPki();
  const root = new Prng(seed);
  const profiles = {} as Record<PopulationName, CardProfile>;
  for (const name of CLASSIC_NAMES) profiles[name] = DRAWERS[name](root.fork(`profile:${name}`));
  for (const name of STOCK_NAMES) {
    profiles[name] = STOCK_DRAWERS[name](root.fork(`profile:${name}`));
  }
  const deny = profiles['deny-listed'].applications[0];
  const denyList = deny === undefined ? [] : [{ pan: deny.pan, psn: deny.psn }];
  return {
    seed,
    pki,
    profiles,
    denyList,
    card(name, cardOptions = {}) {
      const prng = root.fork(`card:${name}`);
      const clock = cardOptions.clock;
      return createCard(profiles[name], clock === undefined ? { prng, pki } : { prng, pki, clock });
    },
  };
}

/** How each profile is drawn. A Record, so a new name without a drawer does not compile. */
const DRAWERS: Readonly<Record<ClassicName, (prng: Prng) => CardProfile>> = {
  'unionpay-debit-ec': (prng) =>
    plastic('unionpay-debit-ec', prng, [ecApp(prng, 'bank-a', 'debit', 'sdad-in-gpo')]),
  'unionpay-credit-ec': (prng) =>
    plastic('unionpay-credit-ec', prng, [
      {
        ...ecApp(prng, 'bank-b', 'credit', 'high-sfi-oda'),
        aidHex: AID_UNIONPAY_CREDIT,
        label: 'PBOC CREDIT',
        preferredName: 'PBOC CREDIT',
        pdolHex: PDOL_QPBOC_EXTENDED,
      },
    ]),
  'unionpay-quasi-credit-ec': (prng) =>
    plastic('unionpay-quasi-credit-ec', prng, [
      {
        ...ecApp(prng, 'bank-a', 'quasi', 'sdad-in-gpo'),
        aidHex: AID_UNIONPAY_QUASI_CREDIT,
        label: 'PBOC QUASICREDIT',
        preferredName: 'PBOC QUASICREDIT',
        ctqHex: '2000',
      },
    ]),
  'ec-insufficient': (prng) => {
    const app = ecApp(prng, 'bank-a', 'ec-low', 'sdad-in-gpo');
    const ec = app.ec === null ? null : { ...app.ec, balanceMinor: 50 };
    return plastic('ec-insufficient', prng, [{ ...app, ec }]);
  },
  'new-card': (prng) =>
    plastic('new-card', prng, [
      { ...ecApp(prng, 'bank-a', 'debit', 'sdad-in-gpo'), lastOnlineAtc: 0 },
    ]),
  'oda-online-no-ec': (prng) =>
    plastic('oda-online-no-ec', prng, [onlineOdaApp(prng, 'bank-c', 'oda-online')]),
  'cobadge-visa-unionpay': (prng) => {
    const up = {
      ...ecApp(prng, 'bank-b', 'cobadge', 'high-sfi-oda'),
      aidHex: AID_UNIONPAY_CREDIT,
      label: 'UnionPay Credit',
      preferredName: null,
      priority: 2,
    };
    return plastic('cobadge-visa-unionpay', prng, [cobadgedVisaApp(prng), up]);
  },
  'phone-wallet': drawPhone,
  expired: (prng) => {
    const app = ecApp(prng, 'bank-a', 'expired', 'sdad-in-gpo');
    const expired = { ...app, expiryYymmdd: '230630', effectiveYymmdd: '180701' };
    return plastic('expired', prng, [expired]);
  },
  'deny-listed': (prng) =>
    plastic('deny-listed', prng, [ecApp(prng, 'bank-a', 'deny', 'sdad-in-gpo')]),
  clone: drawClone,
  'no-fdda': (prng) =>
    plastic('no-fdda', prng, [unionPayApp(drawFields(prng, 'bank-a'), null, 'no-oda')]),
  'social-security': (prng) =>
    plastic('social-security', prng, [
      {
        ...ecApp(prng, 'social', 'social', 'sdad-in-gpo'),
        label: 'SOCIAL SECURITY',
        preferredName: 'SOCIAL SECURITY',
        extraTags: { '9F63': '30313034333332300000000000000000' },
        gpoExtraTags: ['9F63'],
      },
    ]),
  'slow-wtx': (prng) => {
    const card = plastic('slow-wtx', prng, [ecApp(prng, 'bank-slow', 'slow', 'sdad-in-record')]);
    const rf = card.rf.kind === 'A' ? { ...card.rf, atsHex: ATS_SHORT_FWT_HEX } : card.rf;
    return { ...card, rf, processing: PROCESSING_SLOW };
  },
  'revoked-issuer': (prng) =>
    plastic('revoked-issuer', prng, [ecApp(prng, 'bank-revoked', 'revoked', 'sdad-in-gpo')]),
};

/** A phone wallet: random UID per tap, token PAN, consumer-device CVM in CTQ, online ODA. */
function drawPhone(prng: Prng): CardProfile {
  const app = { ...onlineOdaApp(prng, 'wallet', 'phone'), ctqHex: '0080', cardholderName: null };
  return {
    label: 'phone-wallet',
    rf: {
      kind: 'A',
      uid: { mode: 'random-per-tap', length: 4 },
      sak: 0x20,
      atsHex: ATS_DEFAULT_HEX,
    },
    applications: [{ ...app, records: recordLayout('sdad-in-record', false) }],
    processing: PROCESSING_PHONE,
  };
}

/**
 * A clone of a genuine card: same PAN, data and certificates as that card (the victim is drawn
 * from the same stream), but the SDAD is signed with a key the certificate does not vouch for.
 */
function drawClone(prng: Prng): CardProfile {
  const victim = ecApp(prng, 'bank-a', 'debit', 'sdad-in-gpo');
  const oda =
    victim.oda === null ? null : { ...victim.oda, signingKeySlot: 'clone-foreign' as const };
  return plastic('clone', prng, [{ ...victim, oda }]);
}
