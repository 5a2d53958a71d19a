// RF identities (fixed vs per-tap UIDs, type B) and the processing-time model.

import { describe, expect, it } from 'vitest';
import type { CardIdentity, VirtualCard } from '../../src/cards/card_model.js';
import { population } from '../../src/cards/card_population.js';
import { createCard } from '../../src/cards/qpboc_card.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { Prng } from '../../src/prng.js';
import { testPki } from '../../src/pki/test_pki.js';
import { DEFAULT_TAP, runTap } from './support/test_terminal.js';
import { toHexT } from './support/tlv_walk.js';

function uidOf(id: CardIdentity): string {
  return id.kind === 'A' ? toHexT(id.uid) : toHexT(id.atqb.subarray(1, 5));
}

describe('RF identity', () => {
  it('plasticCard_keepsItsUidAcrossPresentations', () => {
    const card = population(9).card('unionpay-debit-ec');
    card.powerOn();
    const first = uidOf(card.identity());
    card.powerOn();
    expect(uidOf(card.identity())).toBe(first);
    const id = card.identity();
    expect(id.kind).toBe('A');
    if (id.kind === 'A') {
      expect(toHexT(id.atqa)).toBe(id.uid.length === 4 ? '0004' : '0044');
      expect(id.sak & 0x20).toBe(0x20);
      expect(toHexT(id.ats)).toBe('0578807002');
    }
  });

  it('phoneWallet_drawsFreshRandomUidPerTap_deterministicPerSeed', () => {
    const uids = (seed: number): string[] => {
      const card = population(seed).card('phone-wallet');
      return [1, 2, 3].map(() => {
        card.powerOn();
        return uidOf(card.identity());
      });
    };
    const a = uids(9);
    expect(new Set(a).size).toBe(3);
    for (const uid of a) expect(uid).toMatch(/^08[0-9a-f]{6}$/);
    expect(uids(9)).toEqual(a);
  });

  it('typeBProfile_buildsAtqbFromPupiAndProtocolInfo', () => {
    const profile = population(9).profiles['unionpay-debit-ec'];
    const card = createCard(
      {
        ...profile,
        rf: {
          kind: 'B',
          pupiHex: '11223344',
          applicationDataHex: '00000000',
          protocolInfoHex: '008171',
          attribResHex: '00',
        },
      },
      { prng: new Prng(1), pki: testPki() },
    );
    card.powerOn();
    const id = card.identity();
    expect(id.kind === 'B' ? toHexT(id.atqb) : '').toBe('501122334400000000008171');
  });
});

/** Wraps `card` and records lastProcessingMs() after every command with instruction `ins`. */
function timed(card: QpbocCard, ins: number): { probe: VirtualCard; times: number[] } {
  const times: number[] = [];
  const probe: VirtualCard = {
    label: card.label,
    identity: () => card.identity(),
    powerOn: () => card.powerOn(),
    lastProcessingMs: () => card.lastProcessingMs(),
    transceive: (c: Uint8Array): Uint8Array | null => {
      const r = card.transceive(c);
      if (c[1] === ins) times.push(card.lastProcessingMs());
      return r;
    },
  };
  return { probe, times };
}

const OFFLINE = { ...DEFAULT_TAP, ttqHex: '28000080' };

describe('processing-time model', () => {
  it('gpoCost_growsWithRsaKeySize_slowCardFarAboveFwt', () => {
    const gpoMs = (name: 'unionpay-debit-ec' | 'slow-wtx'): number => {
      const card = population(9).card(name);
      card.powerOn();
      const { probe, times } = timed(card, 0xa8);
      runTap(probe, 'a000000333010101', OFFLINE);
      return times[0] ?? 0;
    };
    const profile = population(9).profiles['slow-wtx'].processing;
    // slow-wtx: 1984-bit ICC key; signing time = rsaMsAt1024 * (1984/1024)^3.
    const rsa = profile.rsaMsAt1024 * (1984 / 1024) ** 3;
    const slow = gpoMs('slow-wtx');
    expect(slow).toBeGreaterThan(profile.gpoMs + rsa);
    expect(slow).toBeLessThan(profile.gpoMs + rsa + 30);
    // FWI 4 in its ATS: FWT = 302 us * 2^4, about 4.8 ms, so the GPO needs many WTX rounds.
    expect(slow / 4.832).toBeGreaterThan(100);
    expect(gpoMs('unionpay-debit-ec')).toBeLessThan(slow / 4);
  });

  it('commitAddsWriteTime_onTheLastRecordOnly', () => {
    const card = population(9).card('unionpay-debit-ec');
    card.powerOn();
    const { probe, times } = timed(card, 0xb2);
    runTap(probe, 'a000000333010101', OFFLINE);
    const model = card.profile.processing;
    const last = times[times.length - 1] ?? 0;
    expect(last).toBeGreaterThanOrEqual(model.readRecordMs + model.commitMs);
    for (const t of times.slice(0, -1)) expect(t).toBeLessThan(model.readRecordMs + model.commitMs);
  });
});
