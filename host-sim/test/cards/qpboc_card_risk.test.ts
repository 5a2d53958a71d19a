// Every card risk branch at GPO (domain.md 2.5 "Card side"): TC, ARQC and AAC with their CVR.

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import type { AppProfile } from '../../src/cards/card_profile.js';
import { createCard } from '../../src/cards/qpboc_card.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { Prng } from '../../src/prng.js';
import { withSeed } from './support/seeded.js';
import { DEFAULT_TAP, acType, runTap, send } from './support/test_terminal.js';
import type { TapInput } from './support/test_terminal.js';
import { findTag, toHexT } from './support/tlv_walk.js';

const SEED = 7;
const TTQ_OFFLINE_ONLY = '28000080';
const TTQ_ONLINE_CAPABLE = '26000080';
const TTQ_ONLINE_REQUIRED = '26800080';

/** A population card with its first application patched. */
function cardWith(name: PopulationName, patch: (app: AppProfile) => AppProfile): QpbocCard {
  const pop = population(SEED);
  const profile = pop.profiles[name];
  const applications = profile.applications.map((a, i) => (i === 0 ? patch(a) : a));
  const card = createCard({ ...profile, applications }, { prng: new Prng(SEED), pki: pop.pki });
  card.powerOn();
  return card;
}

function tap(
  card: QpbocCard,
  input: Partial<TapInput>,
  readLimit?: number,
): ReturnType<typeof runTap> {
  const aid = card.profile.applications[0]?.aidHex ?? '';
  return runTap(card, aid, { ...DEFAULT_TAP, ...input }, readLimit);
}

function withEc(balanceMinor: number): (app: AppProfile) => AppProfile {
  return (app) => ({
    ...app,
    ec: {
      balanceMinor,
      balanceLimitMinor: 100_000,
      singleLimitMinor: 5_000,
      resetThresholdMinor: 1_000,
      debitAt: 'last-record',
    },
  });
}

interface Case {
  readonly name: string;
  readonly card: () => QpbocCard;
  readonly input: Partial<TapInput>;
  readonly ac: 'TC' | 'ARQC' | 'AAC';
  readonly reason: string;
}

