// Profiles as JSON: round trip, structural and semantic errors, personalisation limits; the
// ledger's time from 9F21 or from an injected clock.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../src/clock_sim.js';
import { population } from '../../src/cards/card_population.js';
import { CardProfileError } from '../../src/cards/card_profile.js';
import type { AppProfile, CardProfile } from '../../src/cards/card_profile.js';
import { parseCardProfile } from '../../src/cards/card_profile_json.js';
import { createCard } from '../../src/cards/qpboc_card.js';
import { Prng } from '../../src/prng.js';
import { testPki } from '../../src/pki/test_pki.js';
import { DEFAULT_TAP, runTap } from './support/test_terminal.js';
import { toHexT } from './support/tlv_walk.js';

const SEED = 31;

function patched(patch: (app: AppProfile) => AppProfile): CardProfile {
  const profile = population(SEED).profiles['unionpay-debit-ec'];
  return { ...profile, applications: profile.applications.map(patch) };
}

function issuesOf(action: () => unknown): readonly string[] {
  try {
    action();
  } catch (err) {
    if (err instanceof CardProfileError) return err.issues;
    throw err;
  }
  throw new Error('no CardProfileError');
}

describe('JSON profiles', () => {
  it('everyPopulationProfile_roundTripsThroughJson_andTapsIdentically', () => {
    const pop = population(SEED);
    for (const [name, profile] of Object.entries(pop.profiles)) {
      const parsed = parseCardProfile(JSON.stringify(profile));
      expect(parsed, name).toEqual(profile);
    }
    const debit = pop.profiles['unionpay-debit-ec'];
    const fromJson = createCard(parseCardProfile(JSON.stringify(debit)), {
      prng: new Prng(1),
      pki: testPki(),
    });
    const direct = createCard(debit, { prng: new Prng(1), pki: testPki() });
    fromJson.powerOn();
    direct.powerOn();
    const input = { ...DEFAULT_TAP, ttqHex: '28000080' };
    const a = runTap(fromJson, 'a000000333010101', input);
    const b = runTap(direct, 'a000000333010101', input);
    expect(toHexT(a.gpo.raw)).toBe(toHexT(b.gpo.raw));
  });

  it('structuralErrors_areListedWithTheirPath', () => {
    const profile = JSON.parse(JSON.stringify(population(SEED).profiles['unionpay-debit-ec'])) as {
      applications: Record<string, unknown>[];
      rf: Record<string, unknown>;
    };
    const app = profile.applications[0] ?? {};
    app['psn'] = '01';
    app['records'] = [{ sfi: 1, number: 'one', oda: false, tags: ['57'] }];
    profile.rf['uid'] = { mode: 'sometimes' };
    expect(issuesOf(() => parseCardProfile(JSON.stringify(profile)))).toEqual([
      '$.rf.uid: fixed {uidHex} or random-per-tap {length 4|7}',
      '$.applications[0].psn: expected number',
      '$.applications[0].records[0].number: expected number',
    ]);
    expect(() => parseCardProfile('{')).toThrow(SyntaxError);
  });
});

describe('semantic checks', () => {
  it('pdolWithoutTtq_dynamicTagInOdaRecord_unknownKeySlot', () => {
    const profile = patched((app) => ({
      ...app,
      pdolHex: '9f02069f3704',
      records: [...app.records, { sfi: 5, number: 1, oda: true, tags: ['9F4B'] }],
      oda: app.oda === null ? null : { ...app.oda, iccKeySlot: 'nope' as 'debit' },
    }));
    expect(issuesOf(() => createCard(profile, { prng: new Prng(1), pki: testPki() }))).toEqual([
      'applications[0]: PDOL without 9F66 (not qPBOC)',
      'applications[0]: record 5.1: 9F4B cannot be in an ODA record',
      'applications[0]: key slot nope',
    ]);
  });

  it('panOutsideIssuerBin_isRejected', () => {
    const profile = patched((app) => ({ ...app, pan: '4111111111111111' }));
    expect(issuesOf(() => createCard(profile, { prng: new Prng(1), pki: testPki() }))).toEqual([
      'a000000333010101: PAN outside the issuer BIN',
    ]);
  });

  it('sdadOfA1984BitKeyInTheGpoAnswer_isRejected', () => {
    const slow = population(SEED).profiles['slow-wtx'];
    const profile = {
      ...slow,
      applications: slow.applications.map((app) => ({
        ...app,
        records: app.records.filter((r) => !r.tags.includes('9F4B')),
      })),
    };
    const issues = issuesOf(() => createCard(profile, { prng: new Prng(1), pki: testPki() }));
    expect(issues[0]).toMatch(/GPO answer up to \d+ bytes: move 9F4B to a record/);
  });
});

