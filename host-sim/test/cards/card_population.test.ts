// Every population profile answers the domain.md 1 APDU sequence; certificates and SDADs verify
// with the independent verifier in support/ (BigInt + node:crypto SHA-1).

import { describe, expect, it } from 'vitest';
import { POPULATION_NAMES, population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import { withSeed, testSeeds } from './support/seeded.js';
import {
  DEFAULT_TAP,
  acType,
  allPrimitiveTags,
  runTap,
  tapValue,
  terminalOda,
} from './support/test_terminal.js';
import { recoverIssuerKey } from './support/emv_verifier.js';
import { findTag, hex, parseTlv, toHexT } from './support/tlv_walk.js';

const SEEDS = testSeeds([1, 2, 0xc0ffee]);
/** qPBOC, offline-only reader, fDDA v01. */
const TTQ_OFFLINE_ONLY = '28000080';
/** qPBOC, ODA for online authorisations, online cryptogram required, fDDA v01. */
const TTQ_ONLINE_ODA = '21800080';

const OFFLINE_EXPECTED: Readonly<Record<PopulationName, 'TC' | 'AAC'>> = {
  'unionpay-debit-ec': 'TC',
  'unionpay-credit-ec': 'TC',
  'unionpay-quasi-credit-ec': 'TC',
  'ec-insufficient': 'AAC',
  'new-card': 'TC',
  'oda-online-no-ec': 'AAC',
  'cobadge-visa-unionpay': 'TC',
  'phone-wallet': 'AAC',
  expired: 'TC',
  'deny-listed': 'TC',
  clone: 'TC',
  'no-fdda': 'TC',
  'social-security': 'TC',
  'slow-wtx': 'TC',
  'revoked-issuer': 'TC',
  // Cards without an EC purse cannot approve offline; offline limits and EC cards can.
  'stock-debit-dda': 'AAC',
  'stock-credit-cda': 'AAC',
  'stock-debit-sda': 'AAC',
  'oda-capable-credit': 'AAC',
  'phone-se-stock': 'AAC',
  'social-security-stock': 'AAC',
  'cobadge-visa-unionpay-stock': 'AAC',
  'offline-limit-credit': 'TC',
  'ec-debit-at-gpo': 'TC',
  'ec-only': 'TC',
  'ec-only-short': 'AAC',
};

function unionPayAid(names: readonly string[]): string {
  const aid = names.find((a) => a.startsWith('a000000333'));
  if (aid === undefined) throw new Error('no UnionPay AID');
  return aid;
}

describe('population offline tap (TTQ offline-only, fDDA v01)', () => {
  for (const seed of SEEDS) {
    for (const name of POPULATION_NAMES) {
      it(`${name}_seed${seed}_answersDomainSequence`, () => {
        withSeed(seed, () => {
          const pop = population(seed);
          const card = pop.card(name);
          card.powerOn();
          const aid = unionPayAid(card.profile.applications.map((a) => a.aidHex));
          const before = card.balanceMinor();
          const cumulativeBefore = card.cumulativeOfflineMinor();
          const tap = runTap(card, aid, { ...DEFAULT_TAP, ttqHex: TTQ_OFFLINE_ONLY });
          expect(acType(tap)).toBe(OFFLINE_EXPECTED[name]);
          const tags = allPrimitiveTags(tap);
          expect(new Set(tags).size, 'duplicate tags across GPO and records').toBe(tags.length);
          if (OFFLINE_EXPECTED[name] === 'AAC') {
            expect(tap.afl).toBeNull();
            expect(card.ledger()).toHaveLength(0);
            return;
          }
          if (before === null) {
            // No purse: the TC spends the cumulative offline allowance (CTTA grows).
            expect(card.cumulativeOfflineMinor()).toBe((cumulativeBefore ?? 0) + 200);
          } else {
            expect(card.balanceMinor()).toBe(before - 200);
          }
          expect(card.ledger()).toHaveLength(1);
          const atc = toHexT(tapValue(tap, 0x9f36) ?? new Uint8Array(0));
          expect(Number.parseInt(atc, 16)).toBe(card.atc());
          const oda = terminalOda(tap, pop.pki.caKeys, aid);
          if (name === 'no-fdda') {
            expect(tapValue(tap, 0x9f4b)).toBeUndefined();
          } else if (name === 'clone') {
            // Certificates are the victim's and verify; the SDAD does not (wrong key).
            expect(oda.ok).toBe(false);
            expect(oda.ok ? '' : oda.reason).toMatch(/^sdad: /);
          } else {
            expect(oda).toEqual({ ok: true, idn: card.atc(), v01: true });
          }
        });
      });
    }
  }
});

describe('population online-ODA tap (UnionPay ODA mode)', () => {
  for (const seed of SEEDS) {
    for (const name of ['oda-online-no-ec', 'phone-wallet'] as const) {
      it(`${name}_seed${seed}_returnsArqcWithVerifiableFdda`, () => {
        withSeed(seed, () => {
          const pop = population(seed);
          const card = pop.card(name);
          card.powerOn();
          const aid = card.profile.applications[0]?.aidHex ?? '';
          const tap = runTap(card, aid, { ...DEFAULT_TAP, ttqHex: TTQ_ONLINE_ODA });
          expect(acType(tap)).toBe('ARQC');
          expect(tap.afl).not.toBeNull();
          const fci = parseTlv(tap.select.data);
          expect(toHexT(findTag(fci, 0xdf61)?.value ?? new Uint8Array(0))).toBe('40');
          const oda = terminalOda(tap, pop.pki.caKeys, aid);
          expect(oda).toEqual({ ok: true, idn: card.atc(), v01: true });
          expect(card.ledger()).toHaveLength(0);
        });
      });
    }
  }
});

describe('fDDA version selection', () => {
  for (const seed of SEEDS) {
    it(`ttqWithoutV01Bit_seed${seed}_cardSignsV00_without9F69`, () => {
      withSeed(seed, () => {
        const pop = population(seed);
        const card = pop.card('unionpay-credit-ec');
        card.powerOn();
        const aid = 'a000000333010102';
        const tap = runTap(card, aid, { ...DEFAULT_TAP, ttqHex: '28000000' });
        expect(acType(tap)).toBe('TC');
        expect(tapValue(tap, 0x9f69)).toBeUndefined();
        const oda = terminalOda(tap, pop.pki.caKeys, aid);
        expect(oda).toEqual({ ok: true, idn: card.atc(), v01: false });
      });
    });
  }

  it('v01Tap_9F69IsEightBytes_version01_cardUnCtqDf61', () => {
    const card = population(3).card('oda-online-no-ec');
    card.powerOn();
    const tap = runTap(card, 'a000000333010101', { ...DEFAULT_TAP, ttqHex: TTQ_ONLINE_ODA });
    const cad = toHexT(tapValue(tap, 0x9f69) ?? new Uint8Array(0));
    expect(cad).toMatch(/^01[0-9a-f]{8}200040$/);
  });
});

describe('9F69 placement (domain.md 3.4: real applets keep it in a record)', () => {
  for (const name of POPULATION_NAMES) {
    it(`${name}_v01Tap_9F69NeverInTheGpoAnswer`, () => {
      const pop = population(9);
      const card = pop.card(name);
      card.powerOn();
      const aid = unionPayAid(card.profile.applications.map((a) => a.aidHex));
      const df61 = card.profile.applications.find((a) => a.aidHex === aid)?.df61 ?? null;
      const ttqHex = df61 === null ? TTQ_OFFLINE_ONLY : TTQ_ONLINE_ODA;
      const tap = runTap(card, aid, { ...DEFAULT_TAP, ttqHex });
      expect(findTag(tap.gpoTlv, 0x9f69)).toBeUndefined();
      if (tapValue(tap, 0x9f4b) === undefined) return;
      // Signed v01: the 9F69 the terminal hashes comes from a record.
      expect(tapValue(tap, 0x9f69)).toBeDefined();
      const oda = terminalOda(tap, pop.pki.caKeys, aid);
      // A clone signs with a foreign key; every genuine card's v01 SDAD verifies.
      if (name === 'clone') expect(oda.ok ? '' : oda.reason).toMatch(/^sdad: /);
      else expect(oda).toMatchObject({ ok: true, v01: true });
    });
  }
});

describe('population specifics', () => {
  it('denyList_namesTheDenyListedCard_only', () => {
    const pop = population(5);
    const app = pop.profiles['deny-listed'].applications[0];
    expect(pop.denyList).toEqual([{ pan: app?.pan, psn: app?.psn }]);
  });

  it('revokedIssuerCard_certificateSerialIsOnTheRevocationList', () => {
    const pop = population(5);
    const card = pop.card('revoked-issuer');
    card.powerOn();
    const tap = runTap(card, 'a000000333010101', { ...DEFAULT_TAP, ttqHex: TTQ_OFFLINE_ONLY });
    const caIndex = tapValue(tap, 0x8f)?.[0];
    const ca = pop.pki.caKeys.find((k) => k.index === caIndex);
    const pan = toHexT(tapValue(tap, 0x5a) ?? new Uint8Array(0)).replace(/f+$/, '');
    const recovered = recoverIssuerKey(
      { modulus: hex(ca?.modulusHex ?? ''), exponent: hex(ca?.exponentHex ?? '') },
      tapValue(tap, 0x90) ?? new Uint8Array(0),
      tapValue(tap, 0x92) ?? new Uint8Array(0),
      tapValue(tap, 0x9f32) ?? new Uint8Array(0),
      pan,
    );
    if (typeof recovered === 'string') throw new Error(recovered);
    expect(pop.pki.revoked).toContainEqual(
      expect.objectContaining({ caIndex, certSerialHex: recovered.serial }),
    );
  });

  it('expiredCard_5F24InThePast_socialCardHasItsOwnBin_phoneCtqHasConsumerDeviceCvm', () => {
    for (const seed of SEEDS) {
      const pop = population(seed);
      expect(pop.profiles.expired.applications[0]?.expiryYymmdd).toBe('230630');
      expect(pop.profiles['social-security'].applications[0]?.pan.startsWith('623201')).toBe(true);
      expect(pop.profiles['phone-wallet'].applications[0]?.ctqHex).toBe('0080');
      for (const name of POPULATION_NAMES) {
        for (const app of pop.profiles[name].applications) {
          const digits = app.pan.split('').map(Number).reverse();
          const doubled = (d: number): number => (d * 2 > 9 ? d * 2 - 9 : d * 2);
          const sum = digits.reduce((s, d, i) => s + (i % 2 === 1 ? doubled(d) : d), 0);
          expect(sum % 10, `${name} Luhn`).toBe(0);
        }
      }
    }
  });

  it('sameSeed_sameProfiles_otherSeed_otherPans', () => {
    expect(population(5).profiles).toEqual(population(5).profiles);
    const a = population(5).profiles['unionpay-debit-ec'].applications[0]?.pan;
    const b = population(6).profiles['unionpay-debit-ec'].applications[0]?.pan;
    expect(a).not.toBe(b);
  });
});
