// The application cryptogram and IAD MAC, recomputed in the test with its own 3DES plumbing
// (ISO 9797-1 MAC 3 as CBC-MAC under K_L, then D_KR and E_KL on the last block).

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import { retailMac, sessionKey } from './support/pboc_ac.js';
import { withSeed, testSeeds } from './support/seeded.js';
import { DEFAULT_TAP, runTap, terminalValues } from './support/test_terminal.js';
import type { TapInput } from './support/test_terminal.js';
import { findTag, hex, toHexT } from './support/tlv_walk.js';

function tapOn(name: PopulationName, seed: number, aid: string, input: TapInput) {
  const pop = population(seed);
  const card = pop.card(name);
  card.powerOn();
  const app = card.profile.applications.find((a) => a.aidHex === aid);
  if (app === undefined) throw new Error(`no app ${aid}`);
  return { tap: runTap(card, aid, input), app };
}

describe('application cryptogram', () => {
  for (const seed of testSeeds([21, 22])) {
    for (const ttqHex of ['28000080', '26800080']) {
      it(`cvn01_seed${seed}_ttq${ttqHex}_matchesIndependentComputation`, () => {
        withSeed(seed, () => {
          const input = { ...DEFAULT_TAP, ttqHex, amountMinor: 345 };
          const { tap, app } = tapOn('unionpay-debit-ec', seed, 'a000000333010101', input);
          const get = (tag: number): Uint8Array =>
            findTag(tap.gpoTlv, tag)?.value ?? new Uint8Array(0);
          const atc = Number.parseInt(toHexT(get(0x9f36)), 16);
          const iad = get(0x9f10);
          const v = terminalValues(input);
          const part = (tag: number): number[] => [...(v.get(tag) ?? [])];
          const acInput = new Uint8Array([
            ...part(0x9f02),
            ...part(0x9f03),
            ...part(0x9f1a),
            ...part(0x95),
            ...part(0x5f2a),
            ...part(0x9a),
            ...part(0x9c),
            ...part(0x9f37),
            ...get(0x82),
            ...get(0x9f36),
            ...iad.subarray(3, 7),
          ]);
          const sk = sessionKey(hex(app.mkAcHex), atc);
          expect(toHexT(get(0x9f26))).toBe(toHexT(retailMac(sk, acInput)));
          const iadMac = retailMac(sk, iad.subarray(9, 15)).subarray(0, 4);
          expect(toHexT(iad.subarray(15, 19))).toBe(toHexT(iadMac));
        });
      });
    }
  }

  it('cvn17_visaApp_shortIad_matchesIndependentComputation', () => {
    withSeed(23, () => {
      const input = { ...DEFAULT_TAP, ttqHex: '26000080' };
      const { tap, app } = tapOn('cobadge-visa-unionpay', 23, 'a0000000031010', input);
      const get = (tag: number): Uint8Array => findTag(tap.gpoTlv, tag)?.value ?? new Uint8Array(0);
      const iad = get(0x9f10);
      expect(iad.length).toBe(8);
      expect(iad[2]).toBe(0x11);
      const atc = Number.parseInt(toHexT(get(0x9f36)), 16);
      const v = terminalValues(input);
      const acInput = new Uint8Array([
        ...(v.get(0x9f02) ?? []),
        ...(v.get(0x9f37) ?? []),
        ...get(0x9f36),
        iad[4] ?? 0,
      ]);
      const sk = sessionKey(hex(app.mkAcHex), atc);
      expect(toHexT(get(0x9f26))).toBe(toHexT(retailMac(sk, acInput)));
    });
  });
});