describe('full flow, offline limits and debit point checks', () => {
  it('badFullFlow_everyIssueListed', () => {
    const stock = population(SEED).profiles['stock-debit-dda'];
    const profile = {
      ...stock,
      applications: stock.applications.map((app) => ({
        ...app,
        fullFlow:
          app.fullFlow === null
            ? null
            : {
                ...app.fullFlow,
                gpoFormat: 3 as 1,
                cdol1Hex: '9f02',
                ddolHex: '',
                dacHex: 'da',
                extraRecords: [
                  { sfi: 1, number: 1, oda: false, tags: ['8C'] },
                  { sfi: 5, number: 3, oda: true, tags: ['9F4B'] },
                ],
              },
      })),
    };
    expect(issuesOf(() => createCard(profile, { prng: new Prng(1), pki: testPki() }))).toEqual([
      'applications[0]: fullFlow.gpoFormat',
      'applications[0]: fullFlow.dacHex must be 2 bytes',
      'applications[0]: fullFlow.cdol1Hex: RangeError: DOL length missing or long',
      'applications[0]: fullFlow.ddolHex is empty',
      'applications[0]: fullFlow record 1.1 twice',
      'applications[0]: fullFlow record 5.3: extra records cannot be ODA records',
      'applications[0]: fullFlow record 5.3: 9F4B is dynamic',
    ]);
  });

  it('unknownDebitPoint_andShortIadWithLimits_areRejected', () => {
    const profile = patched((app) => ({
      ...app,
      ec: app.ec === null ? null : { ...app.ec, debitAt: 'sometimes' as 'last-record' },
    }));
    expect(issuesOf(() => createCard(profile, { prng: new Prng(1), pki: testPki() }))).toEqual([
      'applications[0]: ec.debitAt',
    ]);
    const limits = population(SEED).profiles['offline-limit-credit'];
    const short = {
      ...limits,
      applications: limits.applications.map((a) => ({
        ...a,
        iad: { ...a.iad, format: 'short' as const },
      })),
    };
    expect(issuesOf(() => createCard(short, { prng: new Prng(1), pki: testPki() }))).toEqual([
      'applications[0]: offlineLimits need the long IAD',
    ]);
  });
});

describe('ledger time', () => {
  it('pdolWith9F21_usesTerminalTime', () => {
    const card = population(SEED).card('unionpay-credit-ec');
    card.powerOn();
    runTap(card, 'a000000333010102', { ...DEFAULT_TAP, ttqHex: '28000080' });
    expect(card.ledger()[0]).toMatchObject({
      dateYymmdd: '250601',
      timeHhmmss: '123045',
      committedAtMs: null,
    });
  });

  it('pdolWithout9F21_usesInjectedClockInChinaTime', () => {
    // 2025-06-01T01:02:03Z = 09:02:03 in China.
    const clock = new ClockSim(Date.UTC(2025, 5, 1, 1, 2, 3));
    const card = population(SEED).card('unionpay-debit-ec', { clock });
    card.powerOn();
    runTap(card, 'a000000333010101', { ...DEFAULT_TAP, ttqHex: '28000080' });
    expect(card.ledger()[0]).toMatchObject({ timeHhmmss: '090203', committedAtMs: 0 });
  });
});
