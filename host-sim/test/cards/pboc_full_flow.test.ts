// The full contactless PBOC flow of stock cards (domain.md 6.2): GPO format 1/2 without a
// cryptogram, records with SSAD and certificates, INTERNAL AUTHENTICATE (DDA), GENERATE AC with
// and without CDA. Truth: the test's own RSA/SHA-1 verifier and node:crypto 3DES.

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { sha1Of, verifyCdaSdad, verifySdad, verifySsad } from './support/emv_verifier.js';
import {
  P1_ARQC,
  P1_CDA,
  TTQ_FULL_FLOW,
  cdolData,
  fullFlowValues,
  generateAcApdu,
  internalAuthenticateApdu,
  parseGenAc,
  recoverKeys,
  startFullFlow,
} from './support/full_flow_terminal.js';
import type { FullFlowStart, RecoveredKeys } from './support/full_flow_terminal.js';
import { cvn01Cryptogram } from './support/pboc_ac.js';
import { testSeeds, withSeed } from './support/seeded.js';
import { DEFAULT_TAP, send, tapValue } from './support/test_terminal.js';
import { hex, toHexT } from './support/tlv_walk.js';

const SEEDS = testSeeds([7, 8]);
const INPUT = { ...DEFAULT_TAP, ttqHex: TTQ_FULL_FLOW, amountMinor: 200 };

/** Stock-flow profiles and what they do: GPO/answer format, DDA, CDA, SDA. */
const FLOW_CARDS: readonly (readonly [PopulationName, 1 | 2, boolean, boolean, boolean])[] = [
  ['stock-debit-dda', 1, true, false, true],
  ['stock-credit-cda', 2, true, true, true],
  ['stock-debit-sda', 1, false, false, true],
  ['social-security-stock', 1, true, false, true],
  ['cobadge-visa-unionpay-stock', 2, true, true, true],
  ['phone-se-stock', 2, true, true, true],
  ['oda-capable-credit', 2, true, false, true],
  ['offline-limit-credit', 2, true, true, true],
];

function upAid(card: QpbocCard): string {
  return card.profile.applications.find((a) => a.aidHex.startsWith('a000000333'))?.aidHex ?? '';
}

function mkOf(card: QpbocCard, aid: string): string {
  return card.profile.applications.find((a) => a.aidHex === aid)?.mkAcHex ?? '';
}

function fresh(name: PopulationName, seed: number): { card: QpbocCard; aid: string } {
  const card = population(seed).card(name);
  card.powerOn();
  return { card, aid: upAid(card) };
}

function keysOf(start: FullFlowStart, seed: number, aid: string): RecoveredKeys {
  const keys = recoverKeys(start, population(seed).pki.caKeys, aid);
  if (typeof keys === 'string') throw new Error(keys);
  return keys;
}

describe('full flow of every stock profile', () => {
  for (const seed of SEEDS) {
    for (const [name, format, dda, cda, sda] of FLOW_CARDS) {
      it(`${name}_seed${seed}_odaAndArqcVerify`, () => {
        withSeed(seed, () => {
          const { card, aid } = fresh(name, seed);
          const atcBefore = card.atc(aid);
          const start = startFullFlow(card, aid, INPUT);
          expect(start.gpoFormat).toBe(format);
          expect(card.atc(aid)).toBe(atcBefore + 1);
          expect(((start.aip[0] ?? 0) & 0x20) !== 0).toBe(dda);
          expect(((start.aip[0] ?? 0) & 0x01) !== 0).toBe(cda);
          const keys = keysOf(start, seed, aid);
          if (sda) {
            const dac = verifySsad(
              keys.issuer,
              tapValue(start.tap, 0x93) ?? hex(''),
              keys.staticData,
            );
            expect(typeof dac === 'string' ? dac : toHexT(dac)).toBe('da01');
          }
          const values = fullFlowValues(INPUT);
          if (dda) {
            const un = hex(INPUT.unHex);
            const ia = send(card, internalAuthenticateApdu(un));
            expect(ia.sw).toBe(0x9000);
            const sdad =
              format === 1
                ? ia.data.slice(ia.data[1] === 0x81 ? 3 : 2)
                : ia.data.slice(-(keys.icc?.modulus.length ?? 0));
            const idn = verifySdad(
              keys.icc ?? { modulus: hex(''), exponent: hex('') },
              sdad,
              un,
              hex(''),
              hex(''),
              null,
            );
            expect(typeof idn === 'string' ? idn : toHexT(idn)).toBe(
              toHexT(Uint8Array.of(card.atc(aid) >> 8, card.atc(aid) & 0xff)),
            );
          }
          const cdol1 = cdolData(start, 0x8c, values);
          const genAc = send(card, generateAcApdu(P1_ARQC | (cda ? P1_CDA : 0), cdol1));
          expect(genAc.sw).toBe(0x9000);
          const parts = parseGenAc(genAc);
          expect(parts.cid).toBe(0x80);
          expect(parts.atc).toBe(card.atc(aid));
          const expectedAc = cvn01Cryptogram(
            mkOf(card, aid),
            values,
            start.aip,
            parts.atc,
            parts.iad,
          );
          if (cda) {
            expect(parts.cryptogram).toBeNull();
            const content = verifyCdaSdad(
              keys.icc ?? { modulus: hex(''), exponent: hex('') },
              parts.sdad ?? hex(''),
              hex(INPUT.unHex),
            );
            if (typeof content === 'string') throw new Error(content);
            expect(content.cid).toBe(0x80);
            expect(toHexT(content.cryptogram)).toBe(toHexT(expectedAc));
            const tdhc = sha1Of(start.pdolData, cdol1, parts.tlvsExceptSdad);
            expect(toHexT(content.transactionDataHash)).toBe(toHexT(tdhc));
          } else {
            expect(parts.format).toBe(format);
            expect(toHexT(parts.cryptogram ?? hex(''))).toBe(toHexT(expectedAc));
          }
          expect((parts.iad[4] ?? 0) & 0x30).toBe(0x20);
          expect(card.ledger()).toHaveLength(0);
        });
      });
    }
  }
});
