// Cards with cumulative offline limits and no EC purse (domain.md 2.4, 2.6): qPBOC TC within
// CTTAL - CTTA, 9F5D = the available offline amount, the IAD type byte saying so, and the
// allowance spent at the last AFL record.

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import type { AppProfile } from '../../src/cards/card_profile.js';
import { createCard } from '../../src/cards/qpboc_card.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { Prng } from '../../src/prng.js';
import { cvn01Cryptogram } from './support/pboc_ac.js';
import {
  DEFAULT_TAP,
  acType,
  runTap,
  send,
  tapValue,
  terminalOda,
  terminalValues,
} from './support/test_terminal.js';
import { findTag, toHexT } from './support/tlv_walk.js';

const SEED = 41;
const CREDIT = 'a000000333010102';
const OFFLINE = { ...DEFAULT_TAP, ttqHex: '28000080', amountMinor: 400 };
const ONLINE_CAPABLE = { ...OFFLINE, ttqHex: '26000080' };

function limited(cttal: number, ctta: number, iadType: 0x02 | 0x05): QpbocCard {
  const pop = population(SEED);
  const profile = pop.profiles['offline-limit-credit'];
  const patch = (a: AppProfile): AppProfile => ({
    ...a,
    offlineLimits: { cumulativeLimitMinor: cttal, cumulativeTotalMinor: ctta, iadType },
  });
  const applications = profile.applications.map(patch);
  const card = createCard({ ...profile, applications }, { prng: new Prng(SEED), pki: pop.pki });
  card.powerOn();
  return card;
}

function bcd(bytes: Uint8Array | undefined): number {
  return Number.parseInt(toHexT(bytes ?? new Uint8Array(0)), 10);
}

describe('offline limits without EC', () => {
  it('withinLimit_tc_9F5DIsAvailableAfter_iad05_spentAtLastRecord', () => {
    const card = limited(10_000, 3_000, 0x05);
    const tap = runTap(card, CREDIT, OFFLINE, 1);
    expect(acType(tap)).toBe('TC');
    const iad = findTag(tap.gpoTlv, 0x9f10)?.value ?? new Uint8Array(0);
    expect(iad[9]).toBe(0x05);
    expect(bcd(iad.subarray(10, 15))).toBe(10_000 - 3_000 - 400);
    expect(bcd(tapValue(tap, 0x9f5d))).toBe(10_000 - 3_000 - 400);
    expect(card.cumulativeOfflineMinor()).toBe(3_000);
    expect(card.pendingDebit()).toMatchObject({ source: 'offline-allowance', amountMinor: 400 });
    card.powerOn();
    const full = runTap(card, CREDIT, { ...OFFLINE, unHex: '99887766' });
    expect(card.cumulativeOfflineMinor()).toBe(3_400);
    expect(card.ledger()).toMatchObject([
      { source: 'offline-allowance', balanceBeforeMinor: 7_000, balanceAfterMinor: 6_600 },
    ]);
    expect(terminalOda(full, population(SEED).pki.caKeys, CREDIT)).toMatchObject({ ok: true });
    const ac = cvn01Cryptogram(
      card.profile.applications[0]?.mkAcHex ?? '',
      terminalValues({ ...OFFLINE, unHex: '99887766' }),
      findTag(full.gpoTlv, 0x82)?.value ?? new Uint8Array(0),
      card.atc(),
      findTag(full.gpoTlv, 0x9f10)?.value ?? new Uint8Array(0),
    );
    expect(toHexT(findTag(full.gpoTlv, 0x9f26)?.value ?? new Uint8Array(0))).toBe(toHexT(ac));
  });

  it('iadType02_carriesCttaAfter', () => {
    const card = limited(10_000, 3_000, 0x02);
    const tap = runTap(card, CREDIT, OFFLINE);
    const iad = findTag(tap.gpoTlv, 0x9f10)?.value ?? new Uint8Array(0);
    expect(iad[9]).toBe(0x02);
    expect(bcd(iad.subarray(10, 15))).toBe(3_400);
    expect(bcd(tapValue(tap, 0x9f5d))).toBe(6_600);
  });

  it('overLimit_aacOfflineOnly_arqcOnlineCapable_nothingSpent', () => {
    const card = limited(3_200, 3_000, 0x05);
    expect(acType(runTap(card, CREDIT, OFFLINE))).toBe('AAC');
    card.powerOn();
    const online = runTap(card, CREDIT, ONLINE_CAPABLE);
    expect(acType(online)).toBe('ARQC');
    expect(bcd(tapValue(online, 0x9f5d))).toBe(200);
    expect(card.cumulativeOfflineMinor()).toBe(3_000);
    expect(card.ledger()).toHaveLength(0);
  });

  it('getData_noEcBalance_6A88_cttal9F54', () => {
    const card = limited(10_000, 0, 0x05);
    send(card, '00A4040008A00000033301010200');
    expect(send(card, '80CA9F7900').sw).toBe(0x6a88);
    const cttal = send(card, '80CA9F5400');
    expect(cttal.sw).toBe(0x9000);
    expect(toHexT(cttal.data)).toBe('9f5406000000010000');
  });

  it('profileWithEcAndLimits_orCttaAboveCttal_isRejected', () => {
    expect(() => limited(100, 200, 0x05)).toThrow(/CTTA <= CTTAL/);
    const pop = population(SEED);
    const ec = pop.profiles['unionpay-debit-ec'];
    const bad = ec.applications.map((a) => ({
      ...a,
      offlineLimits: { cumulativeLimitMinor: 1, cumulativeTotalMinor: 0, iadType: 0x05 as const },
    }));
    expect(() =>
      createCard({ ...ec, applications: bad }, { prng: new Prng(1), pki: pop.pki }),
    ).toThrow(/without an EC purse/);
  });
});