const CASES: readonly Case[] = [
  {
    name: 'ecEnough_offlineOnly_TC',
    card: () => cardWith('unionpay-debit-ec', withEc(10_000)),
    input: { amountMinor: 4_999, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'TC',
    reason: 'ec-approved',
  },
  {
    name: 'exactBalance_offlineOnly_TC',
    card: () => cardWith('unionpay-debit-ec', withEc(3_000)),
    input: { amountMinor: 3_000, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'TC',
    reason: 'ec-approved',
  },
  {
    name: 'onlineBit_ARQC',
    card: () => cardWith('unionpay-debit-ec', withEc(10_000)),
    input: { amountMinor: 100, ttqHex: TTQ_ONLINE_REQUIRED },
    ac: 'ARQC',
    reason: 'online-requested',
  },
  {
    name: 'insufficient_offlineOnly_AAC',
    card: () => cardWith('unionpay-debit-ec', withEc(150)),
    input: { amountMinor: 151, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'AAC',
    reason: 'ec-insufficient',
  },
  {
    name: 'insufficient_onlineCapable_ARQC',
    card: () => cardWith('unionpay-debit-ec', withEc(150)),
    input: { amountMinor: 151, ttqHex: TTQ_ONLINE_CAPABLE },
    ac: 'ARQC',
    reason: 'ec-insufficient',
  },
  {
    name: 'belowResetThreshold_onlineCapable_ARQC',
    card: () => cardWith('unionpay-debit-ec', withEc(1_500)),
    input: { amountMinor: 600, ttqHex: TTQ_ONLINE_CAPABLE },
    ac: 'ARQC',
    reason: 'ec-below-reset-threshold',
  },
  {
    name: 'belowResetThreshold_offlineOnly_TC',
    card: () => cardWith('unionpay-debit-ec', withEc(1_500)),
    input: { amountMinor: 600, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'TC',
    reason: 'ec-approved',
  },
  {
    name: 'overSingleLimit_offlineOnly_AAC',
    card: () => cardWith('unionpay-debit-ec', withEc(90_000)),
    input: { amountMinor: 5_001, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'AAC',
    reason: 'ec-over-single-limit',
  },
  {
    name: 'overSingleLimit_onlineCapable_ARQC',
    card: () => cardWith('unionpay-debit-ec', withEc(90_000)),
    input: { amountMinor: 5_001, ttqHex: TTQ_ONLINE_CAPABLE },
    ac: 'ARQC',
    reason: 'ec-over-single-limit',
  },
  {
    name: 'newCard_onlineCapable_ARQC',
    card: () => cardWith('new-card', (a) => a),
    input: { amountMinor: 100, ttqHex: TTQ_ONLINE_CAPABLE },
    ac: 'ARQC',
    reason: 'new-card',
  },
  {
    name: 'newCard_offlineOnly_withDeclineBit_AAC',
    card: () => cardWith('new-card', (a) => ({ ...a, cardAdditionalProcessesHex: '91300000' })),
    input: { amountMinor: 100, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'AAC',
    reason: 'new-card',
  },
  {
    name: 'newCard_offlineOnly_withoutDeclineBit_TC',
    card: () => cardWith('new-card', (a) => a),
    input: { amountMinor: 100, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'TC',
    reason: 'ec-approved',
  },
  {
    name: 'currencyMismatch_offlineOnly_AAC',
    card: () => cardWith('unionpay-debit-ec', (a) => a),
    input: { amountMinor: 100, ttqHex: TTQ_OFFLINE_ONLY, currencyHex: '0840' },
    ac: 'AAC',
    reason: 'currency-mismatch',
  },
  {
    name: 'currencyMismatch_onlineCapable_ARQC',
    card: () => cardWith('unionpay-debit-ec', (a) => a),
    input: { amountMinor: 100, ttqHex: TTQ_ONLINE_CAPABLE, currencyHex: '0840' },
    ac: 'ARQC',
    reason: 'currency-mismatch',
  },
  {
    name: 'noEc_offlineOnly_AAC',
    card: () => cardWith('oda-online-no-ec', (a) => a),
    input: { amountMinor: 100, ttqHex: TTQ_OFFLINE_ONLY },
    ac: 'AAC',
    reason: 'no-ec',
  },
  {
    name: 'ecCheckSwitchedOff_onlineCapable_ARQC',
    card: () =>
      cardWith('unionpay-debit-ec', (a) => ({ ...a, cardAdditionalProcessesHex: '11100000' })),
    input: { amountMinor: 100, ttqHex: TTQ_ONLINE_CAPABLE },
    ac: 'ARQC',
    reason: 'no-ec',
  },
];

describe('card risk management', () => {
  for (const c of CASES) {
    it(c.name, () => {
      withSeed(SEED, () => {
        const card = c.card();
        const balance = card.balanceMinor();
        const atc = card.atc();
        const t = tap(card, c.input);
        expect(acType(t)).toBe(c.ac);
        expect(card.lastDecision()).toEqual({ ac: c.ac, reason: c.reason });
        expect(card.atc()).toBe(atc + 1);
        const iad = findTag(t.gpoTlv, 0x9f10)?.value ?? new Uint8Array(0);
        const newCard = card.profile.applications[0]?.lastOnlineAtc === 0;
        expect((iad[5] ?? 0) & 0x10).toBe(newCard ? 0x10 : 0);
        const debited = c.ac === 'TC' ? (c.input.amountMinor ?? 0) : 0;
        expect(card.balanceMinor()).toBe(balance === null ? null : balance - debited);
        expect(card.ledger()).toHaveLength(c.ac === 'TC' ? 1 : 0);
        const aosa = findTag(t.gpoTlv, 0x9f5d)?.value;
        if (balance !== null && aosa !== undefined) {
          expect(Number.parseInt(toHexT(aosa), 10)).toBe(balance - debited);
        }
      });
    });
  }
});

/** A standard-PDOL GPO of 1.00 CNY with the given TTQ. */
function gpoWithTtq(ttqHex: string): string {
  const zeros = (n: number): string => '0'.repeat(n);
  const data = `${ttqHex}000000000100${zeros(12)}0156${zeros(10)}0156250601002b29ebe4`;
  return `80A8000023${'83'}21${data}00`;
}

describe('TTQ and ATC limits', () => {
  it('ttqWithoutQpbocBit_6985_atcUnchanged', () => {
    const card = cardWith('unionpay-debit-ec', (a) => a);
    send(card, '00A4040008A00000033301010100');
    const atc = card.atc();
    expect(send(card, gpoWithTtq('10000080')).sw).toBe(0x6985);
    // The full contactless PBOC flow is only answered by profiles that have one.
    expect(send(card, gpoWithTtq('40000000')).sw).toBe(0x6985);
    expect(card.atc()).toBe(atc);
  });

  it('atcExhausted_6985', () => {
    const card = cardWith('unionpay-debit-ec', (a) => ({ ...a, atcInitial: 0xfffe }));
    expect(acType(tap(card, { ttqHex: TTQ_OFFLINE_ONLY }))).toBe('TC');
    send(card, '00A4040008A00000033301010100');
    expect(send(card, gpoWithTtq('28000080')).sw).toBe(0x6985);
    expect(card.atc()).toBe(0xffff);
  });
});

describe('topUp (a load at the bank between rides)', () => {
  it('restoresTheBalance_soTheNextTapIsApprovedOffline_ledgerAndAtcKept', () => {
    // 1,500 on the purse, fares of 1,000: the second fare is refused (ec-insufficient) until
    // the rider loads the card; the debit made before stays in the ledger.
    const card = cardWith('unionpay-debit-ec', withEc(1_500));
    const fare = { amountMinor: 1_000, ttqHex: TTQ_OFFLINE_ONLY };
    expect(acType(tap(card, fare))).toBe('TC');
    expect(card.ledger()).toHaveLength(1);
    card.powerOff();
    card.powerOn();
    expect(acType(tap(card, fare))).toBe('AAC');
    expect(card.lastDecision()).toEqual({ ac: 'AAC', reason: 'ec-insufficient' });
    card.powerOff();
    const atc = card.atc();
    card.topUp();
    expect(card.balanceMinor()).toBe(1_500);
    expect(card.atc()).toBe(atc);
    card.powerOn();
    expect(acType(tap(card, fare))).toBe('TC');
    expect(card.balanceMinor()).toBe(500);
    expect(card.ledger()).toHaveLength(2);
  });

  it('refusesWhileADebitIsStaged', () => {
    const card = cardWith('unionpay-debit-ec', withEc(10_000));
    // GPO without the last READ RECORD: the debit is staged, not committed (a torn tap).
    tap(card, { amountMinor: 100, ttqHex: TTQ_OFFLINE_ONLY }, 0);
    expect(card.pendingDebit()).not.toBeNull();
    expect(() => card.topUp()).toThrow(/staged/);
  });
});
