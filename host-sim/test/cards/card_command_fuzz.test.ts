// Property: whatever the terminal sends, in whatever order, every population card answers with
// a status word (never throws, never stays silent while powered), and a flow started afresh
// still works afterwards.

import { describe, expect, it } from 'vitest';
import { POPULATION_NAMES, population } from '../../src/cards/card_population.js';
import { Prng } from '../../src/prng.js';
import {
  cdolData,
  fullFlowValues,
  generateAcApdu,
  startFullFlow,
} from './support/full_flow_terminal.js';
import { testSeeds, withSeed } from './support/seeded.js';
import { hex, toHexT } from './support/tlv_walk.js';

/** Headers worth mutating: every command the cards implement, plus neighbours. */
const HEADERS = [
  '00A40400',
  '80A80000',
  '00B2010C',
  '80CA9F79',
  '00880000',
  '80AE8000',
  '80AE9000',
  '80AE4000',
  '00B20114',
  '80CA9F36',
  '00840000',
  'FFA40400',
];

function randomApdu(prng: Prng, tail: string): Uint8Array {
  const header = hex(HEADERS[prng.below(HEADERS.length)] ?? '00A40400');
  if (prng.chance(0.3)) header[prng.below(4)] = prng.below(256);
  const shape = prng.below(5);
  if (shape === 0) return header;
  if (shape === 1) return Uint8Array.from([...header, prng.below(256)]);
  const data = shape === 4 ? hex(tail) : prng.bytes(prng.below(70));
  const lc = shape === 3 ? prng.below(256) : data.length;
  return Uint8Array.from([...header, lc, ...data, ...(prng.chance(0.5) ? [0] : [])]);
}

describe('random CDOL and DDOL data after a full-flow GPO', () => {
  for (const name of POPULATION_NAMES) {
    const profile = population(53).profiles[name];
    const app = profile.applications.find((a) => a.aidHex.startsWith('a000000333'));
    if (app?.fullFlow === null || app === undefined) continue;
    it(`${name}_randomGenerateAcAndInternalAuthenticate_answerWithoutThrowing`, () => {
      withSeed(53, () => {
        const card = population(53).card(name);
        const prng = new Prng(53).fork(name);
        const cdol1Length = card.personalised.apps.find((a) => a.fullFlow !== null)?.fullFlow
          ?.cdol1Length;
        for (let i = 0; i < 40; i += 1) {
          card.powerOn();
          startFullFlow(card, app.aidHex);
          const p1 = [0x00, 0x10, 0x40, 0x50, 0x80, 0x90][prng.below(6)] ?? 0x80;
          const ia = Uint8Array.from([0x00, 0x88, 0, 0, 4, ...prng.bytes(4), 0]);
          if (prng.chance(0.5)) expect(card.transceive(ia)?.length).toBeGreaterThanOrEqual(2);
          const data = prng.bytes(cdol1Length ?? 0);
          const answer = card.transceive(hex(generateAcApdu(p1, data)));
          expect(toHexT(answer?.slice(-2) ?? new Uint8Array(0))).toBe('9000');
        }
      });
    });
  }
});

describe('random commands never break a card', () => {
  for (const seed of testSeeds([51, 52])) {
    for (const name of POPULATION_NAMES) {
      it(`${name}_seed${seed}_400RandomCommands_alwaysAStatusWord`, () => {
        withSeed(seed, () => {
          const pop = population(seed);
          const card = pop.card(name);
          card.powerOn();
          const prng = new Prng(seed).fork(name);
          const aid = card.profile.applications.find((a) => a.aidHex.startsWith('a000000333'));
          const tails = [`08${aid?.aidHex ?? ''}`, '0e325041592e5359532e4444463031'];
          for (let i = 0; i < 400; i += 1) {
            if (prng.chance(0.02)) card.powerOn();
            const apdu = randomApdu(prng, tails[prng.below(tails.length)] ?? '');
            const answer = card.transceive(apdu);
            expect(answer, toHexT(apdu)).not.toBeNull();
            expect(answer?.length ?? 0, toHexT(apdu)).toBeGreaterThanOrEqual(2);
          }
          if (aid?.fullFlow === null || aid === undefined) return;
          card.powerOn();
          const start = startFullFlow(card, aid.aidHex);
          const values = fullFlowValues(start.tap.input);
          const genAc = card.transceive(hex(generateAcApdu(0x80, cdolData(start, 0x8c, values))));
          expect(toHexT(genAc?.slice(-2) ?? new Uint8Array(0))).toBe('9000');
        });
      });
    }
  }
});
